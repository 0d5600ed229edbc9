//! The payments table.

use chrono::{DateTime, Utc};
use payments_api::{Payment, PaymentFilter, PaymentStatus};
use runtime::db::{Db, Tx};
use runtime::{on_db, on_tx};
use sqlx::FromRow;
use uuid::Uuid;
use vocab::page::PageRequest;

#[derive(FromRow)]
struct PaymentRow {
    id: Uuid,
    order_id: Uuid,
    amount_cents: i64,
    currency: String,
    status: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<PaymentRow> for Payment {
    type Error = sqlx::Error;

    fn try_from(row: PaymentRow) -> sqlx::Result<Self> {
        let status = match row.status.as_str() {
            "authorized" => PaymentStatus::Authorized,
            "declined" => PaymentStatus::Declined,
            other => {
                return Err(sqlx::Error::Decode(
                    format!("unknown payment status {other:?}").into(),
                ))
            }
        };
        Ok(Self {
            id: row.id,
            order_id: row.order_id,
            amount_cents: row.amount_cents,
            currency: row.currency,
            status,
            created_at: row.created_at,
        })
    }
}

/// Records a payment unless the order already has one; `false` when it had.
pub(crate) async fn insert(tx: &mut Tx<'_>, payment: &Payment) -> sqlx::Result<bool> {
    let status = match payment.status {
        PaymentStatus::Authorized => "authorized",
        PaymentStatus::Declined => "declined",
    };
    let done = on_tx!(tx, |conn| sqlx::query(
        "INSERT INTO payments (id, order_id, amount_cents, currency, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(payment.id)
    .bind(payment.order_id)
    .bind(payment.amount_cents)
    .bind(&payment.currency)
    .bind(status)
    .bind(payment.created_at)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

pub(crate) async fn find(db: &Db, id: Uuid) -> sqlx::Result<Option<Payment>> {
    let row: Option<PaymentRow> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, order_id, amount_cents, currency, status, created_at \
         FROM payments WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    row.map(Payment::try_from).transpose()
}

pub(crate) async fn list(
    db: &Db,
    filter: PaymentFilter,
    page: PageRequest,
) -> sqlx::Result<Vec<Payment>> {
    let rows: Vec<PaymentRow> = on_db!(db, |pool| match filter.order_id {
        Some(order_id) => sqlx::query_as(
            "SELECT id, order_id, amount_cents, currency, status, created_at \
             FROM payments WHERE order_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(order_id),
        None => sqlx::query_as(
            "SELECT id, order_id, amount_cents, currency, status, created_at \
             FROM payments WHERE id > $1 ORDER BY id LIMIT $2",
        ),
    }
    .bind(page.after_or_start())
    .bind(page.fetch())
    .fetch_all(pool)
    .await)?;
    rows.into_iter().map(Payment::try_from).collect()
}
