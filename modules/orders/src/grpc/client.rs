//! The contract over gRPC, for processes where the orders module is not local.

use async_trait::async_trait;
use orders_api::{Order, OrderFilter, OrdersApi, OrdersError, PlaceOrder};
use runtime::grpc::channel::{idempotent, Channel};
use runtime::grpc::vocab::Undecodable;
use runtime::peer::Peer;
use tonic::Status;
use uuid::Uuid;
use vocab::page::{Page, PageRequest};

use super::proto::orders_client::OrdersClient;
use super::proto::{self, GetOrder, PlaceOrderRequest};
use super::{error, list_orders, order, page};

pub(crate) struct GrpcOrdersClient {
    client: OrdersClient<Channel>,
}

impl GrpcOrdersClient {
    pub(crate) fn new(peer: Peer) -> Self {
        Self {
            client: OrdersClient::new(Channel::new(peer)),
        }
    }
}

/// The contract's error a failed call carries.
fn failed(status: Status) -> OrdersError {
    match runtime::grpc::status::error::<proto::OrdersError>(&status) {
        Ok(sent) => error(sent).unwrap_or_else(|err| undecodable(&err)),
        Err(problem) => OrdersError::Other(problem),
    }
}

fn undecodable(err: &Undecodable) -> OrdersError {
    OrdersError::Other(err.problem(orders_api::NAME))
}

#[async_trait]
impl OrdersApi for GrpcOrdersClient {
    async fn place(
        &self,
        order_to_place: PlaceOrder,
        idempotency_key: Option<String>,
    ) -> Result<Order, OrdersError> {
        let request = PlaceOrderRequest {
            order: Some(order_to_place.into()),
            idempotency_key,
        };
        let placed = self.client.clone().place(request).await.map_err(failed)?;
        order(placed.into_inner()).map_err(|err| undecodable(&err))
    }

    async fn get(&self, id: Uuid) -> Result<Order, OrdersError> {
        let request = idempotent(GetOrder { id: id.to_string() });
        let found = self.client.clone().get(request).await.map_err(failed)?;
        order(found.into_inner()).map_err(|err| undecodable(&err))
    }

    async fn list(
        &self,
        filter: OrderFilter,
        asked: PageRequest,
    ) -> Result<Page<Order>, OrdersError> {
        let request = idempotent(list_orders(filter, asked));
        let found = self.client.clone().list(request).await.map_err(failed)?;
        page(found.into_inner()).map_err(|err| undecodable(&err))
    }
}
