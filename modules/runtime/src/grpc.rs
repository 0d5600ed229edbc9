//! Calls between modules over gRPC, beside HTTP/JSON (`--transport grpc`).
//!
//! - [`vocab`]: the words of every contract's messages — a problem, a field at fault, a
//!   page request, ids and times — and their conversions to and from the `vocab` crate's.
//! - [`status`]: a contract's error as a gRPC status, and back.
//! - [`channel`]: the transport of a gRPC client: every call goes through the peer's
//!   [`policy`](crate::policy) stack, as an HTTP call does.
//! - [`server`]: what a process serves over gRPC: its modules' services, event delivery,
//!   `grpc.health.v1` and server reflection, behind the internal token.
//! - [`events`]: event delivery between processes over gRPC.
//!
//! gRPC is served on the module's own port: a request whose `content-type` is
//! `application/grpc` goes to the gRPC routes, any other to the HTTP ones, so the peer URLs
//! and the deployment files are the same for both transports.

pub mod channel;
pub mod events;
pub mod server;
pub mod status;
pub mod vocab;

/// The media type of gRPC requests, which tells them from the HTTP API's.
pub const CONTENT_TYPE: &str = "application/grpc";

/// Whether `request` is a gRPC call (`application/grpc`, `application/grpc+proto`…).
pub fn is_grpc<B>(request: &http::Request<B>) -> bool {
    request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .strip_prefix(CONTENT_TYPE)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['+', ';']))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_type(value: &str) -> http::Request<()> {
        http::Request::builder()
            .header(http::header::CONTENT_TYPE, value)
            .body(())
            .unwrap()
    }

    #[test]
    fn grpc_is_told_from_json_by_its_content_type() {
        assert!(is_grpc(&with_type("application/grpc")));
        assert!(is_grpc(&with_type("application/grpc+proto")));
        assert!(!is_grpc(&with_type("application/json")));
        assert!(!is_grpc(&with_type("application/grpc-web")));
        assert!(!is_grpc(&http::Request::new(())));
    }
}
