//! The built-in load generator: a realistic mix of public requests, in a closed loop (N
//! clients, each sending its next request when the last one is answered) or an open loop
//! (requests sent at a constant rate whatever happens to earlier ones). In the open loop,
//! latency is measured from the *intended* send time, so a stalled server is charged for
//! the requests that queued behind the stall (no coordinated omission, as in wrk2).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::json;
use tokio::sync::{mpsc, Semaphore};
use uuid::Uuid;

/// Largest latency recorded, in microseconds; slower answers are clamped to it.
const MAX_LATENCY_US: u64 = 120_000_000;
/// How many placed orders the workload remembers for reads.
const RECENT_ORDERS: usize = 1024;
/// A client whose request found no server waits this long before its next one, as real
/// clients back off; it keeps a dead topology from being measured as a busy loop.
const BACKOFF: Duration = Duration::from_millis(10);

/// One kind of public request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    CreateUser,
    PlaceOrder,
    ReadOrder,
    ListOrders,
    /// The payments of a recent order: the one request that needs payments to answer.
    ReadPayments,
}

/// How many kinds of request there are.
pub const OPS: usize = 5;

impl Op {
    pub const ALL: [Op; OPS] = [
        Op::CreateUser,
        Op::PlaceOrder,
        Op::ReadOrder,
        Op::ListOrders,
        Op::ReadPayments,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::CreateUser => "create_user",
            Op::PlaceOrder => "place_order",
            Op::ReadOrder => "read_order",
            Op::ListOrders => "list_orders",
            Op::ReadPayments => "read_payments",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The weights of each operation in the mix.
#[derive(Debug, Clone, Copy)]
pub struct Mix(pub [u32; OPS]);

impl Default for Mix {
    /// Mostly orders placed and read, as a shop's API sees them, and a few payment look-ups.
    fn default() -> Self {
        Self([5, 40, 30, 20, 5])
    }
}

impl Mix {
    fn pick(&self, rng: &mut fastrand::Rng) -> Op {
        let total: u32 = self.0.iter().sum();
        let mut roll = rng.u32(0..total.max(1));
        for op in Op::ALL {
            let weight = self.0[op.index()];
            if roll < weight {
                return op;
            }
            roll -= weight;
        }
        Op::PlaceOrder
    }

    pub fn as_map(&self) -> BTreeMap<String, u32> {
        Op::ALL
            .iter()
            .map(|op| (op.name().to_owned(), self.0[op.index()]))
            .collect()
    }
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// An answer other than the expected success.
    Status(u16),
    /// No answer: refused, reset or timed out.
    Transport,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// What a stretch of load recorded. Recordings of workers and slices are merged.
pub struct Recording {
    pub requests: u64,
    pub ok: u64,
    pub elapsed: Duration,
    /// Latency of every request, microseconds.
    pub latency: Histogram<u64>,
    pub ops: [OpRecording; OPS],
    /// Failures by status code, or `transport`.
    pub errors: BTreeMap<String, u64>,
    /// Orders placed (answered 201), in order.
    pub placed: Vec<Uuid>,
    /// Successes and failures per slice of time from `Timeline::origin`, when asked for.
    pub timeline: Option<Timeline>,
}

pub struct OpRecording {
    pub requests: u64,
    pub errors: u64,
    pub latency: Histogram<u64>,
}

/// Counts per fixed slice of time, for the outage chart.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub origin: Instant,
    pub slice: Duration,
    /// `[ok, failed]` per operation, per slice.
    pub slices: Vec<[[u64; 2]; OPS]>,
}

impl Timeline {
    pub fn new(origin: Instant, slice: Duration) -> Self {
        Self {
            origin,
            slice,
            slices: Vec::new(),
        }
    }

    fn record(&mut self, at: Instant, op: Op, ok: bool) {
        let slot = (at.saturating_duration_since(self.origin).as_secs_f64()
            / self.slice.as_secs_f64()) as usize;
        if self.slices.len() <= slot {
            self.slices.resize(slot + 1, [[0, 0]; OPS]);
        }
        self.slices[slot][op.index()][usize::from(!ok)] += 1;
    }

    fn merge(&mut self, other: &Timeline) {
        if self.slices.len() < other.slices.len() {
            self.slices.resize(other.slices.len(), [[0, 0]; OPS]);
        }
        for (mine, theirs) in self.slices.iter_mut().zip(&other.slices) {
            for (mine, theirs) in mine.iter_mut().zip(theirs) {
                mine[0] += theirs[0];
                mine[1] += theirs[1];
            }
        }
    }

    /// Successes and failures of every operation in each slice.
    pub fn totals(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.slices.iter().map(|ops| {
            ops.iter()
                .fold((0, 0), |(ok, failed), s| (ok + s[0], failed + s[1]))
        })
    }

    /// Successes and failures per operation in `[from, to)`, in seconds from the origin.
    pub fn between(&self, from: f64, to: f64) -> [(u64, u64); OPS] {
        let slice = self.slice.as_secs_f64();
        let mut counts = [(0, 0); OPS];
        for (i, ops) in self.slices.iter().enumerate() {
            let start = i as f64 * slice;
            if start >= from && start + slice <= to {
                for (count, s) in counts.iter_mut().zip(ops) {
                    count.0 += s[0];
                    count.1 += s[1];
                }
            }
        }
        counts
    }
}

impl Recording {
    pub fn new(timeline: Option<Timeline>) -> Self {
        Self {
            requests: 0,
            ok: 0,
            elapsed: Duration::ZERO,
            latency: histogram(),
            ops: std::array::from_fn(|_| OpRecording {
                requests: 0,
                errors: 0,
                latency: histogram(),
            }),
            errors: BTreeMap::new(),
            placed: Vec::new(),
            timeline,
        }
    }

    fn record(&mut self, op: Op, outcome: Outcome, latency: Duration, finished: Instant) {
        let micros = (latency.as_micros() as u64).clamp(1, MAX_LATENCY_US);
        self.requests += 1;
        self.latency.saturating_record(micros);
        let slot = &mut self.ops[op.index()];
        slot.requests += 1;
        slot.latency.saturating_record(micros);
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Status(code) => {
                slot.errors += 1;
                *self.errors.entry(code.to_string()).or_default() += 1;
            }
            Outcome::Transport => {
                slot.errors += 1;
                *self.errors.entry("transport".to_owned()).or_default() += 1;
            }
        }
        if let Some(timeline) = &mut self.timeline {
            timeline.record(finished, op, outcome == Outcome::Ok);
        }
    }

    /// Adds another recording of the same topology: another worker's (whose `elapsed` is
    /// zero: the run's is set once) or another slice's.
    pub fn merge(&mut self, other: Recording) {
        self.elapsed += other.elapsed;
        self.requests += other.requests;
        self.ok += other.ok;
        self.latency.add(&other.latency).expect("same bounds");
        for (mine, theirs) in self.ops.iter_mut().zip(other.ops) {
            mine.requests += theirs.requests;
            mine.errors += theirs.errors;
            mine.latency.add(&theirs.latency).expect("same bounds");
        }
        for (status, count) in other.errors {
            *self.errors.entry(status).or_default() += count;
        }
        self.placed.extend(other.placed);
        if let (Some(mine), Some(theirs)) = (&mut self.timeline, &other.timeline) {
            mine.merge(theirs);
        }
    }
}

/// A deployment under load: its public URL and the users the workload buys for.
pub struct Target {
    http: reqwest::Client,
    base: String,
    users: Vec<Uuid>,
    recent: Mutex<VecDeque<Uuid>>,
}

impl Target {
    /// Creates `users` buyers through the public API.
    pub async fn prepare(http: reqwest::Client, base: &str, users: usize) -> anyhow::Result<Self> {
        let mut target = Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            users: Vec::new(),
            recent: Mutex::new(VecDeque::new()),
        };
        for _ in 0..users {
            let response = target.create_user().send().await?;
            anyhow::ensure!(
                response.status() == reqwest::StatusCode::CREATED,
                "creating a user at {} answered {}",
                target.base,
                response.status()
            );
            let user: serde_json::Value = response.json().await?;
            let id = user["id"].as_str().unwrap_or_default().parse()?;
            target.users.push(id);
        }
        Ok(target)
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn users(&self) -> &[Uuid] {
        &self.users
    }

