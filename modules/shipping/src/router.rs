//! `/shipments` over HTTP: serves any implementation of the contract, local or remote.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use runtime::extract::{PathId, Query};
use shipping_api::{ListShipments, Shipment, ShippingApi, ITEM_ROUTE, PATH};
use utoipa::OpenApi;
use vocab::openapi::{InvalidId, InvalidList, NotFound, ServerProblems};
use vocab::page::Page;
use vocab::Problem;

type Api = State<Arc<dyn ShippingApi>>;

pub(crate) fn router(api: Arc<dyn ShippingApi>) -> Router {
    Router::new()
        .route(PATH, get(list))
        .route(ITEM_ROUTE, get(get_one))
        .with_state(api)
}

/// The operations of [`router`] in the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(get_one, list),
    tags((name = "shipping", description = "The shipment of each paid order"))
)]
pub(crate) struct ShippingDoc;

/// One shipment.
#[utoipa::path(get, path = "/shipments/{id}", operation_id = "get_shipment", tag = "shipping",
    params(("id" = Uuid, Path, description = "The shipment's id")),
    responses(
        (status = 200, description = "The shipment", body = Shipment,
            links(("GetShippedOrder" = (operation_id = "get_order",
                parameters(("id" = "$response.body#/order_id")))))),
        NotFound,
        InvalidId,
        ServerProblems,
    ))]
async fn get_one(State(api): Api, PathId(id): PathId) -> Result<axum::Json<Shipment>, Problem> {
    Ok(axum::Json(api.get(id).await?))
}

/// Shipments in the order they were made, a page at a time.
#[utoipa::path(get, path = "/shipments", operation_id = "list_shipments", tag = "shipping",
    params(ListShipments),
    responses(
        (status = 200, description = "A page of shipments", body = Page<Shipment>),
        InvalidList,
        ServerProblems,
    ))]
async fn list(
    State(api): Api,
    Query(query): Query<ListShipments>,
) -> Result<axum::Json<Page<Shipment>>, Problem> {
    let (filter, page) = query.parse()?;
    Ok(axum::Json(api.list(filter, page).await?))
}
