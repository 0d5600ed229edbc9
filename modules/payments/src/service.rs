//! The payments module's implementation of its contract.

use async_trait::async_trait;
use payments_api::{Payment, PaymentFilter, PaymentsApi, PaymentsError};
use platform::db::Db;
use platform::page::{Page, PageRequest};
use platform::Problem;
use uuid::Uuid;

use crate::store;

pub(crate) struct LocalPayments {
    db: Db,
}

impl LocalPayments {
    pub(crate) fn new(db: Db) -> Self {
        Self { db }
    }
}

fn internal(err: sqlx::Error) -> PaymentsError {
    PaymentsError::Other(Problem::internal(&err))
}

#[async_trait]
impl PaymentsApi for LocalPayments {
    async fn get(&self, id: Uuid) -> Result<Payment, PaymentsError> {
        store::find(&self.db, id)
            .await
            .map_err(internal)?
            .ok_or(PaymentsError::NotFound)
    }

    async fn list(
        &self,
        filter: PaymentFilter,
        page: PageRequest,
    ) -> Result<Page<Payment>, PaymentsError> {
        let rows = store::list(&self.db, filter, page)
            .await
            .map_err(internal)?;
        Ok(Page::from_rows(rows, page, |payment| payment.id))
    }
}
