//! `cleave probe`: a health check that needs nothing but the binary, for images that
//! carry no curl (Docker's `HEALTHCHECK`, Kubernetes `exec` probes, scripts).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct ProbeArgs {
    /// URL to check. By default, `/readyz` of the server on this machine at the port of
    /// --listen.
    pub url: Option<String>,

    /// The server's listen address, whose port the default URL uses.
    #[arg(long, env = "CLEAVE_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,

    /// How long to wait for the answer, in milliseconds.
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: u64,
}

impl ProbeArgs {
    fn url(&self) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| format!("http://127.0.0.1:{}/readyz", self.listen.port()))
    }
}

/// Succeeds when `GET url` answers 2xx within the timeout.
pub async fn run(args: ProbeArgs) -> anyhow::Result<()> {
    let url = args.url();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(args.timeout_ms))
        .build()
        .context("building the HTTP client")?;
    let response = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        bail!("GET {url} answered {status}: {body}");
    }
    println!("{url}: {status}");
    Ok(())
}
