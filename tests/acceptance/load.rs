//! The load a fault test puts on a deployment while the fault is on: a few clients placing
//! orders through the gateway, bounded in count and in time, each answer timed and put in
//! the window it was sent in (before, during or after the fault); and the row the test
//! prints once the audit is done.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use uuid::Uuid;

use crate::audit::{self, Audited};
use crate::support::{id, order_body, Reply, Topology};

/// How long the clients go on once the fault is over: long enough to see requests succeed
/// again, short enough to keep the backlog the audit waits for small.
const TAIL: Duration = Duration::from_secs(2);
/// The problem code of a request refused because the data could not be stored; it tells
/// the client when to come back.
pub(crate) const STORAGE_UNAVAILABLE: &str = "storage-unavailable";
/// The wait after an answer that was not a success, so that clients do not spin on a
/// deployment that is refusing them.
const BACKOFF: Duration = Duration::from_millis(100);

/// The clients and their bounds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    pub(crate) clients: usize,
    /// Requests sent in all, by every client together.
    pub(crate) max_requests: usize,
    pub(crate) max_duration: Duration,
    /// The wait after a success, so that a small machine is loaded, not drowned.
    pub(crate) pace: Duration,
    /// Whether a client reads the payments of each order it placed: a call that needs the
    /// payments module, where placing an order needs only users and orders.
    pub(crate) read_payments: bool,
}

/// When the fault was on, as the test's fault script tells the clients.
#[derive(Default)]
pub(crate) struct Window {
    began: Mutex<Option<Instant>>,
    ended: Mutex<Option<Instant>>,
}

impl Window {
    /// The fault starts now.
    pub(crate) fn begins(&self) {
        set(&self.began);
    }

    /// The fault is over now: the clients go on for a short while, then stop.
    pub(crate) fn ends(&self) {
        set(&self.ended);
    }

    fn began(&self) -> Option<Instant> {
        *self.began.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ended(&self) -> Option<Instant> {
        *self.ended.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn set(slot: &Mutex<Option<Instant>>) {
    slot.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_or_insert_with(Instant::now);
}

/// One request: when it was sent, how long its answer took, and what it was (`None`: no
/// answer at all, the connection refused or cut).
#[derive(Debug, Clone, Copy)]
struct Sample {
    sent: Instant,
    took: Duration,
    status: Option<StatusCode>,
}

/// Where a request falls, by when it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Before,
    During,
    After,
}

/// What the clients saw.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    samples: Vec<(Phase, Sample)>,
    /// The problem `code` of every answer that was one, in the order they came.
    pub(crate) problems: Vec<String>,
    /// Orders answered 201.
    pub(crate) acknowledged: Vec<Uuid>,
    /// Answers other than the expected success and a 503 problem, each with what is wrong.
    pub(crate) unexpected: Vec<String>,
    /// When the fault ended; `None` if the script never said.
    pub(crate) fault_ended: Option<Instant>,
}

impl Tally {
    fn count(&self, phase: Option<Phase>, what: impl Fn(&Sample) -> bool) -> usize {
        self.samples
            .iter()
            .filter(|(p, s)| phase.is_none_or(|phase| phase == *p) && what(s))
            .count()
    }

    pub(crate) fn sent(&self) -> usize {
        self.samples.len()
    }

    /// 2xx answers, in `phase` or in all.
    pub(crate) fn succeeded(&self, phase: Option<Phase>) -> usize {
        self.count(phase, |s| s.status.is_some_and(|s| s.is_success()))
    }

    /// 503 answers, in `phase` or in all.
    pub(crate) fn unavailable(&self, phase: Option<Phase>) -> usize {
        self.count(phase, |s| s.status == Some(StatusCode::SERVICE_UNAVAILABLE))
    }

    /// 5xx answers other than 503: the deployment failing rather than refusing.
    pub(crate) fn server_errors(&self) -> usize {
        self.count(None, |s| {
            s.status
                .is_some_and(|s| s.is_server_error() && s != StatusCode::SERVICE_UNAVAILABLE)
        })
    }

    /// Requests that got no answer: a process down, a connection cut.
    pub(crate) fn unanswered(&self) -> usize {
        self.count(None, |s| s.status.is_none())
    }

    /// How long each 503 answer took, in `phase`, shortest first.
    pub(crate) fn unavailable_times(&self, phase: Phase) -> Vec<Duration> {
        let mut times: Vec<Duration> = self
            .samples
            .iter()
            .filter(|(p, s)| *p == phase && s.status == Some(StatusCode::SERVICE_UNAVAILABLE))
            .map(|(_, s)| s.took)
            .collect();
        times.sort();
        times
    }

    /// From the end of the fault until the first 2xx answer to a request sent after it.
    pub(crate) fn answering_again_after(&self) -> Option<Duration> {
        let ended = self.fault_ended?;
        self.samples
            .iter()
            .filter(|(p, s)| *p == Phase::After && s.status.is_some_and(|s| s.is_success()))
            .map(|(_, s)| (s.sent + s.took).saturating_duration_since(ended))
            .min()
    }

