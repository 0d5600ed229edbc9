//! The harness: the real `cleave` binary started as OS processes on loopback ports, each
//! with its own data directory and log file, and an HTTP client that speaks to the
//! process carrying the gateway, the way any client of the product would.

use std::fs::OpenOptions;
use std::future::Future;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;
use uuid::Uuid;

use crate::buses::Server;
use crate::docker::Containers;
use crate::nats::Broker;
use crate::postgres::{self, Database};

const BIN: &str = env!("CARGO_BIN_EXE_cleave");

/// Loaded machines with tests running side by side can be slow to start a process.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Long enough for the relay's longest retry (5 s) after a peer comes back, several times.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);
/// Bounds every single request, so that a hung server fails the test instead of hanging it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of each log a failing test prints: the end is where the trouble shows.
const LOG_TAIL_LINES: usize = 300;
/// `RUST_LOG` of every process unless a test asks for more.
const DEFAULT_LOG_LEVEL: &str = "info";

/// How the modules are spread over processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// One process, `--role=all`.
    AllInOne,
    /// One process per module, and a gateway.
    Split,
    /// `--role=gateway,users,orders` and `--role=payments,shipping`.
    Mixed,
    /// The split shape as a container of the image per process, on a bridge network.
    Containers,
    /// `AllInOne` with its modules in a PostgreSQL database, a schema each.
    PostgresAllInOne,
    /// `Split` with every module in the same PostgreSQL database, a schema each.
    PostgresSplit,
    /// The split shape with events between processes carried by a NATS JetStream server
    /// of the test's own (`--event-bus nats://…`).
    NatsSplit,
    /// The split shape with modules calling each other, and delivering events, over gRPC
    /// (`--transport grpc`).
    GrpcSplit,
    /// The split shape with events carried by Redis Streams (`--event-bus redis://…`).
    RedisSplit,
    /// The split shape with events carried by RabbitMQ (`--event-bus amqp://…`).
    RabbitmqSplit,
    /// The split shape with events carried by Kafka (`--event-bus kafka://…`).
    KafkaSplit,
}

impl Shape {
    /// Whether every module runs in one process.
    pub(crate) fn one_process(self) -> bool {
        self.roles().len() == 1
    }

    /// Whether the modules keep their data in PostgreSQL.
    pub(crate) fn on_postgres(self) -> bool {
        matches!(self, Shape::PostgresAllInOne | Shape::PostgresSplit)
    }

    /// The `--role` of each process; the first one carries the gateway.
    fn roles(self) -> &'static [&'static str] {
        match self {
            Shape::AllInOne | Shape::PostgresAllInOne => &["all"],
            Shape::Split
            | Shape::Containers
            | Shape::PostgresSplit
            | Shape::NatsSplit
            | Shape::GrpcSplit
            | Shape::RedisSplit
            | Shape::RabbitmqSplit
            | Shape::KafkaSplit => &["gateway", "users", "orders", "payments", "shipping"],
            Shape::Mixed => &["gateway,users,orders", "payments,shipping"],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Module {
    Users,
    Orders,
    Payments,
    Shipping,
}

impl Module {
    pub(crate) const ALL: [Module; 4] = [
        Module::Users,
        Module::Orders,
        Module::Payments,
        Module::Shipping,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Module::Users => "users",
            Module::Orders => "orders",
            Module::Payments => "payments",
            Module::Shipping => "shipping",
        }
    }
}

fn hosts(role: &str, module: Module) -> bool {
    role == "all" || role.split(',').any(|r| r == module.name())
}

/// A loopback address nothing listens on right now. The port is released before the
/// process binds it; Linux picks such ports at random from a large range (and the ports
/// of outgoing connections from the other half of it), so tests running alongside do not
/// race for the same one.
pub(crate) fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
}

/// A `cleave` command whose behaviour depends only on its arguments: no `CLEAVE_*`
/// variable or proxy of the machine running the tests leaks in.
pub(crate) fn cleave_command() -> Command {
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        let key_text = key.to_string_lossy().to_ascii_lowercase();
        if key_text.starts_with("cleave_") || key_text.ends_with("_proxy") {
            command.env_remove(&key);
        }
    }
    command
        .env("RUST_LOG", DEFAULT_LOG_LEVEL)
        .env("NO_COLOR", "1");
    command
}

pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        // A fresh connection per request: a pooled one may belong to a process this
        // test has just killed.
        .pool_max_idle_per_host(0)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("the test HTTP client builds")
}

/// Polls `probe` every 50 ms until it yields a value; fails after `timeout`, naming `what`
/// and the last state `probe` reported.
pub(crate) async fn poll_until<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let started = Instant::now();
    let attempts = timeout.as_millis() / POLL.as_millis() + 1;
    let mut last = String::new();
    for _ in 0..attempts {
        match probe().await {
            Ok(value) => return value,
            Err(state) => last = state,
        }
        if started.elapsed() >= timeout {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    panic!("gave up after {timeout:?} waiting for {what}; last seen: {last}");
}

/// One `cleave` process: it can be killed and started again with the same arguments,
/// port and data directory. Dropping it kills it and, if the test is failing, prints the
/// end of its log.
pub(crate) struct Process {
    label: String,
    addr: SocketAddr,
    args: Vec<String>,
    /// `RUST_LOG` of the process.
    log_level: String,
    log: PathBuf,
    child: Mutex<Option<Child>>,
}

impl Process {
    /// Starts `cleave <args> --listen <addr>`, logging to `log`, and waits until it is ready.
    pub(crate) async fn start(
        label: &str,
        addr: SocketAddr,
        args: Vec<String>,
        log: PathBuf,
    ) -> Self {
        let process = Self::spawn(label, addr, args, DEFAULT_LOG_LEVEL, log);
        process.wait_ready().await;
        process
    }

    fn spawn(
        label: &str,
        addr: SocketAddr,
        mut args: Vec<String>,
        log_level: &str,
        log: PathBuf,
    ) -> Self {
        args.extend(["--listen".to_owned(), addr.to_string()]);
        let process = Self {
            label: label.to_owned(),
            addr,
            args,
            log_level: log_level.to_owned(),
            log,
            child: Mutex::new(None),
        };
        process.launch();
        process
    }

    /// Starts another process with this one's arguments on `addr`, logging beside it, and
    /// waits until it is ready: a replica, where the module's data is in a database both
    /// processes share.
    pub(crate) async fn replica(&self, label: &str, addr: SocketAddr) -> Self {
        // Without the trailing `--listen <addr>` that `spawn` added.
        let args = self.args[..self.args.len() - 2].to_vec();
        let log = self.log.with_file_name(format!("{label}.log"));
        let process = Self::spawn(label, addr, args, &self.log_level, log);
        process.wait_ready().await;
        process
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The id of the running process, to read what the system knows of it.
    pub(crate) fn pid(&self) -> u32 {
        let slot = self.child.lock().unwrap();
        let child = slot
            .as_ref()
            .unwrap_or_else(|| panic!("{} is not running", self.label));
        child.id()
    }

    fn launch(&self) {
        let mut slot = self.child.lock().unwrap();
        assert!(slot.is_none(), "{} is already running", self.label);
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("the log file opens");
        writeln!(log, "===== cleave {}", self.args.join(" ")).expect("the log is writable");
        let stdout = log.try_clone().expect("the log handle clones");
        let child = cleave_command()
            .env("RUST_LOG", &self.log_level)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(log)
            .spawn()
            .expect("the cleave binary starts");
        *slot = Some(child);
    }

    /// Waits until `/readyz` answers 200, failing early if the process exits.
    async fn wait_ready(&self) {
        if let Some(status) = self.ready_or_exit().await {
            panic!("{} exited with {status} before it was ready", self.label);
        }
    }

    /// Waits until `/readyz` answers 200 (`None`) or the process exits (its status).
    async fn ready_or_exit(&self) -> Option<ExitStatus> {
        let client = http_client();
        let url = format!("{}/readyz", self.url());
        poll_until(
            &format!("{} to be ready", self.label),
            READY_TIMEOUT,
            || async {
                if let Some(status) = self.exit_status() {
                    return Ok(Some(status));
                }
                match client.get(&url).send().await {
                    Ok(response) if response.status() == StatusCode::OK => Ok(None),
                    Ok(response) => Err(format!("readyz answered {}", response.status())),
                    Err(err) => Err(err.to_string()),
                }
            },
        )
        .await
    }

    /// Whether the process gave up because its port was taken: a free port is released
    /// before the process binds it, and another test may take it in between.
    fn lost_its_port(&self) -> bool {
        std::fs::read_to_string(&self.log).is_ok_and(|log| log.contains("Address already in use"))
    }

    fn exit_status(&self) -> Option<ExitStatus> {
        let mut slot = self.child.lock().unwrap();
        let child = slot.as_mut()?;
        child.try_wait().expect("the child can be polled")
    }

    /// SIGKILL: no shutdown, no flush, as in a crash.
    pub(crate) fn kill(&self) {
        let mut slot = self.child.lock().unwrap();
        let mut child = slot
            .take()
            .unwrap_or_else(|| panic!("{} is not running", self.label));
        child.kill().expect("SIGKILL is delivered");
        child.wait().expect("the killed child is reaped");
    }

    /// SIGTERM, then waits at most `within` for the process to exit.
    pub(crate) async fn terminate(&self, within: Duration) -> ExitStatus {
        let pid = Pid::from_raw(i32::try_from(self.pid()).expect("pids fit in i32"));
        signal::kill(pid, Signal::SIGTERM).expect("SIGTERM is delivered");
        let status = poll_until(
            &format!("{} to exit after SIGTERM", self.label),
            within,
            || async { self.exit_status().ok_or_else(|| "still running".to_owned()) },
        )
        .await;
        self.child.lock().unwrap().take();
        status
    }

    /// Starts the process again, same arguments, port and data, and waits until it is ready.
    pub(crate) async fn restart(&self) {
        self.launch();
        self.wait_ready().await;
    }

    /// The process's `/metrics`, in the Prometheus text format.
    pub(crate) async fn metrics(&self) -> String {
        let reply = http_client()
            .get(format!("{}/metrics", self.url()))
            .send()
            .await
            .unwrap_or_else(|err| panic!("{} serves no /metrics: {err}", self.label));
        assert_eq!(reply.status(), StatusCode::OK, "/metrics of {}", self.label);
        reply.text().await.expect("/metrics reads")
    }

    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// Everything the process has logged so far.
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // A test that failed while holding the lock must still not leave a process behind.
        let slot = self.child.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(mut child) = slot.take() {
            // Best effort: the child may have exited on its own already.
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "----- log of {} ({}), last {LOG_TAIL_LINES} lines -----\n{}",
                self.label,
                self.addr,
                self.log_tail()
            );
        }
    }
}

