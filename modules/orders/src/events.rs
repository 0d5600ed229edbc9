//! What orders does when payments has decided.

use async_trait::async_trait;
use orders_api::OrderStatus;
use payments_api::{PaymentAuthorized, PaymentDeclined};
use runtime::db::{Db, Tx};
use runtime::events::{EventError, EventHandler};
use runtime::inbox;
use runtime::trace;
use tracing::{Instrument, Span};
use uuid::Uuid;
use vocab::events::Envelope;

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

/// One payment event of a batch, decoded: the order it settles and how.
struct Settlement {
    event_id: Uuid,
    span: Span,
    settles: Option<(Uuid, OrderStatus)>,
}

impl Settlement {
    fn decode(event: &Envelope) -> Result<Self, EventError> {
        let settles = if let Some(paid) = event.decode::<PaymentAuthorized>() {
            Some((paid.map_err(undecodable)?.order_id, OrderStatus::Paid))
        } else if let Some(declined) = event.decode::<PaymentDeclined>() {
            Some((
                declined.map_err(undecodable)?.order_id,
                OrderStatus::PaymentFailed,
            ))
        } else {
            None
        };
        Ok(Self {
            event_id: event.id,
            span: trace::event_span(orders_api::NAME, event),
            settles,
        })
    }

    /// Settles the order, unless the event was seen before.
    async fn apply(&self, tx: &mut Tx<'_>) -> sqlx::Result<()> {
        if !inbox::first_delivery(tx, orders_api::NAME, self.event_id).await? {
            return Ok(());
        }
        if let Some((order_id, status)) = self.settles {
            store::settle(tx, order_id, status).await?;
            tracing::info!(%order_id, ?status, "order settled");
        }
        Ok(())
    }
}

#[async_trait]
impl EventHandler for PaymentEvents {
    /// Settles the orders of a batch in one transaction, each event at most once. Every
    /// event is decoded first, so that one that does not decode changes nothing.
    async fn handle(&self, batch: &[Envelope]) -> Result<(), EventError> {
        let settlements = batch
            .iter()
            .map(Settlement::decode)
            .collect::<Result<Vec<_>, _>>()?;
        self.db
            .write(move |tx: &mut Tx<'_>| {
                Box::pin(async move {
                    for settlement in &settlements {
                        settlement
                            .apply(tx)
                            .instrument(settlement.span.clone())
                            .await?;
                    }
                    Ok(())
                })
            })
            .await?;
        Ok(())
    }
}
