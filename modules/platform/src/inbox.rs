//! The consumer's side of at-least-once delivery: each event id is recorded in the same
//! transaction as its effect, so a redelivered event finds its id and changes nothing.

use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::metrics::EVENTS_DEDUPLICATED;

/// Records `event_id` as processed by `consumer`. `false` means it already was: skip the
/// event.
pub async fn first_delivery(
    conn: &mut SqliteConnection,
    consumer: &'static str,
    event_id: Uuid,
) -> sqlx::Result<bool> {
    let done = sqlx::query("INSERT OR IGNORE INTO inbox (event_id, processed_at) VALUES (?, ?)")
        .bind(event_id)
        .bind(chrono::Utc::now())
        .execute(conn)
        .await?;
    let first = done.rows_affected() == 1;
    if !first {
        metrics::counter!(EVENTS_DEDUPLICATED, "consumer" => consumer).increment(1);
    }
    Ok(first)
}
