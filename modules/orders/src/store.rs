//! The orders tables: orders, idempotency keys, and (through `runtime`) outbox and inbox.

use chrono::{DateTime, Utc};
use orders_api::{Order, OrderFilter, OrderItem, OrderStatus};
use runtime::db::{Db, Tx};
use runtime::{on_db, on_tx};
use sqlx::FromRow;
use uuid::Uuid;
use vocab::page::PageRequest;

#[derive(FromRow)]
struct OrderRow {
    id: Uuid,
    user_id: Uuid,
    currency: String,
    items: String,
    total_cents: i64,
    status: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<OrderRow> for Order {
    type Error = sqlx::Error;

    fn try_from(row: OrderRow) -> Result<Self, sqlx::Error> {
        let items: Vec<OrderItem> =
            serde_json::from_str(&row.items).map_err(|e| sqlx::Error::Decode(e.into()))?;
        Ok(Self {
            id: row.id,
            user_id: row.user_id,
            currency: row.currency,
            items,
            total_cents: row.total_cents,
            status: parse_status(&row.status)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn status_text(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Pending => "pending",
        OrderStatus::Paid => "paid",
        OrderStatus::PaymentFailed => "payment_failed",
    }
}

fn parse_status(text: &str) -> sqlx::Result<OrderStatus> {
    match text {
        "pending" => Ok(OrderStatus::Pending),
        "paid" => Ok(OrderStatus::Paid),
        "payment_failed" => Ok(OrderStatus::PaymentFailed),
        other => Err(sqlx::Error::Decode(
            format!("unknown order status {other:?}").into(),
        )),
    }
}

pub(crate) async fn insert(tx: &mut Tx<'_>, order: &Order) -> sqlx::Result<()> {
    let items = serde_json::to_string(&order.items).map_err(|e| sqlx::Error::Encode(e.into()))?;
    on_tx!(tx, |conn| {
        sqlx::query(
        "INSERT INTO orders (id, user_id, currency, items, total_cents, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(order.id)
    .bind(order.user_id)
    .bind(&order.currency)
    .bind(&items)
    .bind(order.total_cents)
    .bind(status_text(order.status))
    .bind(order.created_at)
    .bind(order.updated_at)
    .execute(conn)
    .await
    .map(drop)
    })?;
    Ok(())
}

/// Remembers which order a key created; fails with a unique violation if the key is taken.
pub(crate) async fn insert_key(
    tx: &mut Tx<'_>,
    key: &str,
    fingerprint: &str,
    order_id: Uuid,
) -> sqlx::Result<()> {
    on_tx!(tx, |conn| sqlx::query(
        "INSERT INTO idempotency_keys (key, request_hash, order_id) VALUES ($1, $2, $3)"
    )
    .bind(key)
    .bind(fingerprint)
    .bind(order_id)
    .execute(conn)
    .await
    .map(drop))?;
    Ok(())
}

/// The fingerprint and order recorded for a key.
pub(crate) async fn find_key(db: &Db, key: &str) -> sqlx::Result<Option<(String, Uuid)>> {
    on_db!(db, |pool| sqlx::query_as(
        "SELECT request_hash, order_id FROM idempotency_keys WHERE key = $1"
    )
    .bind(key)
    .fetch_optional(pool)
    .await)
}

pub(crate) async fn find(db: &Db, id: Uuid) -> sqlx::Result<Option<Order>> {
    let row: Option<OrderRow> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, user_id, currency, items, total_cents, status, created_at, updated_at \
         FROM orders WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    row.map(Order::try_from).transpose()
}

pub(crate) async fn list(
    db: &Db,
    filter: OrderFilter,
    page: PageRequest,
) -> sqlx::Result<Vec<Order>> {
    let rows: Vec<OrderRow> = on_db!(db, |pool| match filter.user_id {
        Some(user_id) => sqlx::query_as(
            "SELECT id, user_id, currency, items, total_cents, status, created_at, updated_at \
             FROM orders WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(user_id),
        None => sqlx::query_as(
            "SELECT id, user_id, currency, items, total_cents, status, created_at, updated_at \
             FROM orders WHERE id > $1 ORDER BY id LIMIT $2",
        ),
    }
    .bind(page.after_or_start())
    .bind(page.fetch())
    .fetch_all(pool)
    .await)?;
    rows.into_iter().map(Order::try_from).collect()
}

/// Moves a pending order to its final status. An order that is no longer pending is left
/// as it is: the first payment outcome wins.
pub(crate) async fn settle(tx: &mut Tx<'_>, id: Uuid, status: OrderStatus) -> sqlx::Result<()> {
    on_tx!(tx, |conn| sqlx::query(
        "UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND status = 'pending'"
    )
    .bind(status_text(status))
    .bind(Utc::now())
    .bind(id)
    .execute(conn)
    .await
    .map(drop))?;
    Ok(())
}
