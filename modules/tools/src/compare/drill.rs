//! The failure drill: payments fails for a while under load, then comes back. Either its
//! process is killed and started again (`process`: in a monolith that process is every
//! module), or payments alone fails through the internal fault switch while every process
//! runs on (`module`: the same fault in every shape). What it shows is failure isolation —
//! which public requests keep being answered while one module is down — and that nothing
//! is lost: afterwards every order settles exactly once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::audit;
use super::load::{self, Op, Plan, Target, Timeline};
use super::report::{DrillReport, OperationAvailability, TimelinePoint};
use crate::launch::Launched;

/// Buyers of the drill's own orders, so that its checks read only what it placed.
const DRILL_USERS: usize = 4;
/// How long orders may take to settle after payments is back before the drill gives up.
const RECOVERY_BOUND: Duration = Duration::from_secs(30);

/// How payments fails in the drill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Kill the process that holds payments (in a monolith, the whole application).
    Process,
    /// Make the payments module alone fail, through its internal fault switch.
    Module,
    /// No drill.
    None,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Process => "process",
            Kind::Module => "module",
            Kind::None => "none",
        }
    }
}

/// Loads `launched` for three times `outage`: payments fails after the first and comes
/// back after the second.
pub async fn run(
    launched: &mut Launched,
    http: &reqwest::Client,
    plan: Plan,
    outage: Duration,
    kind: Kind,
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
    let killed_roles = (kind == Kind::Process).then(|| launched.processes[payments].roles.clone());
    tokio::time::sleep_until((origin + outage).into()).await;
    match kind {
        Kind::Module => fail_module(launched, http, payments, outage).await?,
        _ => launched.kill(payments).await?,
    }
    let killed_at = origin.elapsed().as_secs_f64();
    tokio::time::sleep_until((origin + outage * 2).into()).await;
    match kind {
        Kind::Module => fail_module(launched, http, payments, Duration::ZERO).await?,
        _ => launched.restart(payments).await?,
    }
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
    let during = timeline.between(killed_at, restarted_at);
    let (ok, failed) = during
        .iter()
        .fold((0, 0), |(ok, failed), (o, f)| (ok + o, failed + f));
    Ok(DrillReport {
        kind: kind.name().to_owned(),
        killed_every_module: killed_roles.is_some() && launched.processes.len() == 1,
        killed_roles,
        outage_secs: restarted_at - killed_at,
        requests_during_outage: ok + failed,
        ok_during_outage: ok,
        availability: if ok + failed == 0 {
            0.0
        } else {
            ok as f64 / (ok + failed) as f64
        },
        operations: Op::ALL
            .iter()
            .zip(during)
            .map(|(op, (ok, failed))| OperationAvailability {
                name: op.name().to_owned(),
                requests: ok + failed,
                ok,
            })
            .collect(),
        recovery_secs: recovered.map(|at| at.duration_since(restarted).as_secs_f64()),
        orders: orders.len() as u64,
        settled_once,
        unsettled,
        charged_twice,
        timeline: timeline
            .totals()
            .enumerate()
            .map(|(i, (ok, failed))| TimelinePoint {
                at_secs: i as f64 * slice.as_secs_f64(),
                ok,
                failed,
            })
            .collect(),
        killed_at_secs: killed_at,
        restarted_at_secs: restarted_at,
    })
}

/// Turns payments' fault switch on for `length`, or off with zero, in the process `i`
/// that holds it.
async fn fail_module(
    launched: &Launched,
    http: &reqwest::Client,
    i: usize,
    length: Duration,
) -> anyhow::Result<()> {
    let url = format!(
        "{}/internal/faults/{}",
        launched.processes[i].url(),
        payments_api::NAME
    );
    let mut request = http
        .post(url)
        .json(&serde_json::json!({"secs": length.as_secs_f64()}));
    if let Some(token) = launched.internal_token() {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    anyhow::ensure!(
        response.status().is_success(),
        "the fault switch of payments answered {}",
        response.status()
    );
    Ok(())
}
