//! The audit every fault test ends with, read back through the public API once the fault
//! is over: every acknowledged order exists, every order has settled with exactly one
//! payment that agrees with it, nothing is left pending, no payment lacks its order, and
//! every paid order is shipped once (and no other).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::Value;
use uuid::Uuid;

use crate::support::{id, Topology};

/// How long the deployment may take, after the fault has ended, to settle every order.
const SETTLE_WITHIN: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(250);

/// What the audit found; its `Display` is the line a fault test prints.
#[derive(Debug)]
pub(crate) struct Audited {
    pub(crate) orders: usize,
    pub(crate) paid: usize,
    pub(crate) declined: usize,
    /// Acknowledged orders the deployment does not have.
    pub(crate) lost: usize,
    /// Orders with more than one payment.
    pub(crate) charged_twice: usize,
    /// From the start of the audit until nothing was pending.
    pub(crate) settled_in: Duration,
    /// Every broken guarantee, lost and doubly charged orders among them, one line each.
    violations: Vec<String>,
}

impl std::fmt::Display for Audited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} orders ({} paid and shipped, {} declined), each charged once; all settled {:.1} s into the audit",
            self.orders,
            self.paid,
            self.declined,
            self.settled_in.as_secs_f64()
        )
    }
}

impl Audited {
    /// Fails with every guarantee the deployment broke.
    pub(crate) fn assert_exactly_once(&self) {
        assert!(
            self.violations.is_empty(),
            "{} lost, {} charged twice:\n{}",
            self.lost,
            self.charged_twice,
            self.violations.join("\n")
        );
    }
}

/// Waits until no order is pending (at most a minute), then asserts the guarantees.
/// `acknowledged` are the orders the deployment answered 201 for.
pub(crate) async fn assert_exactly_once(app: &Topology, acknowledged: &[Uuid]) -> Audited {
    let audited = examine(app, acknowledged).await;
    audited.assert_exactly_once();
    audited
}

/// Waits until no order is pending (at most a minute), then reads back what the
/// deployment holds and counts what breaks the guarantees, without failing on it.
pub(crate) async fn examine(app: &Topology, acknowledged: &[Uuid]) -> Audited {
    let started = Instant::now();
    let mut violations = Vec::new();
    let orders = loop {
        let orders = app.list_all("/orders").await;
        let pending: Vec<&Value> = orders.iter().filter(|o| o["status"] == "pending").collect();
        if pending.is_empty() {
            break orders;
        }
        if started.elapsed() >= SETTLE_WITHIN {
            violations.push(format!(
                "{} of {} orders still pending after {SETTLE_WITHIN:?}, e.g. {}",
                pending.len(),
                orders.len(),
                pending[0]
            ));
            break orders;
        }
        tokio::time::sleep(POLL).await;
    };
    let settled_at = Instant::now();
    let payments = app.list_all("/payments").await;

    let by_id: HashMap<Uuid, &Value> = orders.iter().map(|o| (id(o), o)).collect();
    let missing: Vec<&Uuid> = acknowledged
        .iter()
        .filter(|o| !by_id.contains_key(o))
        .collect();
    if let Some(first) = missing.first() {
        violations.push(format!(
            "{} of {} acknowledged orders are lost, e.g. {first}",
            missing.len(),
            acknowledged.len(),
        ));
    }

    let mut charged: HashMap<Uuid, Vec<&Value>> = HashMap::new();
    for payment in &payments {
        let order_id = payment["order_id"]
            .as_str()
            .and_then(|text| Uuid::parse_str(text).ok())
            .unwrap_or_else(|| panic!("a payment without an order id: {payment}"));
        charged.entry(order_id).or_default().push(payment);
    }
    let orphans: Vec<&Uuid> = charged.keys().filter(|o| !by_id.contains_key(o)).collect();
    if let Some(first) = orphans.first() {
        violations.push(format!(
            "{} payments have no order, e.g. for {first}",
            orphans.len()
        ));
    }

    let (mut paid, mut declined, mut charged_twice) = (0, 0, 0);
    for (order_id, order) in &by_id {
        let payments = charged.get(order_id).map(Vec::as_slice).unwrap_or(&[]);
        let expected = match order["status"].as_str() {
            Some("paid") => {
                paid += 1;
                "authorized"
            }
            Some("payment_failed") => {
                declined += 1;
                "declined"
            }
            // Counted above, among the pending.
            Some("pending") => continue,
            _ => {
                violations.push(format!("order in no known state: {order}"));
                continue;
            }
        };
        let [payment] = payments else {
            charged_twice += usize::from(payments.len() > 1);
            violations.push(format!("order {order} has payments {payments:?}"));
            continue;
        };
        let agrees = payment["status"] == expected
            && payment["amount_cents"] == order["total_cents"]
            && payment["currency"] == order["currency"];
        if !agrees {
            violations.push(format!("{order} disagrees with its payment {payment}"));
        }
    }
    violations.extend(shipping_violations(app, &by_id, started).await);
    let distinct: HashSet<Uuid> = acknowledged.iter().copied().collect();
    if distinct.len() != acknowledged.len() {
        violations.push("an order id was acknowledged twice".to_owned());
    }
    Audited {
        orders: by_id.len(),
        paid,
        declined,
        lost: missing.len(),
        charged_twice,
        settled_in: settled_at - started,
        violations,
    }
}

/// What breaks "every paid order is shipped once, and no other": shipping applies the
/// payments' events on its own, so it is given until the audit's deadline to catch up.
async fn shipping_violations(
    app: &Topology,
    orders: &HashMap<Uuid, &Value>,
    started: Instant,
) -> Vec<String> {
    let paid: HashSet<Uuid> = orders
        .iter()
        .filter(|(_, order)| order["status"] == "paid")
        .map(|(id, _)| *id)
        .collect();
    let shipped = loop {
        let mut shipped: HashMap<Uuid, usize> = HashMap::new();
        for shipment in app.list_all("/shipments").await {
            let order_id = shipment["order_id"]
                .as_str()
                .and_then(|text| Uuid::parse_str(text).ok())
                .unwrap_or_else(|| panic!("a shipment without an order id: {shipment}"));
            *shipped.entry(order_id).or_default() += 1;
        }
        if paid.iter().all(|o| shipped.contains_key(o)) || started.elapsed() >= SETTLE_WITHIN {
            break shipped;
        }
        tokio::time::sleep(POLL).await;
    };
    let mut violations = Vec::new();
    let unshipped = paid.iter().filter(|o| !shipped.contains_key(o)).count();
    if unshipped > 0 {
        violations.push(format!("{unshipped} paid orders were never shipped"));
    }
    for (order_id, count) in &shipped {
        if !paid.contains(order_id) {
            violations.push(format!("order {order_id} was shipped but is not paid"));
        } else if *count > 1 {
            violations.push(format!("order {order_id} was shipped {count} times"));
        }
    }
    violations
}
