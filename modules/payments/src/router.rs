//! `/payments` over HTTP: serves any implementation of the contract, local or remote.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use payments_api::{Payment, PaymentFilter, PaymentsApi, PATH};
use platform::extract::{PathId, Query};
use platform::page::{Page, PageRequest};
use platform::Problem;
use serde::Deserialize;
use uuid::Uuid;

type Api = State<Arc<dyn PaymentsApi>>;

pub fn router(api: Arc<dyn PaymentsApi>) -> Router {
    Router::new()
        .route(PATH, get(list))
        .route(&format!("{PATH}/{{id}}"), get(get_one))
        .with_state(api)
}

async fn get_one(State(api): Api, PathId(id): PathId) -> Result<axum::Json<Payment>, Problem> {
    Ok(axum::Json(api.get(id).await?))
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<u32>,
    cursor: Option<String>,
    order_id: Option<Uuid>,
}

async fn list(
    State(api): Api,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Page<Payment>>, Problem> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let filter = PaymentFilter {
        order_id: q.order_id,
    };
    Ok(axum::Json(api.list(filter, page).await?))
}
