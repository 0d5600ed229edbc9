//! Storage that fails under load: a disk that fills up, a database server killed and
//! restarted. A request answered 2xx was stored; one that could not be stored is answered
//! 503 with `Retry-After`; readiness says which database and why; and once the cause is
//! gone, writes succeed again with no restart, and every order settles exactly once.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use tempfile::TempDir;

use crate::load::{self, Load, Phase, Window, STORAGE_UNAVAILABLE};
use crate::postgres::{is_root, Cluster};
use crate::support::{http_client, poll_until, Module, Options, Process, Shape, Topology};

const READY_WITHIN: Duration = Duration::from_secs(30);

/// A tmpfs of its own, mounted for one test and unmounted when dropped.
struct SmallFs {
    dir: TempDir,
}

impl SmallFs {
    /// Mounts a tmpfs of `megabytes`; `None` (saying so) where the tests do not run as
    /// root, a failure instead where `CLEAVE_REQUIRE_TMPFS=1`, as CI sets.
    fn mount(megabytes: u32) -> Option<Self> {
        if !is_root() {
            assert!(
                std::env::var_os("CLEAVE_REQUIRE_TMPFS").is_none_or(|v| v != "1"),
                "CLEAVE_REQUIRE_TMPFS=1, but the tests do not run as root and cannot mount one"
            );
            eprintln!("not root: no tmpfs can be mounted, disk-full test skipped");
            return None;
        }
        let dir = TempDir::new().expect("a temporary directory");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(status.success(), "mounting a tmpfs failed: {status}");
        Some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until not one byte more fits; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("junk");
        let mut junk = File::create(&path).expect("the junk file is created");
        let chunk = vec![0_u8; 64 * 1024];
        while junk.write_all(&chunk).is_ok() {}
        while junk.write_all(&[0]).is_ok() {}
        path
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        // Lazily: a process of the test may still hold a file open as it dies.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// The problem `/readyz` of `process` answers, or `Err` while it answers otherwise.
async fn unready(process: &Process) -> Result<String, String> {
    let reply = http_client()
        .get(format!("{}/readyz", process.url()))
        .send()
        .await
        .map_err(|err| err.to_string())?;
    let status = reply.status();
    let text = reply.text().await.map_err(|err| err.to_string())?;
    match status {
        StatusCode::SERVICE_UNAVAILABLE => Ok(text),
        other => Err(format!("{other}: {text}")),
    }
}

async fn ready(process: &Process) -> Result<(), String> {
    match unready(process).await {
        Ok(problem) => Err(problem),
        Err(answer) if answer.starts_with("200") => Ok(()),
        Err(other) => Err(other),
    }
}

const LOAD: Load = Load {
    clients: 4,
    max_requests: 20_000,
    max_duration: Duration::from_secs(120),
    pace: Duration::from_millis(5),
    read_payments: false,
};

#[tokio::test(flavor = "multi_thread")]
async fn disk_full_acknowledges_nothing_it_did_not_store() {
    let Some(small) = SmallFs::mount(16) else {
        return;
    };
    let options = Options {
        data_dir_of: Some((Module::Orders, small.path().join("orders"))),
        ..Options::default()
    };
    let app = Topology::start_with(Shape::Split, &options).await;
    let ada = app.create_user("ada@example.com").await;
    let orders = app.process_of(Module::Orders);

    let window = Window::default();
    let (tally, ()) = LOAD
        .run(&app, ada, &window, async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let junk = small.fill();
            window.begins();
            let problem = poll_until("orders to report its database full", READY_WITHIN, || {
                unready(orders)
            })
            .await;
            assert!(problem.contains("orders database"), "{problem}");
            // Orders keep coming at a full disk.
            tokio::time::sleep(Duration::from_secs(2)).await;
            std::fs::remove_file(junk).expect("the junk file is removed");
            window.ends();
            poll_until("orders to be ready again", READY_WITHIN, || ready(orders)).await;
        })
        .await;

    assert!(
        tally
            .problems
            .iter()
            .any(|code| code == STORAGE_UNAVAILABLE),
        "no order was refused while the disk was full"
    );
    assert!(
        tally.succeeded(Some(Phase::After)) > 0,
        "orders are taken again once space is freed, with no restart"
    );
    // What was acknowledged is in the file, not in a transaction that a restart loses.
    orders.terminate(Duration::from_secs(10)).await;
    orders.restart().await;
    load::audit(&app, "disk full (orders' data directory)", &tally).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_killed_and_restarted_under_load() {
    let Some(cluster) = Cluster::private() else {
        return;
    };
    let database = cluster.create_database();
    let options = Options {
        database_url: Some(database.url()),
        ..Options::default()
    };
    let app = Topology::start_with(Shape::Split, &options).await;
    let ada = app.create_user("ada@example.com").await;

    let window = Window::default();
    let (tally, ()) = LOAD
        .run(&app, ada, &window, async {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            window.begins();
            cluster.kill();
            // Longer than a request waits for a connection: some must give up.
            tokio::time::sleep(Duration::from_secs(4)).await;
            cluster.start_again().await;
            tokio::time::sleep(Duration::from_secs(3)).await;
            cluster.restart_immediately();
            window.ends();
        })
        .await;

    assert!(
        tally.unavailable(Some(Phase::During)) > 0,
        "no request noticed the database was down"
    );
    assert!(
        tally.succeeded(Some(Phase::After)) > 0,
        "orders are taken again after the server restarted"
    );
    load::audit(
        &app,
        "PostgreSQL SIGKILLed and started again, then restarted -m immediate",
        &tally,
    )
    .await;
    drop(app);
    drop(database);
    cluster.stop();
}
