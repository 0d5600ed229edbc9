//! The error body of every failed request: RFC 9457 problem details.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The media type of a problem body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One input field that was rejected, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// Where the value sits in the request: `email`, `items[0].quantity`, `id`.
    pub field: String,
    /// What is wrong with it, in words meant for the client's developer.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

// The HTTP clients of the modules map `code` back to their error variants, so that a caller
// cannot tell local from remote; the doc comments below are what the API's users read.
/// An error, as an RFC 9457 problem: `code` says which, and stays the same across versions.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/invalid-request",
    "title": "The request has invalid fields",
    "status": 422,
    "detail": "items[0].quantity: must be between 1 and 10000",
    "code": "invalid-request",
    "errors": [{"field": "items[0].quantity", "message": "must be between 1 and 10000"}]
}))]
pub struct Problem {
    /// A URI reference naming the kind of problem, such as `/problems/not-found`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary that is the same for every occurrence of this kind.
    pub title: String,
    /// The HTTP status code, repeated in the body for clients that lose the header.
    #[schema(minimum = 100, maximum = 599)]
    pub status: u16,
    /// What went wrong this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Which problem this is, for programs to branch on: the last segment of `type`,
    /// such as `not-found`.
    pub code: String,
    /// The fields at fault, when the request's content was rejected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    // Kept in the body too, so that it survives a hop through the gateway.
    /// Seconds after which the request may succeed if sent again; also sent as the
    /// `Retry-After` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, title: &str) -> Self {
        Self {
            kind: format!("/problems/{code}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: None,
            code: code.to_owned(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// Tells the client when to try again, in whole seconds (at least one).
    pub fn with_retry_after(mut self, after: std::time::Duration) -> Self {
        let seconds = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// 422: the request was well-formed but its content is not acceptable.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-request",
            "The request has invalid fields",
        )
        .with_detail(detail)
        .with_errors(errors)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found")
            .with_detail(format!("no {what} with this id"))
    }

    /// 503: a module this request needs cannot be reached right now.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "A module this request needs is unavailable",
        )
        .with_detail(detail)
    }

    /// 500. The cause is logged here and never sent to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
        )
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.title, self.status)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

#[cfg(feature = "axum")]
mod response {
    use axum::response::{IntoResponse, Response};
    use http::{header, HeaderValue};

    use super::{Problem, PROBLEM_JSON};

    impl IntoResponse for Problem {
        fn into_response(self) -> Response {
            let status = self.status_code();
            let retry_after = self.retry_after;
            let mut response = (status, axum::Json(self)).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
    }
}
