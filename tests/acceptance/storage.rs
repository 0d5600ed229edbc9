//! Storage that fails under load: a disk that fills up, a database server killed and
//! restarted. A request answered 2xx was stored; one that could not be stored is answered
//! 503 with `Retry-After`; readiness says which database and why; and once the cause is
//! gone, writes succeed again with no restart, and every order settles exactly once.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tempfile::TempDir;

use crate::audit;
use crate::load::orders_during;
use crate::postgres::{is_root, Cluster};
use crate::support::{http_client, poll_until, Module, Options, Process, Shape, Topology};

const CLIENTS: usize = 4;
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

    let (tally, (full_at, freed_at)) = orders_during(&app, ada, CLIENTS, async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let junk = small.fill();
        let full_at = Instant::now();
        let problem = poll_until("orders to report its database full", READY_WITHIN, || {
            unready(orders)
        })
        .await;
        assert!(problem.contains("orders database"), "{problem}");
        // Orders keep coming at a full disk.
        tokio::time::sleep(Duration::from_secs(2)).await;
        std::fs::remove_file(junk).expect("the junk file is removed");
        let freed_at = Instant::now();
        poll_until("orders to be ready again", READY_WITHIN, || ready(orders)).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        (full_at, freed_at)
    })
    .await;

    tally.assert_only_created_or_unavailable();
    assert!(
        tally.with_code("storage-unavailable") > 0,
        "no order was refused while the disk was full"
    );
    let back = tally
        .first_created_after(freed_at)
        .expect("orders are taken again once space is freed, with no restart");
    // What was acknowledged is in the file, not in a transaction that a restart loses.
    orders.terminate(Duration::from_secs(10)).await;
    orders.restart().await;
    let audited = audit::assert_exactly_once(&app, &tally.acknowledged()).await;
    eprintln!(
        "{} (full for {:.1} s)",
        tally.row("disk full (orders)", &audited, back - freed_at),
        (freed_at - full_at).as_secs_f64()
    );
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

    let (tally, (killed_at, back_at, restarted_at)) = orders_during(&app, ada, CLIENTS, async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        cluster.kill();
        let killed_at = Instant::now();
        // Longer than a request waits for a connection: some must give up.
        tokio::time::sleep(Duration::from_secs(4)).await;
        cluster.start_again().await;
        let back_at = Instant::now();
        tokio::time::sleep(Duration::from_secs(3)).await;
        cluster.restart_immediately();
        let restarted_at = Instant::now();
        tokio::time::sleep(Duration::from_secs(3)).await;
        (killed_at, back_at, restarted_at)
    })
    .await;

    tally.assert_only_created_or_unavailable();
    let refused_while_down = tally
        .answers
        .iter()
        .filter(|a| a.at > killed_at && a.at < back_at && a.status.is_some() && a.order.is_none())
        .count();
    assert!(
        refused_while_down > 0,
        "no request noticed the database was down"
    );
    let back = tally
        .first_created_after(back_at)
        .expect("orders are taken again once the server is back");
    tally
        .first_created_after(restarted_at)
        .expect("orders are taken again after an immediate restart");
    let audited = audit::assert_exactly_once(&app, &tally.acknowledged()).await;
    eprintln!(
        "{}",
        tally.row(
            "PostgreSQL SIGKILLed, then restarted -m immediate",
            &audited,
            back - back_at
        )
    );
    drop(app);
    drop(database);
    cluster.stop();
}
