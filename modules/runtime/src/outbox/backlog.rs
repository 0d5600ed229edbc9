//! What a relay has not delivered yet, as gauges: how many events wait for a subscriber,
//! and how long the oldest has waited. A subscriber that is down shows as a growing age.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::db::Db;
use crate::metrics::{OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE};
use crate::on_db;
use crate::outbox::{Place, Subscriber};

/// Counting the backlog is a query over the undelivered rows; while events flow it is
/// repeated at most this often, so that a busy relay does not pay for it on every batch.
const EVERY: Duration = Duration::from_secs(1);

pub(super) struct Backlog {
    subscriber: &'static str,
    topics: Vec<&'static str>,
    /// The count, on each engine: on PostgreSQL the cursor is a (txid, seq) pair.
    sqlite_query: String,
    postgres_query: String,
    observed: Option<Instant>,
}

impl Backlog {
    pub(super) fn new(subscriber: &Subscriber) -> Self {
        let topics = |first: usize| {
            (first..subscriber.topics.len() + first)
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Self {
            subscriber: subscriber.name,
            topics: subscriber.topics.clone(),
            sqlite_query: format!(
                "SELECT COUNT(*) AS waiting, MIN(occurred_at) AS oldest FROM outbox \
                 WHERE seq > $1 AND topic IN ({})",
                topics(2)
            ),
            postgres_query: format!(
                "SELECT COUNT(*) AS waiting, MIN(occurred_at) AS oldest FROM outbox \
                 WHERE (txid, seq) > ($1, $2) AND topic IN ({})",
                topics(3)
            ),
            observed: None,
        }
    }

    /// Nothing is left after the cursor: no query needed.
    pub(super) fn drained(&mut self) {
        self.set(0, 0.0);
        self.observed = Some(Instant::now());
    }

    /// Counts what waits after `cursor`, unless that was done less than [`EVERY`] ago.
    pub(super) async fn observe(&mut self, db: &Db, cursor: Option<Place>) {
        let Some(cursor) = cursor else { return };
        if self.observed.is_some_and(|at| at.elapsed() < EVERY) {
            return;
        }
        self.observed = Some(Instant::now());
        match self.count(db, cursor).await {
            Ok((waiting, age_seconds)) => self.set(waiting, age_seconds),
            Err(err) => {
                tracing::warn!(subscriber = self.subscriber, error = %err, "cannot count the outbox backlog");
            }
        }
    }

    /// The number of events after `cursor`, and the age in seconds of the oldest.
    async fn count(&self, db: &Db, cursor: Place) -> sqlx::Result<(i64, f64)> {
        let (waiting, oldest): (i64, Option<DateTime<Utc>>) = on_db!(db, |pool| {
            let mut query = match db {
                Db::Sqlite(_) => sqlx::query(&self.sqlite_query),
                Db::Postgres(_) => sqlx::query(&self.postgres_query).bind(cursor.txid),
            }
            .bind(cursor.seq);
            for topic in &self.topics {
                query = query.bind(*topic);
            }
            let row = query.fetch_one(pool).await?;
            (row.try_get("waiting")?, row.try_get("oldest")?)
        });
        let age = oldest.map_or(0.0, |at| {
            (Utc::now() - at).to_std().unwrap_or_default().as_secs_f64()
        });
        Ok((waiting, age))
    }

    fn set(&self, waiting: i64, age_seconds: f64) {
        metrics::gauge!(OUTBOX_BACKLOG, "subscriber" => self.subscriber).set(waiting as f64);
        metrics::gauge!(OUTBOX_OLDEST_AGE, "subscriber" => self.subscriber).set(age_seconds);
    }
}
