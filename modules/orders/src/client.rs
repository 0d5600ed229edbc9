//! The contract over HTTP, for processes where the orders module is not local.

use async_trait::async_trait;
use orders_api::{
    order_path, ListOrders, Order, OrderFilter, OrdersApi, OrdersError, PlaceOrder,
    IDEMPOTENCY_KEY, PATH,
};
use runtime::peer::Peer;
use uuid::Uuid;
use vocab::page::{Page, PageRequest};

pub(crate) struct OrdersClient {
    peer: Peer,
}

impl OrdersClient {
    pub(crate) fn new(peer: Peer) -> Self {
        Self { peer }
    }
}

#[async_trait]
impl OrdersApi for OrdersClient {
    async fn place(
        &self,
        order: PlaceOrder,
        idempotency_key: Option<String>,
    ) -> Result<Order, OrdersError> {
        let mut request = self.peer.post(PATH).json(&order);
        if let Some(key) = idempotency_key {
            request = request.header(IDEMPOTENCY_KEY, key);
        }
        Ok(self.peer.call(request).await?)
    }

    async fn get(&self, id: Uuid) -> Result<Order, OrdersError> {
        Ok(self.peer.call(self.peer.get(&order_path(id))).await?)
    }

    async fn list(
        &self,
        filter: OrderFilter,
        page: PageRequest,
    ) -> Result<Page<Order>, OrdersError> {
        let query = ListOrders::new(filter, page);
        Ok(self.peer.call(self.peer.get(PATH).query(&query)).await?)
    }
}
