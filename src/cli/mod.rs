//! The command line. Every flag is also an environment variable, `CLEAVE_<FLAG>`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use runtime::db::{DatabaseUrl, Location};
use runtime::internal::InternalToken;
use runtime::policy::CallPolicy;

mod per_module;
pub mod reference;

pub use per_module::{DatabaseUrls, ModuleFlags, PeerUrls};

use crate::limits::Limits;
use crate::roles::Roles;

/// One binary, a modular monolith or a set of microservices, chosen by a flag.
///
/// With no subcommand, cleave serves: `cleave --role=orders` is `cleave serve --role=orders`.
#[derive(Debug, Parser)]
#[command(name = "cleave", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub serve: ServeArgs,
}

// Parsed once at start and matched at once: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API of the modules named by --role (the default command).
    Serve(ServeArgs),
    /// Apply the database migrations of the modules named by --role, then exit.
    Migrate(ModuleArgs),
    /// Run a topology on this machine as child processes, with their logs prefixed.
    Up(tools::up::UpArgs),
    /// Run the same workload on several topologies side by side and report what the
    /// split costs and buys.
    Compare(tools::compare::CompareArgs),
    /// Check that a cleave server answers: exits 0 when its /readyz (or URL) answers 2xx.
    Probe(crate::probe::ProbeArgs),
    /// Print the OpenAPI document of the public API (the one served at /openapi.json).
    Openapi,
    /// Generate the deployment files that follow the list of modules: compose.yaml, and
    /// the microservices overlay of deploy/k8s.
    #[command(subcommand)]
    Manifests(tools::manifests::Manifests),
    /// Print every flag of every command as Markdown (docs/configuration.md).
    Flags,
}

/// Examples at the end of `cleave --help`.
const EXAMPLES: &str = "\
Examples:
  cleave                                    every module and the gateway, on :8080, data in ./data
  cleave --role=orders --listen 0.0.0.0:8082   one module, calling the others at their default URLs
  cleave --role=gateway --orders-url http://127.0.0.1:8082   the public API of modules elsewhere
  cleave --database-url postgres://cleave@db/shop   every local module in PostgreSQL
  cleave up --topology users+orders,payments+shipping   a grouping as child processes
  cleave compare                            the monolith and the split, measured side by side";

/// The command line: the derived definitions, with the modules of the binary's list named
/// where a flag's help lists them, and the examples.
pub fn command() -> clap::Command {
    let names: Vec<&str> = crate::modules::MODULES.iter().map(|m| m.name).collect();
    let role = format!(
        "Modules this process runs, comma-separated: all (alias all-in-one), gateway, {}",
        names.join(", ")
    );
    // Changing an argument moves it last: its display order puts it back in front.
    let with_role =
        |command: clap::Command| command.mut_arg("role", |a| a.help(role.clone()).display_order(0));
    with_role(Cli::command())
        .mut_subcommand("serve", with_role)
        .mut_subcommand("migrate", with_role)
        .after_long_help(EXAMPLES)
}

/// Parses the process's arguments; prints help, a version or an error and exits when they
/// call for it.
pub fn parse() -> Cli {
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit())
}

/// Which modules this process holds, and where they keep their data.
#[derive(Debug, Clone, Args)]
pub struct ModuleArgs {
    /// Modules this process runs, comma-separated: all (alias all-in-one), gateway, or
    /// modules of the binary.
    #[arg(
        help_heading = "Serving",
        long,
        env = "CLEAVE_ROLE",
        default_value = "all"
    )]
    pub role: Roles,

    /// Directory of the SQLite databases, one file per local module.
    #[arg(
        help_heading = "Storage",
        long,
        env = "CLEAVE_DATA_DIR",
        default_value = "./data",
        value_parser = data_dir
    )]
    pub data_dir: PathBuf,

    // Where the modules keep their data on PostgreSQL instead of SQLite.
    /// PostgreSQL database of every local module (postgres://…), each in the schema of its
    /// name. Without it, SQLite files in --data-dir.
    #[arg(
        help_heading = "Storage",
        long,
        env = "CLEAVE_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<DatabaseUrl>,

    /// Connections each local module may hold open to PostgreSQL. Writers commit
    /// concurrently, so more connections take more writes at once, up to what the server's
    /// cores and max_connections allow (shared by every process and module).
    #[arg(help_heading = "Storage", long, env = "CLEAVE_DATABASE_POOL_SIZE", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub database_pool_size: u32,

    #[command(flatten)]
    pub databases: DatabaseUrls,
}

