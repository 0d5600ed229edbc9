//! Extractors whose rejections are problems that name the field at fault, so that malformed
//! input never comes back as plain text or a 5xx.

use std::error::Error as _;
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::RequestExt;
use http::request::Parts;
use http::{header, StatusCode};
use http_body_util::{BodyExt, LengthLimitError};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::problem::{FieldError, Problem};

/// A JSON body. Wrong media type → 415, over the body limit → 413 (before a byte is read
/// when its Content-Length says so), late → 408, unparseable → 400, wrong shape → 422
/// naming the field (`items[0].quantity`).
pub struct Json<T>(pub T);

/// How long a request's body may take to arrive once its head has. The server puts it in
/// the extensions of every request; a body that [`Json`] reads later than that is a 408.
#[derive(Debug, Clone, Copy)]
pub struct BodyReadTimeout(pub Duration);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Problem> {
        if !has_json_content_type(req.headers()) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            )
            .with_detail("the body must be JSON, sent with `content-type: application/json`"));
        }
        let bytes = read_body(req).await?;
        parse_json(&bytes).map(Json)
    }
}

/// The whole body of `req`, within the route's body limit and the server's read timeout.
async fn read_body(req: Request) -> Result<Bytes, Problem> {
    let timeout = req.extensions().get::<BodyReadTimeout>().copied();
    let declared = req.body().size_hint().lower();
    let body = req.into_limited_body();
    // A body under a limit never yields more than the limit, and its size hint says so:
    // a declared length beyond that is refused before a byte of it is read.
    if body.size_hint().upper().is_some_and(|most| declared > most) {
        return Err(too_large());
    }
    let collected = match timeout {
        Some(BodyReadTimeout(timeout)) => tokio::time::timeout(timeout, body.collect())
            .await
            .map_err(|_| late(timeout))?,
        None => body.collect().await,
    };
    collected.map(|body| body.to_bytes()).map_err(|err| {
        if caused_by::<LengthLimitError>(&err) {
            too_large()
        } else {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "unreadable-body",
                "Request body could not be read",
            )
            .with_detail(err.to_string())
        }
    })
}

fn too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
        "Request body too large",
    )
    .with_detail("the body is larger than the server accepts")
}

fn late(timeout: Duration) -> Problem {
    Problem::new(
        StatusCode::REQUEST_TIMEOUT,
        "body-timeout",
        "Request body not received in time",
    )
    .with_detail(format!(
        "the body did not arrive within {} ms of the request's head",
        timeout.as_millis()
    ))
}

/// Whether one of the causes of `err` is an `E`.
fn caused_by<E: std::error::Error + 'static>(err: &<Body as HttpBody>::Error) -> bool {
    std::iter::successors(err.source(), |&cause| cause.source()).any(|cause| cause.is::<E>())
}

/// Parses one JSON document, reporting where in it a value did not fit. Anything after
/// the document but whitespace makes it malformed.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            malformed(&inner)
        } else {
            let message = strip_position(&inner);
            Problem::invalid(vec![FieldError::new(
                field_at_fault(&path, &message),
                message,
            )])
        }
    })?;
    de.end().map_err(|err| malformed(&err))?;
    Ok(value)
}

fn malformed(err: &serde_json::Error) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "malformed-json", "Malformed JSON")
        .with_detail(err.to_string())
}

/// The path of the value at fault. For a missing field, serde's path ends at the object
/// that lacks it; the field's own name is only in the message.
fn field_at_fault(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (path, missing) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "body".to_owned(),
        (path, Some(name)) => format!("{path}.{name}"),
        (path, None) => path.to_owned(),
    }
}

/// serde_json appends "at line 1 column 42" to its messages; the field path says it better.
fn strip_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

fn has_json_content_type(headers: &http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The `{id}` segment of a resource path, which must be a UUID.
pub struct PathId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|rejection| {
                    Problem::invalid(vec![FieldError::new("id", rejection.body_text())])
                })?;
        crate::id::parse(&raw)
            .map(PathId)
            .ok_or_else(|| Problem::invalid(vec![FieldError::new("id", crate::id::EXPECTED)]))
    }
}

/// A query string. A value that does not fit → 422 naming the parameter.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|err| {
                let field = err.path().to_string();
                Problem::invalid(vec![FieldError::new(field, err.into_inner().to_string())])
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Item {
        sku: String,
        quantity: u32,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Order {
        currency: String,
        items: Vec<Item>,
    }

    fn field(json: &str) -> (u16, String) {
        let problem = parse_json::<Order>(json.as_bytes()).unwrap_err();
        let field = problem
            .errors
            .first()
            .map(|e| e.field.clone())
            .unwrap_or_default();
        (problem.status, field)
    }

    #[test]
    fn parses_what_fits() {
        let order: Order =
            parse_json(br#"{"currency":"EUR","items":[{"sku":"A","quantity":1}]}"#).unwrap();
        assert_eq!(
            (
                order.currency.as_str(),
                order.items[0].sku.as_str(),
                order.items[0].quantity
            ),
            ("EUR", "A", 1)
        );
    }

    #[test]
    fn names_the_field_at_fault() {
        assert_eq!(field(r#"{"items":[]}"#), (422, "currency".into()));
        assert_eq!(
            field(r#"{"currency":"EUR","items":[{"quantity":1}]}"#),
            (422, "items[0].sku".into())
        );
        assert_eq!(
            field(r#"{"currency":"EUR","items":[{"sku":"A","quantity":-1}]}"#),
            (422, "items[0].quantity".into())
        );
        assert_eq!(field(r#""text""#), (422, "body".into()));
        assert_eq!(field(r#"{"currency":"#).0, 400);
    }

    #[test]
    fn nothing_but_whitespace_may_follow_the_document() {
        let order = r#"{"currency":"EUR","items":[]}"#;
        assert!(parse_json::<Order>(format!("{order} \n").as_bytes()).is_ok());
        for trailing in [format!("{order} garbage"), format!("{order}{order}")] {
            let problem = parse_json::<Order>(trailing.as_bytes()).unwrap_err();
            assert_eq!(
                (problem.status, problem.code.as_str()),
                (400, "malformed-json")
            );
        }
    }
}
