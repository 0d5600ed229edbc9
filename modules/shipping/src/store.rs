//! The shipments table.

use chrono::{DateTime, Utc};
use runtime::db::{Db, Tx};
use runtime::{on_db, on_tx};
use shipping_api::{Shipment, ShipmentFilter};
use sqlx::FromRow;
use uuid::Uuid;
use vocab::page::PageRequest;

#[derive(FromRow)]
struct ShipmentRow {
    id: Uuid,
    order_id: Uuid,
    created_at: DateTime<Utc>,
}

impl From<ShipmentRow> for Shipment {
    fn from(row: ShipmentRow) -> Self {
        Self {
            id: row.id,
            order_id: row.order_id,
            created_at: row.created_at,
        }
    }
}

/// Records a shipment unless the order already has one.
pub(crate) async fn insert(tx: &mut Tx<'_>, shipment: &Shipment) -> sqlx::Result<()> {
    on_tx!(tx, |conn| sqlx::query(
        "INSERT INTO shipments (id, order_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(shipment.id)
    .bind(shipment.order_id)
    .bind(shipment.created_at)
    .execute(conn)
    .await
    .map(drop))
}

pub(crate) async fn find(db: &Db, id: Uuid) -> sqlx::Result<Option<Shipment>> {
    let row: Option<ShipmentRow> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, order_id, created_at FROM shipments WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    Ok(row.map(Shipment::from))
}

pub(crate) async fn list(
    db: &Db,
    filter: ShipmentFilter,
    page: PageRequest,
) -> sqlx::Result<Vec<Shipment>> {
    let rows: Vec<ShipmentRow> = on_db!(db, |pool| match filter.order_id {
        Some(order_id) => sqlx::query_as(
            "SELECT id, order_id, created_at FROM shipments \
             WHERE order_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(order_id),
        None => sqlx::query_as(
            "SELECT id, order_id, created_at FROM shipments WHERE id > $1 ORDER BY id LIMIT $2",
        ),
    }
    .bind(page.after_or_start())
    .bind(page.fetch())
    .fetch_all(pool)
    .await)?;
    Ok(rows.into_iter().map(Shipment::from).collect())
}
