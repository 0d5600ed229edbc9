//! A module's own database, on one of two engines:
//!
//! - SQLite (the default, nothing to install): one file per module, one writer connection
//!   (SQLite admits one writer at a time, so a single connection avoids lock upgrades and
//!   busy errors) and a small pool of readers that WAL lets run beside it;
//! - PostgreSQL: one pool on the module's own schema (named after the module) of a shared
//!   database, so several processes of a module can share it.
//!
//! The engine is a value, not a type parameter: [`Db`] and [`Tx`] are enums, and the
//! [`crate::on_db!`] / [`crate::on_tx!`] macros expand a store function's body once per
//! engine. Where the SQL is the same (it is for every query the modules make: `$n`
//! placeholders and `ON CONFLICT` read the same on both), it is written once, and each
//! copy is still checked against its own driver's types (UUIDs are BLOBs on SQLite and
//! `uuid` on PostgreSQL, timestamps text and `timestamptz`). sqlx's `Any` driver would
//! give one type, but it encodes neither UUIDs nor timestamps.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgConnection, PgPool, Postgres, Sqlite, SqlitePool, Transaction};

const READERS: u32 = 4;
const PG_CONNECTIONS: u32 = 16;

/// The URL of a PostgreSQL database. It may hold a password: its `Debug` form hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self(url.to_owned()))
        } else {
            Err(
                "a database URL must start with postgres:// or postgresql:// (SQLite is the \
                 default: leave the URL out and use --data-dir)"
                    .to_owned(),
            )
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseUrl(<redacted>)")
    }
}

/// Where a module keeps its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file per module in this directory, `<module>.db`.
    SqliteDir(PathBuf),
    /// A PostgreSQL database; the module uses the schema of its name.
    Postgres(DatabaseUrl),
}

impl Location {
    /// PostgreSQL at `url` if there is one, else SQLite files in `data_dir`.
    pub fn new(data_dir: &Path, url: Option<&DatabaseUrl>) -> Self {
        match url {
            Some(url) => Self::Postgres(url.clone()),
            None => Self::SqliteDir(data_dir.to_owned()),
        }
    }
}

/// A module's migrations, one folder per engine: the schemas differ in their types.
pub struct Migrations {
    pub sqlite: &'static Migrator,
    pub postgres: &'static Migrator,
}

/// The SQLite pools of one module's database.
#[derive(Clone, Debug)]
pub struct SqliteDb {
    /// Every write goes through this single connection, in order.
    pub writer: SqlitePool,
    /// Reads that need not see uncommitted writes.
    pub reader: SqlitePool,
}

/// The database of one module.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqliteDb),
    Postgres(PgPool),
}

/// A transaction on a module's database.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Evaluates `$body` with `$pool` bound to the pool a read should use, once per engine:
/// `on_db!(db, |pool| sqlx::query("…").fetch_all(pool).await)`.
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(db) => {
                let $pool = &db.reader;
                $body
            }
            $crate::db::Db::Postgres(pool) => {
                let $pool = pool;
                $body
            }
        }
    };
}

/// Evaluates `$body` with `$conn` bound to the transaction's connection, once per engine:
/// `on_tx!(tx, |conn| sqlx::query("…").execute(conn).await)`.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::db::Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}

impl Db {
    /// Opens the database of `module` at `location` and applies its migrations.
    pub async fn open_module(
        location: &Location,
        module: &str,
        migrations: &Migrations,
    ) -> anyhow::Result<Self> {
        match location {
            Location::SqliteDir(dir) => {
                SqliteDb::open(&dir.join(format!("{module}.db")), migrations.sqlite)
                    .await
                    .map(Self::Sqlite)
            }
            Location::Postgres(url) => open_postgres(&url.0, module, migrations.postgres)
                .await
                .map(Self::Postgres),
        }
    }

    /// Starts a transaction: on SQLite on the one writer connection.
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        match self {
            Self::Sqlite(db) => db.writer.begin().await.map(Tx::Sqlite),
            Self::Postgres(pool) => pool.begin().await.map(Tx::Postgres),
        }
    }

    /// Whether the database answers a query: what `/readyz` reports.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        crate::on_db!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(drop))
    }

    /// Waits for the connections in use to be returned, then closes them all.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(db) => {
                db.writer.close().await;
                db.reader.close().await;
            }
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

impl Tx {
    pub async fn commit(self) -> sqlx::Result<()> {
        match self {
            Self::Sqlite(tx) => tx.commit().await,
            Self::Postgres(tx) => tx.commit().await,
        }
    }
}

impl SqliteDb {
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
}

/// Opens a pool whose connections see the schema named `module` first, creating the
/// schema if needed, and applies the module's migrations there (their bookkeeping table
/// included, so each module migrates on its own).
async fn open_postgres(url: &str, module: &str, migrator: &Migrator) -> anyhow::Result<PgPool> {
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
    let pool = PgPoolOptions::new()
        .max_connections(PG_CONNECTIONS)
        .connect_with(options.options([("search_path", module)]))
        .await
        .with_context(|| format!("opening PostgreSQL for {module}"))?;
    migrator
        .run(&pool)
        .await
        .with_context(|| format!("migrating schema {module}"))?;
    Ok(pool)
}
