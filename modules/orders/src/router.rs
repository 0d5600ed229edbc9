//! `/orders` over HTTP: serves any implementation of the contract, local or remote.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use http::{header, HeaderMap, StatusCode};
use orders_api::{
    order_path, ListOrders, Order, OrdersApi, PlaceOrder, IDEMPOTENCY_KEY, ITEM_ROUTE, PATH,
};
use runtime::extract::{Json, PathId, Query};
use utoipa::OpenApi;
use vocab::openapi::{InvalidId, InvalidList, JsonBodyProblems, NotFound, ServerProblems};
use vocab::page::Page;
use vocab::{FieldError, Problem};

type Api = State<Arc<dyn OrdersApi>>;

pub(crate) fn router(api: Arc<dyn OrdersApi>) -> Router {
    Router::new()
        .route(PATH, post(place).get(list))
        .route(ITEM_ROUTE, get(get_one))
        .with_state(api)
}

/// The operations of [`router`] in the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(place, get_one, list),
    tags((name = "orders", description = "What users buy, and whether it was paid"))
)]
pub(crate) struct OrdersDoc;

/// The request's `Idempotency-Key`, if it has one; sent twice it says neither which
/// request this repeats nor which one to answer, so it is refused.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let mut keys = headers.get_all(IDEMPOTENCY_KEY).iter();
    let key = keys.next();
    if keys.next().is_some() {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "duplicate-header",
            "Header sent more than once",
        )
        .with_detail("send Idempotency-Key once")
        .with_errors(vec![FieldError::new(
            IDEMPOTENCY_KEY,
            "was sent more than once",
        )]));
    }
    key.map(|value| {
        value.to_str().map(str::to_owned).map_err(|_| {
            Problem::invalid(vec![FieldError::new(
                IDEMPOTENCY_KEY,
                "must be visible ASCII",
            )])
        })
    })
    .transpose()
}

/// Places an order for an existing user. It is `pending` until payments decides.
#[utoipa::path(post, path = "/orders", operation_id = "place_order", tag = "orders",
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255,
        pattern = "^[\\x21-\\x7E]+$",
        description = "Makes a retry safe: a repeat with the same key and body returns the \
            first order and places nothing; the same key with another body is a 422; the \
            header sent twice is a 400 (`duplicate-header`)")),
    request_body = PlaceOrder,
    responses(
        (status = 201, description = "The order, `pending`", body = Order,
            headers(("location" = String, description = "The order's path, `/orders/{id}`")),
            links(
                ("GetOrder" = (operation_id = "get_order",
                    parameters(("id" = "$response.body#/id")))),
                ("ListPaymentsOfOrder" = (operation_id = "list_payments",
                    parameters(("order_id" = "$response.body#/id")))),
                ("GetBuyer" = (operation_id = "get_user",
                    parameters(("id" = "$response.body#/user_id")))),
            )),
        (status = 422, description = "A field is missing, unknown or invalid \
            (`invalid-request`), the buyer does not exist (`unknown-user`), or the \
            Idempotency-Key was first used with another body (`idempotency-key-reused`)",
            body = Problem, content_type = "application/problem+json"),
        JsonBodyProblems,
        (status = 400, description = "The body is not one well-formed JSON document \
            (`malformed-json`) or could not be read (`unreadable-body`), or Idempotency-Key \
            was sent more than once (`duplicate-header`)",
            body = Problem, content_type = "application/problem+json"),
        ServerProblems,
    ))]
async fn place(
    State(api): Api,
    headers: HeaderMap,
    Json(order): Json<PlaceOrder>,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, String); 1],
        axum::Json<Order>,
    ),
    Problem,
> {
    let key = idempotency_key(&headers)?;
    let order = api.place(order, key).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, order_path(order.id))],
        axum::Json(order),
    ))
}

/// One order, with its current status.
#[utoipa::path(get, path = "/orders/{id}", operation_id = "get_order", tag = "orders",
    params(("id" = Uuid, Path, description = "The order's id")),
    responses(
        (status = 200, description = "The order", body = Order),
        NotFound,
        InvalidId,
        ServerProblems,
    ))]
async fn get_one(State(api): Api, PathId(id): PathId) -> Result<axum::Json<Order>, Problem> {
    Ok(axum::Json(api.get(id).await?))
}

/// Orders in the order they were placed, a page at a time.
#[utoipa::path(get, path = "/orders", operation_id = "list_orders", tag = "orders",
    params(ListOrders),
    responses(
        (status = 200, description = "A page of orders", body = Page<Order>),
        InvalidList,
        ServerProblems,
    ))]
async fn list(
    State(api): Api,
    Query(query): Query<ListOrders>,
) -> Result<axum::Json<Page<Order>>, Problem> {
    let (filter, page) = query.parse()?;
    Ok(axum::Json(api.list(filter, page).await?))
}