    fn create_user(&self) -> reqwest::RequestBuilder {
        let email = format!("load-{}@example.com", Uuid::now_v7().simple());
        self.http
            .post(format!("{}/users", self.base))
            .json(&json!({"email": email, "name": "Load"}))
    }

    /// A small order, and now and then one over the default payment limit, so that both
    /// outcomes of the event path are exercised.
    fn place_order(&self, rng: &mut fastrand::Rng) -> reqwest::RequestBuilder {
        let user = self.users[rng.usize(..self.users.len())];
        let items: Vec<_> = if rng.u8(..20) == 0 {
            vec![json!({"sku": "TV-1", "quantity": 2, "unit_price_cents": 60_000})]
        } else {
            (0..rng.u8(1..=3))
                .map(|i| json!({"sku": format!("BOOK-{i}"), "quantity": rng.u32(1..=3), "unit_price_cents": rng.i64(100..=5_000)}))
                .collect()
        };
        self.http
            .post(format!("{}/orders", self.base))
            .json(&json!({"user_id": user, "currency": "EUR", "items": items}))
    }

    fn recent_order(&self, rng: &mut fastrand::Rng) -> Option<Uuid> {
        let recent = self.recent.lock().expect("not poisoned");
        (!recent.is_empty()).then(|| recent[rng.usize(..recent.len())])
    }

    fn remember(&self, order: Uuid) {
        let mut recent = self.recent.lock().expect("not poisoned");
        if recent.len() == RECENT_ORDERS {
            recent.pop_front();
        }
        recent.push_back(order);
    }

