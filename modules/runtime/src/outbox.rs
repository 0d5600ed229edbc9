//! The producer's side of at-least-once delivery. A module appends events to its outbox
//! table in the transaction that changes its state, so an event exists if and only if the
//! change committed. The [`Relay`] then delivers them to each subscriber in order and moves
//! that subscriber's cursor only after the subscriber has applied them: a crash between
//! the two redelivers a batch, which the consumer's inbox turns into a no-op.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool, SqlitePool};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::db::{Db, Tx};
use crate::events::EventHandler;
use crate::metrics::{EVENTS_DELIVERED, EVENTS_REDELIVERED};
use crate::on_tx;
use crate::trace;
use backlog::Backlog;
use vocab::events::Envelope;

mod backlog;

const BATCH: i64 = 100;
const POLL: Duration = Duration::from_secs(1);
const FIRST_RETRY: Duration = Duration::from_millis(100);
// Retries back off to at most a second: a consumer that comes back is found within a
// second, for the price of one refused connection a second while it is away.
const LAST_RETRY: Duration = Duration::from_secs(1);

/// Appends an event inside the caller's transaction; the relay is woken once it commits.
/// On PostgreSQL the row also records the transaction's id (the column's default), which
/// orders delivery: writers commit concurrently, with no lock between them.
pub async fn append(tx: &mut Tx<'_>, event: &Envelope) -> sqlx::Result<()> {
    on_tx!(tx, |conn| sqlx::query(
        "INSERT INTO outbox (id, topic, occurred_at, request_id, traceparent, payload) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(event.id)
    .bind(&event.topic)
    .bind(event.occurred_at)
    .bind(&event.request_id)
    .bind(&event.traceparent)
    .bind(event.payload.to_string())
    .execute(conn)
    .await
    .map(drop))?;
    tx.note_appended();
    Ok(())
}

/// A consumer of some of a producer's topics.
pub struct Subscriber {
    /// Names the subscriber's cursor; stable across restarts.
    pub name: &'static str,
    pub topics: Vec<&'static str>,
    pub handler: Arc<dyn EventHandler>,
}

/// Delivers a module's outbox to its subscribers until shut down.
pub struct Relay {
    db: Db,
    subscribers: Vec<Subscriber>,
}

impl Relay {
    pub fn new(db: Db, subscribers: Vec<Subscriber>) -> Self {
        for subscriber in &subscribers {
            crate::metrics::subscriber_at_zero(subscriber.name);
        }
        Self { db, subscribers }
    }

    /// Runs one delivery loop per subscriber; returns once all have stopped after `shutdown`.
    /// A batch in flight at shutdown is finished, not abandoned.
    pub async fn run(self, shutdown: CancellationToken) {
        let loops = self.subscribers.into_iter().map(|subscriber| {
            let delivery = Delivery {
                db: self.db.clone(),
                wake: self.db.events_committed().subscribe(),
                backlog: Backlog::new(&subscriber),
                subscriber,
                attempted: Place::default(),
            };
            delivery.run(shutdown.clone())
        });
        futures::future::join_all(loops).await;
    }
}

/// A place in a module's outbox: rows are delivered in this order, and a subscriber's
/// cursor is the place of the last row it has applied. On SQLite one writer commits rows
/// in `seq` order and `txid` is always 0; on PostgreSQL `txid` is the id of the
/// transaction that wrote the row (see [`Delivery::step_postgres`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Place {
    pub(crate) txid: i64,
    pub(crate) seq: i64,
}

const ENSURE_CURSOR: &str =
    "INSERT INTO outbox_cursor (subscriber, last_seq) VALUES ($1, 0) ON CONFLICT DO NOTHING";
const SQLITE_READ_CURSOR: &str = "SELECT last_seq FROM outbox_cursor WHERE subscriber = $1";
const SQLITE_READ_BATCH: &str =
    "SELECT 0 AS txid, seq, id, topic, occurred_at, request_id, traceparent, payload \
     FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2";
const SQLITE_ADVANCE: &str = "UPDATE outbox_cursor SET last_seq = $1 WHERE subscriber = $2";
// Rows every subscriber has seen are no longer needed.
const SQLITE_PRUNE: &str =
    "DELETE FROM outbox WHERE seq <= (SELECT MIN(last_seq) FROM outbox_cursor)";
