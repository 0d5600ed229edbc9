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

use std::path::Path;
use std::sync::Arc;

use orders_api::OrdersApi;
use payments_api::{PaymentAuthorized, PaymentDeclined};
use platform::db::Db;
use platform::events::{Event, EventHandler};
use platform::outbox::{Outbox, Relay, Subscriber};
use platform::peer::Peer;
use users_api::UsersApi;

pub use router::{router, OrdersDoc};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/orders");

/// The module's name: its role, its database file, its peer name, its event cursor.
pub const NAME: &str = "orders";

/// The topics this module consumes.
pub const CONSUMES: &[&str] = &[PaymentAuthorized::TOPIC, PaymentDeclined::TOPIC];

/// Applies the module's migrations to its database under `data_dir`.
pub async fn migrate(data_dir: &Path) -> anyhow::Result<()> {
    Db::open_module(data_dir, NAME, &MIGRATOR)
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
    /// Opens the module's own database under `data_dir`; buyers are checked with `users`.
    pub async fn open(data_dir: &Path, users: Arc<dyn UsersApi>) -> anyhow::Result<Self> {
        let db = Db::open_module(data_dir, NAME, &MIGRATOR).await?;
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
