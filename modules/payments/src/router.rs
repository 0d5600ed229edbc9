//! `/payments` over HTTP: serves any implementation of the contract, local or remote.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use payments_api::{ListPayments, Payment, PaymentsApi, ITEM_ROUTE, PATH};
use runtime::extract::{PathId, Query};
use utoipa::OpenApi;
use vocab::openapi::{InvalidId, InvalidList, NotFound, ServerProblems};
use vocab::page::Page;
use vocab::Problem;

type Api = State<Arc<dyn PaymentsApi>>;

pub(crate) fn router(api: Arc<dyn PaymentsApi>) -> Router {
    Router::new()
        .route(PATH, get(list))
        .route(ITEM_ROUTE, get(get_one))
        .with_state(api)
}

/// The operations of [`router`] in the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(get_one, list),
    tags((name = "payments", description = "The payment of each order, authorized or declined"))
)]
pub(crate) struct PaymentsDoc;

/// One payment.
#[utoipa::path(get, path = "/payments/{id}", operation_id = "get_payment", tag = "payments",
    params(("id" = Uuid, Path, description = "The payment's id")),
    responses(
        (status = 200, description = "The payment", body = Payment,
            links(("GetPaidOrder" = (operation_id = "get_order",
                parameters(("id" = "$response.body#/order_id")))))),
        NotFound,
        InvalidId,
        ServerProblems,
    ))]
async fn get_one(State(api): Api, PathId(id): PathId) -> Result<axum::Json<Payment>, Problem> {
    Ok(axum::Json(api.get(id).await?))
}

/// Payments in the order they were recorded, a page at a time.
#[utoipa::path(get, path = "/payments", operation_id = "list_payments", tag = "payments",
    params(ListPayments),
    responses(
        (status = 200, description = "A page of payments", body = Page<Payment>,
            links(("GetFirstPayment" = (operation_id = "get_payment",
                parameters(("id" = "$response.body#/data/0/id")))))),
        InvalidList,
        ServerProblems,
    ))]
async fn list(
    State(api): Api,
    Query(query): Query<ListPayments>,
) -> Result<axum::Json<Page<Payment>>, Problem> {
    let (filter, page) = query.parse()?;
    Ok(axum::Json(api.list(filter, page).await?))
}
