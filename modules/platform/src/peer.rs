//! Calls to a module in another process. Every call carries the current request id and
//! trace context, is bounded by the client's timeout, and fails as a [`Problem`]: the
//! peer's own problem when it answered with one, 503 when it could not be reached.

use std::time::Duration;

use http::Method;
use serde::de::DeserializeOwned;

use crate::metrics::{PEER_RECEIVED_BYTES, PEER_REQUESTS, PEER_SENT_BYTES};
use crate::problem::Problem;
use crate::{request_id, trace};

/// The HTTP client shared by every peer of a process (one connection pool).
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(2)))
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .build()
        .expect("the TLS-less client builds")
}

/// A module in another process, at a base URL such as `http://users:8080`.
#[derive(Clone, Debug)]
pub struct Peer {
    name: &'static str,
    base: String,
    http: reqwest::Client,
}

impl Peer {
    pub fn new(name: &'static str, base: &str, http: reqwest::Client) -> Self {
        Self {
            name,
            base: base.trim_end_matches('/').to_owned(),
            http,
        }
    }

    fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query)
    }

    /// A request to `path` on this peer, carrying the current request id and trace context.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let builder = trace::inject(self.http.request(method, self.url(path)));
        match request_id::current() {
            Some(id) => builder.header(request_id::HEADER, id),
            None => builder,
        }
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(Method::POST, path)
    }

    /// Sends the request; a non-success answer becomes the peer's problem.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Problem> {
        let request = request.build().map_err(|err| self.unreachable(&err))?;
        let sent = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .map_or(0, <[u8]>::len);
        metrics::counter!(PEER_SENT_BYTES, "peer" => self.name).increment(sent as u64);
        let response = match self.http.execute(request).await {
            Ok(response) => response,
            Err(err) => {
                self.count("unreachable");
                return Err(self.unreachable(&err));
            }
        };
        if response.status().is_success() {
            self.count("ok");
            Ok(response)
        } else {
            self.count("error");
            Err(self.problem_from(response).await)
        }
    }

    /// Sends the request and decodes a JSON answer.
    pub async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, Problem> {
        let body = self
            .send(request)
            .await?
            .bytes()
            .await
            .map_err(|err| self.unreachable(&err))?;
        self.received(body.len());
        serde_json::from_slice(&body).map_err(|err| {
            tracing::warn!(peer = self.name, error = %err, "peer answered with an undecodable body");
            Problem::unavailable(format!("the {} module answered with a body that does not decode", self.name))
        })
    }

    fn count(&self, outcome: &'static str) {
        metrics::counter!(PEER_REQUESTS, "peer" => self.name, "outcome" => outcome).increment(1);
    }

    fn received(&self, bytes: usize) {
        metrics::counter!(PEER_RECEIVED_BYTES, "peer" => self.name).increment(bytes as u64);
    }

    fn unreachable(&self, err: &reqwest::Error) -> Problem {
        tracing::warn!(peer = self.name, error = %err, "peer call failed");
        let what = if err.is_timeout() {
            "did not answer in time"
        } else {
            "cannot be reached"
        };
        Problem::unavailable(format!("the {} module {what}", self.name))
    }

    async fn problem_from(&self, response: reqwest::Response) -> Problem {
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        self.received(body.len());
        match serde_json::from_slice::<Problem>(&body) {
            Ok(problem) => problem,
            Err(_) if status.is_server_error() => {
                Problem::unavailable(format!("the {} module answered {status}", self.name))
            }
            Err(_) => Problem::new(status, "peer-error", "Unexpected answer from a module")
                .with_detail(format!("the {} module answered {status}", self.name)),
        }
    }
}
