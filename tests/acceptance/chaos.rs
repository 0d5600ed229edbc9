//! Chaos, bounded for CI: under load, for about a minute, a process picked at random — a
//! module, the gateway or the NATS broker — is killed with SIGKILL every few seconds, and
//! started again after a moment. The picks and waits come from a seeded generator whose
//! seed is printed; `CLEAVE_CHAOS_SEED=<seed>` plays the same schedule again.

use std::time::{Duration, Instant};

use crate::load::{self, Load, Phase, Window};
use crate::nats;
use crate::support::{Module, Shape, Topology};

/// How long processes keep being killed.
const CHAOS_FOR: Duration = Duration::from_secs(60);
/// At most this many kills, whatever the time left.
const MAX_KILLS: usize = 20;
/// How long a process stays up between two kills, drawn in this range (milliseconds).
const UP_FOR_MS: std::ops::Range<u64> = 1_500..4_000;
/// How long a killed process stays down, drawn in this range (milliseconds).
const DOWN_FOR_MS: std::ops::Range<u64> = 200..2_000;
const LOAD: Load = Load {
    clients: 4,
    max_requests: 8_000,
    max_duration: Duration::from_secs(90),
    pace: Duration::from_millis(100),
    read_payments: true,
};

/// What can be killed.
#[derive(Debug, Clone, Copy)]
enum Victim {
    Gateway,
    Module(Module),
    Broker,
}

const VICTIMS: [Victim; 5] = [
    Victim::Gateway,
    Victim::Module(Module::Users),
    Victim::Module(Module::Orders),
    Victim::Module(Module::Payments),
    Victim::Broker,
];

impl Victim {
    fn kill(self, app: &Topology) {
        match self {
            Victim::Gateway => app.gateway().kill(),
            Victim::Module(module) => app.kill(module),
            Victim::Broker => app.broker().kill(),
        }
    }

    async fn restart(self, app: &Topology) {
        match self {
            Victim::Gateway => app.gateway().restart().await,
            Victim::Module(module) => app.restart(module).await,
            Victim::Broker => app.broker().restart().await,
        }
    }
}

/// The seed of this run: `CLEAVE_CHAOS_SEED` if set, else a fresh one.
fn seed() -> u64 {
    match std::env::var("CLEAVE_CHAOS_SEED") {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("CLEAVE_CHAOS_SEED={text} is not a number")),
        Err(_) => fastrand::u64(..),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn nats_split_random_processes_killed_for_a_minute() {
    if !nats::available() {
        return;
    }
    let seed = seed();
    println!("chaos seed {seed} (CLEAVE_CHAOS_SEED={seed} plays this schedule again)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let app = Topology::start(Shape::NatsSplit).await;
    let ada = app.create_user("ada@example.com").await;

    let window = Window::default();
    let script = async {
        let started = Instant::now();
        let mut kills = Vec::new();
        window.begins();
        while started.elapsed() < CHAOS_FOR && kills.len() < MAX_KILLS {
            tokio::time::sleep(Duration::from_millis(rng.u64(UP_FOR_MS))).await;
            let victim = VICTIMS[rng.usize(..VICTIMS.len())];
            let down_for = Duration::from_millis(rng.u64(DOWN_FOR_MS));
            println!(
                "{:>5.1} s: kill {victim:?}, down {} ms",
                started.elapsed().as_secs_f64(),
                down_for.as_millis()
            );
            victim.kill(&app);
            tokio::time::sleep(down_for).await;
            victim.restart(&app).await;
            kills.push(victim);
        }
        window.ends();
        kills
    };
    let (tally, kills) = LOAD.run(&app, ada, &window, script).await;

    let fault = format!("chaos, {} kills, seed {seed}", kills.len());
    load::audit(&app, &fault, &tally).await;
    assert!(
        tally.succeeded(Some(Phase::During)) > 0,
        "no request succeeded during the chaos"
    );
    assert!(
        tally.succeeded(Some(Phase::After)) > 0,
        "no request succeeded once the chaos was over"
    );
}
