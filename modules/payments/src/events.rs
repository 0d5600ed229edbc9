//! What payments does when an order is placed: charge it, once, and say how it went.

use async_trait::async_trait;
use chrono::Utc;
use orders_api::OrderPlaced;
use payments_api::{Payment, PaymentAuthorized, PaymentDeclined, PaymentStatus};
use runtime::db::{Db, Tx};
use runtime::events::{EventError, EventHandler};
use runtime::inbox;
use runtime::outbox;
use runtime::trace;
use tracing::{Instrument, Span};
use uuid::Uuid;
use vocab::events::Envelope;

use crate::processor::Processor;
use crate::store;

pub(crate) struct OrderEvents {
    db: Db,
    processor: Processor,
}

impl OrderEvents {
    pub(crate) fn new(db: Db, processor: Processor) -> Self {
        Self { db, processor }
    }

    fn outcome(&self, placed: &OrderPlaced) -> (Payment, Envelope) {
        let payment = Payment {
            id: vocab::new_id(),
            order_id: placed.order_id,
            amount_cents: placed.amount_cents,
            currency: placed.currency.clone(),
            status: self.processor.decide(placed.amount_cents),
            created_at: Utc::now(),
        };
        let event = match payment.status {
            PaymentStatus::Authorized => runtime::events::envelope(&PaymentAuthorized {
                payment_id: payment.id,
                order_id: payment.order_id,
            }),
            PaymentStatus::Declined => runtime::events::envelope(&PaymentDeclined {
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

    /// What one event asks of payments, decided before anything is written: the payment
    /// and its outcome event, created in the event's span so that the outcome carries the
    /// trace of the request that placed the order.
    fn charge(&self, envelope: &Envelope) -> Result<Charge, EventError> {
        let span = trace::event_span(payments_api::NAME, envelope);
        let outcome = match envelope.decode::<OrderPlaced>() {
            None => None,
            Some(placed) => {
                let placed =
                    placed.map_err(|e| EventError::Undecodable(format!("OrderPlaced: {e}")))?;
                let (payment, mut event) = span.in_scope(|| self.outcome(&placed));
                event.request_id.clone_from(&envelope.request_id);
                Some((payment, event))
            }
        };
        Ok(Charge {
            event_id: envelope.id,
            span,
            outcome,
        })
    }
}

/// One event of a batch, ready to be applied.
struct Charge {
    event_id: Uuid,
    span: Span,
    /// The payment and its outcome event, for an `OrderPlaced`.
    outcome: Option<(Payment, Envelope)>,
}

impl Charge {
    /// Records the payment and publishes its outcome, unless the event was seen before or
    /// the order already has a payment; `true` when the outcome was published.
    async fn apply(&self, tx: &mut Tx<'_>) -> sqlx::Result<bool> {
        if !inbox::first_delivery(tx, payments_api::NAME, self.event_id).await? {
            return Ok(false);
        }
        let Some((payment, event)) = &self.outcome else {
            return Ok(false);
        };
        if !store::insert(tx, payment).await? {
            return Ok(false);
        }
        outbox::append(tx, event).await?;
        tracing::info!(order_id = %payment.order_id, status = ?payment.status, "payment recorded");
        Ok(true)
    }
}

#[async_trait]
impl EventHandler for OrderEvents {
    /// Charges the orders of a batch in one transaction: each payment, its outcome event
    /// and the inbox record commit together.
    async fn handle(&self, batch: &[Envelope]) -> Result<(), EventError> {
        let charges = batch
            .iter()
            .map(|envelope| self.charge(envelope))
            .collect::<Result<Vec<_>, _>>()?;
        self.db
            .write(move |tx: &mut Tx<'_>| {
                Box::pin(async move {
                    for charge in &charges {
                        charge.apply(tx).instrument(charge.span.clone()).await?;
                    }
                    Ok(())
                })
            })
            .await?;
        Ok(())
    }
}
