//! The payments module: charges each placed order once.
//!
//! Its contract is the `payments-api` crate. It hears of orders only through the
//! `OrderPlaced` event of `orders-api`. Inside: the simulated processor ([`processor`]),
//! the SQL (`store`), the local implementation (`service`), the handler of order events
//! (`events`), the router and the client.

mod client;
mod events;
pub mod processor;
mod router;
mod service;
mod store;

use std::sync::Arc;

use orders_api::OrderPlaced;
use payments_api::PaymentsApi;
use runtime::db::{Db, Location, Migrations};
use runtime::events::EventHandler;
use runtime::outbox::{Outbox, Relay, Subscriber};
use runtime::peer::Peer;
use vocab::events::Event;

pub use router::{router, PaymentsDoc};

static MIGRATIONS: Migrations = Migrations {
    sqlite: &sqlx::migrate!("../../migrations/payments/sqlite"),
    postgres: &sqlx::migrate!("../../migrations/payments/postgres"),
};

/// The module's name: its role, its database file, its peer name, its event cursor.
pub const NAME: &str = "payments";

/// The topics this module consumes.
pub const CONSUMES: &[&str] = &[OrderPlaced::TOPIC];

/// Applies the module's migrations to its database at `location`.
pub async fn migrate(location: &Location) -> anyhow::Result<()> {
    Db::open_module(location, NAME, &MIGRATIONS)
        .await?
        .close()
        .await;
    Ok(())
}

/// The payments module running in this process.
pub struct PaymentsModule {
    db: Db,
    outbox: Outbox,
    processor: processor::Processor,
    api: Arc<dyn PaymentsApi>,
}

impl PaymentsModule {
    /// Opens the module's own database at `location`.
    pub async fn open(
        location: &Location,
        processor: processor::Processor,
    ) -> anyhow::Result<Self> {
        let db = Db::open_module(location, NAME, &MIGRATIONS).await?;
        let api = Arc::new(service::LocalPayments::new(db.clone()));
        Ok(Self {
            db,
            outbox: Outbox::default(),
            processor,
            api,
        })
    }

    pub fn api(&self) -> Arc<dyn PaymentsApi> {
        self.api.clone()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Charges placed orders.
    pub fn event_handler(&self) -> Arc<dyn EventHandler> {
        Arc::new(events::OrderEvents::new(
            self.db.clone(),
            self.outbox.clone(),
            self.processor,
        ))
    }

    /// Delivers this module's events to `subscribers`.
    pub fn relay(&self, subscribers: Vec<Subscriber>) -> Relay {
        Relay::new(self.db.clone(), self.outbox.clone(), subscribers)
    }
}

/// The payments module of another process, reached over HTTP.
pub fn client(peer: Peer) -> Arc<dyn PaymentsApi> {
    Arc::new(client::PaymentsClient::new(peer))
}