/// A running deployment of cleave in one of the shapes, and a client of its public API.
/// Dropping it kills every process or container it started and deletes their data.
pub(crate) struct Topology {
    // Declared before `_dir` so that the processes die before their data is removed.
    processes: Vec<Process>,
    containers: Option<Containers>,
    _database: Option<Database>,
    // After the processes, so that they never outlive their broker.
    broker: Option<Server>,
    _dir: TempDir,
    http: reqwest::Client,
}

/// How the processes of a topology are configured beyond their roles and peers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// The internal token every process gets, as `--internal-token`…
    pub(crate) internal_token: Option<String>,
    /// …except the process of this module, which reads it from a file ending in a line break.
    pub(crate) token_file_for: Option<Module>,
    /// More arguments for every process.
    pub(crate) args: Vec<String>,
    /// `RUST_LOG` of every process, when not the default.
    pub(crate) log_level: Option<&'static str>,
    /// A PostgreSQL database of the test's own for every module, as `--database-url`.
    pub(crate) database_url: Option<String>,
    /// The data directory of the process running this module, in place of one in the
    /// topology's temporary directory (a small filesystem, say).
    pub(crate) data_dir_of: Option<(Module, PathBuf)>,
    /// The bound on the NATS server's JetStream store, in bytes, in [`Shape::NatsSplit`].
    pub(crate) broker_max_file_store: Option<u64>,
}

impl Topology {
    /// Starts every process of `shape` and waits until all are ready; starts over on
    /// other ports if a port was taken before its process could bind it.
    pub(crate) async fn start(shape: Shape) -> Self {
        Self::start_with(shape, &Options::default()).await
    }

