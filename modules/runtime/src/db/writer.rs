//! The one writer of a SQLite file: a task that owns the only connection that writes, and
//! commits the writes of many requests in one transaction.
//!
//! Writes queue for the task. It takes every write waiting (up to [`BATCH_MAX`]), runs
//! each behind a savepoint of its own, and commits them together: a write that fails (a
//! unique violation, say) is rolled back to its savepoint and fails alone, while its
//! neighbours commit. Each is answered only after that commit, so an answer never runs
//! ahead of the data. With one write waiting, there is no savepoint: the write is the
//! transaction.
//!
//! The task issues `BEGIN`, `SAVEPOINT`, `COMMIT` and `ROLLBACK` itself and never leaves
//! a transaction open between batches. When SQLite fails a `COMMIT` for a full disk or an
//! I/O error it may roll the whole transaction back on its own; a driver that counts
//! transactions then believes one is still open, and turns every later `BEGIN` into a
//! savepoint of a transaction that never commits, acknowledging writes it never stores.
//! So whenever a transaction ends in doubt (a failed `BEGIN`, `COMMIT` or rollback), the
//! connection is closed, which rolls back whatever SQLite still held, and the next batch
//! opens a new one.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::fault::WriteHealth;
use super::EventsCommitted;
use super::{Conn, Tx, Work};

/// Writes committed in one transaction, at most.
const BATCH_MAX: usize = 64;
/// Writes waiting for the task, at most; more wait for room, which bounds memory when the
/// disk is slower than the requests.
const QUEUE: usize = 1024;

/// Answers a write's caller: with `None` once the batch has committed, or with why it
/// did not. A write that failed on its own is answered with its own error either way.
type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

/// What running a write's statements left to do.
struct Ran {
    failed: bool,
    /// Whether it put events in the outbox.
    appended: bool,
    answer: Answer,
}

type Job = Box<dyn for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> BoxFuture<'t, Ran> + Send>;

fn job<F>(run: F) -> Job
where
    F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> BoxFuture<'t, Ran> + Send + 'static,
{
    Box::new(run)
}

/// A handle on the writer task; cloned by everything that writes to the file.
#[derive(Clone, Debug)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
    health: Arc<WriteHealth>,
    stop: CancellationToken,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Writer {
    /// Starts the task on `conn`; `options` open its replacement when one is needed.
    pub(super) fn start(
        conn: SqliteConnection,
        options: SqliteConnectOptions,
        health: Arc<WriteHealth>,
        committed: EventsCommitted,
    ) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let stop = CancellationToken::new();
        let task = tokio::spawn(
            Task {
                conn: Some(conn),
                options,
                queue,
                health: health.clone(),
                committed,
            }
            .run(stop.clone()),
        );
        Self {
            jobs,
            health,
            stop,
            task: Arc::new(Mutex::new(Some(task))),
        }
    }

    pub(super) async fn write<T: Send + 'static>(
        &self,
        work: impl Work<T> + 'static,
    ) -> sqlx::Result<T> {
        let (reply, replied) = oneshot::channel();
        let health = self.health.clone();
        let job = job(move |tx| {
            Box::pin(async move {
                let result = work(tx).await;
                if let Err(err) = &result {
                    health.record(err);
                }
                Ran {
                    failed: result.is_err(),
                    appended: tx.appended(),
                    answer: Box::new(move |lost: Option<&str>| {
                        let result = match lost {
                            Some(why) if result.is_ok() => Err(not_committed(why)),
                            _ => result,
                        };
                        // The caller may have stopped waiting; the write stands either way.
                        let _ = reply.send(result);
                    }),
                }
            })
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        // A write dropped unrun (its batch could not begin, or the task has stopped) was
        // not stored: a storage fault, as the caller sees it.
        replied.await.map_err(|_| sqlx::Error::WorkerCrashed)?
    }

    /// Lets the writes already queued finish, then closes the connection.
    pub(super) async fn close(&self) {
        self.stop.cancel();
        if let Some(task) = self.task.lock().await.take() {
            if let Err(err) = task.await {
                tracing::error!(error = %err, "the database writer ended abnormally");
            }
        }
    }
}

fn not_committed(why: &str) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(format!(
        "the transaction did not commit: {why}"
    )))
}

