//! The contract of the orders module: its API, its events, its errors. Its paths, its
//! header, the query of its list and its errors are defined here once, for the router that
//! serves them and the client that calls them alike.

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
pub const NAME: &str = "orders";

/// Where the module's resources live, for the router, the client and the gateway alike.
pub const PATH: &str = "/orders";
/// One order, as a route.
pub const ITEM_ROUTE: &str = "/orders/{id}";
/// A repeat of `POST /orders` with the same key and body returns the first order.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// An order holds 1 to this many items.
pub const MAX_ITEMS: usize = 100;
/// The largest quantity of one item.
pub const MAX_QUANTITY: u32 = 10_000;
/// The largest unit price, in minor units: small enough that no order's total can overflow
/// (`MAX_ITEMS × MAX_QUANTITY × MAX_UNIT_PRICE_CENTS ≤ i64::MAX`), so every order that
/// passes the per-field rules can be charged.
pub const MAX_UNIT_PRICE_CENTS: i64 = i64::MAX / (MAX_ITEMS as i64 * MAX_QUANTITY as i64);
/// The longest SKU, in characters.
pub const MAX_SKU_CHARS: usize = 64;

pub fn order_path(id: Uuid) -> String {
    format!("{PATH}/{id}")
}

// The bounds below repeat the constants above as literals, which the derive requires;
// a test of the orders module holds them equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct OrderItem {
    /// 1 to 64 characters, without surrounding spaces or control characters.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\s\u0000-\u001F\u007F-\u009F]([^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F])?$",
        example = "BOOK-1"
    )]
    pub sku: String,
    #[schema(minimum = 1, maximum = 10000, example = 2)]
    #[serde(deserialize_with = "vocab::integer::deserialize")]
    pub quantity: u32,
    /// Price of one unit in minor units of the order's currency (cents).
    #[schema(minimum = 0, maximum = 9223372036854_i64, example = 1999)]
    #[serde(deserialize_with = "vocab::integer::deserialize")]
    pub unit_price_cents: i64,
}

/// The body of `POST /orders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct PlaceOrder {
    /// The buyer: an existing user, or the order is refused with a 422 `unknown-user`.
    #[serde(deserialize_with = "vocab::id::deserialize")]
    pub user_id: Uuid,
    /// ISO 4217 code, three capital letters.
    #[schema(pattern = "^[A-Z]{3}$", example = "EUR")]
    pub currency: String,
    #[schema(min_items = 1, max_items = 100)]
    pub items: Vec<OrderItem>,
}

// With `remote = "Self"` on their derives: JSON must write them as objects, not arrays.
vocab::objects_only!(OrderItem, PlaceOrder);

/// `pending` until payments decides, then `paid` or `payment_failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Paid,
    PaymentFailed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: Uuid,
    pub user_id: Uuid,
    pub currency: String,
    pub items: Vec<OrderItem>,
    /// The sum of quantity × unit price, in minor units.
    #[schema(minimum = 0)]
    pub total_cents: i64,
    pub status: OrderStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which orders `list` returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderFilter {
    pub user_id: Option<Uuid>,
}

/// The query of `GET /orders`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListOrders {
    /// How many orders to return, 50 unless given.
    #[param(minimum = 1, maximum = 500)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<Uuid>)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Only the orders of this user.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "vocab::id::deserialize_option"
    )]
    pub user_id: Option<Uuid>,
}

impl ListOrders {
    /// The query a client sends for `filter` and `page`.
    pub fn new(filter: OrderFilter, page: PageRequest) -> Self {
        Self {
            limit: Some(page.limit),
            cursor: page.after.map(|after| after.to_string()),
            user_id: filter.user_id,
        }
    }

    /// The filter and page the query asks for; 422 if they do not fit.
    pub fn parse(self) -> Result<(OrderFilter, PageRequest), Problem> {
        let page = PageRequest::parse(self.limit, self.cursor.as_deref())?;
        let filter = OrderFilter {
            user_id: self.user_id,
        };
        Ok((filter, page))
    }
}

#[async_trait]
pub trait OrdersApi: Send + Sync {
    /// Places an order for an existing user; with a key, a repeat returns the first order.
    async fn place(
        &self,
        order: PlaceOrder,
        idempotency_key: Option<String>,
    ) -> Result<Order, OrdersError>;
    async fn get(&self, id: Uuid) -> Result<Order, OrdersError>;
    async fn list(
        &self,
        filter: OrderFilter,
        page: PageRequest,
    ) -> Result<Page<Order>, OrdersError>;
}

/// Published when an order is placed; payments charges it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub order_id: Uuid,
    pub user_id: Uuid,
    pub amount_cents: i64,
    pub currency: String,
}

impl Event for OrderPlaced {
    const TOPIC: &'static str = "orders.order_placed";
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum OrdersError {
    #[error("no order with this id")]
    NotFound,
    #[error("the buyer does not exist")]
    UnknownUser,
    #[error("the idempotency key was used for another request")]
    IdempotencyKeyReused,
    #[error("invalid order: {0:?}")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Other(Problem),
}

const UNKNOWN_USER: &str = "unknown-user";
const KEY_REUSED: &str = "idempotency-key-reused";

impl From<OrdersError> for Problem {
    fn from(err: OrdersError) -> Self {
        match err {
            OrdersError::NotFound => Problem::not_found("order"),
            OrdersError::UnknownUser => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                UNKNOWN_USER,
                "Unknown user",
            )
            .with_detail("no user with this id exists")
            .with_errors(vec![FieldError::new(
                "user_id",
                "no user with this id exists",
            )]),
            OrdersError::IdempotencyKeyReused => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                KEY_REUSED,
                "Idempotency key reused",
            )
            .with_detail("this Idempotency-Key was first used with a different request body")
            .with_errors(vec![FieldError::new(
                IDEMPOTENCY_KEY,
                "was used with a different body",
            )]),
            OrdersError::Invalid(errors) => Problem::invalid(errors),
            OrdersError::Other(problem) => problem,
        }
    }
}

impl From<Problem> for OrdersError {
    fn from(problem: Problem) -> Self {
        match (problem.status_code(), problem.code.as_str()) {
            (StatusCode::NOT_FOUND, _) => Self::NotFound,
            (StatusCode::UNPROCESSABLE_ENTITY, UNKNOWN_USER) => Self::UnknownUser,
            (StatusCode::UNPROCESSABLE_ENTITY, KEY_REUSED) => Self::IdempotencyKeyReused,
            (StatusCode::UNPROCESSABLE_ENTITY, _) => Self::Invalid(problem.errors),
            _ => Self::Other(problem),
        }
    }
}
