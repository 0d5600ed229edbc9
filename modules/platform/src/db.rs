//! A module's own SQLite database: one writer connection (SQLite admits one writer at a
//! time, so a single connection avoids lock upgrades and busy errors) and a small pool of
//! readers that WAL lets run beside it.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

const READERS: u32 = 4;

/// The pools of one module's database.
#[derive(Clone, Debug)]
pub struct Db {
    /// Every write goes through this single connection, in order.
    pub writer: SqlitePool,
    /// Reads that need not see uncommitted writes.
    pub reader: SqlitePool,
}

impl Db {
    /// Opens the database of `module` in `data_dir`: one file per module, `<module>.db`.
    pub async fn open_module(
        data_dir: &Path,
        module: &str,
        migrator: &Migrator,
    ) -> anyhow::Result<Self> {
        Self::open(&data_dir.join(format!("{module}.db")), migrator).await
    }

    /// Opens (creating if needed) the database file and applies the module's migrations.
    pub async fn open(path: &Path, migrator: &Migrator) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating data directory {}", dir.display()))?;
        }
        // WAL + synchronous=NORMAL: a killed process loses no committed transaction; only a
        // power cut may lose the last few, which is the usual trade for write throughput.
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        // sqlx pings a connection on every acquire by default: a round trip to SQLite's
        // worker thread per query, for a local file that does not drop connections.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("opening {}", path.display()))?;
        migrator
            .run(&writer)
            .await
            .with_context(|| format!("migrating {}", path.display()))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await
            .with_context(|| format!("opening {} for reading", path.display()))?;
        Ok(Self { writer, reader })
    }

    /// Whether the database answers a query: what `/readyz` reports.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    /// Waits for the connections in use to be returned, then closes them all.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}
