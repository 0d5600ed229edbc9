//! What payments does when an order is placed: charge it, once, and say how it went.

use async_trait::async_trait;
use chrono::Utc;
use orders_api::OrderPlaced;
use payments_api::{Payment, PaymentAuthorized, PaymentDeclined, PaymentStatus};
use platform::db::Db;
use platform::events::{Envelope, EventError, EventHandler};
use platform::inbox;
use platform::outbox::Outbox;

use crate::processor::Processor;
use crate::store;

pub(crate) struct OrderEvents {
    db: Db,
    outbox: Outbox,
    processor: Processor,
}

impl OrderEvents {
    pub(crate) fn new(db: Db, outbox: Outbox, processor: Processor) -> Self {
        Self {
            db,
            outbox,
            processor,
        }
    }

    fn outcome(&self, placed: &OrderPlaced) -> (Payment, Envelope) {
        let payment = Payment {
            id: platform::new_id(),
            order_id: placed.order_id,
            amount_cents: placed.amount_cents,
            currency: placed.currency.clone(),
            status: self.processor.decide(placed.amount_cents),
            created_at: Utc::now(),
        };
        let event = match payment.status {
            PaymentStatus::Authorized => Envelope::new(&PaymentAuthorized {
                payment_id: payment.id,
                order_id: payment.order_id,
            }),
            PaymentStatus::Declined => Envelope::new(&PaymentDeclined {
                payment_id: payment.id,
                order_id: payment.order_id,
                reason: format!(
                    "amount exceeds the limit of {} cents",
                    self.processor.limit_cents
                ),
            }),
        };
        (payment, event)
    }
}

#[async_trait]
impl EventHandler for OrderEvents {
    /// Charges the orders of a batch in one transaction: each payment, its outcome event
    /// and the inbox record commit together.
    async fn handle(&self, batch: &[Envelope]) -> Result<(), EventError> {
        let mut tx = self.db.begin().await?;
        let mut published = false;
        for envelope in batch {
            if !inbox::first_delivery(&mut tx, envelope.id).await? {
                continue;
            }
            let Some(placed) = envelope.decode::<OrderPlaced>() else {
                continue;
            };
            let placed =
                placed.map_err(|e| EventError::Failed(format!("undecodable OrderPlaced: {e}")))?;
            let (payment, mut event) = self.outcome(&placed);
            event.request_id.clone_from(&envelope.request_id);
            if store::insert(&mut tx, &payment).await? {
                Outbox::append(&mut tx, &event).await?;
                published = true;
                tracing::info!(order_id = %payment.order_id, status = ?payment.status, request_id = envelope.request_id.as_deref().unwrap_or(""), "payment recorded");
            }
        }
        tx.commit().await?;
        if published {
            self.outbox.committed();
        }
        Ok(())
    }
}
