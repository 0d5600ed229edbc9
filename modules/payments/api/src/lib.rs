//! The contract of the payments module: its API, its events, its errors. Its paths, the
//! query of its list and its errors are defined here once, for the router that serves them
//! and the client that calls them alike.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use vocab::events::Event;
use vocab::page::{Page, PageRequest};
use vocab::{FieldError, Problem};

/// The module's name: its role, its database, its peer, its event cursors.
pub const NAME: &str = "payments";

/// Where the module's resources live, for the router, the client and the gateway alike.
pub const PATH: &str = "/payments";
/// One payment, as a route.
pub const ITEM_ROUTE: &str = "/payments/{id}";

pub fn payment_path(id: Uuid) -> String {
    format!("{PATH}/{id}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Authorized,
    Declined,
}

/// The one payment of an order, recorded when payments has decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Payment {
    pub id: Uuid,
    pub order_id: Uuid,
    /// The order's total, in minor units.
    #[schema(minimum = 0)]
    pub amount_cents: i64,
    pub currency: String,
    pub status: PaymentStatus,
    pub created_at: DateTime<Utc>,
}

/// Which payments `list` returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaymentFilter {
    pub order_id: Option<Uuid>,
}

/// The query of `GET /payments`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListPayments {
    /// How many payments to return, 50 unless given.
    #[param(minimum = 1, maximum = 500)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<Uuid>)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Only the payment of this order.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "vocab::id::deserialize_option"
    )]
    pub order_id: Option<Uuid>,
}

impl ListPayments {
    /// The query a client sends for `filter` and `page`.
    pub fn new(filter: PaymentFilter, page: PageRequest) -> Self {
        Self {
            limit: Some(page.limit),
            cursor: page.after.map(|after| after.to_string()),
            order_id: filter.order_id,
        }
    }

    /// The filter and page the query asks for; 422 if they do not fit.
    pub fn parse(self) -> Result<(PaymentFilter, PageRequest), Problem> {
        let page = PageRequest::parse(self.limit, self.cursor.as_deref())?;
        let filter = PaymentFilter {
            order_id: self.order_id,
        };
        Ok((filter, page))
    }
}

#[async_trait]
pub trait PaymentsApi: Send + Sync {
    async fn get(&self, id: Uuid) -> Result<Payment, PaymentsError>;
    async fn list(
        &self,
        filter: PaymentFilter,
        page: PageRequest,
    ) -> Result<Page<Payment>, PaymentsError>;
}

/// Published when an order's payment is authorized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentAuthorized {
    pub payment_id: Uuid,
    pub order_id: Uuid,
}

impl Event for PaymentAuthorized {
    const TOPIC: &'static str = "payments.payment_authorized";
}

/// Published when an order's payment is declined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentDeclined {
    pub payment_id: Uuid,
    pub order_id: Uuid,
    pub reason: String,
}

impl Event for PaymentDeclined {
    const TOPIC: &'static str = "payments.payment_declined";
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum PaymentsError {
    #[error("no payment with this id")]
    NotFound,
    #[error("invalid request: {0:?}")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Other(Problem),
}

impl From<PaymentsError> for Problem {
    fn from(err: PaymentsError) -> Self {
        match err {
            PaymentsError::NotFound => Problem::not_found("payment"),
            PaymentsError::Invalid(errors) => Problem::invalid(errors),
            PaymentsError::Other(problem) => problem,
        }
    }
}

impl From<Problem> for PaymentsError {
    fn from(problem: Problem) -> Self {
        match problem.status_code() {
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::UNPROCESSABLE_ENTITY => Self::Invalid(problem.errors),
            _ => Self::Other(problem),
        }
    }
}