    /// [`Topology::start`], with `options`.
    pub(crate) async fn start_with(shape: Shape, options: &Options) -> Self {
        const ATTEMPTS: usize = 3;
        if shape == Shape::Containers {
            return Self::in_containers(Containers::start().await);
        }
        for attempt in 1..=ATTEMPTS {
            match Self::try_start(shape, options).await {
                Ok(topology) => return topology,
                Err(label) => eprintln!("{label} lost its port (attempt {attempt}); starting over"),
            }
        }
        panic!("no free ports for {shape:?} in {ATTEMPTS} attempts");
    }

    /// A deployment of containers, reached through its published gateway.
    pub(crate) fn in_containers(containers: Containers) -> Self {
        Self {
            processes: Vec::new(),
            containers: Some(containers),
            _database: None,
            broker: None,
            _dir: TempDir::new().expect("a temporary directory"),
            http: http_client(),
        }
    }

    async fn try_start(shape: Shape, options: &Options) -> Result<Self, String> {
        let dir = TempDir::new().expect("a temporary directory");
        let database = shape.on_postgres().then(|| {
            postgres::cluster()
                .expect("PostgreSQL shapes run only where PostgreSQL is installed")
                .create_database()
        });
        let broker = Server::start(shape, dir.path(), options).await;
        let roles = shape.roles();
        let addrs: Vec<SocketAddr> = roles.iter().map(|_| free_addr()).collect();
        let peer_url = |module: Module| {
            let at = roles.iter().position(|role| hosts(role, module));
            format!("http://{}", addrs[at.expect("every module runs somewhere")])
        };
        let peers: Vec<(String, String)> = Module::ALL
            .iter()
            .map(|&module| (format!("--{}-url", module.name()), peer_url(module)))
            .collect();
        let processes: Vec<Process> = roles
            .iter()
            .zip(&addrs)
            .map(|(role, addr)| {
                let name = role.replace(',', "+");
                let data_dir = match &options.data_dir_of {
                    Some((module, data_dir)) if hosts(role, *module) => data_dir.clone(),
                    _ => dir.path().join(&name),
                };
                let mut args = vec![
                    format!("--role={role}"),
                    "--data-dir".to_owned(),
                    path_arg(&data_dir),
                ];
                for (flag, url) in &peers {
                    args.extend([flag.clone(), url.clone()]);
                }
                let database_url = database.as_ref().map(Database::url);
                if let Some(url) = database_url.or_else(|| options.database_url.clone()) {
                    args.extend(["--database-url".to_owned(), url]);
                }
                if let Some(token) = &options.internal_token {
                    let from_file = options.token_file_for.is_some_and(|m| hosts(role, m));
                    if from_file {
                        let file = dir.path().join(format!("{name}.token"));
                        std::fs::write(&file, format!("{token}\n"))
                            .expect("the token file is written");
                        args.extend(["--internal-token-file".to_owned(), path_arg(&file)]);
                    } else {
                        args.extend(["--internal-token".to_owned(), token.clone()]);
                    }
                }
                if let Some(broker) = &broker {
                    args.extend(["--event-bus".to_owned(), broker.url()]);
                }
                if shape == Shape::GrpcSplit {
                    args.extend(["--transport".to_owned(), "grpc".to_owned()]);
                }
                args.extend(options.args.iter().cloned());
                let log = dir.path().join(format!("{name}.log"));
                Process::spawn(
                    role,
                    *addr,
                    args,
                    options.log_level.unwrap_or(DEFAULT_LOG_LEVEL),
                    log,
                )
            })
            .collect();
        let topology = Self {
            processes,
            containers: None,
            _database: database,
            broker,
            _dir: dir,
            http: http_client(),
        };
        for process in &topology.processes {
            if let Some(status) = process.ready_or_exit().await {
                if process.lost_its_port() {
                    return Err(process.label.clone());
                }
                panic!("{} exited with {status} before it was ready", process.label);
            }
        }
        Ok(topology)
    }

