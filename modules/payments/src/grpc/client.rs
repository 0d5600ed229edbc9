//! The contract over gRPC, for processes where the payments module is not local.

use async_trait::async_trait;
use payments_api::{Payment, PaymentFilter, PaymentsApi, PaymentsError};
use runtime::grpc::channel::{idempotent, Channel};
use runtime::grpc::vocab::Undecodable;
use runtime::peer::Peer;
use tonic::Status;
use uuid::Uuid;
use vocab::page::{Page, PageRequest};

use super::proto::payments_client::PaymentsClient;
use super::proto::{self, GetPayment};
use super::{error, list_payments, page, payment};

pub(crate) struct GrpcPaymentsClient {
    client: PaymentsClient<Channel>,
}

impl GrpcPaymentsClient {
    pub(crate) fn new(peer: Peer) -> Self {
        Self {
            client: PaymentsClient::new(Channel::new(peer)),
        }
    }
}

/// The contract's error a failed call carries.
fn failed(status: Status) -> PaymentsError {
    match runtime::grpc::status::error::<proto::PaymentsError>(&status) {
        Ok(sent) => error(sent).unwrap_or_else(|err| undecodable(&err)),
        Err(problem) => PaymentsError::Other(problem),
    }
}

fn undecodable(err: &Undecodable) -> PaymentsError {
    PaymentsError::Other(err.problem(payments_api::NAME))
}

#[async_trait]
impl PaymentsApi for GrpcPaymentsClient {
    async fn get(&self, id: Uuid) -> Result<Payment, PaymentsError> {
        let request = idempotent(GetPayment { id: id.to_string() });
        let found = self.client.clone().get(request).await.map_err(failed)?;
        payment(found.into_inner()).map_err(|err| undecodable(&err))
    }

    async fn list(
        &self,
        filter: PaymentFilter,
        asked: PageRequest,
    ) -> Result<Page<Payment>, PaymentsError> {
        let request = idempotent(list_payments(filter, asked));
        let found = self.client.clone().list(request).await.map_err(failed)?;
        page(found.into_inner()).map_err(|err| undecodable(&err))
    }
}
