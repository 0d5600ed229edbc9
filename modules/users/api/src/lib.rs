//! The contract of the users module: what other modules and the HTTP API may ask of it.
//! It names no framework; its paths, the query of its list and its errors are defined here
//! once, for the router that serves them and the client that calls them alike.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use vocab::page::{Page, PageRequest};
use vocab::{FieldError, Problem};

/// The module's name: its role, its database, its peer, its event cursors.
pub const NAME: &str = "users";

/// Where the module's resources live, for the router, the client and the gateway alike.
pub const PATH: &str = "/users";
/// One user, as a route.
pub const ITEM_ROUTE: &str = "/users/{id}";

pub fn user_path(id: Uuid) -> String {
    format!("{PATH}/{id}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    /// As registered; unique regardless of case.
    #[schema(format = Email, example = "ada@example.com")]
    pub email: String,
    /// Without surrounding spaces.
    #[schema(example = "Ada Lovelace")]
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// The body of `POST /users`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct NewUser {
    /// An address such as `ada@example.com`: no spaces, a local part of at most 64
    /// characters, a domain with a dot. Another user's address, in any case, is a 409.
    #[schema(format = Email, max_length = 254, example = "ada@example.com")]
    pub email: String,
    /// At most 200 characters, not blank, no control characters; surrounding spaces are
    /// dropped.
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        example = "Ada Lovelace"
    )]
    pub name: String,
}

// With `remote = "Self"` on their derives: JSON must write them as objects, not arrays.
vocab::objects_only!(NewUser);

/// The query of `GET /users`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListUsers {
    /// How many users to return, 50 unless given.
    #[param(minimum = 1, maximum = 500)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<Uuid>)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

impl ListUsers {
    /// The query a client sends for `page`.
    pub fn new(page: PageRequest) -> Self {
        Self {
            limit: Some(page.limit),
            cursor: page.after.map(|after| after.to_string()),
        }
    }

    /// The page the query asks for; 422 if it does not fit.
    pub fn parse(self) -> Result<PageRequest, Problem> {
        PageRequest::parse(self.limit, self.cursor.as_deref())
    }
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
