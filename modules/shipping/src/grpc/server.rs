//! `cleave.shipping.v1.Shipping`: serves any implementation of the contract, local or
//! remote.

use std::sync::Arc;

use runtime::grpc::vocab::id_in;
use shipping_api::{ShippingApi, ShippingError};
use tonic::{Request, Response, Status};
use vocab::Problem;

use super::filter_and_page;
use super::proto::shipping_server::{Shipping, ShippingServer};
use super::proto::{self, GetShipment, ListShipments, ShipmentPage};

pub(crate) fn server(api: Arc<dyn ShippingApi>) -> ShippingServer<GrpcShipping> {
    ShippingServer::new(GrpcShipping(api))
}

pub(crate) struct GrpcShipping(Arc<dyn ShippingApi>);

/// The status of a call that failed with `err`.
fn failed(err: ShippingError) -> Status {
    runtime::grpc::status::of(
        &Problem::from(err.clone()),
        &proto::ShippingError::from(err),
    )
}

#[tonic::async_trait]
impl Shipping for GrpcShipping {
    async fn get(
        &self,
        request: Request<GetShipment>,
    ) -> Result<Response<proto::Shipment>, Status> {
        let id = id_in("id", &request.into_inner().id)
            .map_err(|field| failed(ShippingError::Invalid(vec![field])))?;
        Ok(Response::new(self.0.get(id).await.map_err(failed)?.into()))
    }

    async fn list(
        &self,
        request: Request<ListShipments>,
    ) -> Result<Response<ShipmentPage>, Status> {
        let (filter, page) = filter_and_page(request.into_inner()).map_err(failed)?;
        let found = self.0.list(filter, page).await.map_err(failed)?;
        Ok(Response::new(found.into()))
    }
}