/// A directory, or a path where one can be made: not an existing file.
fn data_dir(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if path.exists() && !path.is_dir() {
        return Err(format!("`{text}` is a file; --data-dir names a directory"));
    }
    Ok(path)
}

impl ModuleArgs {
    /// Where `module` keeps its data: its own URL, else the shared one, else SQLite.
    pub fn location(&self, module: &str) -> Location {
        let own = self.databases.of(module);
        Location::new(
            &self.data_dir,
            own.or(self.database_url.as_ref()),
            self.database_pool_size,
        )
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address the public (and internal) HTTP API listens on.
    #[arg(
        help_heading = "Serving",
        long,
        env = "CLEAVE_LISTEN",
        default_value = "0.0.0.0:8080"
    )]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub modules: ModuleArgs,

    #[command(flatten)]
    pub peers: PeerUrls,

    #[command(flatten)]
    pub module_flags: ModuleFlags,

    /// How long a call to another module may take, in milliseconds, before it fails as 503.
    #[arg(help_heading = "Peers", long, env = "CLEAVE_PEER_TIMEOUT_MS", default_value_t = 5_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub peer_timeout_ms: u64,

    /// How modules in different processes call each other, and (with `--event-bus http`)
    /// deliver events: `http`, HTTP/JSON; `grpc`, gRPC (protobuf over HTTP/2) on the same
    /// port, told apart by its content type. Every process of a deployment takes the same
    /// value. The public API at the gateway is HTTP/JSON either way, and modules in one
    /// process call each other in memory.
    #[arg(help_heading = "Peers", long, env = "CLEAVE_TRANSPORT", value_enum, default_value_t = Transport::Http)]
    pub transport: Transport,

    /// Largest request body accepted, in bytes; larger ones are refused with 413, before a
    /// byte of them is read when their Content-Length says so.
    #[arg(help_heading = "Policies", long, env = "CLEAVE_MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,

    // What a client may hold: connections, and how long it may keep one waiting.
    /// How long a request's body may take to arrive once its head has, in milliseconds; a
    /// body that is late (slow, or shorter than its Content-Length) is answered 408.
    #[arg(help_heading = "Policies", long, env = "CLEAVE_BODY_READ_TIMEOUT_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub body_read_timeout_ms: u64,

    /// How long a client may take to send a request's head (request line and headers), in
    /// milliseconds, from when its connection opens or, on a kept-alive connection, from
    /// the head's first byte; a client that is late has its connection closed.
    #[arg(help_heading = "Policies", long, env = "CLEAVE_HEADER_READ_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_ms: u64,

    /// How long a kept-alive connection may wait for its next request, in milliseconds,
    /// before it is closed. The default outlasts the 60 s for which processes keep idle
    /// connections to each other, so that none closes a connection another is reusing.
    #[arg(help_heading = "Policies", long, env = "CLEAVE_IDLE_TIMEOUT_MS", default_value_t = 75_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_ms: u64,

    /// Largest request head (request line and headers), in bytes; a larger one is answered
    /// 431 and its connection closed.
    #[arg(help_heading = "Policies", long, env = "CLEAVE_MAX_HEADER_BYTES", default_value_t = 8 * 1024,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_header_bytes: usize,

    /// Connections open at once; more wait, unanswered, in the listen backlog until one
    /// closes. The soft limit on open files is raised to the hard one to make room for them.
    #[arg(help_heading = "Policies", long, env = "CLEAVE_MAX_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections: usize,

    /// On SIGTERM or Ctrl-C, how long in-flight requests may take to finish, in milliseconds.
    #[arg(
        help_heading = "Serving",
        long,
        env = "CLEAVE_SHUTDOWN_GRACE_MS",
        default_value_t = 10_000
    )]
    pub shutdown_grace_ms: u64,

    /// Shut down when standard input closes: how `cleave up` and `cleave compare` make sure
    /// their child processes never outlive them.
    #[arg(help_heading = "Serving", long, env = "CLEAVE_EXIT_ON_STDIN_EOF")]
    pub exit_on_stdin_eof: bool,

    // Who may call the internal routes, and the policies on every hop.
    /// Secret shared by the processes of a deployment: required on their internal routes
    /// (event delivery) and, with `--transport grpc`, on their gRPC services (but health
    /// and reflection), and sent on calls to them. Without one, a process that serves
    /// either leaves them open to anyone who reaches its port.
    #[arg(
        help_heading = "Peers",
        long,
        env = "CLEAVE_INTERNAL_TOKEN",
        hide_env_values = true,
        conflicts_with = "internal_token_file"
    )]
    pub internal_token: Option<InternalToken>,

    /// File holding the internal token (a Docker or Kubernetes secret); a line break at
    /// its end is ignored.
    #[arg(help_heading = "Peers", long, env = "CLEAVE_INTERNAL_TOKEN_FILE")]
    pub internal_token_file: Option<PathBuf>,

    /// Extra attempts for a GET to another module (over gRPC, a get or a list) that got no
    /// answer (connection refused or cut). Never after a timeout, never for a POST.
    #[arg(help_heading = "Peers", long, env = "CLEAVE_PEER_RETRIES", default_value_t = CallPolicy::default().retries)]
    pub peer_retries: u32,

    /// Wait before the first retry, in milliseconds; doubled for each next one (at most
    /// 1 s), with random jitter.
    #[arg(
        help_heading = "Peers",
        long,
        env = "CLEAVE_PEER_RETRY_BACKOFF_MS",
        default_value_t = 50
    )]
    pub peer_retry_backoff_ms: u64,

    /// Failed calls in a row (no connection, no answer in time) after which the breaker of
    /// that module opens: its calls fail at once with 503 for --breaker-open-ms. 0 disables
    /// the breaker.
    #[arg(help_heading = "Peers", long, env = "CLEAVE_BREAKER_FAILURES", default_value_t = CallPolicy::default().breaker_failures)]
    pub breaker_failures: u32,

    /// How long an open breaker refuses calls, in milliseconds, before it lets one through
    /// to find out whether the module is back.
    #[arg(help_heading = "Peers", long, env = "CLEAVE_BREAKER_OPEN_MS", default_value_t = 2_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub breaker_open_ms: u64,

    /// How often, at most, the host names of the --<module>-url flags are resolved again,
    /// in milliseconds, so that replicas that come and go get calls or stop getting them.
    /// An address whose call got no answer is left alone for --breaker-open-ms meanwhile.
    #[arg(help_heading = "Peers", long, env = "CLEAVE_PEER_RESOLVE_MS", default_value_t = 5_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub peer_resolve_ms: u64,

    /// Public requests served at once; more are refused at once with 503 and Retry-After
    /// instead of queueing. 0: no bound.
    #[arg(
        help_heading = "Policies",
        long,
        env = "CLEAVE_MAX_IN_FLIGHT",
        default_value_t = 1_024
    )]
    pub max_in_flight: usize,

    /// Requests per second one client (IP address) may send to the gateway, in bursts of
    /// as many; more get 429 with Retry-After. 0: no limit.
    #[arg(
        help_heading = "Policies",
        long,
        env = "CLEAVE_RATE_LIMIT",
        default_value_t = 20_000
    )]
    pub rate_limit: u32,

    // How events travel between modules in different processes.
    /// `http`: the producer's relay posts them to the consumer's internal route. A broker's
    /// URL: through that broker, `nats://host:4222` (NATS JetStream, the stream
    /// `CLEAVE_EVENTS`), `redis://host:6379` (Redis Streams) or
    /// `amqp://user:password@host:5672/%2f` (RabbitMQ) or `kafka://host:9092[,host:9092]`
    /// (Kafka). Events between modules of one process stay in memory either way.
    #[arg(
        help_heading = "Events",
        long,
        env = "CLEAVE_EVENT_BUS",
        default_value = "http"
    )]
    pub event_bus: EventBus,

    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

