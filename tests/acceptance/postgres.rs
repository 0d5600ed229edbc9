//! A throwaway PostgreSQL cluster for the test run, started from the installed binaries,
//! and a fresh database in it for each topology.
//!
//! One cluster per run (it takes seconds to create), listening on a free loopback port with
//! its socket in its own directory. A watchdog shell stops it and removes its files once
//! the test binary has exited, however it exits: a static is never dropped. A test that
//! kills the server starts a cluster of its own ([`Cluster::private`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::support::free_addr;

const BIN: &str = "/usr/lib/postgresql/15/bin";
/// `initdb` refuses to run as root: a root test run starts the cluster as this user.
const OS_USER: &str = "postgres";

pub(crate) struct Cluster {
    port: u16,
    data: PathBuf,
    log: PathBuf,
    /// The server's `-o` options.
    settings: String,
}

/// The cluster of this run, started on first use; `None` where PostgreSQL is not installed
/// (a failure instead where `CLEAVE_REQUIRE_POSTGRES=1`, as CI sets).
pub(crate) fn cluster() -> Option<&'static Cluster> {
    static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
    CLUSTER
        .get_or_init(|| installed().then(Cluster::start))
        .as_ref()
}

/// Whether PostgreSQL 15 is installed; says so when it is not, and fails where
/// `CLEAVE_REQUIRE_POSTGRES=1`.
fn installed() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    let installed = *INSTALLED.get_or_init(|| Path::new(BIN).join("initdb").exists());
    if !installed {
        assert!(
            std::env::var_os("CLEAVE_REQUIRE_POSTGRES").is_none_or(|v| v != "1"),
            "CLEAVE_REQUIRE_POSTGRES=1, but there is no {BIN}/initdb"
        );
        eprintln!("PostgreSQL 15 is not installed: PostgreSQL test skipped");
    }
    installed
}

pub(crate) fn is_root() -> bool {
    run(Command::new("id").arg("-u")) == "0"
}

/// `program` of the PostgreSQL binaries, as the user that owns the cluster.
fn pg_command(program: &str) -> Command {
    let program = format!("{BIN}/{program}");
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", OS_USER, "--", &program]);
        command
    } else {
        Command::new(program)
    }
}

/// Runs `command` to completion; its trimmed standard output.
fn run(command: &mut Command) -> String {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| panic!("{command:?} did not start: {err}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

impl Cluster {
    fn start() -> Self {
        let dir: PathBuf = tempfile::Builder::new()
            .prefix("cleave-pg-")
            .tempdir()
            .expect("a temporary directory")
            .keep();
        if is_root() {
            run(Command::new("chown").args([OS_USER, &path_text(&dir)]));
        }
        let data = dir.join("data");
        let log = dir.join("server.log");
        let port = free_addr().port();
        run(pg_command("initdb").args([
            "--auth=trust",
            "--username=postgres",
            "--encoding=UTF8",
            "--no-sync",
            "-D",
            &path_text(&data),
        ]));
        // Once the test binary is gone, the watchdog stops the server and removes its
        // files. The shell that starts it in the background returns at once.
        let watchdog = format!(
            "(while [ -d /proc/{pid} ]; do sleep 1; done; \
              {stop} -D '{data}' -m immediate; rm -rf '{dir}') >/dev/null 2>&1 &",
            pid = std::process::id(),
            stop = if is_root() {
                format!("runuser -u {OS_USER} -- {BIN}/pg_ctl stop")
            } else {
                format!("{BIN}/pg_ctl stop")
            },
            data = path_text(&data),
            dir = path_text(&dir),
        );
        run(Command::new("sh").args(["-c", &watchdog]));
        // fsync off: the cluster is thrown away with the run, and tests need not wait on
        // the disk. Enough connections for several topologies of several processes.
        let settings = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='{}' \
             -c fsync=off -c max_connections=400",
            path_text(&dir)
        );
        let cluster = Self {
            port,
            data,
            log,
            settings,
        };
        run(&mut cluster.pg_ctl("start", None));
        cluster
    }

    /// A cluster for one test alone, which it may kill; `None` where PostgreSQL is not
    /// installed. It lives until the test binary exits, unless stopped.
    pub(crate) fn private() -> Option<&'static Self> {
        installed().then(|| &*Box::leak(Box::new(Self::start())))
    }

    /// `pg_ctl <action>` on the cluster, waiting for it to take effect; `mode` is how a
    /// stop goes about it.
    fn pg_ctl(&self, action: &str, mode: Option<&str>) -> Command {
        let mut command = pg_command("pg_ctl");
        command.args([action, "-w", "-D", &path_text(&self.data)]);
        if let Some(mode) = mode {
            command.args(["-m", mode]);
        }
        if action != "stop" {
            // The log file keeps the server off this process's standard output, which a
            // test harness capturing output would otherwise wait on forever.
            command.args(["-l", &path_text(&self.log), "-o", &self.settings]);
        }
        command
    }

    /// SIGKILL to the server's main process, as in a crash: its backends notice and exit.
    pub(crate) fn kill(&self) {
        let pid_file = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .expect("the server is running");
        let pid = pid_file.lines().next().expect("the pid is the first line");
        run(Command::new("kill").args(["-KILL", pid]));
    }

    /// Starts the server again after [`Cluster::kill`]; retried while the backends of the
    /// killed server still hold its shared memory.
    pub(crate) async fn start_again(&self) {
        for _ in 0..100 {
            let started = self
                .pg_ctl("start", None)
                .stdin(Stdio::null())
                .output()
                .expect("pg_ctl runs");
            if started.status.success() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the killed PostgreSQL server does not start again");
    }

    /// `pg_ctl restart -m immediate`: the server stops without a shutdown checkpoint, as in
    /// a crash, and recovers from its log as it starts.
    pub(crate) fn restart_immediately(&self) {
        run(&mut self.pg_ctl("restart", Some("immediate")));
    }

    /// Stops the server for good.
    pub(crate) fn stop(&self) {
        run(&mut self.pg_ctl("stop", Some("immediate")));
    }

    /// A new, empty database, dropped with the value.
    pub(crate) fn create_database(&'static self) -> Database {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "cleave_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.psql(&format!("CREATE DATABASE {name}"));
        Database {
            cluster: self,
            name,
        }
    }

    fn psql(&self, sql: &str) -> String {
        run(&mut self.psql_command(sql))
    }

    fn psql_command(&self, sql: &str) -> Command {
        let mut command = Command::new(format!("{BIN}/psql"));
        command.args([
            "-X",
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            sql,
        ]);
        command
    }
}

fn path_text(path: &Path) -> String {
    path.to_str().expect("temporary paths are UTF-8").to_owned()
}

/// A database of the test cluster.
pub(crate) struct Database {
    cluster: &'static Cluster,
    name: String,
}

impl Database {
    pub(crate) fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{}",
            self.cluster.port, self.name
        )
    }

    /// Runs `sql` in this database; its output, unaligned, without headers.
    pub(crate) fn query(&self, sql: &str) -> String {
        run(Command::new(format!("{BIN}/psql")).args([
            "-X",
            "-A",
            "-t",
            "-q",
            "-d",
            &self.url(),
            "-c",
            sql,
        ]))
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // FORCE: a process of the topology may still hold a connection as it dies. Best
        // effort, and no panic in a drop: the cluster goes with the run anyway.
        let _ = self
            .cluster
            .psql_command(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .stdin(Stdio::null())
            .output();
    }
}
