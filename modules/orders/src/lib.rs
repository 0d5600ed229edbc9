//! The orders module: what was bought, and whether it was paid.
//!
//! Its contract is the `orders-api` crate. It knows the users module only through
//! `UsersApi`, and the payments module only through the events of `payments-api`.
//! Inside: the rules ([`rules`]), the SQL (`store`), the local implementation
//! (`service`), the handler of payment events (`events`), the router and the client.

mod client;
mod events;
mod router;
mod rules;
mod service;
mod store;

use std::sync::Arc;

use orders_api::OrdersApi;
use payments_api::{PaymentAuthorized, PaymentDeclined};
use runtime::db::{Db, Location, Migrations};
use runtime::events::EventHandler;
use runtime::outbox::{Outbox, Relay, Subscriber};
use runtime::peer::Peer;
use users_api::UsersApi;
use vocab::events::Event;

pub use router::{router, OrdersDoc};

static MIGRATIONS: Migrations = Migrations {
    sqlite: &sqlx::migrate!("../../migrations/orders/sqlite"),
    postgres: &sqlx::migrate!("../../migrations/orders/postgres"),
};

/// The module's name: its role, its database file, its peer name, its event cursor.
pub const NAME: &str = "orders";

/// The topics this module consumes.
pub const CONSUMES: &[&str] = &[PaymentAuthorized::TOPIC, PaymentDeclined::TOPIC];

/// Applies the module's migrations to its database at `location`.
pub async fn migrate(location: &Location) -> anyhow::Result<()> {
    Db::open_module(location, NAME, &MIGRATIONS)
        .await?
        .close()
        .await;
    Ok(())
}

/// The orders module running in this process.
pub struct OrdersModule {
    db: Db,
    outbox: Outbox,
    api: Arc<dyn OrdersApi>,
}

impl OrdersModule {
    /// Opens the module's own database at `location`; buyers are checked with `users`.
    pub async fn open(location: &Location, users: Arc<dyn UsersApi>) -> anyhow::Result<Self> {
        let db = Db::open_module(location, NAME, &MIGRATIONS).await?;
        let outbox = Outbox::default();
        let api = Arc::new(service::LocalOrders::new(db.clone(), users, outbox.clone()));
        Ok(Self { db, outbox, api })
    }

    pub fn api(&self) -> Arc<dyn OrdersApi> {
        self.api.clone()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Applies payment events to orders.
    pub fn event_handler(&self) -> Arc<dyn EventHandler> {
        Arc::new(events::PaymentEvents::new(self.db.clone()))
    }

    /// Delivers this module's events to `subscribers`.
    pub fn relay(&self, subscribers: Vec<Subscriber>) -> Relay {
        Relay::new(self.db.clone(), self.outbox.clone(), subscribers)
    }
}

/// The orders module of another process, reached over HTTP.
pub fn client(peer: Peer) -> Arc<dyn OrdersApi> {
    Arc::new(client::OrdersClient::new(peer))
}
