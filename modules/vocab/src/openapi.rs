//! The problem responses of the OpenAPI document that many operations share. Each is
//! `application/problem+json` with the [`Problem`] schema; an operation names, next to
//! its own, the groups it can answer with.

use std::collections::BTreeMap;

use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::IntoResponses;

use crate::problem::{Problem, PROBLEM_JSON};

/// A response whose body is a [`Problem`].
pub fn problem_response(description: &str) -> RefOr<Response> {
    let schema = Ref::from_schema_name(<Problem as utoipa::ToSchema>::name());
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new().schema(Some(schema)).build(),
        )
        .build()
        .into()
}

/// What any operation taking a JSON body may answer before its handler runs (see
/// [`crate::extract::Json`]).
pub struct JsonBodyProblems;

impl IntoResponses for JsonBodyProblems {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([
            (
                "400".to_owned(),
                problem_response(
                    "The body is not one well-formed JSON document (`malformed-json`) or \
                     could not be read (`unreadable-body`)",
                ),
            ),
            (
                "408".to_owned(),
                problem_response(
                    "The body did not arrive in time: it was sent too slowly, or is shorter \
                     than its Content-Length (`body-timeout`)",
                ),
            ),
            (
                "413".to_owned(),
                problem_response("The body is larger than the server accepts (`body-too-large`)"),
            ),
            (
                "415".to_owned(),
                problem_response(
                    "The body was not sent as `application/json` (`unsupported-media-type`)",
                ),
            ),
        ])
    }
}

/// What any operation may answer when the fault is not in the request itself: the
/// server, a module it needs, or the rate at which this client sends.
pub struct ServerProblems;

impl IntoResponses for ServerProblems {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([
            (
                "429".to_owned(),
                problem_response(
                    "This client sends more requests per second than the gateway allows \
                     (`rate-limited`); retry after `retry_after` seconds (also the \
                     `Retry-After` header)",
                ),
            ),
            (
                "500".to_owned(),
                problem_response(
                    "A fault of the server; its cause is logged, not sent (`internal`)",
                ),
            ),
            (
                "503".to_owned(),
                problem_response(
                    "A module this request needs cannot be reached, did not answer in time or \
                     is refused by its open circuit breaker (`unavailable`), its data could not \
                     be stored and nothing of the request was kept (`storage-unavailable`), or \
                     the server has too many requests in flight (`overloaded`); retry later, \
                     after `retry_after` seconds when given (also the `Retry-After` header)",
                ),
            ),
        ])
    }
}

/// What an operation on one resource by its id answers when there is none.
pub struct NotFound;

impl IntoResponses for NotFound {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([(
            "404".to_owned(),
            problem_response("No resource with this id (`not-found`)"),
        )])
    }
}

/// What an operation on one resource by its id answers when the id is not one.
pub struct InvalidId;

impl IntoResponses for InvalidId {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([(
            "422".to_owned(),
            problem_response("The id is not a UUID (`invalid-request`)"),
        )])
    }
}

/// What a list answers when its query does not fit.
pub struct InvalidList;

impl IntoResponses for InvalidList {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([(
            "422".to_owned(),
            problem_response(
                "`limit`, `cursor` or a filter is invalid; `errors` names which \
                 (`invalid-request`)",
            ),
        )])
    }
}
