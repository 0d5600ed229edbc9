//! A module's SQLite file: a writer task that owns the one connection allowed to write,
//! and a pool of readers.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, SqliteConnection};

use super::fault::WriteHealth;
use super::writer::Writer;
use super::EventsCommitted;
use super::Work;

const READERS: u32 = 4;

/// The connections to one module's SQLite file.
#[derive(Clone, Debug)]
pub struct SqliteDb {
    /// Every write goes through this task, in order.
    writer: Writer,
    /// Reads that need not see uncommitted writes.
    reader: SqlitePool,
    health: Arc<WriteHealth>,
    committed: EventsCommitted,
}

impl SqliteDb {
    /// Opens (creating if needed) the database file and applies `migrators`, in order.
    pub async fn open(path: &Path, migrators: &[&Migrator]) -> anyhow::Result<Self> {
        let options = options(path)?;
        let mut conn = SqliteConnection::connect_with(&options)
            .await
            .with_context(|| format!("opening {}", path.display()))?;
        for migrator in migrators {
            migrator
                .run(&mut conn)
                .await
                .with_context(|| format!("migrating {}", path.display()))?;
        }
        let health = Arc::new(WriteHealth::default());
        let committed = EventsCommitted::default();
        let writer = Writer::start(conn, options.clone(), health.clone(), committed.clone());
        // sqlx pings a connection on every acquire by default: a round trip to SQLite's
        // worker thread per query, for a local file that does not drop connections.
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await
            .with_context(|| format!("opening {} for reading", path.display()))?;
        Ok(Self {
            writer,
            reader,
            health,
            committed,
        })
    }

    /// The pool reads use.
    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    pub(super) fn events_committed(&self) -> &EventsCommitted {
        &self.committed
    }

    pub(super) fn health(&self) -> &WriteHealth {
        &self.health
    }

    pub(super) async fn write<T: Send + 'static>(
        &self,
        work: impl Work<T> + 'static,
    ) -> sqlx::Result<T> {
        self.writer.write(work).await
    }

    pub(super) async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// How every connection to the file is opened.
fn options(path: &Path) -> anyhow::Result<SqliteConnectOptions> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating data directory {}", dir.display()))?;
    }
    // WAL + synchronous=NORMAL: a killed process loses no committed transaction; only a
    // power cut may lose the last few, which is the usual trade for write throughput.
    Ok(SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true))
}
