//! The consumer's side of at-least-once delivery: each event id is recorded in the same
//! transaction as its effect, so a redelivered event finds its id and changes nothing.

use sqlx::SqliteConnection;
use uuid::Uuid;

/// Records `event_id` as processed. `false` means it already was: skip the event.
pub async fn first_delivery(conn: &mut SqliteConnection, event_id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query("INSERT OR IGNORE INTO inbox (event_id, processed_at) VALUES (?, ?)")
        .bind(event_id)
        .bind(chrono::Utc::now())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
