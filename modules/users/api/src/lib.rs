//! The contract of the users module: what other modules and the HTTP API may ask of it.
//! It names no framework; the module's router and HTTP client are built on these types.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use http::StatusCode;
use platform::page::{Page, PageRequest};
use platform::{FieldError, Problem};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where the module's resources live, for the router, the client and the gateway alike.
pub const PATH: &str = "/users";

pub fn user_path(id: Uuid) -> String {
    format!("{PATH}/{id}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// The body of `POST /users`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub email: String,
    pub name: String,
}

#[async_trait]
pub trait UsersApi: Send + Sync {
    async fn create(&self, new: NewUser) -> Result<User, UsersError>;
    async fn get(&self, id: Uuid) -> Result<User, UsersError>;
    async fn list(&self, page: PageRequest) -> Result<Page<User>, UsersError>;
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum UsersError {
    #[error("no user with this id")]
    NotFound,
    #[error("a user with this email already exists")]
    DuplicateEmail,
    #[error("invalid user: {0:?}")]
    Invalid(Vec<FieldError>),
    /// Anything else, carried as the problem it is on the wire (unavailable, internal…).
    #[error("{0}")]
    Other(Problem),
}

const DUPLICATE_EMAIL: &str = "duplicate-email";

impl From<UsersError> for Problem {
    fn from(err: UsersError) -> Self {
        match err {
            UsersError::NotFound => Problem::not_found("user"),
            UsersError::DuplicateEmail => Problem::new(
                StatusCode::CONFLICT,
                DUPLICATE_EMAIL,
                "Email already registered",
            )
            .with_detail("a user with this email already exists")
            .with_errors(vec![FieldError::new("email", "is already registered")]),
            UsersError::Invalid(errors) => Problem::invalid(errors),
            UsersError::Other(problem) => problem,
        }
    }
}

impl From<Problem> for UsersError {
    fn from(problem: Problem) -> Self {
        match (problem.status_code(), problem.code.as_str()) {
            (StatusCode::NOT_FOUND, _) => Self::NotFound,
            (StatusCode::CONFLICT, DUPLICATE_EMAIL) => Self::DuplicateEmail,
            (StatusCode::UNPROCESSABLE_ENTITY, _) => Self::Invalid(problem.errors),
            _ => Self::Other(problem),
        }
    }
}
