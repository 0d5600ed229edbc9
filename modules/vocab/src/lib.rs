//! The words the contracts of cleave's modules are written in: plain types, with no
//! runtime behind them. A contract crate depends on this and on serde, never on a
//! database, an HTTP client or a broker.
//!
//! # Layout
//! - [`problem`]: RFC 9457 `application/problem+json` errors, the one error shape on the wire.
//! - [`json`]: one JSON document read into a request type, or the problem saying where not.
//! - [`objects_only`]: request types that JSON must write as objects, never as arrays.
//! - [`openapi`]: the problem responses the OpenAPI document's operations share.
//! - [`id`]: ids in the one form the API writes, hyphenated UUIDs.
//! - [`integer`]: integer fields of request bodies, which JSON may write as `2.0`.
//! - [`page`]: cursor pagination shared by every list endpoint.
//! - [`events`]: the event types a contract publishes, and their envelope.

pub mod events;
pub mod id;
pub mod integer;
pub mod json;
pub mod objects_only;
pub mod openapi;
pub mod page;
pub mod problem;

pub use problem::{FieldError, Problem};

/// A new time-ordered id (UUID v7): ids sort by creation time, which keyset pagination relies on.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
