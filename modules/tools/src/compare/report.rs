//! What `cleave compare` measured: the data behind the terminal table, `report.json`,
//! `report.md` and `report.html`. Figures of one run, topologies side by side.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub started_at: DateTime<Utc>,
    /// Wall time of the whole run, seconds.
    pub elapsed_secs: f64,
    pub host: Host,
    pub settings: Settings,
    /// In the order given on the command line; ratios compare each to the first.
    pub topologies: Vec<TopologyReport>,
}

impl Report {
    /// The topologies that went through the failure drill, with their drill.
    pub fn drilled(&self) -> Vec<(&TopologyReport, &DrillReport)> {
        self.topologies
            .iter()
            .filter_map(|t| t.drill.as_ref().map(|d| (t, d)))
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Host {
    pub cores: usize,
    pub os: String,
    pub cleave_version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// `closed` (N clients, as fast as possible) or `open` (constant arrival rate).
    pub mode: String,
    /// Concurrent clients (closed loop) or the in-flight cap (open loop).
    pub concurrency: usize,
    /// Requests per second offered (open loop only).
    pub rate: Option<f64>,
    /// Load time per topology, seconds, spread over `rounds` interleaved slices.
    pub duration_secs: f64,
    pub rounds: usize,
    /// How long payments is down in the failure drill, seconds; 0 when skipped.
    pub drill_secs: f64,
    /// Operation name → weight in the request mix.
    pub mix: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopologyReport {
    /// As written by the user: `monolith`, `microservices`, `users+orders,payments`, a URL.
    pub name: String,
    /// The roles of each process (`gateway,users | orders | payments`); empty for targets.
    pub processes: Vec<ProcessReport>,
    pub load: LoadReport,
    /// Placed → paid latency of the event path, from the orders' own timestamps.
    pub settle: SettleReport,
    /// Calls between processes per public request, from the processes' `/metrics`.
    pub internal: Option<InternalReport>,
    pub drill: Option<DrillReport>,
}

impl TopologyReport {
    pub fn cpu_secs_total(&self) -> f64 {
        self.processes.iter().map(|p| p.cpu_secs).sum()
    }

    pub fn peak_rss_bytes_total(&self) -> u64 {
        self.processes.iter().map(|p| p.peak_rss_bytes).sum()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessReport {
    /// The process's `--role` value.
    pub roles: String,
    /// User + system CPU time over the measured load, seconds.
    pub cpu_secs: f64,
    /// Peak resident set size over the run (VmHWM), bytes.
    pub peak_rss_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadReport {
    pub requests: u64,
    /// Measured load time, seconds.
    pub secs: f64,
    pub throughput_rps: f64,
    /// Answers that were not the expected success, by status code (`"503"`) or
    /// `"transport"` for requests that got no answer.
    pub errors: BTreeMap<String, u64>,
    pub latency: Latency,
    pub operations: Vec<OperationReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OperationReport {
    pub name: String,
    pub requests: u64,
    pub errors: u64,
    pub latency: Latency,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Latency {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SettleReport {
    /// Orders placed during the measured load and examined afterwards.
    pub orders: u64,
    /// Of those, how many had settled (paid or payment_failed) when examined.
    pub settled: u64,
    pub latency: Latency,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InternalReport {
    /// HTTP calls from one process to another (module calls and event deliveries).
    pub calls: u64,
    /// Request and response body bytes of those calls.
    pub bytes: u64,
    pub calls_per_request: f64,
    pub bytes_per_request: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrillReport {
    /// Seconds payments was down.
    pub outage_secs: f64,
    /// Public requests sent while payments was down, and how many succeeded.
    pub requests_during_outage: u64,
    pub ok_during_outage: u64,
    /// `ok_during_outage / requests_during_outage`.
    pub availability: f64,
    /// From payments being back until every order placed so far had settled; `None` if
    /// they had not within the drill's bound.
    pub recovery_secs: Option<f64>,
    /// Orders examined after recovery.
    pub orders: u64,
    /// Orders with exactly one payment; the rest are split below.
    pub settled_once: u64,
    pub unsettled: u64,
    pub charged_twice: u64,
    /// Successes and failures per slice of the drill, for the outage timeline chart.
    pub timeline: Vec<TimelinePoint>,
    /// Seconds from the drill's start at which payments was killed and started again.
    pub killed_at_secs: f64,
    pub restarted_at_secs: f64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct TimelinePoint {
    /// Start of the slice, seconds from the drill's start.
    pub at_secs: f64,
    pub ok: u64,
    pub failed: u64,
}
