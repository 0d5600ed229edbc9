//! What shipping does when a payment is authorized: ship the order, once.

use async_trait::async_trait;
use chrono::Utc;
use payments_api::PaymentAuthorized;
use runtime::db::{Db, Tx};
use runtime::events::{EventError, EventHandler};
use runtime::{inbox, trace};
use shipping_api::Shipment;
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

/// One event of a batch, decoded: the shipment it makes, if it is an authorization.
struct Shipping {
    event_id: Uuid,
    span: Span,
    shipment: Option<Shipment>,
}

impl Shipping {
    fn decode(event: &Envelope) -> Result<Self, EventError> {
        let shipment = match event.decode::<PaymentAuthorized>() {
            None => None,
            Some(paid) => {
                let paid =
                    paid.map_err(|e| EventError::Undecodable(format!("PaymentAuthorized: {e}")))?;
                Some(Shipment {
                    id: vocab::new_id(),
                    order_id: paid.order_id,
                    created_at: Utc::now(),
                })
            }
        };
        Ok(Self {
            event_id: event.id,
            span: trace::event_span(shipping_api::NAME, event),
            shipment,
        })
    }

    /// Records the shipment, unless the event was seen before or the order has one.
    async fn apply(&self, tx: &mut Tx<'_>) -> sqlx::Result<()> {
        if !inbox::first_delivery(tx, shipping_api::NAME, self.event_id).await? {
            return Ok(());
        }
        if let Some(shipment) = &self.shipment {
            store::insert(tx, shipment).await?;
            tracing::info!(order_id = %shipment.order_id, "order shipped");
        }
        Ok(())
    }
}

#[async_trait]
impl EventHandler for PaymentEvents {
    /// Ships the orders of a batch in one transaction, each event at most once. Every
    /// event is decoded first, so that one that does not decode changes nothing.
    async fn handle(&self, batch: &[Envelope]) -> Result<(), EventError> {
        let shipments = batch
            .iter()
            .map(Shipping::decode)
            .collect::<Result<Vec<_>, _>>()?;
        self.db
            .write(move |tx: &mut Tx<'_>| {
                Box::pin(async move {
                    for shipping in &shipments {
                        shipping.apply(tx).instrument(shipping.span.clone()).await?;
                    }
                    Ok(())
                })
            })
            .await?;
        Ok(())
    }
}
