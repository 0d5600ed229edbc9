//! Orders placed by several clients while a fault runs its course, and every answer they
//! got: what the fault tests hold against the audit afterwards.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use uuid::Uuid;

use crate::audit::Audited;
use crate::support::{id, order_body, Topology};

/// However long a fault takes, the clients stop after this long or this many requests.
const MAX_DURATION: Duration = Duration::from_secs(150);
const MAX_REQUESTS: usize = 40_000;
/// Between two requests of a client: the clients leave room for the processes on a
/// machine shared with other tests.
const PACE: Duration = Duration::from_millis(5);
/// After a refusal, as a client told to come back later would.
const BACKOFF: Duration = Duration::from_millis(50);

/// One answer, or the lack of one.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) at: Instant,
    /// `None`: no answer (refused connection, cut, timed out).
    pub(crate) status: Option<StatusCode>,
    /// The problem's `code`, for an error.
    pub(crate) code: Option<String>,
    /// The `Retry-After` header, if any.
    pub(crate) retry_after: Option<String>,
    /// The order created, for a 201.
    pub(crate) order: Option<Uuid>,
    pub(crate) text: String,
}

/// Every answer of a load, in the order they came.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) answers: Vec<Answer>,
}

impl Tally {
    /// The orders answered 201.
    pub(crate) fn acknowledged(&self) -> Vec<Uuid> {
        self.answers.iter().filter_map(|a| a.order).collect()
    }

    /// Answers that no fault excuses: a 5xx other than 503, or a 4xx for a valid order.
    pub(crate) fn unexpected(&self) -> Vec<&str> {
        self.answers
            .iter()
            .filter(|a| {
                a.status.is_some_and(|s| {
                    s != StatusCode::CREATED && s != StatusCode::SERVICE_UNAVAILABLE
                })
            })
            .map(|a| a.text.as_str())
            .collect()
    }

    /// The first 201 at or after `since`: when the deployment was back.
    pub(crate) fn first_created_after(&self, since: Instant) -> Option<Instant> {
        self.answers
            .iter()
            .find(|a| a.at >= since && a.order.is_some())
            .map(|a| a.at)
    }

    /// Asserts that every answer was a 201, a 503 problem telling when to come back, or
    /// no answer at all.
    pub(crate) fn assert_only_created_or_unavailable(&self) {
        let unexpected = self.unexpected();
        assert!(
            unexpected.is_empty(),
            "{} answers were neither 201 nor 503, e.g. {}",
            unexpected.len(),
            unexpected[0]
        );
        let no_retry_after = self
            .answers
            .iter()
            .find(|a| a.status == Some(StatusCode::SERVICE_UNAVAILABLE) && a.retry_after.is_none());
        assert!(
            no_retry_after.is_none(),
            "a 503 without Retry-After: {no_retry_after:?}"
        );
    }

    /// How many answers were the problem `code`.
    pub(crate) fn with_code(&self, code: &str) -> usize {
        self.answers
            .iter()
            .filter(|a| a.code.as_deref() == Some(code))
            .count()
    }

    /// The row a fault test prints: requests sent, 2xx answers, orders acknowledged,
    /// lost, charged twice (both nil, or the audit would have failed), 5xx other than
    /// 503, and how long the deployment took to take orders again once the fault ended.
    pub(crate) fn row(&self, fault: &str, audited: &Audited, recovered_in: Duration) -> String {
        let server_errors = self
            .answers
            .iter()
            .filter(|a| {
                a.status
                    .is_some_and(|s| s.is_server_error() && s != StatusCode::SERVICE_UNAVAILABLE)
            })
            .count();
        let success = self
            .answers
            .iter()
            .filter(|a| a.status.is_some_and(|s| s.is_success()))
            .count();
        format!(
            "| {fault} | {} | {success} | {} | 0 | 0 | {server_errors} | {:.1} s | ({audited})",
            self.answers.len(),
            self.acknowledged().len(),
            recovered_in.as_secs_f64(),
        )
    }
}

/// Places orders for `user` from `clients` clients until `fault` has run its course (or
/// the bounds above are reached); returns every answer and what `fault` returned.
pub(crate) async fn orders_during<T>(
    app: &Topology,
    user: Uuid,
    clients: usize,
    fault: impl Future<Output = T>,
) -> (Tally, T) {
    let done = AtomicBool::new(false);
    let sent = AtomicUsize::new(0);
    let answers = Mutex::new(Vec::new());
    let started = Instant::now();
    let client = |n: usize| {
        let (done, sent, answers) = (&done, &sent, &answers);
        async move {
            let sku = format!("CLIENT-{n}");
            while !done.load(Ordering::SeqCst)
                && started.elapsed() < MAX_DURATION
                && sent.fetch_add(1, Ordering::SeqCst) < MAX_REQUESTS
            {
                let request = app
                    .request(Method::POST, "/orders")
                    .json(&order_body(user, &[(&sku, 1, 500)]));
                let answer = match app.try_send(request).await {
                    Ok(reply) => Answer {
                        at: Instant::now(),
                        status: Some(reply.status),
                        code: reply.body["code"].as_str().map(str::to_owned),
                        retry_after: reply.retry_after.clone(),
                        order: (reply.status == StatusCode::CREATED).then(|| id(&reply.body)),
                        text: reply.to_string(),
                    },
                    Err(err) => Answer {
                        at: Instant::now(),
                        status: None,
                        code: None,
                        retry_after: None,
                        order: None,
                        text: err.to_string(),
                    },
                };
                let pause = if answer.order.is_some() {
                    PACE
                } else {
                    BACKOFF
                };
                answers.lock().unwrap().push(answer);
                tokio::time::sleep(pause).await;
            }
        }
    };
    let fault = async {
        let outcome = fault.await;
        done.store(true, Ordering::SeqCst);
        outcome
    };
    let ((), outcome) = futures::join!(
        async {
            futures::future::join_all((0..clients).map(client)).await;
        },
        fault
    );
    let mut answers = answers.into_inner().unwrap();
    answers.sort_by_key(|a| a.at);
    (Tally { answers }, outcome)
}