    /// The base URL of the public API, the gateway's (also for clients other than
    /// [`Topology::request`]).
    pub(crate) fn gateway_url(&self) -> String {
        match &self.containers {
            Some(containers) => containers.gateway_url().to_owned(),
            None => self.processes[0].url(),
        }
    }

    /// The containers, in [`Shape::Containers`].
    pub(crate) fn containers(&self) -> &Containers {
        self.containers
            .as_ref()
            .expect("this topology runs in containers")
    }

    /// The NATS server carrying the events, in [`Shape::NatsSplit`].
    pub(crate) fn broker(&self) -> &Broker {
        match &self.broker {
            Some(Server::Nats(broker)) => broker,
            _ => panic!("this topology has no NATS server"),
        }
    }

    /// The broker carrying the events, in the shapes that have one.
    pub(crate) fn bus(&self) -> &Server {
        self.broker.as_ref().expect("this topology has a broker")
    }

    /// Every process, the gateway first.
    pub(crate) fn processes(&self) -> &[Process] {
        &self.processes
    }

    /// The process that carries the gateway, and so the public API.
    pub(crate) fn gateway(&self) -> &Process {
        &self.processes[0]
    }

    /// The process that runs `module`.
    pub(crate) fn process_of(&self, module: Module) -> &Process {
        self.processes
            .iter()
            .find(|p| hosts(&p.label, module))
            .expect("every module runs somewhere")
    }

    pub(crate) fn kill(&self, module: Module) {
        match &self.containers {
            Some(containers) => containers.kill(module),
            None => self.process_of(module).kill(),
        }
    }

