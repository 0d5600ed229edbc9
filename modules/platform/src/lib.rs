//! Shared mechanisms of every cleave module. No business rule lives here.
//!
//! # Layout
//! - [`problem`]: RFC 9457 `application/problem+json` errors, the one error shape on the wire.
//! - [`extract`]: axum extractors whose rejections come back as problems naming the field.
//! - [`objects_only`]: request types that JSON must write as objects, never as arrays.
//! - [`openapi`]: the problem responses the OpenAPI document's operations share.
//! - [`id`]: ids in the one form the API writes, hyphenated UUIDs.
//! - [`integer`]: integer fields of request bodies, which JSON may write as `2.0`.
//! - [`page`]: cursor pagination shared by every list endpoint.
//! - [`db`]: a module's own database, SQLite (one writer, several readers) or PostgreSQL.
//! - [`events`]: the event envelope and the handler trait consumers implement.
//! - [`outbox`]: events written in the producer's transaction, and the relay that delivers them.
//! - [`inbox`]: the consumer's record of processed event ids, for idempotent handling.
//! - [`nats`]: NATS JetStream as the event bus between processes.
//! - [`peer`]: the HTTP client stack for calls to modules in other processes.
//! - [`policy`]: retries and the circuit breaker every call to another process goes through.
//! - [`balance`]: calls to a peer spread over the addresses of its replicas.
//! - [`internal`]: the token that keeps routes meant for modules (event delivery) to them.
//! - [`request_id`]: the request id carried across every internal hop.
//! - [`health`]: `/healthz` and `/readyz`.
//! - [`metrics`]: Prometheus counters and histograms at `/metrics`.
//! - [`telemetry`]: logging, and the export of traces.
//! - [`trace`]: the W3C trace context carried by every request, call and event.

pub mod balance;
pub mod db;
pub mod events;
pub mod extract;
pub mod health;
pub mod id;
pub mod inbox;
pub mod integer;
pub mod internal;
pub mod metrics;
pub mod nats;
pub mod objects_only;
pub mod openapi;
pub mod outbox;
pub mod page;
pub mod peer;
pub mod policy;
pub mod problem;
pub mod request_id;
pub mod telemetry;
pub mod trace;

pub use problem::{FieldError, Problem};

/// A new time-ordered id (UUID v7): ids sort by creation time, which keyset pagination relies on.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
