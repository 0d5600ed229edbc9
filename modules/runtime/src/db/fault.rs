//! Storage faults: which database errors mean that the data could not be stored (as
//! opposed to a request the data refuses, or a bug), what the API answers for them, and
//! whether a module's database takes writes right now.

use std::sync::Mutex;
use std::time::Duration;

use http::StatusCode;
use sqlx::error::DatabaseError;
use sqlx::postgres::PgDatabaseError;
use sqlx::sqlite::SqliteError;

use vocab::problem::Problem;

/// When a client refused for a storage fault may try again: long enough for space to be
/// freed or a database server to restart, short enough not to give up on a brief fault.
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// Whether `err` says that the database could not store or read data right now: a full
/// disk, an I/O error, a read-only file or server, a lock held too long, a connection
/// lost or refused. Such an error is the storage's, not the request's: the same request
/// may succeed once the cause is gone.
pub fn is_storage(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(db) => is_storage_code(db.as_ref()),
        _ => false,
    }
}

fn is_storage_code(db: &dyn DatabaseError) -> bool {
    if let Some(sqlite) = db.try_downcast_ref::<SqliteError>() {
        // Primary result codes (the low byte of the extended one): BUSY, LOCKED, NOMEM,
        // READONLY, IOERR, CORRUPT, FULL, CANTOPEN, PROTOCOL, NOTADB.
        let extended: i32 = sqlite.code().and_then(|c| c.parse().ok()).unwrap_or(0);
        return matches!(extended & 0xff, 5 | 6 | 7 | 8 | 10 | 11 | 13 | 14 | 15 | 26);
    }
    if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
        // SQLSTATE classes: connection exception, insufficient resources (disk full, out
        // of memory, too many connections), operator intervention (shutdown, cancel),
        // system error (I/O); and a read-only transaction (a standby, or
        // default_transaction_read_only).
        let code = pg.code();
        return ["08", "53", "57", "58"]
            .iter()
            .any(|class| code.starts_with(class))
            || code == "25006";
    }
    false
}

/// The problem a request gets for a database error of `module`: 503 with `Retry-After`
/// for a storage fault, 500 for anything else. The cause is logged, never sent.
pub fn problem(module: &str, err: &sqlx::Error) -> Problem {
    if is_storage(err) {
        tracing::warn!(module, error = %err, "storage fault");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage-unavailable",
            "The data could not be stored right now",
        )
        .with_detail(format!(
            "the {module} module cannot use its database at the moment; nothing of this request was kept"
        ))
        .with_retry_after(RETRY_AFTER)
    } else {
        Problem::internal(err)
    }
}

/// Whether a module's database takes writes, as the last writes found: what readiness
/// reports without writing on every probe.
#[derive(Debug, Default)]
pub(crate) struct WriteHealth {
    /// Why the last write failed, while it did for a storage reason.
    failing: Mutex<Option<String>>,
}

impl WriteHealth {
    /// Why writes fail, if they do.
    pub(crate) fn failing(&self) -> Option<String> {
        self.lock().clone()
    }

    /// Notes the outcome of a write: a storage fault marks the database failing, a
    /// committed write marks it well again. Other errors say nothing about the storage.
    pub(crate) fn observe<T>(&self, result: &sqlx::Result<T>) {
        match result {
            Ok(_) => *self.lock() = None,
            Err(err) => self.record(err),
        }
    }

    /// Marks the database failing if `err` is a storage fault.
    pub(crate) fn record(&self, err: &sqlx::Error) {
        if is_storage(err) {
            *self.lock() = Some(err.to_string());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.failing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_connections_and_io_are_storage_faults() {
        assert!(is_storage(&sqlx::Error::PoolTimedOut));
        assert!(is_storage(&sqlx::Error::Io(std::io::Error::other("gone"))));
        assert!(!is_storage(&sqlx::Error::RowNotFound));
    }

    #[test]
    fn a_storage_fault_is_a_503_telling_when_to_come_back() {
        let unavailable = problem("orders", &sqlx::Error::PoolTimedOut);
        assert_eq!(unavailable.status, 503);
        assert_eq!(unavailable.code, "storage-unavailable");
        assert_eq!(unavailable.retry_after, Some(2));
        assert_eq!(problem("orders", &sqlx::Error::RowNotFound).status, 500);
    }

    #[test]
    fn health_follows_the_last_write() {
        let health = WriteHealth::default();
        health.observe::<()>(&Err(sqlx::Error::RowNotFound));
        assert_eq!(health.failing(), None);
        health.observe::<()>(&Err(sqlx::Error::PoolTimedOut));
        assert!(health.failing().is_some());
        health.observe(&Ok(()));
        assert_eq!(health.failing(), None);
    }
}