    pub(crate) async fn restart(&self, module: Module) {
        match &self.containers {
            Some(containers) => containers.restart(module).await,
            None => self.process_of(module).restart().await,
        }
    }

    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        assert!(path.starts_with('/'), "{path} is not an absolute path");
        self.http
            .request(method, format!("{}{path}", self.gateway_url()))
    }

    /// Sends `request`; a transport error (nothing listening, connection cut) is an `Err`.
    pub(crate) async fn try_send(&self, request: RequestBuilder) -> Result<Reply, reqwest::Error> {
        Reply::read(request.send().await?).await
    }

    pub(crate) async fn send(&self, request: RequestBuilder) -> Reply {
        self.try_send(request)
            .await
            .unwrap_or_else(|err| panic!("request failed: {err:?}"))
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path)).await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    /// Registers a user named after the address; returns its id.
    pub(crate) async fn create_user(&self, email: &str) -> Uuid {
        let name = email.split('@').next().unwrap_or(email);
        let reply = self
            .post("/users", &json!({"email": email, "name": name}))
            .await;
        reply.assert_status(StatusCode::CREATED);
        assert_eq!(reply.body["email"], email, "{reply}");
        id(&reply.body)
    }

    /// Places an order of `(sku, quantity, unit price in cents)` lines; returns it, pending.
    pub(crate) async fn place_order(&self, user: Uuid, items: &[(&str, u32, i64)]) -> Value {
        let reply = self.post("/orders", &order_body(user, items)).await;
        reply.assert_status(StatusCode::CREATED);
        assert_eq!(reply.body["status"], "pending", "{reply}");
        reply.body
    }

    pub(crate) async fn place_order_with_key(
        &self,
        key: &str,
        user: Uuid,
        items: &[(&str, u32, i64)],
    ) -> Reply {
        let request = self
            .request(Method::POST, "/orders")
            .header("idempotency-key", key)
            .json(&order_body(user, items));
        self.send(request).await
    }

    pub(crate) async fn order(&self, order_id: Uuid) -> Value {
        let reply = self.get(&format!("/orders/{order_id}")).await;
        reply.assert_status(StatusCode::OK);
        reply.body
    }

    /// Waits until the order is no longer pending; returns it.
    pub(crate) async fn wait_settled(&self, order_id: Uuid) -> Value {
        self.wait_all_settled(&[order_id]).await.remove(0)
    }

    /// Waits, under one deadline, until none of the orders is pending; returns them.
    pub(crate) async fn wait_all_settled(&self, order_ids: &[Uuid]) -> Vec<Value> {
        let mut settled = Vec::with_capacity(order_ids.len());
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        for &order_id in order_ids {
            let left = deadline.saturating_duration_since(Instant::now());
            let what = format!("order {order_id} to settle");
            let order = poll_until(&what, left, || async {
                let order = self.order(order_id).await;
                match order["status"].as_str() {
                    Some("pending") => Err(order.to_string()),
                    _ => Ok(order),
                }
            })
            .await;
            settled.push(order);
        }
        settled
    }

    pub(crate) async fn payments_of(&self, order_id: Uuid) -> Vec<Value> {
        self.list_all(&format!("/payments?order_id={order_id}"))
            .await
    }

    pub(crate) async fn orders_of(&self, user: Uuid) -> Vec<Value> {
        self.list_all(&format!("/orders?user_id={user}")).await
    }

    /// `GET path` as a client that honours Retry-After: a 503 that says when to come back
    /// (a breaker still open just after a fault ended) is asked again then, up to 10 times.
    async fn get_honouring_retry_after(&self, path: &str) -> Reply {
        let mut reply = self.get(path).await;
        for _ in 0..10 {
            let come_back = reply
                .retry_after
                .as_deref()
                .and_then(|seconds| seconds.parse::<u64>().ok());
            match come_back {
                Some(seconds) if reply.status == StatusCode::SERVICE_UNAVAILABLE => {
                    tokio::time::sleep(Duration::from_secs(seconds.min(5))).await;
                    reply = self.get(path).await;
                }
                _ => break,
            }
        }
        reply
    }

    /// Every item of a list, following `next_cursor` (at most 100 pages).
    pub(crate) async fn list_all(&self, path: &str) -> Vec<Value> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..100 {
            let page_path = match &cursor {
                Some(c) => format!("{path}{separator}limit=500&cursor={c}"),
                None => format!("{path}{separator}limit=500"),
            };
            let reply = self.get_honouring_retry_after(&page_path).await;
            reply.assert_status(StatusCode::OK);
            items.extend(
                reply.body["data"]
                    .as_array()
                    .expect("a list")
                    .iter()
                    .cloned(),
            );
            match reply.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return items,
            }
        }
        panic!("{path} has more than 100 pages");
    }

    /// Asserts that the order settles to `status` (`paid` or `payment_failed`) and holds
    /// exactly one payment, `payment_status`, for its total.
    pub(crate) async fn assert_settled_once(
        &self,
        order_id: Uuid,
        status: &str,
        payment_status: &str,
    ) {
        let order = self.wait_settled(order_id).await;
        assert_eq!(order["status"], status, "order {order}");
        self.assert_one_payment(&order, payment_status).await;
        self.assert_shipped(&order, usize::from(status == "paid"))
            .await;
    }

    /// Asserts that `order` comes to have `count` shipments, and keeps that many.
    async fn assert_shipped(&self, order: &Value, count: usize) {
        let path = format!("/shipments?order_id={}", id(order));
        let shipments = poll_until(
            &format!("order {} to have {count} shipments", id(order)),
            SETTLE_TIMEOUT,
            || async {
                let shipments = self.list_all(&path).await;
                if shipments.len() == count {
                    Ok(shipments)
                } else {
                    Err(format!("{shipments:?}"))
                }
            },
        )
        .await;
        for shipment in shipments {
            assert_eq!(shipment["order_id"], order["id"], "{shipment}");
        }
    }

    async fn assert_one_payment(&self, order: &Value, payment_status: &str) {
        let payments = self.payments_of(id(order)).await;
        assert_eq!(payments.len(), 1, "payments of {order}: {payments:?}");
        let payment = &payments[0];
        assert_eq!(payment["status"], payment_status, "{payment}");
        assert_eq!(payment["order_id"], order["id"], "{payment}");
        assert_eq!(payment["amount_cents"], order["total_cents"], "{payment}");
        assert_eq!(payment["currency"], order["currency"], "{payment}");
    }

    /// Asserts that every order settles `paid`, each with exactly one authorized payment.
    pub(crate) async fn assert_all_paid_once(&self, order_ids: &[Uuid]) {
        for order in self.wait_all_settled(order_ids).await {
            assert_eq!(order["status"], "paid", "order {order}");
            self.assert_one_payment(&order, "authorized").await;
            self.assert_shipped(&order, 1).await;
        }
    }
}