const PG_LOCK_CURSOR: &str = "SELECT last_txid, last_seq FROM outbox_cursor \
                              WHERE subscriber = $1 FOR UPDATE SKIP LOCKED";
// Only rows of transactions older than every transaction still running: their set is
// final, so nothing can later appear before the cursor. `pg_current_snapshot()` is the
// statement's own snapshot, the one the rows are read in.
const PG_READ_BATCH: &str =
    "SELECT txid, seq, id, topic, occurred_at, request_id, traceparent, payload FROM outbox \
     WHERE (txid, seq) > ($1, $2) \
       AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
     ORDER BY txid, seq LIMIT $3";
const PG_ADVANCE: &str =
    "UPDATE outbox_cursor SET last_txid = $1, last_seq = $2 WHERE subscriber = $3";
const PG_PRUNE: &str = "DELETE FROM outbox WHERE (txid, seq) <= \
                        (SELECT last_txid, last_seq FROM outbox_cursor \
                         ORDER BY last_txid, last_seq LIMIT 1)";

#[derive(FromRow)]
struct OutboxRow {
    txid: i64,
    seq: i64,
    id: Uuid,
    topic: String,
    occurred_at: DateTime<Utc>,
    request_id: Option<String>,
    traceparent: Option<String>,
    payload: String,
}

impl OutboxRow {
    fn place(&self) -> Place {
        Place {
            txid: self.txid,
            seq: self.seq,
        }
    }
}

struct Delivery {
    db: Db,
    wake: watch::Receiver<u64>,
    subscriber: Subscriber,
    backlog: Backlog,
    /// The furthest place handed to the subscriber so far: a batch at or before it after
    /// a failed attempt is a redelivery.
    attempted: Place,
}

impl Delivery {
    async fn run(mut self, shutdown: CancellationToken) {
        let name = self.subscriber.name;
        let mut retry = FIRST_RETRY;
        let mut cursor = None;
        while !shutdown.is_cancelled() {
            // Mark the wake-up seen before reading, so a commit that lands after the read
            // still wakes the next wait.
            self.wake.borrow_and_update();
            let db = self.db.clone();
            let step = match &db {
                Db::Sqlite(sqlite) => self.step_sqlite(&db, sqlite.reader(), &mut cursor).await,
                Db::Postgres(pg) => self.step_postgres(pg.pool(), &mut cursor).await,
            };
            match step {
                Ok(true) => {
                    retry = FIRST_RETRY;
                    self.backlog.observe(&db, cursor).await;
                }
                Ok(false) => {
                    self.backlog.drained();
                    tokio::select! {
                        _ = self.wake.changed() => {}
                        _ = tokio::time::sleep(POLL) => {}
                        _ = shutdown.cancelled() => {}
                    }
                }
                Err(err) => {
                    self.backlog.observe(&db, cursor).await;
                    tracing::warn!(subscriber = name, error = %err, retry_in = ?retry, "event delivery failed");
                    tokio::select! {
                        _ = tokio::time::sleep(retry) => {}
                        _ = shutdown.cancelled() => {}
                    }
                    retry = (retry * 2).min(LAST_RETRY);
                }
            }
        }
        tracing::debug!(subscriber = name, "relay stopped");
    }