struct Task {
    /// `None` after a transaction ended in doubt, until the next batch reconnects.
    conn: Option<SqliteConnection>,
    options: SqliteConnectOptions,
    queue: mpsc::Receiver<Job>,
    health: Arc<WriteHealth>,
    committed: EventsCommitted,
}

impl Task {
    async fn run(mut self, stop: CancellationToken) {
        loop {
            let first = tokio::select! {
                job = self.queue.recv() => job,
                () = stop.cancelled(), if !self.queue.is_closed() => {
                    // No new writes; those queued still run.
                    self.queue.close();
                    continue;
                }
            };
            let Some(first) = first else { break };
            let mut batch = vec![first];
            while batch.len() < BATCH_MAX {
                match self.queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            self.commit(batch).await;
        }
        if let Some(conn) = self.conn.take() {
            let _ = conn.close().await;
        }
    }

    /// Runs `batch` in one transaction on the connection, opening one if needed.
    async fn commit(&mut self, batch: Vec<Job>) {
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => match SqliteConnection::connect_with(&self.options).await {
                Ok(conn) => conn,
                Err(err) => {
                    // Dropped unrun: each caller hears that its write was not stored.
                    self.health.record(&err);
                    tracing::warn!(error = %err, "the database cannot be opened for writing");
                    return;
                }
            },
        };
        let mut conn = conn;
        if run_batch(&mut conn, batch, &self.health, &self.committed).await {
            self.conn = Some(conn);
        } else {
            tracing::warn!("a write transaction ended in doubt; its connection is replaced");
            let _ = conn.close().await;
        }
    }
}

