//! The command line: flags, subcommands and their exit codes.

use std::process::{Output, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use tempfile::TempDir;

use crate::support::{cleave_command, free_addr, http_client, Process};

/// A command that does not serve exits at once; this only bounds a broken one.
const CLI_TIMEOUT: Duration = Duration::from_secs(10);

async fn cleave(args: &[&str]) -> Output {
    let mut command = tokio::process::Command::from(cleave_command());
    command.args(args).stdin(Stdio::null()).kill_on_drop(true);
    tokio::time::timeout(CLI_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "`cleave {}` did not exit within {CLI_TIMEOUT:?}",
                args.join(" ")
            )
        })
        .expect("the cleave binary runs")
}

fn printed(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

fn path_text(dir: &TempDir, name: &str) -> String {
    dir.path()
        .join(name)
        .to_str()
        .expect("UTF-8 temporary path")
        .to_owned()
}

#[tokio::test]
async fn an_unknown_role_is_refused() {
    let dir = TempDir::new().unwrap();
    let data = path_text(&dir, "data");
    // Should it serve anyway, it would do so on a free port and in a scratch directory.
    let output = cleave(&[
        "--role=billing",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        &data,
    ])
    .await;
    assert!(
        !output.status.success(),
        "exit {}: {}",
        output.status,
        printed(&output)
    );
    assert!(printed(&output).contains("billing"), "{}", printed(&output));
}

#[tokio::test]
async fn help_lists_every_flag() {
    let output = cleave(&["--help"]).await;
    assert!(output.status.success(), "exit {}", output.status);
    let help = printed(&output);
    for flag in [
        "--role",
        "--listen",
        "--data-dir",
        "--database-url",
        "--users-database-url",
        "--orders-database-url",
        "--payments-database-url",
        "--users-url",
        "--orders-url",
        "--payments-url",
        "--payment-limit-cents",
        "--peer-timeout-ms",
        "--max-body-bytes",
        "--body-read-timeout-ms",
        "--header-read-timeout-ms",
        "--idle-timeout-ms",
        "--max-header-bytes",
        "--max-connections",
        "--shutdown-grace-ms",
        "--internal-token",
        "--internal-token-file",
        "--peer-retries",
        "--peer-retry-backoff-ms",
        "--breaker-failures",
        "--breaker-open-ms",
        "--max-in-flight",
        "--rate-limit",
        "--log-format",
        "--otlp-endpoint",
    ] {
        assert!(help.contains(flag), "{flag} is not in the help:\n{help}");
    }
}

#[tokio::test]
async fn help_never_shows_the_internal_token() {
    let mut command = tokio::process::Command::from(cleave_command());
    command
        .arg("--help")
        .env("CLEAVE_INTERNAL_TOKEN", "s3cret-token")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(CLI_TIMEOUT, command.output())
        .await
        .expect("`cleave --help` exits")
        .expect("the cleave binary runs");
    assert!(output.status.success(), "exit {}", output.status);
    let help = printed(&output);
    assert!(help.contains("CLEAVE_INTERNAL_TOKEN"), "{help}");
    assert!(
        !help.contains("s3cret"),
        "the token is in the help:\n{help}"
    );
}

#[tokio::test]
async fn migrate_creates_one_database_per_module_and_exits() {
    let dir = TempDir::new().unwrap();
    let all = path_text(&dir, "all");
    let output = cleave(&["migrate", "--role=all", "--data-dir", &all]).await;
    assert!(
        output.status.success(),
        "exit {}: {}",
        output.status,
        printed(&output)
    );
    for db in ["users.db", "orders.db", "payments.db"] {
        assert!(dir.path().join("all").join(db).is_file(), "no {db}");
    }
    // Migrations already applied are skipped.
    let again = cleave(&["migrate", "--role=all", "--data-dir", &all]).await;
    assert!(
        again.status.success(),
        "exit {}: {}",
        again.status,
        printed(&again)
    );

    let orders = path_text(&dir, "orders");
    let output = cleave(&["migrate", "--role=orders", "--data-dir", &orders]).await;
    assert!(
        output.status.success(),
        "exit {}: {}",
        output.status,
        printed(&output)
    );
    assert!(dir.path().join("orders/orders.db").is_file());
    assert!(!dir.path().join("orders/users.db").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_is_the_default_command_spelled_out() {
    let dir = TempDir::new().unwrap();
    let args = [
        "serve",
        "--role=users",
        "--data-dir",
        &path_text(&dir, "data"),
    ];
    let users = Process::start(
        "users",
        free_addr(),
        args.map(str::to_owned).to_vec(),
        dir.path().join("users.log"),
    )
    .await;
    let list = http_client()
        .get(format!("{}/users", users.url()))
        .send()
        .await
        .expect("the users process answers");
    assert_eq!(list.status(), StatusCode::OK);
}

#[tokio::test]
async fn migrate_on_postgres_makes_a_schema_per_module() {
    let Some(cluster) = crate::postgres::cluster() else {
        return;
    };
    let shared = cluster.create_database();
    let own = cluster.create_database();
    let (shared_url, own_url) = (shared.url(), own.url());
    let migrate = [
        "migrate",
        "--role=all",
        "--database-url",
        &shared_url,
        "--payments-database-url",
        &own_url,
    ];
    for _ in 0..2 {
        // The second time, every migration is already applied: nothing to do.
        let output = cleave(&migrate).await;
        assert!(
            output.status.success(),
            "exit {}: {}",
            output.status,
            printed(&output)
        );
    }
    let tables = "SELECT string_agg(table_schema || '.' || table_name, ',' \
                  ORDER BY table_schema, table_name) FROM information_schema.tables \
                  WHERE table_schema IN ('users', 'orders', 'payments')";
    assert_eq!(
        shared.query(tables),
        "orders._sqlx_migrations,orders.broker_offsets,orders.idempotency_keys,orders.inbox,\
         orders.orders,orders.outbox,orders.outbox_cursor,users._sqlx_migrations,\
         users.broker_offsets,users.inbox,users.outbox,users.outbox_cursor,users.users"
    );
    assert_eq!(
        own.query(tables),
        "payments._sqlx_migrations,payments.broker_offsets,payments.inbox,payments.outbox,\
         payments.outbox_cursor,payments.payments"
    );
}

#[tokio::test]
async fn a_database_url_of_another_engine_is_refused() {
    let dir = TempDir::new().unwrap();
    let output = cleave(&[
        "migrate",
        "--role=users",
        "--data-dir",
        &path_text(&dir, "data"),
        "--users-database-url",
        "mysql://localhost/shop",
    ])
    .await;
    assert!(!output.status.success(), "{}", printed(&output));
    assert!(
        printed(&output).contains("postgres://"),
        "{}",
        printed(&output)
    );
    assert!(
        !printed(&output).contains("panicked"),
        "{}",
        printed(&output)
    );
}

#[tokio::test]
async fn the_flag_reference_is_the_one_the_binary_prints() {
    let output = cleave(&["flags"]).await;
    assert!(output.status.success(), "{}", printed(&output));
    let reference = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md");
    let committed = std::fs::read_to_string(reference).expect("docs/configuration.md is there");
    let printed = String::from_utf8(output.stdout).expect("the reference is UTF-8");
    assert!(
        printed == committed,
        "docs/configuration.md is not what `cleave flags` prints: regenerate it with \
         `cargo run -q -- flags > docs/configuration.md`"
    );
}

#[tokio::test]
async fn help_comes_in_sections_naming_every_module_with_examples() {
    let output = cleave(&["--help"]).await;
    let help = printed(&output);
    assert!(output.status.success(), "{help}");
    for heading in [
        "Serving:",
        "Storage:",
        "Peers:",
        "Policies:",
        "Events:",
        "Telemetry:",
    ] {
        assert!(help.contains(heading), "no {heading} section in:\n{help}");
    }
    assert!(
        help.contains("gateway, users, orders, payments, shipping"),
        "--role does not name the modules:\n{help}"
    );
    assert!(help.contains("Examples:"), "{help}");
    let short = printed(&cleave(&["-h"]).await);
    assert!(
        !short.contains("Examples:") && short.lines().count() < help.lines().count(),
        "-h is not the short help:\n{short}"
    );
}

/// The first line of what `output` printed that is not blank.
fn first_line(output: &Output) -> String {
    printed(output)
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_peer_url_that_is_not_http_with_a_host_is_refused_at_start() {
    let dir = TempDir::new().unwrap();
    let data = path_text(&dir, "data");
    for url in [
        "notaurl",
        "ftp://x",
        "http://",
        "http://users:8080,nats://other",
    ] {
        // Should it serve anyway, it would do so on a free port and in a scratch directory.
        let output = cleave(&[
            "--role=gateway",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            &data,
            "--users-url",
            url,
        ])
        .await;
        assert_eq!(output.status.code(), Some(2), "{url}: {}", printed(&output));
        let line = first_line(&output);
        assert!(
            line.contains("--users-url") && line.contains("http://host:port"),
            "{url}: {line}"
        );
    }
}

#[tokio::test]
async fn a_data_dir_that_is_a_file_is_refused_saying_so() {
    let dir = TempDir::new().unwrap();
    let file = path_text(&dir, "a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let output = cleave(&["migrate", "--role=users", "--data-dir", &file]).await;
    assert_eq!(output.status.code(), Some(2), "{}", printed(&output));
    let line = first_line(&output);
    assert!(
        line.contains(&file) && line.contains("is a file") && line.contains("--data-dir"),
        "{line}"
    );
}

#[tokio::test]
async fn a_port_in_use_names_what_to_check() {
    let dir = TempDir::new().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = cleave(&[
        "--role=users",
        "--listen",
        &addr,
        "--data-dir",
        &path_text(&dir, "data"),
    ])
    .await;
    assert!(!output.status.success(), "{}", printed(&output));
    let said = printed(&output);
    assert!(
        said.contains(&addr) && said.contains("another process") && said.contains("--listen"),
        "{said}"
    );
    assert!(!said.contains("panicked"), "{said}");
}
