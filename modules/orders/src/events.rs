//! What orders does when payments has decided.

use async_trait::async_trait;
use orders_api::OrderStatus;
use payments_api::{PaymentAuthorized, PaymentDeclined};
use platform::db::{Db, Tx};
use platform::events::{Envelope, EventError, EventHandler};
use platform::inbox;
use platform::trace;
use tracing::Instrument;

use crate::store;

pub(crate) struct PaymentEvents {
    db: Db,
}

impl PaymentEvents {
    pub(crate) fn new(db: Db) -> Self {
        Self { db }
    }
}

fn undecodable(err: serde_json::Error) -> EventError {
    EventError::Undecodable(format!("payment event: {err}"))
}

#[async_trait]
impl EventHandler for PaymentEvents {
    /// Settles the orders of a batch in one transaction, each event at most once.
    async fn handle(&self, batch: &[Envelope]) -> Result<(), EventError> {
        let mut tx = self.db.begin().await?;
        for event in batch {
            settle(&mut tx, event)
                .instrument(trace::event_span(crate::NAME, event))
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Settles the order of one payment event, unless the event was seen before.
async fn settle(tx: &mut Tx, event: &Envelope) -> Result<(), EventError> {
    if !inbox::first_delivery(tx, crate::NAME, event.id).await? {
        return Ok(());
    }
    let settled = if let Some(paid) = event.decode::<PaymentAuthorized>() {
        Some((paid.map_err(undecodable)?.order_id, OrderStatus::Paid))
    } else if let Some(declined) = event.decode::<PaymentDeclined>() {
        Some((
            declined.map_err(undecodable)?.order_id,
            OrderStatus::PaymentFailed,
        ))
    } else {
        None
    };
    if let Some((order_id, status)) = settled {
        store::settle(tx, order_id, status).await?;
        tracing::info!(%order_id, ?status, "order settled");
    }
    Ok(())
}
