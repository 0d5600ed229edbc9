//! The `vocab` crate's words as protobuf messages (`modules/vocab/proto/vocab.proto`), the
//! conversions both ways, and the scalars every contract's messages share: ids are
//! hyphenated UUID strings, times `google.protobuf.Timestamp`s.
//!
//! Decoding a module's answer can fail only on a peer that sends what no cleave sends (an
//! id that is not a UUID, a time missing): such failures are [`Undecodable`], which a
//! client answers as the HTTP client answers a body that does not decode.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vocab::page::PageRequest as Page;
use vocab::problem::{FieldError as Field, Problem as VocabProblem};

#[allow(clippy::all, clippy::pedantic, unreachable_pub)]
mod generated {
    tonic::include_proto!("cleave.vocab.v1");
}
pub use generated::*;

/// The runtime's `.proto` files compiled, with what they import: for server reflection.
pub const DESCRIPTOR: &[u8] = tonic::include_file_descriptor_set!("runtime");

/// A message from a peer that no cleave would send; says what was wrong in it.
#[derive(Debug, thiserror::Error)]
#[error("undecodable message: {0}")]
pub struct Undecodable(pub String);

impl Undecodable {
    /// What a caller answers when `peer` sent it: the problem an HTTP client makes of a
    /// body that does not decode, logged where an operator looks.
    pub fn problem(&self, peer: &str) -> VocabProblem {
        tracing::warn!(peer, error = %self, "peer answered with an undecodable message");
        VocabProblem::unavailable(format!(
            "the {peer} module answered with a message that does not decode"
        ))
    }
}

impl From<Field> for FieldError {
    fn from(field: Field) -> Self {
        Self {
            field: field.field,
            message: field.message,
        }
    }
}

impl From<FieldError> for Field {
    fn from(field: FieldError) -> Self {
        Self::new(field.field, field.message)
    }
}

/// The errors of an `Invalid` variant.
pub fn invalid(errors: Vec<Field>) -> Invalid {
    Invalid {
        errors: errors.into_iter().map(Into::into).collect(),
    }
}

impl From<Invalid> for Vec<Field> {
    fn from(invalid: Invalid) -> Self {
        invalid.errors.into_iter().map(Into::into).collect()
    }
}

impl From<VocabProblem> for Problem {
    fn from(problem: VocabProblem) -> Self {
        Self {
            r#type: problem.kind,
            title: problem.title,
            status: problem.status.into(),
            detail: problem.detail,
            code: problem.code,
            errors: problem.errors.into_iter().map(Into::into).collect(),
            retry_after: problem.retry_after,
        }
    }
}

impl From<Problem> for VocabProblem {
    fn from(problem: Problem) -> Self {
        Self {
            kind: problem.r#type,
            title: problem.title,
            // A status no HTTP response can have is a fault of the peer's.
            status: u16::try_from(problem.status)
                .ok()
                .filter(|status| (100..=599).contains(status))
                .unwrap_or(500),
            detail: problem.detail,
            code: problem.code,
            errors: problem.errors.into_iter().map(Into::into).collect(),
            retry_after: problem.retry_after,
        }
    }
}

impl From<Page> for PageRequest {
    fn from(page: Page) -> Self {
        Self {
            limit: Some(page.limit),
            cursor: page.after.map(|after| after.to_string()),
        }
    }
}

/// The page a request asks for, checked as the HTTP API checks `?limit=&cursor=` (422 if it
/// does not fit); the first 50 when it asks for none.
pub fn page(request: Option<PageRequest>) -> Result<Page, VocabProblem> {
    let request = request.unwrap_or_default();
    Page::parse(request.limit, request.cursor.as_deref())
}

/// An id a client sent in `field`; the field's error if it is not a UUID.
pub fn id_in(field: &str, value: &str) -> Result<Uuid, Field> {
    Uuid::parse_str(value).map_err(|_| Field::new(field, "must be a UUID"))
}

/// An id in a peer's answer.
pub fn id(value: &str) -> Result<Uuid, Undecodable> {
    Uuid::parse_str(value).map_err(|_| Undecodable(format!("{value:?} is not a UUID")))
}

/// A time as a message.
pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        // Below one billion: chrono keeps leap seconds in the second before.
        nanos: at.timestamp_subsec_nanos().min(999_999_999) as i32,
    }
}

/// A time in a peer's answer.
pub fn time(at: Option<prost_types::Timestamp>) -> Result<DateTime<Utc>, Undecodable> {
    let at = at.ok_or_else(|| Undecodable("a time is missing".into()))?;
    u32::try_from(at.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(at.seconds, nanos))
        .ok_or_else(|| Undecodable(format!("{at:?} is not a time")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use prost::Message;

    #[test]
    fn a_problem_survives_the_round_trip() {
        let problem = VocabProblem::invalid(vec![Field::new("email", "is not an address")])
            .with_detail("email: is not an address")
            .with_retry_after(std::time::Duration::from_secs(3));
        let bytes = Problem::from(problem.clone()).encode_to_vec();
        let back = VocabProblem::from(Problem::decode(bytes.as_slice()).unwrap());
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&problem).unwrap()
        );
        let odd = Problem {
            status: 70_000,
            ..Problem::default()
        };
        assert_eq!(
            VocabProblem::from(odd).status_code(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn a_page_request_is_checked_as_over_http() {
        let asked = Page {
            limit: 7,
            after: Some(Uuid::now_v7()),
        };
        assert_eq!(page(Some(asked.into())).unwrap(), asked);
        assert_eq!(page(None).unwrap(), Page::default());
        let bad = PageRequest {
            limit: Some(0),
            cursor: Some("nope".into()),
        };
        let problem = page(Some(bad)).unwrap_err();
        assert_eq!(problem.status_code(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem.errors.len(), 2, "{problem:?}");
    }

    #[test]
    fn times_keep_their_nanoseconds() {
        let now = Utc::now();
        assert_eq!(time(Some(timestamp(now))).unwrap(), now);
        assert!(time(None).is_err());
        let negative = prost_types::Timestamp {
            seconds: 0,
            nanos: -1,
        };
        assert!(time(Some(negative)).is_err());
    }
}
