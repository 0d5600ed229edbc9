//! Calls to a module in another process. Every call carries the current request id, is
//! bounded by the client's timeout, and fails as a [`Problem`]: the peer's own problem
//! when it answered with one, 503 when it could not be reached.

use std::time::Duration;

use http::{Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::problem::Problem;
use crate::request_id;

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

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query)
    }

    /// A request to `path` on this peer, carrying the current request id.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, self.url(path));
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
        let response = request.send().await.map_err(|err| self.unreachable(&err))?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(self.problem_from(response).await)
        }
    }

    /// Sends the request and decodes a JSON answer.
    pub async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, Problem> {
        let response = self.send(request).await?;
        response.json().await.map_err(|err| self.unreachable(&err))
    }

    fn unreachable(&self, err: &reqwest::Error) -> Problem {
        tracing::warn!(peer = self.name, error = %err, "peer call failed");
        let what = if err.is_timeout() {
            "did not answer in time"
        } else if err.is_decode() {
            "answered with a body that does not decode"
        } else {
            "cannot be reached"
        };
        Problem::unavailable(format!("the {} module {what}", self.name))
    }

    async fn problem_from(&self, response: reqwest::Response) -> Problem {
        let status = response.status();
        match response.json::<Problem>().await {
            Ok(problem) => problem,
            Err(_) if status == StatusCode::SERVICE_UNAVAILABLE || status.is_server_error() => {
                Problem::unavailable(format!("the {} module answered {status}", self.name))
            }
            Err(_) => Problem::new(status, "peer-error", "Unexpected answer from a module")
                .with_detail(format!("the {} module answered {status}", self.name)),
        }
    }
}
