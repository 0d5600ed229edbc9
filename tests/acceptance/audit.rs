//! The audit every fault test ends with, read back through the public API once the fault
//! is over: every acknowledged order exists, every order has settled with exactly one
//! payment that agrees with it, nothing is left pending, and no payment lacks its order.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::Value;
use uuid::Uuid;

use crate::support::{id, Topology};

/// How long the deployment may take, after the fault has ended, to settle every order.
const SETTLE_WITHIN: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(250);

/// What the audit found; its `Display` is the row a fault test prints.
#[derive(Debug)]
pub(crate) struct Audited {
    pub(crate) orders: usize,
    pub(crate) paid: usize,
    pub(crate) declined: usize,
    /// From the start of the audit until nothing was pending.
    pub(crate) settled_in: Duration,
}

impl std::fmt::Display for Audited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} orders ({} paid, {} declined), each charged once; all settled {:.1} s into the audit",
            self.orders,
            self.paid,
            self.declined,
            self.settled_in.as_secs_f64()
        )
    }
}

/// Waits until no order is pending (at most a minute), then asserts the guarantees.
/// `acknowledged` are the orders the deployment answered 201 for.
pub(crate) async fn assert_exactly_once(app: &Topology, acknowledged: &[Uuid]) -> Audited {
    let started = Instant::now();
    let orders = loop {
        let orders = app.list_all("/orders").await;
        let pending: Vec<&Value> = orders.iter().filter(|o| o["status"] == "pending").collect();
        if pending.is_empty() {
            break orders;
        }
        assert!(
            started.elapsed() < SETTLE_WITHIN,
            "{} of {} orders still pending after {SETTLE_WITHIN:?}, e.g. {}",
            pending.len(),
            orders.len(),
            pending[0]
        );
        tokio::time::sleep(POLL).await;
    };
    let settled_in = started.elapsed();
    let payments = app.list_all("/payments").await;

    let by_id: HashMap<Uuid, &Value> = orders.iter().map(|o| (id(o), o)).collect();
    let missing: Vec<&Uuid> = acknowledged
        .iter()
        .filter(|o| !by_id.contains_key(o))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged orders are lost, e.g. {}",
        missing.len(),
        acknowledged.len(),
        missing[0]
    );

    let mut charged: HashMap<Uuid, Vec<&Value>> = HashMap::new();
    for payment in &payments {
        let order_id = payment["order_id"]
            .as_str()
            .and_then(|text| Uuid::parse_str(text).ok())
            .unwrap_or_else(|| panic!("a payment without an order id: {payment}"));
        charged.entry(order_id).or_default().push(payment);
    }
    let orphans: Vec<&Uuid> = charged.keys().filter(|o| !by_id.contains_key(o)).collect();
    assert!(
        orphans.is_empty(),
        "{} payments have no order, e.g. for {}",
        orphans.len(),
        orphans[0]
    );

    let (mut paid, mut declined) = (0, 0);
    for (order_id, order) in &by_id {
        let payments = charged.get(order_id).map(Vec::as_slice).unwrap_or(&[]);
        assert_eq!(payments.len(), 1, "order {order} has payments {payments:?}");
        let payment = payments[0];
        let expected = match order["status"].as_str() {
            Some("paid") => {
                paid += 1;
                "authorized"
            }
            Some("payment_failed") => {
                declined += 1;
                "declined"
            }
            _ => panic!("order in no settled state: {order}"),
        };
        assert_eq!(payment["status"], expected, "{order} / {payment}");
        assert_eq!(payment["amount_cents"], order["total_cents"], "{payment}");
        assert_eq!(payment["currency"], order["currency"], "{payment}");
    }
    let distinct: HashSet<Uuid> = acknowledged.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        acknowledged.len(),
        "an order id was acknowledged twice"
    );
    Audited {
        orders: by_id.len(),
        paid,
        declined,
        settled_in,
    }
}
