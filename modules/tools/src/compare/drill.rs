//! The failure drill: payments is killed for a while under load, then started again.
//! What it shows is failure isolation — whether the public API keeps answering while one
//! module is down — and that nothing is lost: afterwards every order settles exactly once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::audit;
use super::load::{self, Plan, Target, Timeline};
use super::report::{DrillReport, TimelinePoint};
use crate::launch::Launched;

/// Buyers of the drill's own orders, so that its checks read only what it placed.
const DRILL_USERS: usize = 4;
/// How long orders may take to settle after payments is back before the drill gives up.
const RECOVERY_BOUND: Duration = Duration::from_secs(30);

/// Loads `launched` for three times `outage`: payments is killed after the first and
/// started again after the second.
pub async fn run(
    launched: &mut Launched,
    http: &reqwest::Client,
    plan: Plan,
    outage: Duration,
) -> anyhow::Result<DrillReport> {
    let base = launched.public_url();
    let target = Arc::new(Target::prepare(http.clone(), &base, DRILL_USERS).await?);
    let origin = Instant::now();
    let slice = (outage / 10).max(Duration::from_millis(100));
    let plan = Plan {
        duration: outage * 3,
        ..plan
    };
    let load = {
        let target = target.clone();
        tokio::spawn(
            async move { load::run(&target, plan, Some(Timeline::new(origin, slice))).await },
        )
    };

    let payments = launched.host_of(payments_api::NAME);
    tokio::time::sleep_until((origin + outage).into()).await;
    launched.kill(payments).await?;
    let killed_at = origin.elapsed().as_secs_f64();
    tokio::time::sleep_until((origin + outage * 2).into()).await;
    launched.restart(payments).await?;
    let restarted = Instant::now();
    let restarted_at = origin.elapsed().as_secs_f64();
    let backlog_by = Utc::now();

    let recovered =
        audit::wait_settled(http, &base, target.users(), backlog_by, RECOVERY_BOUND).await;
    let recording = load.await?;
    audit::wait_settled(http, &base, target.users(), Utc::now(), RECOVERY_BOUND).await;
    let orders = audit::orders_of(http, &base, target.users()).await?;
    let payments_per_order = audit::payments_per_order(http, &base).await?;
    let (settled_once, unsettled, charged_twice) =
        audit::exactly_once(&orders, &payments_per_order);

    let timeline = recording
        .timeline
        .unwrap_or_else(|| Timeline::new(origin, slice));
    let (ok, failed) = timeline.between(killed_at, restarted_at);
    Ok(DrillReport {
        outage_secs: restarted_at - killed_at,
        requests_during_outage: ok + failed,
        ok_during_outage: ok,
        availability: if ok + failed == 0 {
            0.0
        } else {
            ok as f64 / (ok + failed) as f64
        },
        recovery_secs: recovered.map(|at| at.duration_since(restarted).as_secs_f64()),
        orders: orders.len() as u64,
        settled_once,
        unsettled,
        charged_twice,
        timeline: timeline
            .slices
            .iter()
            .enumerate()
            .map(|(i, [ok, failed])| TimelinePoint {
                at_secs: i as f64 * slice.as_secs_f64(),
                ok: *ok,
                failed: *failed,
            })
            .collect(),
        killed_at_secs: killed_at,
        restarted_at_secs: restarted_at,
    })
}
