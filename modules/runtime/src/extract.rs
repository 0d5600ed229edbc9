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

use vocab::json::parse as parse_json;
use vocab::{FieldError, Problem};

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
        vocab::id::parse(&raw)
            .map(PathId)
            .ok_or_else(|| Problem::invalid(vec![FieldError::new("id", vocab::id::EXPECTED)]))
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