    /// Sends one request of kind `op`; returns how it ended and the order it placed.
    async fn send(&self, op: Op, rng: &mut fastrand::Rng) -> (Op, Outcome, Option<Uuid>) {
        let (op, request, expected) = match op {
            Op::CreateUser => (op, self.create_user(), 201),
            Op::PlaceOrder => (op, self.place_order(rng), 201),
            Op::ReadOrder => match self.recent_order(rng) {
                Some(id) => (op, self.http.get(format!("{}/orders/{id}", self.base)), 200),
                None => (Op::PlaceOrder, self.place_order(rng), 201),
            },
            Op::ListOrders => {
                let user = self.users[rng.usize(..self.users.len())];
                let url = format!("{}/orders?user_id={user}&limit=20", self.base);
                (op, self.http.get(url), 200)
            }
            Op::ReadPayments => match self.recent_order(rng) {
                Some(id) => {
                    let url = format!("{}/payments?order_id={id}", self.base);
                    (op, self.http.get(url), 200)
                }
                None => (Op::PlaceOrder, self.place_order(rng), 201),
            },
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(_) => return (op, Outcome::Transport, None),
        };
        let status = response.status().as_u16();
        let body = response.bytes().await;
        if status != expected {
            return (op, Outcome::Status(status), None);
        }
        let Ok(body) = body else {
            return (op, Outcome::Transport, None);
        };
        let placed = (op == Op::PlaceOrder)
            .then(|| serde_json::from_slice::<serde_json::Value>(&body).ok())
            .flatten()
            .and_then(|order| order["id"].as_str().and_then(|id| id.parse().ok()));
        if let Some(id) = placed {
            self.remember(id);
        }
        (op, Outcome::Ok, placed)
    }
}

/// How to load a target.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub mix: Mix,
    /// Clients in the closed loop; the cap on requests in flight in the open loop.
    pub concurrency: usize,
    /// Requests per second for the open loop; `None` for the closed loop.
    pub rate: Option<f64>,
    pub duration: Duration,
}

/// Runs `plan` against `target` and returns what it recorded.
pub async fn run(target: &Arc<Target>, plan: Plan, timeline: Option<Timeline>) -> Recording {
    let started = Instant::now();
    let mut recording = match plan.rate {
        None => closed_loop(target, plan, timeline).await,
        Some(rate) => open_loop(target, plan, rate, timeline).await,
    };
    recording.elapsed = started.elapsed();
    recording
}

async fn closed_loop(target: &Arc<Target>, plan: Plan, timeline: Option<Timeline>) -> Recording {
    let deadline = Instant::now() + plan.duration;
    let workers: Vec<_> = (0..plan.concurrency.max(1))
        .map(|_| {
            let target = target.clone();
            let timeline = timeline.clone();
            tokio::spawn(async move {
                let mut rng = fastrand::Rng::new();
                let mut recording = Recording::new(timeline);
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let (op, outcome, placed) =
                        target.send(plan.mix.pick(&mut rng), &mut rng).await;
                    let finished = Instant::now();
                    recording.record(op, outcome, finished - sent, finished);
                    recording.placed.extend(placed);
                    if outcome == Outcome::Transport {
                        tokio::time::sleep(BACKOFF).await;
                    }
                }
                recording
            })
        })
        .collect();
    let mut total = Recording::new(timeline);
    for worker in workers {
        if let Ok(recording) = worker.await {
            total.merge(recording);
        }
    }
    total
}

async fn open_loop(
    target: &Arc<Target>,
    plan: Plan,
    rate: f64,
    timeline: Option<Timeline>,
) -> Recording {
    let started = tokio::time::Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let in_flight = Arc::new(Semaphore::new(plan.concurrency.max(1)));
    let (done, mut results) = mpsc::unbounded_channel();
    let collector = tokio::spawn(async move {
        let mut recording = Recording::new(timeline);
        while let Some((op, outcome, latency, finished, placed)) = results.recv().await {
            recording.record(op, outcome, latency, finished);
            recording.placed.extend(placed);
        }
        recording
    });
    let mut rng = fastrand::Rng::new();
    for i in 0u32.. {
        let intended = started + interval * i;
        if intended >= started + plan.duration {
            break;
        }
        tokio::time::sleep_until(intended).await;
        // Waiting for a free slot is part of the latency: it is measured from `intended`.
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let (target, done, op, mut task_rng) = (
            target.clone(),
            done.clone(),
            plan.mix.pick(&mut rng),
            rng.fork(),
        );
        tokio::spawn(async move {
            let (op, outcome, placed) = target.send(op, &mut task_rng).await;
            let finished = Instant::now();
            let _ = done.send((
                op,
                outcome,
                finished - intended.into_std(),
                finished,
                placed,
            ));
            drop(permit);
        });
    }
    drop(done);
    collector.await.unwrap_or_else(|_| Recording::new(None))
}
