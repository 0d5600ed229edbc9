//! The shipping module's implementation of its contract.

use async_trait::async_trait;
use runtime::db::{fault, Db};
use shipping_api::{Shipment, ShipmentFilter, ShippingApi, ShippingError};
use uuid::Uuid;
use vocab::page::{Page, PageRequest};

use crate::store;

pub(crate) struct LocalShipping {
    db: Db,
}

impl LocalShipping {
    pub(crate) fn new(db: Db) -> Self {
        Self { db }
    }
}

/// A database error as the contract's error: 503 for a storage fault, else 500.
fn db_error(err: sqlx::Error) -> ShippingError {
    ShippingError::Other(fault::problem(shipping_api::NAME, &err))
}

#[async_trait]
impl ShippingApi for LocalShipping {
    async fn get(&self, id: Uuid) -> Result<Shipment, ShippingError> {
        store::find(&self.db, id)
            .await
            .map_err(db_error)?
            .ok_or(ShippingError::NotFound)
    }

    async fn list(
        &self,
        filter: ShipmentFilter,
        page: PageRequest,
    ) -> Result<Page<Shipment>, ShippingError> {
        let rows = store::list(&self.db, filter, page)
            .await
            .map_err(db_error)?;
        Ok(Page::from_rows(rows, page, |shipment| shipment.id))
    }
}
