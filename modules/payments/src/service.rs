//! The payments module's implementation of its contract.

use async_trait::async_trait;
use payments_api::{Payment, PaymentFilter, PaymentsApi, PaymentsError};
use runtime::db::{fault, Db};
use uuid::Uuid;
use vocab::page::{Page, PageRequest};

use crate::store;

pub(crate) struct LocalPayments {
    db: Db,
}

impl LocalPayments {
    pub(crate) fn new(db: Db) -> Self {
        Self { db }
    }
}

/// A database error as the contract's error: 503 for a storage fault, else 500.
fn db_error(err: sqlx::Error) -> PaymentsError {
    PaymentsError::Other(fault::problem(payments_api::NAME, &err))
}

#[async_trait]
impl PaymentsApi for LocalPayments {
    async fn get(&self, id: Uuid) -> Result<Payment, PaymentsError> {
        store::find(&self.db, id)
            .await
            .map_err(db_error)?
            .ok_or(PaymentsError::NotFound)
    }

    async fn list(
        &self,
        filter: PaymentFilter,
        page: PageRequest,
    ) -> Result<Page<Payment>, PaymentsError> {
        let rows = store::list(&self.db, filter, page)
            .await
            .map_err(db_error)?;
        Ok(Page::from_rows(rows, page, |payment| payment.id))
    }
}
