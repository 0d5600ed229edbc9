//! The contract over gRPC, for processes where the shipping module is not local.

use async_trait::async_trait;
use runtime::grpc::channel::{idempotent, Channel};
use runtime::grpc::vocab::Undecodable;
use runtime::peer::Peer;
use shipping_api::{Shipment, ShipmentFilter, ShippingApi, ShippingError};
use tonic::Status;
use uuid::Uuid;
use vocab::page::{Page, PageRequest};

use super::proto::shipping_client::ShippingClient;
use super::proto::{self, GetShipment};
use super::{error, list_shipments, page, shipment};

pub(crate) struct GrpcShippingClient {
    client: ShippingClient<Channel>,
}

impl GrpcShippingClient {
    pub(crate) fn new(peer: Peer) -> Self {
        Self {
            client: ShippingClient::new(Channel::new(peer)),
        }
    }
}

/// The contract's error a failed call carries.
fn failed(status: Status) -> ShippingError {
    match runtime::grpc::status::error::<proto::ShippingError>(&status) {
        Ok(sent) => error(sent).unwrap_or_else(|err| undecodable(&err)),
        Err(problem) => ShippingError::Other(problem),
    }
}

fn undecodable(err: &Undecodable) -> ShippingError {
    ShippingError::Other(err.problem(shipping_api::NAME))
}

#[async_trait]
impl ShippingApi for GrpcShippingClient {
    async fn get(&self, id: Uuid) -> Result<Shipment, ShippingError> {
        let request = idempotent(GetShipment { id: id.to_string() });
        let found = self.client.clone().get(request).await.map_err(failed)?;
        shipment(found.into_inner()).map_err(|err| undecodable(&err))
    }

    async fn list(
        &self,
        filter: ShipmentFilter,
        asked: PageRequest,
    ) -> Result<Page<Shipment>, ShippingError> {
        let request = idempotent(list_shipments(filter, asked));
        let found = self.client.clone().list(request).await.map_err(failed)?;
        page(found.into_inner()).map_err(|err| undecodable(&err))
    }
}
