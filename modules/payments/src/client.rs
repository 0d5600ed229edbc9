//! The contract over HTTP, for processes where the payments module is not local.

use async_trait::async_trait;
use payments_api::{
    payment_path, ListPayments, Payment, PaymentFilter, PaymentsApi, PaymentsError, PATH,
};
use runtime::peer::Peer;
use uuid::Uuid;
use vocab::page::{Page, PageRequest};

pub(crate) struct PaymentsClient {
    peer: Peer,
}

impl PaymentsClient {
    pub(crate) fn new(peer: Peer) -> Self {
        Self { peer }
    }
}

#[async_trait]
impl PaymentsApi for PaymentsClient {
    async fn get(&self, id: Uuid) -> Result<Payment, PaymentsError> {
        Ok(self.peer.call(self.peer.get(&payment_path(id))).await?)
    }

    async fn list(
        &self,
        filter: PaymentFilter,
        page: PageRequest,
    ) -> Result<Page<Payment>, PaymentsError> {
        let query = ListPayments::new(filter, page);
        Ok(self.peer.call(self.peer.get(PATH).query(&query)).await?)
    }
}
