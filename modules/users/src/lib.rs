//! The users module: who may buy.
//!
//! Its contract is the `users-api` crate. This crate adds the rules ([`rules`]), the SQL
//! (`store`), the local implementation (`service`), the HTTP router serving the contract
//! (`router`) and the HTTP client implementing it for other processes (`client`).

mod client;
mod router;
mod rules;
mod service;
mod store;

use std::sync::Arc;

use runtime::db::{Db, Location, Migrations};
use runtime::peer::Peer;
use users_api::UsersApi;

pub use router::{router, UsersDoc};

static MIGRATIONS: Migrations = Migrations {
    sqlite: &sqlx::migrate!("../../migrations/users/sqlite"),
    postgres: &sqlx::migrate!("../../migrations/users/postgres"),
};

/// The module's name: its role, its database file, its peer name.
pub const NAME: &str = "users";

/// Applies the module's migrations to its database at `location`.
pub async fn migrate(location: &Location) -> anyhow::Result<()> {
    Db::open_module(location, NAME, &MIGRATIONS)
        .await?
        .close()
        .await;
    Ok(())
}

/// The users module running in this process.
pub struct UsersModule {
    db: Db,
    api: Arc<dyn UsersApi>,
}

impl UsersModule {
    /// Opens the module's own database at `location`, applying its migrations.
    pub async fn open(location: &Location) -> anyhow::Result<Self> {
        let db = Db::open_module(location, NAME, &MIGRATIONS).await?;
        let api = Arc::new(service::LocalUsers::new(db.clone()));
        Ok(Self { db, api })
    }

    pub fn api(&self) -> Arc<dyn UsersApi> {
        self.api.clone()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }
}

/// The users module of another process, reached over HTTP.
pub fn client(peer: Peer) -> Arc<dyn UsersApi> {
    Arc::new(client::UsersClient::new(peer))
}