fn path_arg(path: &Path) -> String {
    path.to_str().expect("temporary paths are UTF-8").to_owned()
}

/// The body of `POST /orders`, in euros.
pub(crate) fn order_body(user: Uuid, items: &[(&str, u32, i64)]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(sku, quantity, unit_price_cents)| {
            json!({"sku": sku, "quantity": quantity, "unit_price_cents": unit_price_cents})
        })
        .collect();
    json!({"user_id": user, "currency": "EUR", "items": items})
}

/// The `id` of a resource.
pub(crate) fn id(resource: &Value) -> Uuid {
    resource["id"]
        .as_str()
        .and_then(|text| Uuid::parse_str(text).ok())
        .unwrap_or_else(|| panic!("no id in {resource}"))
}

/// An answer of the API.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) content_type: String,
    /// The `Retry-After` header, if any.
    pub(crate) retry_after: Option<String>,
    /// The body as JSON; `Null` if it is not JSON.
    pub(crate) body: Value,
    pub(crate) text: String,
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} [{}] {}", self.status, self.content_type, self.text)
    }
}

impl Reply {
    /// Reads a whole answer.
    pub(crate) async fn read(response: reqwest::Response) -> Result<Self, reqwest::Error> {
        let status = response.status();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(CONTENT_TYPE).unwrap_or_default();
        let retry_after = header(RETRY_AFTER);
        let text = response.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Reply {
            status,
            content_type,
            retry_after,
            body,
            text,
        })
    }

    /// Asserts that this is a 503 or 429 problem telling when to come back, in seconds.
    pub(crate) fn assert_come_back_later(&self, status: StatusCode) {
        self.assert_problem(status, None);
        let seconds = self
            .retry_after
            .as_deref()
            .and_then(|v| v.parse::<u64>().ok());
        assert!(
            seconds.is_some_and(|s| s >= 1),
            "no Retry-After in seconds: {self}"
        );
    }

    pub(crate) fn assert_status(&self, status: StatusCode) {
        assert_eq!(self.status, status, "{self}");
    }

    /// What is wrong with this reply as the problem `status` naming `field`, if anything.
    pub(crate) fn problem_mismatch(
        &self,
        status: StatusCode,
        field: Option<&str>,
    ) -> Option<String> {
        let mut wrong = Vec::new();
        if self.status != status {
            wrong.push(format!("status {} instead of {status}", self.status));
        }
        if self.content_type != "application/problem+json" {
            wrong.push("content type is not application/problem+json".to_owned());
        }
        if self.body["status"] != status.as_u16() {
            wrong.push("the body's status differs".to_owned());
        }
        for member in ["type", "title", "code"] {
            if !self.body[member].is_string() {
                wrong.push(format!("no `{member}`"));
            }
        }
        if let Some(field) = field {
            let named = self.body["errors"]
                .as_array()
                .is_some_and(|errors| errors.iter().any(|e| e["field"] == field));
            if !named {
                wrong.push(format!("`errors` does not name `{field}`"));
            }
        }
        (!wrong.is_empty()).then(|| format!("{}: {self}", wrong.join(", ")))
    }

    pub(crate) fn assert_problem(&self, status: StatusCode, field: Option<&str>) {
        if let Some(mismatch) = self.problem_mismatch(status, field) {
            panic!("not the expected problem: {mismatch}");
        }
    }
}

/// `name` on `PATH`, or in `debian_dir`, where Debian's package puts it.
pub(crate) fn installed(name: &str, debian_dir: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from(debian_dir)])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Whether `command --version` runs and succeeds.
pub(crate) fn answers_version(command: &str) -> bool {
    Command::new(command)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Whether what a test needs from the machine was `found`; `missing` says what is absent.
/// Where `require` (a `CLEAVE_REQUIRE_…` variable) is set, as in CI, a missing one is a
/// failure; elsewhere the test is skipped, saying so.
pub(crate) fn found_or_skipped(found: bool, require: &str, missing: &str) -> bool {
    if !found {
        assert!(
            std::env::var_os(require).is_none(),
            "{require} is set, but {missing}"
        );
        eprintln!("{missing}: test skipped");
    }
    found
}
