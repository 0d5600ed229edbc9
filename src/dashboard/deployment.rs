//! Where each module runs as the gateway sees it, and whether it is ready: a local
//! module's database is asked directly; a module elsewhere through its process's `/readyz`,
//! as the gateway reaches it, so a process that is down, slow or cut off shows here even
//! though its own `/readyz` cannot say so.

use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime::db::Db;
use runtime::internal::InternalToken;
use serde::Serialize;

/// How long the gateway waits for a process's answer before calling it unreachable.
pub(super) const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Where a module runs.
#[derive(Clone)]
pub enum Site {
    /// In this process, on this database.
    Local(Db),
    /// In the process at this base URL (the first of its `--<module>-url`).
    Remote(String),
}

/// The deployment as this gateway sees it. Clones share everything.
#[derive(Clone)]
pub struct Deployment(pub(super) Arc<Inner>);

pub(super) struct Inner {
    /// This process's roles, as `--role` names them.
    pub(super) roles: String,
    pub(super) modules: Vec<(&'static str, Site)>,
    pub(super) token: Option<InternalToken>,
    /// A client of its own: probes must not trip the breakers of the modules' calls, nor
    /// count as their calls.
    pub(super) http: reqwest::Client,
}

impl Deployment {
    pub fn new(
        roles: String,
        modules: Vec<(&'static str, Site)>,
        token: Option<InternalToken>,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(PROBE_TIMEOUT)
            .connect_timeout(PROBE_TIMEOUT)
            .build()
            .expect("the TLS-less client builds");
        Self(Arc::new(Inner {
            roles,
            modules,
            token,
            http,
        }))
    }

    /// The processes of the deployment: this one first, then one per distinct base URL,
    /// each with the modules it runs.
    pub(super) fn processes(&self) -> Vec<Process> {
        let mut processes = vec![Process {
            name: self.0.roles.clone(),
            url: None,
            modules: Vec::new(),
        }];
        for (module, site) in &self.0.modules {
            let url = match site {
                Site::Local(_) => None,
                Site::Remote(url) => Some(url.clone()),
            };
            match processes.iter_mut().find(|p| p.url == url) {
                Some(process) => process.modules.push(module),
                None => processes.push(Process {
                    name: String::new(),
                    url,
                    modules: vec![module],
                }),
            }
        }
        for process in processes.iter_mut().filter(|p| p.url.is_some()) {
            process.name = process.modules.join(",");
        }
        processes
    }

    /// Every module's readiness, asked at once.
    pub(super) async fn health(&self) -> Health {
        let checks = self.0.modules.iter().map(|(module, site)| async move {
            let started = Instant::now();
            let (process, result) = match site {
                Site::Local(db) => (self.0.roles.clone(), db.ready().await),
                Site::Remote(url) => (url.clone(), self.remote_ready(url).await),
            };
            ModuleHealth {
                module,
                process,
                ready: result.is_ok(),
                latency_ms: started.elapsed().as_secs_f64() * 1000.0,
                reason: result.err(),
            }
        });
        Health::of(futures::future::join_all(checks).await)
    }

    async fn remote_ready(&self, base: &str) -> Result<(), String> {
        let response = self
            .0
            .http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .map_err(|err| unreachable(base, &err))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let detail = response
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|body| body["detail"].as_str().map(str::to_owned))
            .unwrap_or_default();
        Err(format!("its process answers {status}: {detail}"))
    }

    /// A GET to `path` on the process at `base`, with the internal token.
    pub(super) fn internal_get(&self, base: &str, path: &str) -> reqwest::RequestBuilder {
        let request = self.0.http.get(format!("{base}{path}"));
        match &self.0.token {
            Some(token) => request.header(http::header::AUTHORIZATION, token.authorization()),
            None => request,
        }
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.0.http
    }
}

/// Why a process could not be asked, in words: refused, timed out, or cut.
pub(super) fn unreachable(base: &str, err: &reqwest::Error) -> String {
    let why = if err.is_timeout() {
        format!("no answer within {PROBE_TIMEOUT:?}")
    } else if err.is_connect() {
        "connection refused or no route".to_owned()
    } else {
        "the connection failed".to_owned()
    };
    format!("cannot reach {base}: {why}")
}

/// A process of the deployment as the gateway knows it.
pub(super) struct Process {
    /// Its roles: the modules it runs, or this gateway's own `--role`.
    pub(super) name: String,
    /// None for this process.
    pub(super) url: Option<String>,
    pub(super) modules: Vec<&'static str>,
}

/// What `GET /health/deployment` answers.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Health {
    /// `ready`, or `degraded` when a module is not.
    status: &'static str,
    pub(super) modules: Vec<ModuleHealth>,
}

impl Health {
    fn of(modules: Vec<ModuleHealth>) -> Self {
        let status = if modules.iter().all(|m| m.ready) {
            "ready"
        } else {
            "degraded"
        };
        Self { status, modules }
    }

    pub(super) fn ready(&self) -> bool {
        self.status == "ready"
    }
}

/// One module's readiness as the gateway reaches it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct ModuleHealth {
    pub(super) module: &'static str,
    /// The process that runs it: this one's roles, or the URL the gateway reaches it at.
    pub(super) process: String,
    pub(super) ready: bool,
    /// How long the answer took, in milliseconds.
    pub(super) latency_ms: f64,
    /// Why it is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) reason: Option<String>,
}
