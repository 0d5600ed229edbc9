//! A contract's error as a gRPC status, and back. The status's code and message say what
//! any gRPC client understands (`NOT_FOUND`, "no order with this id"); its details hold the
//! contract's own error message (`OrdersError`), so that a cleave client gets back the very
//! variant the module returned, as the HTTP client does from problem+json.
//!
//! A status without details did not come from a module's code: the channel could not reach
//! the peer, or the peer's gRPC layer refused the call (the internal token). It becomes the
//! problem an HTTP client would have made of the same failure.

use http::StatusCode;
use prost::Message;
use tonic::metadata::MetadataValue;
use tonic::{Code, Status};
use vocab::problem::Problem;

/// Where a status carries a problem's `retry_after`, in seconds, as HTTP's header does.
const RETRY_AFTER: &str = "retry-after";

/// The status of a call that failed with a contract's `error`, which is `problem` over HTTP.
pub fn of<E: Message>(problem: &Problem, error: &E) -> Status {
    let message = problem.detail.as_deref().unwrap_or(&problem.title);
    let mut status = Status::with_details(
        code(problem.status_code()),
        message,
        error.encode_to_vec().into(),
    );
    if let Some(after) = problem.retry_after {
        status
            .metadata_mut()
            .insert(RETRY_AFTER, MetadataValue::from(after));
    }
    status
}

/// A status without a contract's error (its details are empty): the channel's own
/// failures, and the refusals of the gRPC layer.
pub fn bare(problem: &Problem) -> Status {
    of(problem, &())
}

/// The contract's error a failed call's status carries, or else the problem its code says.
pub fn error<E: Message + Default>(status: &Status) -> Result<E, Problem> {
    if !status.details().is_empty() {
        if let Ok(error) = E::decode(status.details()) {
            return Ok(error);
        }
    }
    let retry_after = status
        .metadata()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok()?.parse().ok());
    let problem = match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            Problem::unavailable(status.message())
        }
        Code::Unauthenticated => Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Internal route: a module's token is required",
        )
        .with_detail(status.message()),
        code => Problem::new(
            StatusCode::BAD_GATEWAY,
            "peer-error",
            "Unexpected answer from a module",
        )
        .with_detail(format!("{code:?}: {}", status.message())),
    };
    Err(Problem {
        retry_after,
        ..problem
    })
}

/// The gRPC code closest to an HTTP status.
fn code(status: StatusCode) -> Code {
    match status {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => Code::InvalidArgument,
        StatusCode::UNAUTHORIZED => Code::Unauthenticated,
        StatusCode::FORBIDDEN => Code::PermissionDenied,
        StatusCode::NOT_FOUND => Code::NotFound,
        StatusCode::CONFLICT => Code::AlreadyExists,
        StatusCode::PAYLOAD_TOO_LARGE => Code::OutOfRange,
        StatusCode::TOO_MANY_REQUESTS => Code::ResourceExhausted,
        StatusCode::SERVICE_UNAVAILABLE => Code::Unavailable,
        StatusCode::GATEWAY_TIMEOUT => Code::DeadlineExceeded,
        StatusCode::NOT_IMPLEMENTED => Code::Unimplemented,
        status if status.is_client_error() => Code::FailedPrecondition,
        _ => Code::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grpc::vocab;
    use std::time::Duration;

    #[test]
    fn a_bare_status_becomes_the_problem_an_http_client_would_make() {
        let unavailable = Problem::unavailable("the users module cannot be reached")
            .with_retry_after(Duration::from_secs(2));
        let status = bare(&unavailable);
        assert_eq!(status.code(), Code::Unavailable);
        assert!(status.details().is_empty());
        let problem = error::<vocab::Problem>(&status).unwrap_err();
        assert_eq!(problem.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            problem.detail.as_deref(),
            Some("the users module cannot be reached")
        );
        assert_eq!(problem.retry_after, Some(2));
    }

    #[test]
    fn details_carry_the_contracts_error() {
        let problem = Problem::not_found("user");
        let sent = vocab::Invalid {
            errors: vec![vocab::FieldError {
                field: "id".into(),
                message: "gone".into(),
            }],
        };
        let status = of(&problem, &sent);
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(error::<vocab::Invalid>(&status).unwrap(), sent);
    }
}
