//! Running a topology as child processes of this binary, for `cleave up` and
//! `cleave compare`. Children are started with `--exit-on-stdin-eof` and a pipe on their
//! standard input: if this process dies, even by SIGKILL, the pipe closes and every child
//! shuts down on its own — none is left behind. Unless this process was given an internal
//! token, the children share one made up for the run, so that their internal routes are
//! not left open.

use std::io::{IsTerminal, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::topology::Topology;

const READY_WITHIN: Duration = Duration::from_secs(30);
const STOP_WITHIN: Duration = Duration::from_secs(10);

/// Where children's log lines go.
#[derive(Debug, Clone)]
pub enum Logs {
    /// To this process's stdout, each line prefixed with the child's roles.
    Prefixed,
    /// To `<dir>/<roles>.log`, one file per child.
    Files(PathBuf),
}

/// How to start a topology.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// The address the process carrying the gateway listens on; the others take free
    /// loopback ports.
    pub public: SocketAddr,
    /// One data directory for all: each module's database is its own file in it, so the
    /// same directory serves every topology and a re-split moves no data.
    pub data_dir: PathBuf,
    /// Extra flags for every child (`--payment-limit-cents=…`).
    pub extra_args: Vec<String>,
    /// Extra environment for every child (`CLEAVE_EVENT_BUS=nats://…`).
    pub env: Vec<(String, String)>,
    pub logs: Logs,
}

/// One child process.
pub struct Process {
    /// Its `--role`.
    pub roles: String,
    pub addr: SocketAddr,
    args: Vec<String>,
    child: Option<Child>,
    /// The write end of the child's stdin, held apart from `child` because waiting on a
    /// child closes its stdin — which would tell it to stop.
    lifeline: Option<ChildStdin>,
}

impl Process {
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    pub fn url(&self) -> String {
        url_of(self.addr)
    }
}

/// A running topology.
pub struct Launched {
    pub topology: Topology,
    pub processes: Vec<Process>,
    options: LaunchOptions,
    http: reqwest::Client,
    /// The internal token made up for the children, if this process was given none.
    token: Option<String>,
}

fn url_of(addr: SocketAddr) -> String {
    let host = if addr.ip().is_unspecified() {
        Ipv4Addr::LOCALHOST.into()
    } else {
        addr.ip()
    };
    format!("http://{}", SocketAddr::new(host, addr.port()))
}

/// A fresh random token, unless one is set for this process (and so for its children).
fn run_token() -> anyhow::Result<Option<String>> {
    let given = ["CLEAVE_INTERNAL_TOKEN", "CLEAVE_INTERNAL_TOKEN_FILE"]
        .iter()
        .any(|name| std::env::var_os(name).is_some());
    if given {
        return Ok(None);
    }
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| std::io::Read::read_exact(&mut random, &mut bytes))
        .context("reading /dev/urandom for the internal token")?;
    Ok(Some(bytes.iter().map(|b| format!("{b:02x}")).collect()))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