    /// Requests sent in `phase` whose answer (or failure) took longer than `limit`.
    pub(crate) fn slower_than(&self, phase: Phase, limit: Duration) -> usize {
        self.count(Some(phase), |s| s.took > limit)
    }
}

impl Load {
    /// Runs the clients, placing orders for `user`, while `fault` runs: from its start until
    /// a short while after `fault` has said that the fault is over (`window.ends()`), or
    /// until a bound is hit. Returns what the clients saw and what `fault` returned.
    pub(crate) async fn run<R>(
        self,
        app: &Topology,
        user: Uuid,
        window: &Window,
        fault: impl std::future::Future<Output = R>,
    ) -> (Tally, R) {
        let started = Instant::now();
        let sent = AtomicUsize::new(0);
        let client = |n: usize| {
            let sent = &sent;
            async move {
                let mut samples = Vec::new();
                let mut acknowledged = Vec::new();
                let mut unexpected = Vec::new();
                let mut problems = Vec::new();
                let sku = format!("CLIENT-{n}");
                let more = || {
                    started.elapsed() < self.max_duration
                        && window.ended().is_none_or(|at| at.elapsed() < TAIL)
                        && sent.fetch_add(1, Ordering::SeqCst) < self.max_requests
                };
                while more() {
                    let request = app
                        .request(Method::POST, "/orders")
                        .json(&order_body(user, &[(&sku, 1, 500)]));
                    let (sample, reply) = timed(app, request).await;
                    samples.push(sample);
                    unexpected.extend(judge(reply.as_ref(), StatusCode::CREATED));
                    problems.extend(reply.as_ref().and_then(problem_code));
                    let placed = reply
                        .filter(|r| r.status == StatusCode::CREATED)
                        .map(|r| id(&r.body));
                    acknowledged.extend(placed);
                    if let Some(order) = placed.filter(|_| self.read_payments && more()) {
                        let path = format!("/payments?order_id={order}");
                        let (sample, reply) = timed(app, app.request(Method::GET, &path)).await;
                        samples.push(sample);
                        unexpected.extend(judge(reply.as_ref(), StatusCode::OK));
                        problems.extend(reply.as_ref().and_then(problem_code));
                    }
                    let pause = if placed.is_some() { self.pace } else { BACKOFF };
                    tokio::time::sleep(pause).await;
                }
                (samples, acknowledged, unexpected, problems)
            }
        };
        let (outcomes, result) = futures::join!(join_all((0..self.clients).map(client)), fault);

        let (began, ended) = (window.began(), window.ended());
        let phase = |at: Instant| match (began, ended) {
            (Some(began), _) if at < began => Phase::Before,
            (_, Some(ended)) if at >= ended => Phase::After,
            (Some(_), _) => Phase::During,
            (None, _) => Phase::Before,
        };
        let mut tally = Tally {
            fault_ended: ended,
            ..Tally::default()
        };
        for (samples, acknowledged, unexpected, problems) in outcomes {
            tally
                .samples
                .extend(samples.into_iter().map(|s| (phase(s.sent), s)));
            tally.acknowledged.extend(acknowledged);
            tally.unexpected.extend(unexpected);
            tally.problems.extend(problems);
        }
        (tally, result)
    }
}

/// What is wrong with `reply`, if anything: it should be `success`, or a 503 problem (the
/// deployment refusing while a part of it is away). No answer at all is counted apart.
fn judge(reply: Option<&Reply>, success: StatusCode) -> Option<String> {
    let reply = reply?;
    match reply.status {
        status if status == success => None,
        StatusCode::SERVICE_UNAVAILABLE if reply.body["code"] == STORAGE_UNAVAILABLE => {
            let retry_after = reply
                .retry_after
                .as_deref()
                .and_then(|s| s.parse::<u64>().ok());
            match reply.problem_mismatch(StatusCode::SERVICE_UNAVAILABLE, None) {
                None if retry_after.is_none() => Some(format!("no Retry-After: {reply}")),
                mismatch => mismatch,
            }
        }
        StatusCode::SERVICE_UNAVAILABLE => {
            reply.problem_mismatch(StatusCode::SERVICE_UNAVAILABLE, None)
        }
        _ => Some(reply.to_string()),
    }
}

/// The `code` of a problem answer.
fn problem_code(reply: &Reply) -> Option<String> {
    reply.body["code"].as_str().map(str::to_owned)
}

/// Sends `request`, timing it; the reply, or `None` if there was no answer.
async fn timed(app: &Topology, request: reqwest::RequestBuilder) -> (Sample, Option<Reply>) {
    let sent = Instant::now();
    let reply = app.try_send(request).await.ok();
    let sample = Sample {
        sent,
        took: sent.elapsed(),
        status: reply.as_ref().map(|r| r.status),
    };
    (sample, reply)
}

/// The audit after a fault, with its row printed before its verdict: requests sent, 2xx
/// answers, orders acknowledged, lost and charged twice, 5xx other than 503, 503 and
/// requests that got no answer; then how long after the fault ended requests succeeded
/// again, and how long after the load stopped every order had settled.
pub(crate) async fn audit(app: &Topology, fault: &str, tally: &Tally) -> Audited {
    let audited = audit::examine(app, &tally.acknowledged).await;
    let seconds =
        |d: Option<Duration>| d.map_or("-".to_owned(), |d| format!("{:.1} s", d.as_secs_f64()));
    println!(
        "row | {fault} | sent {} | 2xx {} | acknowledged {} | lost {} | charged twice {} | \
         5xx other than 503 {} | 503 {} | no answer {} | 2xx again {} after the fault | \
         all settled {} after the load",
        tally.sent(),
        tally.succeeded(None),
        tally.acknowledged.len(),
        audited.lost,
        audited.charged_twice,
        tally.server_errors(),
        tally.unavailable(None),
        tally.unanswered(),
        seconds(tally.answering_again_after()),
        seconds(Some(audited.settled_in)),
    );
    audited.assert_exactly_once();
    assert!(
        tally.unexpected.is_empty(),
        "unexpected answers: {:#?}",
        tally.unexpected
    );
    audited
}
