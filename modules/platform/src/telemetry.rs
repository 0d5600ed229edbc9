//! Logging, set up once per process. `RUST_LOG` overrides the default level.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Its report of a failed write goes to stderr too and panics when stderr is a pipe
        // whose reader is gone (a child whose parent died): a lost log line must not be fatal.
        .log_internal_errors(false)
        .init();
}
