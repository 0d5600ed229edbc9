//! Reading back, through the public API, what the load left behind: how long orders took
//! to settle, and whether each was charged exactly once.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use orders_api::{Order, OrderStatus};
use payments_api::Payment;
use uuid::Uuid;
use vocab::page::{Page, MAX_LIMIT};

/// Every item of a paged list at `path` (which already holds its filter, if any).
async fn all_pages<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    base: &str,
    path: &str,
) -> anyhow::Result<Vec<T>> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", MAX_LIMIT.to_string())];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let page: Page<T> = read(http, &format!("{base}{path}"), &query).await?;
        items.extend(page.data);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(items),
        }
    }
}

/// How long a read-back tries again when it is answered 503: a module just back from the
/// drill may still be behind its callers' open circuit breakers for a few seconds.
const UNAVAILABLE_FOR: Duration = Duration::from_secs(15);

/// One page, tried again while the answer is 503 or none, for up to [`UNAVAILABLE_FOR`].
async fn read<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    query: &[(&str, String)],
) -> anyhow::Result<T> {
    let deadline = Instant::now() + UNAVAILABLE_FOR;
    loop {
        let answer = http.get(url).query(query).send().await;
        let unavailable = match &answer {
            Ok(response) => response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE,
            Err(err) => err.is_connect() || err.is_timeout(),
        };
        if !unavailable || Instant::now() >= deadline {
            return Ok(answer?.error_for_status()?.json().await?);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every order of `users`.
pub async fn orders_of(
    http: &reqwest::Client,
    base: &str,
    users: &[Uuid],
) -> anyhow::Result<Vec<Order>> {
    let mut orders = Vec::new();
    for user in users {
        orders.extend(all_pages::<Order>(http, base, &format!("/orders?user_id={user}")).await?);
    }
    Ok(orders)
}

/// How many payments each order has.
pub async fn payments_per_order(
    http: &reqwest::Client,
    base: &str,
) -> anyhow::Result<HashMap<Uuid, u64>> {
    let mut counts = HashMap::new();
    for payment in all_pages::<Payment>(http, base, "/payments").await? {
        *counts.entry(payment.order_id).or_default() += 1;
    }
    Ok(counts)
}

/// Waits until no order of `users` created up to `created_by` is pending; returns when
/// that was first seen, or `None` if it was not within `bound`.
pub async fn wait_settled(
    http: &reqwest::Client,
    base: &str,
    users: &[Uuid],
    created_by: DateTime<Utc>,
    bound: Duration,
) -> Option<Instant> {
    let deadline = Instant::now() + bound;
    while Instant::now() < deadline {
        if let Ok(orders) = orders_of(http, base, users).await {
            let pending = orders
                .iter()
                .any(|o| o.status == OrderStatus::Pending && o.created_at <= created_by);
            if !pending {
                return Some(Instant::now());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

/// Placed → settled latency (microseconds) of the `tracked` orders among `orders`, from
/// the orders' own timestamps: both are written by the orders module, on one clock.
pub fn settle_latency(orders: &[Order], tracked: &HashSet<Uuid>) -> (u64, u64, Histogram<u64>) {
    let mut latency = Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds");
    let (mut seen, mut settled) = (0, 0);
    for order in orders.iter().filter(|o| tracked.contains(&o.id)) {
        seen += 1;
        if order.status != OrderStatus::Pending {
            settled += 1;
            let micros = (order.updated_at - order.created_at)
                .num_microseconds()
                .unwrap_or(0);
            latency.saturating_record(micros.max(1) as u64);
        }
    }
    (seen, settled, latency)
}

/// How the orders fared: settled with exactly one payment, unsettled, charged twice.
pub fn exactly_once(orders: &[Order], payments: &HashMap<Uuid, u64>) -> (u64, u64, u64) {
    let (mut once, mut unsettled, mut twice) = (0, 0, 0);
    for order in orders {
        match payments.get(&order.id).copied().unwrap_or(0) {
            0 => unsettled += 1,
            1 if order.status != OrderStatus::Pending => once += 1,
            1 => unsettled += 1,
            _ => twice += 1,
        }
    }
    (once, unsettled, twice)
}
