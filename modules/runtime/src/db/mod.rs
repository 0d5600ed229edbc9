//! A module's own database, on one of two engines:
//!
//! - SQLite (the default, nothing to install): one file per module, one writer task that
//!   owns the only connection that writes (SQLite admits one writer at a time) and commits
//!   the writes of many requests together, and a small pool of readers that WAL lets run
//!   beside it;
//! - PostgreSQL: one pool on the module's own schema (named after the module) of a shared
//!   database, so several processes of a module can share it.
//!
//! Every write goes through [`Db::write`]: a closure that runs its statements on a [`Tx`]
//! and is answered only once they have committed. A write that fails for a storage reason
//! (a full disk, an I/O error, a lost connection) is told apart by [`fault`], so that the
//! API answers 503 and readiness reports it; the connection it happened on is replaced.
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

use futures::future::BoxFuture;
use sqlx::migrate::Migrator;
use sqlx::{PgConnection, SqliteConnection};

mod committed;
pub mod fault;
mod postgres;
mod sqlite;
mod writer;

pub use committed::EventsCommitted;
pub use postgres::PgDb;
pub use sqlite::SqliteDb;

use fault::WriteHealth;

/// How long a readiness check may wait on a database before it counts as not ready.
const READY_WITHIN: Duration = Duration::from_secs(2);

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
    /// A PostgreSQL database; the module uses the schema of its name, through a pool of at
    /// most `pool_size` connections.
    Postgres { url: DatabaseUrl, pool_size: u32 },
}

impl Location {
    /// PostgreSQL at `url` if there is one, else SQLite files in `data_dir`.
    pub fn new(data_dir: &Path, url: Option<&DatabaseUrl>, pool_size: u32) -> Self {
        match url {
            Some(url) => Self::Postgres {
                url: url.clone(),
                pool_size,
            },
            None => Self::SqliteDir(data_dir.to_owned()),
        }
    }
}

/// A module's migrations, one folder per engine: the schemas differ in their types.
pub struct Migrations {
    pub sqlite: &'static Migrator,
    pub postgres: &'static Migrator,
}

/// The runtime's own tables (outbox, cursors, inbox), in every module's database.
static RUNTIME: Migrations = Migrations {
    sqlite: &sqlx::migrate!("../../migrations/runtime/sqlite"),
    postgres: &sqlx::migrate!("../../migrations/runtime/postgres"),
};

/// A module's migrations and the runtime's share one bookkeeping table: each leaves alone
/// the versions it does not know, which are the other's.
fn sharing(migrator: &Migrator) -> Migrator {
    Migrator {
        migrations: migrator.migrations.clone(),
        ignore_missing: true,
        ..Migrator::DEFAULT
    }
}

/// The database of one module.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqliteDb),
    Postgres(PgDb),
}

/// The transaction a write runs in. On SQLite it may hold the writes of other requests
/// too, each behind a savepoint of its own.
pub struct Tx<'c> {
    conn: Conn<'c>,
    /// Whether the write put an event in the outbox: once it commits, the relay is woken.
    appended: bool,
}

/// The connection of a transaction, on its engine.
pub enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl<'c> Tx<'c> {
    pub(crate) fn new(conn: Conn<'c>) -> Self {
        Self {
            conn,
            appended: false,
        }
    }

    /// The connection, for the statements of a write: see [`crate::on_tx!`].
    pub fn conn(&mut self) -> &mut Conn<'c> {
        &mut self.conn
    }

    pub(crate) fn appended(&self) -> bool {
        self.appended
    }

    pub(crate) fn note_appended(&mut self) {
        self.appended = true;
    }
}

/// The statements of one write: given the transaction, a future of its result.
pub trait Work<T>:
    for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> BoxFuture<'t, sqlx::Result<T>> + Send
{
}

impl<T, F> Work<T> for F where
    F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> BoxFuture<'t, sqlx::Result<T>> + Send
{
}

