//! The runtime every cleave module runs on: its database, its events, its calls to other
//! processes, its health and telemetry. No business rule lives here.
//!
//! # Layout
//! - [`extract`]: axum extractors whose rejections come back as problems naming the field.
//! - [`db`]: a module's own database, SQLite (one writer, several readers) or PostgreSQL.
//! - [`events`]: the handler trait consumers implement, and delivery over HTTP.
//! - [`outbox`]: events written in the producer's transaction, and the relay that delivers them.
//! - [`inbox`]: the consumer's record of processed event ids, for idempotent handling.
//! - [`bus`]: a broker as the event bus between processes: NATS JetStream, Redis Streams or
//!   RabbitMQ, behind one seam.
//! - [`grpc`]: calls between modules over gRPC: the channel under each client, the
//!   services a process serves, event delivery, health and reflection.
//! - [`peer`]: the HTTP client stack for calls to modules in other processes.
//! - [`policy`]: retries and the circuit breaker every call to another process goes through.
//! - [`balance`]: calls to a peer spread over the addresses of its replicas.
//! - [`internal`]: the token that keeps routes meant for modules (event delivery) to them.
//! - [`request_id`]: the request id carried across every internal hop.
//! - [`health`]: `/healthz` and `/readyz`.
//! - [`metrics`]: Prometheus counters and histograms at `/metrics`.
//! - [`module`]: a module as the binary sees it: its descriptor, its contract erased.
//! - [`spans`]: the spans a process finished last, kept in memory for the dashboard.
//! - [`shutdown`]: stopping on SIGTERM or Ctrl-C, or when a parent process is gone.
//! - [`telemetry`]: logging, and the export of traces.
//! - [`trace`]: the W3C trace context carried by every request, call and event.

pub mod balance;
pub mod bus;
pub mod db;
pub mod events;
pub mod extract;
pub mod grpc;
pub mod health;
pub mod inbox;
pub mod internal;
pub mod metrics;
pub mod module;
pub mod outbox;
pub mod peer;
pub mod policy;
pub mod request_id;
pub mod shutdown;
pub mod spans;
pub mod telemetry;
pub mod trace;
