//! A fault switch for failure drills: `POST /internal/faults/{module}` with
//! `{"secs": 4}` makes one module of this process fail for that long. Its public routes
//! answer 503, its gRPC service answers UNAVAILABLE, and it refuses the events delivered
//! to it, which come again once it is
//! back, just as when its process is gone, but every other module of the process runs on.
//! `cleave compare --drill module` uses it to fail payments alone, in a monolith as in a
//! split. The route is internal: it is not in the OpenAPI document, and it exists only in
//! a process that has an internal token to guard it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use http::{header, HeaderValue, StatusCode};
use runtime::events::{EventError, EventHandler};
use runtime::extract::Json;
use vocab::events::Envelope;
use vocab::problem::{FieldError, Problem};

/// The longest fault a drill may ask for: long enough for any drill, short enough that a
/// forgotten one ends on its own.
const LONGEST: Duration = Duration::from_secs(3600);

/// Until when each failing module of this process fails.
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<HashMap<&'static str, Instant>>>);

impl Faults {
    fn failing(&self, module: &str) -> bool {
        let until = self.0.lock().expect("not poisoned").get(module).copied();
        until.is_some_and(|until| Instant::now() < until)
    }

    fn fail(&self, module: &'static str, length: Duration) {
        self.0
            .lock()
            .expect("not poisoned")
            .insert(module, Instant::now() + length);
    }

    /// `router`, a local module's public routes, answering 503 while `module` fails.
    pub fn guard_routes(&self, module: &'static str, router: Router) -> Router {
        router.layer(middleware::from_fn_with_state(
            (self.clone(), module),
            refuse_while_failing,
        ))
    }

    /// `router`, the gRPC services of this process, answering UNAVAILABLE to the calls of
    /// a failing module's service; `services` pairs each local module with its service's
    /// full name.
    pub fn guard_grpc(
        &self,
        services: Vec<(&'static str, &'static str)>,
        router: Router,
    ) -> Router {
        router.layer(middleware::from_fn_with_state(
            (self.clone(), Arc::new(services)),
            refuse_calls_while_failing,
        ))
    }

    /// `handler`, a local module's event handler, refusing batches while `module` fails.
    pub fn guard_events(
        &self,
        module: &'static str,
        handler: Arc<dyn EventHandler>,
    ) -> Arc<dyn EventHandler> {
        Arc::new(Failing {
            faults: self.clone(),
            module,
            inner: handler,
        })
    }

    /// The switch for the modules of `local`.
    pub fn router(&self, local: Vec<&'static str>) -> Router {
        Router::new()
            .route("/internal/faults/{module}", post(switch))
            .with_state((self.clone(), Arc::new(local)))
    }
}

async fn refuse_while_failing(
    State((faults, module)): State<(Faults, &'static str)>,
    req: Request,
    next: Next,
) -> Response {
    if faults.failing(module) {
        return Problem::unavailable(format!("{module} is failing on purpose, for a drill"))
            .into_response();
    }
    next.run(req).await
}

/// Services: `(module, service)` pairs.
type Services = Arc<Vec<(&'static str, &'static str)>>;

async fn refuse_calls_while_failing(
    State((faults, services)): State<(Faults, Services)>,
    req: Request,
    next: Next,
) -> Response {
    // A gRPC call's path is `/<service>/<method>`.
    let service = req.uri().path().trim_start_matches('/').split('/').next();
    let failing = services
        .iter()
        .find(|(module, name)| Some(*name) == service && faults.failing(module));
    match failing {
        Some((module, _)) => grpc_unavailable(module),
        None => next.run(req).await,
    }
}

/// A trailers-only gRPC answer with status 14, UNAVAILABLE: what a client sees of a
/// service that is down, and retries.
fn grpc_unavailable(module: &str) -> Response {
    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    headers.insert("grpc-status", HeaderValue::from_static("14"));
    if let Ok(message) =
        HeaderValue::from_str(&format!("{module} is failing on purpose, for a drill"))
    {
        headers.insert("grpc-message", message);
    }
    response
}

struct Failing {
    faults: Faults,
    module: &'static str,
    inner: Arc<dyn EventHandler>,
}

#[async_trait]
impl EventHandler for Failing {
    async fn handle(&self, batch: &[Envelope]) -> Result<(), EventError> {
        if self.faults.failing(self.module) {
            return Err(EventError::Unavailable(format!(
                "{} is failing on purpose, for a drill",
                self.module
            )));
        }
        self.inner.handle(batch).await
    }

    fn applies(&self) -> bool {
        self.inner.applies()
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Fault {
    /// How long the module fails, seconds; 0 ends a fault.
    secs: f64,
}

async fn switch(
    State((faults, local)): State<(Faults, Arc<Vec<&'static str>>)>,
    Path(module): Path<String>,
    Json(fault): Json<Fault>,
) -> Result<StatusCode, Problem> {
    let Some(&module) = local.iter().find(|name| **name == module) else {
        return Err(
            Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
                .with_detail(format!("no module {module:?} runs in this process")),
        );
    };
    let length = Duration::try_from_secs_f64(fault.secs)
        .ok()
        .filter(|length| *length <= LONGEST)
        .ok_or_else(|| {
            Problem::invalid(vec![FieldError::new(
                "secs",
                format!("seconds from 0 to {}", LONGEST.as_secs()),
            )])
        })?;
    faults.fail(module, length);
    tracing::warn!(module, secs = fault.secs, "failing on purpose, for a drill");
    Ok(StatusCode::NO_CONTENT)
}