    /// One process owns a SQLite file, so the cursor is read once and then kept in
    /// memory; the batch is read on a reader, and only the cursor's move takes the writer.
    /// Returns whether the cursor moved.
    async fn step_sqlite(
        &mut self,
        db: &Db,
        reader: &SqlitePool,
        cursor: &mut Option<Place>,
    ) -> anyhow::Result<bool> {
        let name = self.subscriber.name;
        let Some(after) = *cursor else {
            let seq = db
                .write(move |tx: &mut Tx<'_>| {
                    Box::pin(async move {
                        on_tx!(tx, |conn| {
                            sqlx::query(ENSURE_CURSOR)
                                .bind(name)
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query_scalar(SQLITE_READ_CURSOR)
                                .bind(name)
                                .fetch_one(&mut *conn)
                                .await
                        })
                    })
                })
                .await?;
            *cursor = Some(Place { txid: 0, seq });
            return Ok(true);
        };
        let rows: Vec<OutboxRow> = sqlx::query_as(SQLITE_READ_BATCH)
            .bind(after.seq)
            .bind(BATCH)
            .fetch_all(reader)
            .await?;
        let Some(last) = self.hand_over(rows).await? else {
            return Ok(false);
        };
        db.write(move |tx: &mut Tx<'_>| {
            Box::pin(async move {
                on_tx!(tx, |conn| {
                    sqlx::query(SQLITE_ADVANCE)
                        .bind(last.seq)
                        .bind(name)
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query(SQLITE_PRUNE)
                        .execute(&mut *conn)
                        .await
                        .map(drop)
                })
            })
        })
        .await?;
        *cursor = Some(last);
        Ok(true)
    }

    /// Several processes of a module may share its PostgreSQL schema, each with a relay:
    /// the one that locks the subscriber's cursor row delivers the next batch and moves the
    /// cursor in the same transaction; the others skip the locked row and wait their
    /// turn. A relay that dies mid-batch loses its connection, the lock goes with it, and
    /// another delivers the batch again from the cursor it left: never skipped, and
    /// applied once thanks to the consumer's inbox. Returns whether the cursor moved;
    /// `seen` is the last cursor this relay saw, for the backlog gauges.
    ///
    /// Writers commit concurrently, so a row's `seq` says nothing of when it committed.
    /// The batch holds only rows of transactions older than the oldest one still running
    /// when it is read: every such transaction has ended, so the rows read are all it will
    /// ever write, and any later row has a greater transaction id than every row read.
    /// Delivering in (txid, seq) order from the cursor thus never passes a row that could
    /// still commit.
    async fn step_postgres(
        &mut self,
        pool: &PgPool,
        seen: &mut Option<Place>,
    ) -> anyhow::Result<bool> {
        sqlx::query(ENSURE_CURSOR)
            .bind(self.subscriber.name)
            .execute(pool)
            .await?;
        let mut tx = pool.begin().await?;
        let after: Option<(i64, i64)> = sqlx::query_as(PG_LOCK_CURSOR)
            .bind(self.subscriber.name)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((txid, seq)) = after else {
            return Ok(false);
        };
        *seen = Some(Place { txid, seq });
        let rows: Vec<OutboxRow> = sqlx::query_as(PG_READ_BATCH)
            .bind(txid)
            .bind(seq)
            .bind(BATCH)
            .fetch_all(&mut *tx)
            .await?;
        let Some(last) = self.hand_over(rows).await? else {
            return Ok(false);
        };
        sqlx::query(PG_ADVANCE)
            .bind(last.txid)
            .bind(last.seq)
            .bind(self.subscriber.name)
            .execute(&mut *tx)
            .await?;
        sqlx::query(PG_PRUNE).execute(&mut *tx).await?;
        tx.commit().await?;
        *seen = Some(last);
        Ok(true)
    }

    /// Hands the subscriber's events among `rows` to its handler; returns the place of the
    /// last row read, which the cursor may move to once the handler has applied them.
    async fn hand_over(&mut self, rows: Vec<OutboxRow>) -> anyhow::Result<Option<Place>> {
        let Some(last) = rows.last().map(OutboxRow::place) else {
            return Ok(None);
        };
        let mut batch = Vec::with_capacity(rows.len());
        let mut again = 0_u64;
        for row in rows {
            if !self.subscriber.topics.contains(&row.topic.as_str()) {
                continue;
            }
            if row.place() <= self.attempted {
                again += 1;
            }
            batch.push(Envelope {
                id: row.id,
                topic: row.topic,
                occurred_at: row.occurred_at,
                request_id: row.request_id,
                traceparent: row.traceparent,
                payload: serde_json::from_str(&row.payload)?,
            });
        }
        if !batch.is_empty() {
            self.attempted = self.attempted.max(last);
            let span = trace::delivery_span(self.subscriber.name, &batch);
            self.subscriber
                .handler
                .handle(&batch)
                .instrument(span)
                .await?;
            let subscriber = self.subscriber.name;
            // A publisher to a broker has delivered nothing yet: the consumer counts what
            // it applies, in its own process.
            if self.subscriber.handler.applies() {
                metrics::counter!(EVENTS_DELIVERED, "subscriber" => subscriber)
                    .increment(batch.len() as u64);
            }
            if again > 0 {
                metrics::counter!(EVENTS_REDELIVERED, "subscriber" => subscriber).increment(again);
            }
            tracing::debug!(subscriber, events = batch.len(), "events delivered");
        }
        Ok(Some(last))
    }
}