/// Runs the transaction-control statements in `sql`, one after the other.
async fn execute(conn: &mut SqliteConnection, sql: &[&'static str]) -> sqlx::Result<()> {
    for statement in sql {
        sqlx::query(statement).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Runs the writes of `batch`, each behind a savepoint unless it is alone, and commits.
/// Returns whether the connection is known to be outside any transaction, and so can be
/// kept.
// Boxed: the future it returns must be `Send` for the spawned task, which rustc cannot
// prove through the higher-ranked lifetimes of the jobs unless it is named here.
fn run_batch<'a>(
    conn: &'a mut SqliteConnection,
    batch: Vec<Job>,
    health: &'a WriteHealth,
    committed: &'a EventsCommitted,
) -> BoxFuture<'a, bool> {
    Box::pin(async move {
        // IMMEDIATE takes the write lock now rather than at the first write, so that a lock
        // held elsewhere shows here, before any statement of a request has run.
        if let Err(err) = execute(conn, &["BEGIN IMMEDIATE"]).await {
            health.record(&err);
            tracing::warn!(error = %err, "a write transaction could not begin");
            return false;
        }
        let alone = batch.len() == 1;
        let mut done: Vec<Answer> = Vec::with_capacity(batch.len());
        let mut refused: Vec<Answer> = Vec::new();
        let mut appended = false;
        for job in batch {
            if !alone {
                if let Err(err) = execute(conn, &["SAVEPOINT write"]).await {
                    return abort(conn, done, refused, &err, health).await;
                }
            }
            let ran = AssertUnwindSafe(job(&mut Tx::new(Conn::Sqlite(conn))))
                .catch_unwind()
                .await;
            let failed = match ran {
                Ok(Ran {
                    failed: false,
                    appended: its_events,
                    answer,
                }) => {
                    done.push(answer);
                    appended |= its_events;
                    false
                }
                Ok(Ran {
                    failed: true,
                    answer,
                    ..
                }) => {
                    refused.push(answer);
                    true
                }
                // Its caller hears that the write was dropped; the panic was reported where
                // it happened.
                Err(_) => true,
            };
            let step: &[&str] = match (failed, alone) {
                (false, true) => continue,
                (false, false) => &["RELEASE write"],
                (true, true) => &["ROLLBACK"],
                (true, false) => &["ROLLBACK TO write", "RELEASE write"],
            };
            if let Err(err) = execute(conn, step).await {
                return abort(conn, done, refused, &err, health).await;
            }
            if failed && alone {
                end(done, refused, None);
                return true;
            }
        }
        match execute(conn, &["COMMIT"]).await {
            Ok(()) => {
                // An empty commit proves nothing about the disk; one that stored a write does.
                if !done.is_empty() {
                    health.observe(&Ok(()));
                }
                if appended {
                    committed.signal();
                }
                end(done, refused, None);
                true
            }
            Err(err) => abort(conn, done, refused, &err, health).await,
        }
    })
}

/// Answers the writes of a batch: those that succeeded with `lost`, those that failed
/// with their own error.
fn end(done: Vec<Answer>, refused: Vec<Answer>, lost: Option<&str>) {
    for answer in done {
        answer(lost);
    }
    for answer in refused {
        answer(None);
    }
}

/// Ends a batch whose transaction is in doubt: rolls back what SQLite may still hold,
/// answers every write that had succeeded with why it was not stored, and reports the
/// connection as not to be kept. Writes of the batch not yet run are dropped with it.
async fn abort(
    conn: &mut SqliteConnection,
    done: Vec<Answer>,
    refused: Vec<Answer>,
    err: &sqlx::Error,
    health: &WriteHealth,
) -> bool {
    health.record(err);
    tracing::warn!(error = %err, writes = done.len(), "a write transaction failed");
    // SQLite may have rolled back already, and then this fails: either way nothing stays.
    let _ = execute(conn, &["ROLLBACK"]).await;
    end(done, refused, Some(&err.to_string()));
    false
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use sqlx::migrate::{Migration, MigrationType, Migrator};

    use crate::db::{Conn, Db, SqliteDb, Tx};

    async fn numbers(dir: &std::path::Path) -> Db {
        let migrator = Migrator {
            migrations: Cow::Owned(vec![Migration::new(
                1,
                "numbers".into(),
                MigrationType::Simple,
                "CREATE TABLE numbers (n INTEGER NOT NULL UNIQUE)".into(),
                false,
            )]),
            ..Migrator::DEFAULT
        };
        Db::Sqlite(
            SqliteDb::open(&dir.join("numbers.db"), &[&migrator])
                .await
                .expect("the database opens"),
        )
    }

    /// Inserts `n`, and `n + 1000` after it, in one write: a write that fails after its
    /// first statement must leave nothing of it.
    async fn insert(db: &Db, n: i64) -> sqlx::Result<i64> {
        db.write(move |tx: &mut Tx<'_>| {
            Box::pin(async move {
                let Conn::Sqlite(conn) = tx.conn() else {
                    unreachable!("the test database is SQLite")
                };
                for value in [n + 1000, n] {
                    sqlx::query("INSERT INTO numbers (n) VALUES ($1)")
                        .bind(value)
                        .execute(&mut **conn)
                        .await?;
                }
                Ok(n)
            })
        })
        .await
    }

    #[tokio::test]
    async fn a_write_that_fails_in_a_batch_fails_alone() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = numbers(dir.path()).await;
        insert(&db, 5).await.expect("the first write commits");

        // Queued together, so that the writer takes them as one batch: 5 is taken, and
        // 2 comes twice.
        let writes = [1, 2, 5, 2, 3].map(|n| insert(&db, n));
        let answers = futures::future::join_all(writes).await;

        let failed: Vec<usize> = (0..answers.len())
            .filter(|&i| answers[i].is_err())
            .collect();
        assert_eq!(failed, [2, 3], "{answers:?}");
        for i in failed {
            let err = answers[i].as_ref().unwrap_err();
            assert!(
                err.as_database_error()
                    .is_some_and(|e| e.is_unique_violation()),
                "{err}"
            );
        }
        let stored: Vec<i64> = crate::on_db!(&db, |pool| sqlx::query_scalar(
            "SELECT n FROM numbers ORDER BY n"
        )
        .fetch_all(pool)
        .await)
        .expect("the numbers are read");
        assert_eq!(stored, [1, 2, 3, 5, 1001, 1002, 1003, 1005]);
        db.close().await;
    }
}
