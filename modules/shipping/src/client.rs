//! The contract over HTTP, for processes where the shipping module is not local.

use async_trait::async_trait;
use runtime::peer::Peer;
use shipping_api::{
    shipment_path, ListShipments, Shipment, ShipmentFilter, ShippingApi, ShippingError, PATH,
};
use uuid::Uuid;
use vocab::page::{Page, PageRequest};

pub(crate) struct ShippingClient {
    peer: Peer,
}

impl ShippingClient {
    pub(crate) fn new(peer: Peer) -> Self {
        Self { peer }
    }
}

#[async_trait]
impl ShippingApi for ShippingClient {
    async fn get(&self, id: Uuid) -> Result<Shipment, ShippingError> {
        Ok(self.peer.call(self.peer.get(&shipment_path(id))).await?)
    }

    async fn list(
        &self,
        filter: ShipmentFilter,
        page: PageRequest,
    ) -> Result<Page<Shipment>, ShippingError> {
        let query = ListShipments::new(filter, page);
        Ok(self.peer.call(self.peer.get(PATH).query(&query)).await?)
    }
}