/// How the process logs and where its spans go.
#[derive(Debug, Clone, Args)]
pub struct TelemetryArgs {
    /// Log lines as text, or as JSON objects (one a line) carrying the fields of every
    /// enclosing span, such as `trace_id` and `request_id`.
    #[arg(help_heading = "Telemetry", long, env = "CLEAVE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Base URL of an OTLP/HTTP collector (such as http://localhost:4318) to export spans
    /// to, at <url>/v1/traces. Off when absent.
    #[arg(help_heading = "Telemetry", long, env = "CLEAVE_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// Finished spans each process keeps in memory, the oldest dropped first, for the
    /// gateway's /dashboard to draw recent requests as traces across processes. 0 keeps none.
    #[arg(
        help_heading = "Telemetry",
        long,
        env = "CLEAVE_RECENT_SPANS",
        default_value_t = 4_096
    )]
    pub recent_spans: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The protocol of calls between modules in different processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    Http,
    Grpc,
}

impl Command {
    /// The logging and tracing of the process running this command: what the flags of
    /// `serve` say; the other commands log text and export nothing.
    pub fn telemetry(&self) -> runtime::telemetry::Settings {
        match self {
            Command::Serve(args) => runtime::telemetry::Settings {
                json: args.telemetry.log_format == LogFormat::Json,
                otlp_endpoint: args.telemetry.otlp_endpoint.clone(),
                service: format!("cleave-{}", args.modules.role),
                recent_spans: args.telemetry.recent_spans,
            },
            _ => runtime::telemetry::Settings {
                service: "cleave".to_owned(),
                ..Default::default()
            },
        }
    }
}

