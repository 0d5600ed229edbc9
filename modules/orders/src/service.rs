//! The orders module's implementation of its contract.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use orders_api::{
    Order, OrderFilter, OrderPlaced, OrderStatus, OrdersApi, OrdersError, PlaceOrder,
};
use platform::db::Db;
use platform::events::Envelope;
use platform::outbox::Outbox;
use platform::page::{Page, PageRequest};
use platform::Problem;
use users_api::{UsersApi, UsersError};
use uuid::Uuid;

use crate::rules::{self, ValidOrder};
use crate::store;

pub(crate) struct LocalOrders {
    db: Db,
    users: Arc<dyn UsersApi>,
    outbox: Outbox,
}

fn internal(err: sqlx::Error) -> OrdersError {
    OrdersError::Other(Problem::internal(&err))
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}

impl LocalOrders {
    pub(crate) fn new(db: Db, users: Arc<dyn UsersApi>, outbox: Outbox) -> Self {
        Self { db, users, outbox }
    }

    /// The order a key already created, if the key was seen; an error if it was seen with
    /// another body.
    async fn replay(&self, key: &str, fingerprint: &str) -> Result<Option<Order>, OrdersError> {
        let Some((seen, order_id)) = store::find_key(&self.db, key).await.map_err(internal)? else {
            return Ok(None);
        };
        if seen != fingerprint {
            return Err(OrdersError::IdempotencyKeyReused);
        }
        self.get(order_id).await.map(Some)
    }

    async fn check_buyer(&self, user_id: Uuid) -> Result<(), OrdersError> {
        match self.users.get(user_id).await {
            Ok(_) => Ok(()),
            Err(UsersError::NotFound) => Err(OrdersError::UnknownUser),
            Err(UsersError::Other(problem)) => Err(OrdersError::Other(problem)),
            Err(other) => Err(OrdersError::Other(Problem::internal(&other))),
        }
    }

    /// Writes the order, its key and its `OrderPlaced` event in one transaction.
    async fn write(&self, order: &Order, key: Option<(&str, &str)>) -> sqlx::Result<()> {
        let event = Envelope::new(&OrderPlaced {
            order_id: order.id,
            user_id: order.user_id,
            amount_cents: order.total_cents,
            currency: order.currency.clone(),
        });
        let mut tx = self.db.begin().await?;
        store::insert(&mut tx, order).await?;
        if let Some((key, fingerprint)) = key {
            store::insert_key(&mut tx, key, fingerprint, order.id).await?;
        }
        Outbox::append(&mut tx, &event).await?;
        tx.commit().await?;
        self.outbox.committed();
        Ok(())
    }
}

#[async_trait]
impl OrdersApi for LocalOrders {
    async fn place(
        &self,
        order: PlaceOrder,
        idempotency_key: Option<String>,
    ) -> Result<Order, OrdersError> {
        let key = match idempotency_key {
            Some(key) => {
                rules::check_key(&key).map_err(|e| OrdersError::Invalid(vec![e]))?;
                let fingerprint = rules::fingerprint(&order);
                if let Some(first) = self.replay(&key, &fingerprint).await? {
                    return Ok(first);
                }
                Some((key, fingerprint))
            }
            None => None,
        };
        let valid = ValidOrder::parse(order).map_err(OrdersError::Invalid)?;
        self.check_buyer(valid.order.user_id).await?;
        let now = Utc::now();
        let order = Order {
            id: platform::new_id(),
            user_id: valid.order.user_id,
            currency: valid.order.currency,
            items: valid.order.items,
            total_cents: valid.total_cents,
            status: OrderStatus::Pending,
            created_at: now,
            updated_at: now,
        };
        let key = key.as_ref().map(|(k, f)| (k.as_str(), f.as_str()));
        match (self.write(&order, key).await, key) {
            (Ok(()), _) => Ok(order),
            // A concurrent request with the same key won the race: answer as a repeat.
            (Err(err), Some((key, fingerprint))) if is_unique_violation(&err) => self
                .replay(key, fingerprint)
                .await?
                .ok_or_else(|| internal(err)),
            (Err(err), _) => Err(internal(err)),
        }
    }

    async fn get(&self, id: Uuid) -> Result<Order, OrdersError> {
        store::find(&self.db, id)
            .await
            .map_err(internal)?
            .ok_or(OrdersError::NotFound)
    }

    async fn list(
        &self,
        filter: OrderFilter,
        page: PageRequest,
    ) -> Result<Page<Order>, OrdersError> {
        let rows = store::list(&self.db, filter, page)
            .await
            .map_err(internal)?;
        Ok(Page::from_rows(rows, page, |order| order.id))
    }
}
