//! One look at the whole deployment, for the page: each process's readiness, the series
//! it shows and its recent spans, asked of every process at once.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use runtime::spans::{RecentSpan, PATH as SPANS};
use serde::Serialize;

use super::deployment::{unreachable, Deployment, ModuleHealth, Process};
use super::prometheus::{self, Sample};
use super::traffic::{self, Edge, Request};

/// What `GET /dashboard/state` answers.
#[derive(Serialize)]
pub(super) struct State {
    /// When the look was taken, in microseconds since the Unix epoch.
    at_us: u64,
    /// The process that serves the public API: this one.
    gateway: String,
    processes: Vec<ProcessState>,
    modules: Vec<ModuleHealth>,
    edges: Vec<Edge>,
    requests: Vec<Request>,
}

#[derive(Serialize)]
struct ProcessState {
    name: String,
    url: Option<String>,
    modules: Vec<&'static str>,
    /// Whether it answered.
    up: bool,
    latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    samples: Vec<Sample>,
}

pub(super) async fn state(deployment: &Deployment) -> State {
    let processes = deployment.processes();
    let looks = processes.iter().map(|process| look(deployment, process));
    let (looks, health) = futures::join!(futures::future::join_all(looks), deployment.health());
    let at_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros()
        .try_into()
        .unwrap_or(u64::MAX);
    let gateway = processes[0].name.clone();
    let mut spans = Vec::new();
    let mut states = Vec::with_capacity(processes.len());
    for (process, (state, kept)) in processes.into_iter().zip(looks) {
        spans.extend(kept.into_iter().map(|span| (process.name.clone(), span)));
        states.push(state);
    }
    let (edges, requests) = traffic::read(spans, &gateway, at_us);
    State {
        at_us,
        gateway,
        processes: states,
        modules: health.modules,
        edges,
        requests,
    }
}

/// A process's state and the spans it kept.
async fn look(deployment: &Deployment, process: &Process) -> (ProcessState, Vec<RecentSpan>) {
    let started = Instant::now();
    let mut state = ProcessState {
        name: process.name.clone(),
        url: process.url.clone(),
        modules: process.modules.clone(),
        up: true,
        latency_ms: 0.0,
        reason: None,
        samples: Vec::new(),
    };
    let Some(base) = &process.url else {
        state.samples = prometheus::shown(&runtime::metrics::page());
        return (state, runtime::spans::snapshot());
    };
    let metrics = async {
        let response = deployment
            .http()
            .get(format!("{base}/metrics"))
            .send()
            .await
            .map_err(|err| unreachable(base, &err))?;
        let text = response
            .text()
            .await
            .map_err(|err| unreachable(base, &err))?;
        Ok::<_, String>(text)
    };
    let spans = async {
        let response = deployment.internal_get(base, SPANS).send().await.ok()?;
        response.json::<Vec<RecentSpan>>().await.ok()
    };
    let (metrics, spans) = futures::join!(metrics, spans);
    state.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match metrics {
        Ok(text) => state.samples = prometheus::shown(&text),
        Err(reason) => {
            state.up = false;
            state.reason = Some(reason);
        }
    }
    (state, spans.unwrap_or_default())
}
