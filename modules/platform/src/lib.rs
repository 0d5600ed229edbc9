//! Shared mechanisms of every cleave module. No business rule lives here.
//!
//! # Layout
//! - [`problem`]: RFC 9457 `application/problem+json` errors, the one error shape on the wire.
//! - [`extract`]: axum extractors whose rejections come back as problems naming the field.
//! - [`page`]: cursor pagination shared by every list endpoint.
//! - [`db`]: opening a module's own SQLite database (one writer, several readers).
//! - [`events`]: the event envelope and the handler trait consumers implement.
//! - [`outbox`]: events written in the producer's transaction, and the relay that delivers them.
//! - [`inbox`]: the consumer's record of processed event ids, for idempotent handling.
//! - [`peer`]: the HTTP client stack for calls to modules in other processes.
//! - [`request_id`]: the request id carried across every internal hop.
//! - [`health`]: `/healthz` and `/readyz`.
//! - [`metrics`]: Prometheus counters and histograms at `/metrics`.
//! - [`telemetry`]: logging, and the export of traces.
//! - [`trace`]: the W3C trace context carried by every request, call and event.

pub mod db;
pub mod events;
pub mod extract;
pub mod health;
pub mod inbox;
pub mod metrics;
pub mod outbox;
pub mod page;
pub mod peer;
pub mod problem;
pub mod request_id;
pub mod telemetry;
pub mod trace;

pub use problem::{FieldError, Problem};

/// A new time-ordered id (UUID v7): ids sort by creation time, which keyset pagination relies on.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
