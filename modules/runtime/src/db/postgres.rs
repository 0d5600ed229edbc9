//! A module's schema in a PostgreSQL database: one pool whose connections see that schema
//! first.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use super::fault::WriteHealth;
use super::EventsCommitted;
use super::{Conn, Tx, Work};

/// How long a request waits for a connection. While the server is down or restarting,
/// every request waits this long and then fails with 503, so it is kept short.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// The pool of one module's schema.
#[derive(Clone, Debug)]
pub struct PgDb {
    pool: PgPool,
    health: Arc<WriteHealth>,
    committed: EventsCommitted,
}

impl PgDb {
    /// Opens a pool of at most `pool_size` connections that see the schema named `module`
    /// first, creating the schema if needed, and applies `migrators` there, in order (their
    /// bookkeeping table included, so each module migrates on its own).
    pub(super) async fn open(
        url: &str,
        pool_size: u32,
        module: &str,
        migrators: &[&Migrator],
    ) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url).context("reading the database URL")?;
        let mut conn = PgConnection::connect_with(&options)
            .await
            .with_context(|| format!("connecting to PostgreSQL for {module}"))?;
        // Two processes starting at once would both try to create the schema, and one would
        // fail on the catalog's unique index: serialize them.
        let mut tx = conn.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('cleave schemas'))")
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{module}\""))
            .execute(&mut *tx)
            .await
            .with_context(|| format!("creating schema {module}"))?;
        tx.commit().await?;
        conn.close().await?;
        // Connections are checked as they are handed out (sqlx's default), so that those
        // a restarted server has cut are replaced rather than failing a request.
        let pool = PgPoolOptions::new()
            .max_connections(pool_size)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.options([("search_path", module)]))
            .await
            .with_context(|| format!("opening PostgreSQL for {module}"))?;
        for migrator in migrators {
            migrator
                .run(&pool)
                .await
                .with_context(|| format!("migrating schema {module}"))?;
        }
        Ok(Self {
            pool,
            health: Arc::new(WriteHealth::default()),
            committed: EventsCommitted::default(),
        })
    }

    /// The pool reads, and the relay's own transactions, use.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(super) fn events_committed(&self) -> &EventsCommitted {
        &self.committed
    }

    pub(super) fn health(&self) -> &WriteHealth {
        &self.health
    }

    /// Runs `work` in a transaction of its own, on a task of its own, so that a caller
    /// that stops waiting cannot cut it between its statements and its commit.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        work: impl Work<T> + 'static,
    ) -> sqlx::Result<T> {
        let pool = self.pool.clone();
        let health = self.health.clone();
        let committed = self.committed.clone();
        let written = tokio::spawn(async move {
            let result = async {
                let mut tx = pool.begin().await?;
                let mut work_tx = Tx::new(Conn::Postgres(&mut tx));
                let value = work(&mut work_tx).await?;
                let appended = work_tx.appended();
                tx.commit().await?;
                if appended {
                    committed.signal();
                }
                Ok(value)
            }
            .await;
            health.observe(&result);
            result
        });
        written.await.map_err(|_| sqlx::Error::WorkerCrashed)?
    }

    pub(super) async fn close(&self) {
        self.pool.close().await;
    }
}
