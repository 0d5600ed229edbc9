//! The contract of the shipping module: the shipment of each paid order. Its paths, the
//! query of its list and its errors are defined here once, for the router that serves
//! them and the client that calls them alike.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use vocab::page::{Page, PageRequest};
use vocab::{FieldError, Problem};

/// The module's name: its role, its database, its peer, its event cursors.
pub const NAME: &str = "shipping";

/// Where the module's resources live.
pub const PATH: &str = "/shipments";
/// One shipment, as a route.
pub const ITEM_ROUTE: &str = "/shipments/{id}";

pub fn shipment_path(id: Uuid) -> String {
    format!("{PATH}/{id}")
}

/// A paid order on its way: made once per order, when its payment is authorized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Shipment {
    pub id: Uuid,
    pub order_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// Which shipments `list` returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShipmentFilter {
    pub order_id: Option<Uuid>,
}

/// The query of `GET /shipments`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListShipments {
    /// How many shipments to return, 50 unless given.
    #[param(minimum = 1, maximum = 500)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<Uuid>)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Only the shipment of this order.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "vocab::id::deserialize_option"
    )]
    pub order_id: Option<Uuid>,
}

impl ListShipments {
    /// The query a client sends for `filter` and `page`.
    pub fn new(filter: ShipmentFilter, page: PageRequest) -> Self {
        Self {
            limit: Some(page.limit),
            cursor: page.after.map(|after| after.to_string()),
            order_id: filter.order_id,
        }
    }

    /// The filter and page the query asks for; 422 if they do not fit.
    pub fn parse(self) -> Result<(ShipmentFilter, PageRequest), Problem> {
        let page = PageRequest::parse(self.limit, self.cursor.as_deref())?;
        let filter = ShipmentFilter {
            order_id: self.order_id,
        };
        Ok((filter, page))
    }
}

#[async_trait]
pub trait ShippingApi: Send + Sync {
    async fn get(&self, id: Uuid) -> Result<Shipment, ShippingError>;
    async fn list(
        &self,
        filter: ShipmentFilter,
        page: PageRequest,
    ) -> Result<Page<Shipment>, ShippingError>;
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ShippingError {
    #[error("no shipment with this id")]
    NotFound,
    #[error("invalid request: {0:?}")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Other(Problem),
}

impl From<ShippingError> for Problem {
    fn from(err: ShippingError) -> Self {
        match err {
            ShippingError::NotFound => Problem::not_found("shipment"),
            ShippingError::Invalid(errors) => Problem::invalid(errors),
            ShippingError::Other(problem) => problem,
        }
    }
}

impl From<Problem> for ShippingError {
    fn from(problem: Problem) -> Self {
        match problem.status_code() {
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::UNPROCESSABLE_ENTITY => Self::Invalid(problem.errors),
            _ => Self::Other(problem),
        }
    }
}
