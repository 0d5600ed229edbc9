//! The orders module's implementation of its contract.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use orders_api::{
    Order, OrderFilter, OrderPlaced, OrderStatus, OrdersApi, OrdersError, PlaceOrder,
};
use runtime::db::{fault, Db, Tx};
use runtime::outbox;
use users_api::{UsersApi, UsersError};
use uuid::Uuid;
use vocab::page::{Page, PageRequest};
use vocab::Problem;

use crate::rules::{self, ValidOrder};
use crate::store;

pub(crate) struct LocalOrders {
    db: Db,
    users: Arc<dyn UsersApi>,
}

/// A database error as the contract's error: 503 for a storage fault, else 500.
fn db_error(err: sqlx::Error) -> OrdersError {
    OrdersError::Other(fault::problem(orders_api::NAME, &err))
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}

impl LocalOrders {
    pub(crate) fn new(db: Db, users: Arc<dyn UsersApi>) -> Self {
        Self { db, users }
    }

    /// The order a key already created, if the key was seen; an error if it was seen with
    /// another body.
    async fn replay(&self, key: &str, fingerprint: &str) -> Result<Option<Order>, OrdersError> {
        let Some((seen, order_id)) = store::find_key(&self.db, key).await.map_err(db_error)? else {
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

    /// Writes the order, its key and its `OrderPlaced` event in one transaction; returns
    /// the order once committed.
    async fn write(&self, order: Order, key: Option<(String, String)>) -> sqlx::Result<Order> {
        let event = runtime::events::envelope(&OrderPlaced {
            order_id: order.id,
            user_id: order.user_id,
            amount_cents: order.total_cents,
            currency: order.currency.clone(),
        });
        self.db
            .write(move |tx: &mut Tx<'_>| {
                Box::pin(async move {
                    store::insert(tx, &order).await?;
                    if let Some((key, fingerprint)) = &key {
                        store::insert_key(tx, key, fingerprint, order.id).await?;
                    }
                    outbox::append(tx, &event).await?;
                    Ok(order)
                })
            })
            .await
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
            id: vocab::new_id(),
            user_id: valid.order.user_id,
            currency: valid.order.currency,
            items: valid.order.items,
            total_cents: valid.total_cents,
            status: OrderStatus::Pending,
            created_at: now,
            updated_at: now,
        };
        match self.write(order, key.clone()).await {
            Ok(order) => Ok(order),
            // A concurrent request with the same key won the race: answer as a repeat.
            Err(err) if is_unique_violation(&err) && key.is_some() => {
                let (key, fingerprint) = key.as_ref().expect("a key was given");
                self.replay(key, fingerprint)
                    .await?
                    .ok_or_else(|| db_error(err))
            }
            Err(err) => Err(db_error(err)),
        }
    }

    async fn get(&self, id: Uuid) -> Result<Order, OrdersError> {
        store::find(&self.db, id)
            .await
            .map_err(db_error)?
            .ok_or(OrdersError::NotFound)
    }

    async fn list(
        &self,
        filter: OrderFilter,
        page: PageRequest,
    ) -> Result<Page<Order>, OrdersError> {
        let rows = store::list(&self.db, filter, page)
            .await
            .map_err(db_error)?;
        Ok(Page::from_rows(rows, page, |order| order.id))
    }
}