/// The transport of events between processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventBus {
    Http,
    /// The URL of a broker: NATS with JetStream enabled, Redis, RabbitMQ or Kafka.
    Broker(String),
}

impl std::str::FromStr for EventBus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "http" {
            Ok(Self::Http)
        } else if runtime::bus::Kind::of(text).is_some() {
            Ok(Self::Broker(text.to_owned()))
        } else {
            Err(format!(
                "`{text}` is neither `http` nor a nats://, redis://, amqp:// or kafka:// URL"
            ))
        }
    }
}

impl ServeArgs {
    pub fn peer_timeout(&self) -> Duration {
        Duration::from_millis(self.peer_timeout_ms)
    }

    /// The internal token, from the flag or read from its file.
    pub fn internal_token(&self) -> anyhow::Result<Option<InternalToken>> {
        match (&self.internal_token, &self.internal_token_file) {
            (Some(token), _) => Ok(Some(token.clone())),
            (None, Some(path)) => InternalToken::read(path).map(Some),
            (None, None) => Ok(None),
        }
    }

    pub fn call_policy(&self) -> CallPolicy {
        CallPolicy {
            retries: self.peer_retries,
            retry_backoff: Duration::from_millis(self.peer_retry_backoff_ms),
            breaker_failures: self.breaker_failures,
            breaker_open: Duration::from_millis(self.breaker_open_ms),
            resolve_every: Duration::from_millis(self.peer_resolve_ms),
        }
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_in_flight: self.max_in_flight,
            rate_per_client: self.rate_limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, EventBus, Location};

    #[test]
    fn the_internal_token_never_shows_in_debug_output() {
        let cli = Cli::parse_from([
            "cleave",
            "--role=orders",
            "--internal-token",
            "s3cret-token",
        ]);
        let token = cli.serve.internal_token().unwrap();
        assert!(token.is_some());
        let shown = format!("{cli:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn a_database_password_never_shows_in_debug_output() {
        let cli = Cli::parse_from([
            "cleave",
            "--database-url",
            "postgres://cleave:s3cret-pass@db/shop",
            "--orders-database-url",
            "postgresql://cleave:s3cret-pass@other/shop",
        ]);
        let shown = format!("{cli:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        let orders = format!("{:?}", cli.serve.modules.location("orders"));
        assert!(!orders.contains("s3cret"), "{orders}");
    }

    #[test]
    fn the_pool_size_reaches_each_postgres_module() {
        let cli = Cli::parse_from([
            "cleave",
            "--database-url",
            "postgres://db/shop",
            "--database-pool-size",
            "48",
        ]);
        let Location::Postgres { pool_size, .. } = cli.serve.modules.location("orders") else {
            panic!("orders is on PostgreSQL");
        };
        assert_eq!(pool_size, 48);
        assert!(Cli::try_parse_from(["cleave", "--database-pool-size", "0"]).is_err());
    }

    #[test]
    fn the_event_bus_is_http_or_a_broker_url() {
        let default = Cli::parse_from(["cleave"]);
        assert_eq!(default.serve.event_bus, EventBus::Http);
        let nats = Cli::parse_from(["cleave", "--event-bus", "nats://127.0.0.1:4222"]);
        assert_eq!(
            nats.serve.event_bus,
            EventBus::Broker("nats://127.0.0.1:4222".to_owned())
        );
        let redis = Cli::parse_from(["cleave", "--event-bus", "redis://127.0.0.1:6379"]);
        assert_eq!(
            redis.serve.event_bus,
            EventBus::Broker("redis://127.0.0.1:6379".to_owned())
        );
        assert!(Cli::try_parse_from(["cleave", "--event-bus", "mqtt://x"]).is_err());
    }

    #[test]
    fn a_token_and_a_token_file_exclude_each_other() {
        let both = Cli::try_parse_from([
            "cleave",
            "--internal-token",
            "s3cret-token",
            "--internal-token-file",
            "/run/secrets/token",
        ]);
        assert!(both.is_err());
    }
}