impl Launched {
    /// Starts every process of `topology` and waits until each is ready.
    pub async fn start(topology: Topology, options: LaunchOptions) -> anyhow::Result<Self> {
        let mut addrs = Vec::new();
        for i in 0..topology.processes.len() {
            addrs.push(match i {
                0 => options.public,
                _ => SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?)),
            });
        }
        let peers: Vec<String> = topology
            .modules()
            .iter()
            .map(|module| format!("--{module}-url={}", url_of(addrs[topology.host_of(module)])))
            .collect();
        let processes = addrs
            .iter()
            .enumerate()
            .map(|(i, addr)| {
                let roles = topology.role(i);
                let mut args = vec![
                    "serve".to_owned(),
                    format!("--role={roles}"),
                    format!("--listen={addr}"),
                    format!("--data-dir={}", options.data_dir.display()),
                    "--exit-on-stdin-eof".to_owned(),
                ];
                args.extend(peers.iter().cloned());
                args.extend(options.extra_args.iter().cloned());
                Process {
                    roles,
                    addr: *addr,
                    args,
                    child: None,
                    lifeline: None,
                }
            })
            .collect();
        let mut launched = Self {
            topology,
            processes,
            options,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()?,
            token: run_token()?,
        };
        for i in 0..launched.processes.len() {
            launched.spawn(i)?;
        }
        for i in 0..launched.processes.len() {
            launched.wait_ready(i).await?;
        }
        Ok(launched)
    }

    /// The public API's base URL.
    pub fn public_url(&self) -> String {
        self.processes[0].url()
    }

    /// The internal token the children share: the one made up for them, or the one this
    /// process was given.
    pub fn internal_token(&self) -> Option<String> {
        // The children's own environment is set last, so it wins.
        let given = self
            .options
            .env
            .iter()
            .find(|(key, _)| key == "CLEAVE_INTERNAL_TOKEN")
            .map(|(_, value)| value.clone());
        given
            .or_else(|| self.token.clone())
            .or_else(|| std::env::var("CLEAVE_INTERNAL_TOKEN").ok())
            .or_else(|| {
                let path = std::env::var_os("CLEAVE_INTERNAL_TOKEN_FILE")?;
                let text = std::fs::read_to_string(path).ok()?;
                Some(text.trim_end_matches(['\n', '\r']).to_owned())
            })
    }

    /// The index of the process that hosts `module`.
    pub fn host_of(&self, module: &str) -> usize {
        self.topology.host_of(module)
    }

    fn spawn(&mut self, i: usize) -> anyhow::Result<()> {
        let exe = std::env::current_exe().context("locating the cleave binary")?;
        let process = &mut self.processes[i];
        let mut command = Command::new(exe);
        // In the environment, not the arguments: other users of the machine can read those.
        if let Some(token) = &self.token {
            command.env("CLEAVE_INTERNAL_TOKEN", token);
        }
        command.envs(self.options.env.iter().map(|(k, v)| (k, v)));
        let mut child = command
            .args(&process.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting the {} process", process.roles))?;
        let name = process.roles.to_string();
        let out = child.stdout.take().expect("stdout is piped");
        let err = child.stderr.take().expect("stderr is piped");
        match &self.options.logs {
            Logs::Prefixed => {
                let prefix = prefix(&name, i);
                tokio::spawn(forward(out, prefix.clone()));
                tokio::spawn(forward(err, prefix));
            }
            Logs::Files(dir) => {
                let path = dir.join(format!("{name}.log"));
                tokio::spawn(append(out, path.clone()));
                tokio::spawn(append(err, path));
            }
        }
        process.lifeline = child.stdin.take();
        process.child = Some(child);
        Ok(())
    }

    async fn wait_ready(&mut self, i: usize) -> anyhow::Result<()> {
        let url = format!("{}/readyz", self.processes[i].url());
        let started = Instant::now();
        while started.elapsed() < READY_WITHIN {
            if let Some(child) = self.processes[i].child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!(
                        "the {} process exited with {status} before it was ready{}",
                        self.processes[i].roles,
                        self.log_hint(i)
                    );
                }
            }
            if let Ok(response) = self.http.get(&url).send().await {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!(
            "the {} process was not ready within {READY_WITHIN:?}{}",
            self.processes[i].roles,
            self.log_hint(i)
        )
    }

    fn log_hint(&self, i: usize) -> String {
        match &self.options.logs {
            Logs::Prefixed => String::new(),
            Logs::Files(dir) => format!(
                " (see {})",
                dir.join(format!("{}.log", self.processes[i].roles))
                    .display()
            ),
        }
    }

    /// Kills process `i` with SIGKILL, as a crash would.
    pub async fn kill(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(mut child) = self.processes[i].child.take() {
            child.kill().await?;
        }
        Ok(())
    }

    /// Starts process `i` again with the same flags and data, and waits until it is ready.
    pub async fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        self.spawn(i)?;
        self.wait_ready(i).await
    }

    /// Waits until one of the processes exits; returns its roles and status.
    pub async fn any_exit(&mut self) -> (String, std::io::Result<std::process::ExitStatus>) {
        let waits = self.processes.iter_mut().filter_map(|p| {
            let roles = p.roles.clone();
            p.child
                .as_mut()
                .map(|child| Box::pin(async move { (roles, child.wait().await) }))
        });
        futures::future::select_all(waits).await.0
    }

    /// Asks every process to stop (SIGTERM, and the end of its stdin), waits for them,
    /// kills what is left.
    pub async fn stop(mut self) {
        for process in &mut self.processes {
            process.lifeline.take();
            if let Some(pid) = process.pid() {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
            }
        }
        for process in &mut self.processes {
            let Some(mut child) = process.child.take() else {
                continue;
            };
            if tokio::time::timeout(STOP_WITHIN, child.wait())
                .await
                .is_err()
            {
                tracing::warn!(roles = %process.roles, "did not stop in time; killing it");
                let _ = child.kill().await;
            }
        }
    }
}

fn prefix(name: &str, i: usize) -> String {
    const COLORS: [&str; 6] = ["36", "33", "35", "32", "34", "31"];
    if std::io::stdout().is_terminal() {
        format!("\x1b[{}m{name:>22} |\x1b[0m ", COLORS[i % COLORS.len()])
    } else {
        format!("{name:>22} | ")
    }
}

async fn forward(from: impl AsyncRead + Unpin, prefix: String) {
    let mut lines = BufReader::new(from).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        // Not println!: a closed stdout (`cleave up | head`) must not bring the runner down.
        if writeln!(std::io::stdout().lock(), "{prefix}{line}").is_err() {
            return;
        }
    }
}

async fn append(from: impl AsyncRead + Unpin, path: PathBuf) {
    let Ok(mut file) = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .await
    else {
        return;
    };
    let mut lines = BufReader::new(from).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if file
            .write_all(format!("{line}\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}
