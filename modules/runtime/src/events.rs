//! Events between modules: the handler trait a consuming module implements, and the
//! delivery of a batch to a consumer in another process. The same trait is implemented by a module's own
//! handler (delivery in memory) and by [`RemoteConsumer`] (delivery over HTTP), so the
//! relay cannot tell them apart.

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use axum::Router;
use http::StatusCode;

use crate::extract::Json;
use crate::metrics::EVENTS_REJECTED;
use crate::peer::Peer;
use crate::{request_id, trace};
use vocab::events::{Envelope, Event};
use vocab::Problem;

/// Wraps an event in its envelope, stamping it with the current request id and trace
/// context, so that its consumer handles it in the trace of the request that caused it.
pub fn envelope<E: Event>(event: &E) -> Envelope {
    Envelope::of(event, request_id::current(), trace::current_traceparent())
}

/// Why a batch of events was not applied. The relay retries every kind: events are never
/// dropped, so a consumer that rejects an event holds its producer's queue until fixed.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("consumer unavailable: {0}")]
    Unavailable(String),
    #[error("consumer failed: {0}")]
    Failed(String),
    /// The batch holds an event the consumer cannot decode: a fault in what was sent, not
    /// in the consumer's state, so over HTTP a 400.
    #[error("undecodable event: {0}")]
    Undecodable(String),
}

impl From<sqlx::Error> for EventError {
    /// A storage fault makes the consumer unavailable (503 over HTTP), so that the batch
    /// comes again once the storage is back; anything else is a failure of its own.
    fn from(err: sqlx::Error) -> Self {
        if crate::db::fault::is_storage(&err) {
            Self::Unavailable(err.to_string())
        } else {
            Self::Failed(err.to_string())
        }
    }
}

/// Applies a batch of events, in order, idempotently: a batch may be delivered again.
#[async_trait]
pub trait EventHandler: Send + Sync {
    async fn handle(&self, batch: &[Envelope]) -> Result<(), EventError>;

    /// Whether a successful [`EventHandler::handle`] means the events were applied, or
    /// only handed to a broker that delivers them later (where they are counted as
    /// applied).
    fn applies(&self) -> bool {
        true
    }
}

/// The path on which a module receives events from other processes.
pub fn consumer_path(module: &str) -> String {
    format!("/internal/events/{module}")
}

/// The largest batch of events a consumer accepts. It is set apart from the public body
/// limit: a batch refused for its size would be retried forever and hold up every event
/// behind it.
pub(crate) const BATCH_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Serves a module's [`EventHandler`] at [`consumer_path`].
pub fn consumer_router(module: &str, handler: Arc<dyn EventHandler>) -> Router {
    let consumer = Consumer {
        module: module.to_owned(),
        handler,
    };
    Router::new()
        .route(
            &consumer_path(module),
            post(receive).layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT)),
        )
        .with_state(Arc::new(consumer))
}

/// The module whose events a consumer's route receives, and its handler.
struct Consumer {
    module: String,
    handler: Arc<dyn EventHandler>,
}

impl Consumer {
    /// A batch this consumer cannot decode. Its producer sends it again until one of the
    /// two is fixed, so it is logged and counted where an operator looks.
    fn refuse(&self, detail: String) -> Problem {
        tracing::error!(consumer = %self.module, %detail, "undecodable event batch refused");
        metrics::counter!(EVENTS_REJECTED, "consumer" => self.module.clone()).increment(1);
        Problem::new(
            StatusCode::BAD_REQUEST,
            "undecodable-events",
            "Undecodable events",
        )
        .with_detail(detail)
    }
}

async fn receive(
    State(consumer): State<Arc<Consumer>>,
    batch: Result<Json<Vec<Envelope>>, Problem>,
) -> Result<StatusCode, Problem> {
    let batch = match batch {
        Ok(Json(batch)) => batch,
        Err(problem)
            if matches!(
                problem.status_code(),
                StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY
            ) =>
        {
            return Err(consumer.refuse(problem.to_string()));
        }
        Err(problem) => return Err(problem),
    };
    match consumer.handler.handle(&batch).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(EventError::Unavailable(detail)) => Err(Problem::unavailable(detail)),
        Err(EventError::Undecodable(detail)) => Err(consumer.refuse(detail)),
        Err(err @ EventError::Failed(_)) => Err(Problem::internal(&err)),
    }
}

/// A consumer in another process, reached over HTTP.
pub struct RemoteConsumer {
    peer: Peer,
    path: String,
}

impl RemoteConsumer {
    pub fn new(peer: Peer, module: &str) -> Self {
        Self {
            peer,
            path: consumer_path(module),
        }
    }
}

#[async_trait]
impl EventHandler for RemoteConsumer {
    async fn handle(&self, batch: &[Envelope]) -> Result<(), EventError> {
        let request = self.peer.internal_post(&self.path).json(batch);
        match self.peer.send(request).await {
            Ok(_) => Ok(()),
            Err(problem) if problem.status == StatusCode::SERVICE_UNAVAILABLE.as_u16() => {
                Err(EventError::Unavailable(problem.to_string()))
            }
            Err(problem) if problem.status == StatusCode::BAD_REQUEST.as_u16() => {
                Err(EventError::Undecodable(problem.to_string()))
            }
            Err(problem) => Err(EventError::Failed(problem.to_string())),
        }
    }
}
