//! `cleave.orders.v1.Orders`: serves any implementation of the contract, local or remote.

use std::sync::Arc;

use orders_api::{OrdersApi, OrdersError};
use tonic::{Request, Response, Status};
use vocab::Problem;

use super::proto::orders_server::{Orders, OrdersServer};
use super::proto::{self, GetOrder, ListOrders, OrderPage, PlaceOrderRequest};
use super::{filter_and_page, place_order};
use runtime::grpc::vocab::id_in;

pub(crate) fn server(api: Arc<dyn OrdersApi>) -> OrdersServer<GrpcOrders> {
    OrdersServer::new(GrpcOrders(api))
}

pub(crate) struct GrpcOrders(Arc<dyn OrdersApi>);

/// The status of a call that failed with `err`.
fn failed(err: OrdersError) -> Status {
    runtime::grpc::status::of(&Problem::from(err.clone()), &proto::OrdersError::from(err))
}

fn invalid(field: vocab::FieldError) -> Status {
    failed(OrdersError::Invalid(vec![field]))
}

#[tonic::async_trait]
impl Orders for GrpcOrders {
    async fn place(
        &self,
        request: Request<PlaceOrderRequest>,
    ) -> Result<Response<proto::Order>, Status> {
        let request = request.into_inner();
        let order = place_order(request.order.unwrap_or_default()).map_err(invalid)?;
        let placed = self
            .0
            .place(order, request.idempotency_key)
            .await
            .map_err(failed)?;
        Ok(Response::new(placed.into()))
    }

    async fn get(&self, request: Request<GetOrder>) -> Result<Response<proto::Order>, Status> {
        let id = id_in("id", &request.into_inner().id).map_err(invalid)?;
        Ok(Response::new(self.0.get(id).await.map_err(failed)?.into()))
    }

    async fn list(&self, request: Request<ListOrders>) -> Result<Response<OrderPage>, Status> {
        let (filter, page) = filter_and_page(request.into_inner()).map_err(failed)?;
        let found = self.0.list(filter, page).await.map_err(failed)?;
        Ok(Response::new(found.into()))
    }
}
