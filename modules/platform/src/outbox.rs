//! The producer's side of at-least-once delivery. A module appends events to its outbox
//! table in the transaction that changes its state, so an event exists if and only if the
//! change committed. The [`Relay`] then delivers them to each subscriber in order and moves
//! that subscriber's cursor only after the subscriber has applied them: a crash between
//! the two redelivers a batch, which the consumer's inbox turns into a no-op.

use std::sync::Arc;
use std::time::Duration;

use sqlx::{Row, SqliteConnection};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::db::Db;
use crate::events::{Envelope, EventHandler};

const BATCH: i64 = 100;
const POLL: Duration = Duration::from_secs(1);
const FIRST_RETRY: Duration = Duration::from_millis(100);
// Retries back off to at most a second: a consumer that comes back is found within a
// second, for the price of one refused connection a second while it is away.
const LAST_RETRY: Duration = Duration::from_secs(1);

/// A module's outbox: where its transactions append events and how they wake the relay.
#[derive(Clone)]
pub struct Outbox {
    appended: Arc<watch::Sender<u64>>,
}

impl Default for Outbox {
    fn default() -> Self {
        Self {
            appended: Arc::new(watch::channel(0).0),
        }
    }
}

impl Outbox {
    /// Appends an event inside the caller's transaction.
    pub async fn append(conn: &mut SqliteConnection, event: &Envelope) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO outbox (id, topic, occurred_at, request_id, payload) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(event.id)
        .bind(&event.topic)
        .bind(event.occurred_at)
        .bind(&event.request_id)
        .bind(event.payload.to_string())
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Tells the relay that a transaction with events has committed.
    pub fn committed(&self) {
        self.appended.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// A consumer of some of a producer's topics.
pub struct Subscriber {
    /// Names the subscriber's cursor; stable across restarts.
    pub name: &'static str,
    pub topics: &'static [&'static str],
    pub handler: Arc<dyn EventHandler>,
}

/// Delivers a module's outbox to its subscribers until shut down.
pub struct Relay {
    db: Db,
    outbox: Outbox,
    subscribers: Vec<Subscriber>,
}

impl Relay {
    pub fn new(db: Db, outbox: Outbox, subscribers: Vec<Subscriber>) -> Self {
        Self {
            db,
            outbox,
            subscribers,
        }
    }

    /// Runs one delivery loop per subscriber; returns once all have stopped after `shutdown`.
    /// A batch in flight at shutdown is finished, not abandoned.
    pub async fn run(self, shutdown: CancellationToken) {
        let loops = self.subscribers.into_iter().map(|subscriber| {
            let delivery = Delivery {
                db: self.db.clone(),
                wake: self.outbox.appended.subscribe(),
                subscriber,
            };
            delivery.run(shutdown.clone())
        });
        futures::future::join_all(loops).await;
    }
}

struct Delivery {
    db: Db,
    wake: watch::Receiver<u64>,
    subscriber: Subscriber,
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
            let step = match cursor {
                None => self.load_cursor().await.map(|seq| {
                    cursor = Some(seq);
                    true
                }),
                Some(after) => self.deliver_after(after).await.map(|next| {
                    let moved = next != after;
                    cursor = Some(next);
                    moved
                }),
            };
            match step {
                Ok(true) => retry = FIRST_RETRY,
                Ok(false) => {
                    tokio::select! {
                        _ = self.wake.changed() => {}
                        _ = tokio::time::sleep(POLL) => {}
                        _ = shutdown.cancelled() => {}
                    }
                }
                Err(err) => {
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

    async fn load_cursor(&self) -> anyhow::Result<i64> {
        sqlx::query("INSERT OR IGNORE INTO outbox_cursor (subscriber, last_seq) VALUES (?, 0)")
            .bind(self.subscriber.name)
            .execute(&self.db.writer)
            .await?;
        let seq = sqlx::query_scalar("SELECT last_seq FROM outbox_cursor WHERE subscriber = ?")
            .bind(self.subscriber.name)
            .fetch_one(&self.db.writer)
            .await?;
        Ok(seq)
    }

    /// Delivers the next batch after `after`; returns the new cursor.
    async fn deliver_after(&self, after: i64) -> anyhow::Result<i64> {
        let rows = sqlx::query(
            "SELECT seq, id, topic, occurred_at, request_id, payload FROM outbox \
             WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after)
        .bind(BATCH)
        .fetch_all(&self.db.reader)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(after);
        };
        let last: i64 = last.try_get("seq")?;
        let mut batch = Vec::with_capacity(rows.len());
        for row in rows {
            let topic: String = row.try_get("topic")?;
            if !self.subscriber.topics.contains(&topic.as_str()) {
                continue;
            }
            let payload: String = row.try_get("payload")?;
            batch.push(Envelope {
                id: row.try_get("id")?,
                topic,
                occurred_at: row.try_get("occurred_at")?,
                request_id: row.try_get("request_id")?,
                payload: serde_json::from_str(&payload)?,
            });
        }
        if !batch.is_empty() {
            self.subscriber.handler.handle(&batch).await?;
            if self.subscriber.handler.applies() {
                metrics::counter!(crate::metrics::EVENTS_DELIVERED, "subscriber" => self.subscriber.name)
                    .increment(batch.len() as u64);
            }
            tracing::debug!(
                subscriber = self.subscriber.name,
                events = batch.len(),
                "events delivered"
            );
        }
        let mut tx = self.db.writer.begin().await?;
        sqlx::query("UPDATE outbox_cursor SET last_seq = ? WHERE subscriber = ?")
            .bind(last)
            .bind(self.subscriber.name)
            .execute(&mut *tx)
            .await?;
        // Rows every subscriber has seen are no longer needed.
        sqlx::query("DELETE FROM outbox WHERE seq <= (SELECT MIN(last_seq) FROM outbox_cursor)")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(last)
    }
}
