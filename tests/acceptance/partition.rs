//! Partitions between containers: under load, `docker network disconnect` cuts one
//! module's container off the deployment's bridge network for a few seconds, running on,
//! then connects it again. Nothing refuses a connection on a cut network, nothing answers
//! at all; still, calls that need the module get a 503 problem, typically at once from the
//! open breaker, and none sent during the cut waits out the peer timeout, even on a
//! connection kept alive from before. Every order settles once the link is back.

use std::time::Duration;

use crate::docker;
use crate::load::{self, Load, Phase, Window};
use crate::support::{Module, Shape, Topology};

/// How long the link stays cut.
const CUT_FOR: Duration = Duration::from_secs(6);
/// Before the cut, so that the gateway holds kept-alive connections to every module.
const WARM_UP: Duration = Duration::from_secs(1);
/// A 503 for a module that is cut off is prompt when it comes well before the peer timeout
/// (5 s): the typical one comes from an open breaker, at once.
const PROMPT: Duration = Duration::from_secs(1);
/// Close to the peer timeout (5 s), twice what a peer that acknowledges nothing is given.
const WAITED_OUT: Duration = Duration::from_secs(4);
const LOAD: Load = Load {
    clients: 4,
    max_requests: 2_000,
    max_duration: Duration::from_secs(40),
    pace: Duration::from_millis(50),
    read_payments: true,
};

/// Cuts `module` off under load, then reconnects it; prints the row and audits.
async fn cut_off(module: Module, fault: &str) {
    let app = Topology::start(Shape::Containers).await;
    let ada = app.create_user("ada@example.com").await;

    let window = Window::default();
    let script = async {
        tokio::time::sleep(WARM_UP).await;
        app.containers().disconnect(module);
        // From now on every request is sent into the cut; one sent before may have been
        // answered already, the answer lost, and wait out the peer timeout.
        window.begins();
        tokio::time::sleep(CUT_FOR).await;
        app.containers().reconnect(module);
        window.ends();
    };
    let (tally, ()) = LOAD.run(&app, ada, &window, script).await;

    let times = tally.unavailable_times(Phase::During);
    let quantile = |q: f64| {
        let at = ((times.len().saturating_sub(1)) as f64 * q).round() as usize;
        times.get(at).copied().unwrap_or_default()
    };
    let waited_out = tally.slower_than(Phase::During, WAITED_OUT);
    println!(
        "{fault}: 503 during the cut {} (p50 {:.3} s, p90 {:.3} s, max {:.3} s), \
         requests over {PROMPT:?} {}, over {WAITED_OUT:?} {waited_out}",
        times.len(),
        quantile(0.5).as_secs_f64(),
        quantile(0.9).as_secs_f64(),
        quantile(1.0).as_secs_f64(),
        tally.slower_than(Phase::During, PROMPT),
    );
    load::audit(&app, fault, &tally).await;
    assert!(!times.is_empty(), "no request noticed the cut");
    assert!(
        quantile(0.5) < PROMPT,
        "503s during the cut took {:?} (median), not a prompt answer",
        quantile(0.5)
    );
    assert_eq!(
        waited_out, 0,
        "requests sent during the cut waited out the peer timeout"
    );
    assert!(
        tally.succeeded(Some(Phase::After)) > 0,
        "no request succeeded once the link was back"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn containers_payments_cut_off_the_network() {
    if docker::available() {
        cut_off(Module::Payments, "payments cut off").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn containers_orders_cut_off_the_network() {
    if docker::available() {
        cut_off(Module::Orders, "orders cut off").await;
    }
}