/// Evaluates `$body` with `$pool` bound to the pool a read should use, once per engine:
/// `on_db!(db, |pool| sqlx::query("…").fetch_all(pool).await)`.
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(db) => {
                let $pool = db.reader();
                $body
            }
            $crate::db::Db::Postgres(db) => {
                let $pool = db.pool();
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
        match $crate::db::Tx::conn($tx) {
            $crate::db::Conn::Sqlite(conn) => {
                let $conn = &mut **conn;
                $body
            }
            $crate::db::Conn::Postgres(conn) => {
                let $conn = &mut **conn;
                $body
            }
        }
    };
}

impl Db {
    /// Opens the database of `module` at `location` and applies its migrations.
    pub async fn open_module(
        location: &Location,
        module: &'static str,
        migrations: &Migrations,
    ) -> anyhow::Result<Self> {
        match location {
            Location::SqliteDir(dir) => SqliteDb::open(
                &dir.join(format!("{module}.db")),
                &[&sharing(migrations.sqlite), &sharing(RUNTIME.sqlite)],
            )
            .await
            .map(Self::Sqlite),
            Location::Postgres { url, pool_size } => PgDb::open(
                &url.0,
                *pool_size,
                module,
                &[&sharing(migrations.postgres), &sharing(RUNTIME.postgres)],
            )
            .await
            .map(Self::Postgres),
        }
    }

    /// Runs `work` in a transaction and answers once it has committed, or with why it did
    /// not. The work runs to its end even if the caller stops waiting, so that no write is
    /// left half done; an error leaves nothing of it behind.
    pub async fn write<T: Send + 'static>(&self, work: impl Work<T> + 'static) -> sqlx::Result<T> {
        match self {
            Self::Sqlite(db) => db.write(work).await,
            Self::Postgres(db) => db.write(work).await,
        }
    }

    /// Whether the database takes writes, bounded in time: `Err` says why not. While
    /// writes fail for a storage reason, this tries a write of its own, so that readiness
    /// comes back as soon as the cause is gone, with or without traffic.
    pub async fn ready(&self) -> Result<(), String> {
        let check = async {
            let failing = self.health().failing();
            let result = match failing {
                Some(_) => self.probe().await,
                None => crate::on_db!(self, |pool| sqlx::query("SELECT 1")
                    .execute(pool)
                    .await
                    .map(drop)),
            };
            result.map_err(|err| {
                self.health().record(&err);
                err.to_string()
            })
        };
        match tokio::time::timeout(READY_WITHIN, check).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {READY_WITHIN:?}")),
        }
    }

    /// A write that stores nothing of the module's yet needs the storage to take a
    /// write: on SQLite the file's header page (a page more in the write-ahead log), on
    /// PostgreSQL a transaction id and its commit record.
    async fn probe(&self) -> sqlx::Result<()> {
        self.write(|tx: &mut Tx<'_>| {
            Box::pin(async move {
                match tx.conn() {
                    Conn::Sqlite(conn) => {
                        let version: i64 = sqlx::query_scalar("PRAGMA user_version")
                            .fetch_one(&mut **conn)
                            .await?;
                        sqlx::query(&format!("PRAGMA user_version = {version}"))
                            .execute(&mut **conn)
                            .await
                            .map(drop)
                    }
                    Conn::Postgres(conn) => sqlx::query("SELECT pg_current_xact_id()")
                        .execute(&mut **conn)
                        .await
                        .map(drop),
                }
            })
        })
        .await
    }

    /// What wakes the module's relay when a write with events commits.
    pub fn events_committed(&self) -> &EventsCommitted {
        match self {
            Self::Sqlite(db) => db.events_committed(),
            Self::Postgres(db) => db.events_committed(),
        }
    }

    fn health(&self) -> &WriteHealth {
        match self {
            Self::Sqlite(db) => db.health(),
            Self::Postgres(db) => db.health(),
        }
    }

    /// Waits for the writes under way to end, then closes every connection.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(db) => db.close().await,
            Self::Postgres(db) => db.close().await,
        }
    }
}
