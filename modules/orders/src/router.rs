//! `/orders` over HTTP: serves any implementation of the contract, local or remote.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use http::{header, HeaderMap, StatusCode};
use orders_api::{order_path, Order, OrderFilter, OrdersApi, PlaceOrder, IDEMPOTENCY_KEY, PATH};
use platform::extract::{Json, PathId, Query};
use platform::page::{Page, PageRequest};
use platform::{FieldError, Problem};
use serde::Deserialize;
use uuid::Uuid;

type Api = State<Arc<dyn OrdersApi>>;

pub fn router(api: Arc<dyn OrdersApi>) -> Router {
    Router::new()
        .route(PATH, post(place).get(list))
        .route(&format!("{PATH}/{{id}}"), get(get_one))
        .with_state(api)
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    headers
        .get(IDEMPOTENCY_KEY)
        .map(|value| {
            value.to_str().map(str::to_owned).map_err(|_| {
                Problem::invalid(vec![FieldError::new(
                    IDEMPOTENCY_KEY,
                    "must be visible ASCII",
                )])
            })
        })
        .transpose()
}

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

async fn get_one(State(api): Api, PathId(id): PathId) -> Result<axum::Json<Order>, Problem> {
    Ok(axum::Json(api.get(id).await?))
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<u32>,
    cursor: Option<String>,
    user_id: Option<Uuid>,
}

async fn list(
    State(api): Api,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Page<Order>>, Problem> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let filter = OrderFilter { user_id: q.user_id };
    Ok(axum::Json(api.list(filter, page).await?))
}
