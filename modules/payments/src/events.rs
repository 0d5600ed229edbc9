//! What payments does when an order is placed: charge it, once, and say how it went.

use async_trait::async_trait;
use chrono::Utc;
use orders_api::OrderPlaced;
use payments_api::{Payment, PaymentAuthorized, PaymentDeclined, PaymentStatus};
use platform::db::{Db, Tx};
use platform::events::{Envelope, EventError, EventHandler};
use platform::inbox;
use platform::outbox::Outbox;
use platform::trace;
use tracing::Instrument;

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

    /// Charges the order of one event, unless it was seen before; `true` when the outcome
    /// was published. The outcome event is created in the event's span, so it carries the
    /// trace of the request that placed the order.
    async fn apply(&self, tx: &mut Tx, envelope: &Envelope) -> Result<bool, EventError> {
        if !inbox::first_delivery(tx, crate::NAME, envelope.id).await? {
            return Ok(false);
        }
        let Some(placed) = envelope.decode::<OrderPlaced>() else {
            return Ok(false);
        };
        let placed = placed.map_err(|e| EventError::Undecodable(format!("OrderPlaced: {e}")))?;
        let (payment, mut event) = self.outcome(&placed);
        event.request_id.clone_from(&envelope.request_id);
        if !store::insert(tx, &payment).await? {
            return Ok(false);
        }
        Outbox::append(tx, &event).await?;
        tracing::info!(order_id = %payment.order_id, status = ?payment.status, "payment recorded");
        Ok(true)
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
            published |= self
                .apply(&mut tx, envelope)
                .instrument(trace::event_span(crate::NAME, envelope))
                .await?;
        }
        tx.commit().await?;
        if published {
            self.outbox.committed();
        }
        Ok(())
    }
}
