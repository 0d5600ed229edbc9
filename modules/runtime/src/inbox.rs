//! The consumer's side of at-least-once delivery: each event id is recorded in the same
//! transaction as its effect, so a redelivered event finds its id and changes nothing.
//! `ON CONFLICT DO NOTHING` makes that hold between processes too: on PostgreSQL, a second
//! transaction recording the same id waits for the first, then records nothing.

use uuid::Uuid;

use crate::db::Tx;
use crate::metrics::EVENTS_DEDUPLICATED;
use crate::on_tx;

/// Records `event_id` as processed by `consumer`. `false` means it already was: skip the
/// event.
pub async fn first_delivery(
    tx: &mut Tx<'_>,
    consumer: &'static str,
    event_id: Uuid,
) -> sqlx::Result<bool> {
    let done = on_tx!(tx, |conn| sqlx::query(
        "INSERT INTO inbox (event_id, processed_at) VALUES ($1, $2) ON CONFLICT DO NOTHING"
    )
    .bind(event_id)
    .bind(chrono::Utc::now())
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))?;
    let first = done == 1;
    if !first {
        metrics::counter!(EVENTS_DEDUPLICATED, "consumer" => consumer).increment(1);
    }
    Ok(first)
}
