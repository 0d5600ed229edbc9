//! What `cleave compare` measured: the data behind the terminal table, `report.json`,
//! `report.md` and `report.html`. Figures of one run, topologies side by side.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The shape of `report.json`, described by `docs/compare-report.schema.json`. Raised when
/// a field is removed or changes meaning; a new field keeps it.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`] of the program that wrote the report.
    pub schema_version: u32,
    pub started_at: DateTime<Utc>,
    /// Wall time of the whole run, seconds.
    pub elapsed_secs: f64,
    pub host: Host,
    /// How busy the machine was, which says how far the figures can be trusted.
    pub machine: MachineLoad,
    pub settings: Settings,
    /// What the figures say, in a few sentences computed from them.
    pub verdict: Vec<String>,
    /// Reasons to distrust a figure: noise that spans no difference, a busy machine.
    pub warnings: Vec<String>,
    /// In the order given on the command line; ratios compare each to the first.
    pub topologies: Vec<TopologyReport>,
    /// Where each topology breaks, with `--sweep`.
    pub sweep: Option<SweepReport>,
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
    /// The processor, from `/proc/cpuinfo`.
    pub cpu_model: Option<String>,
    pub os: String,
    pub cleave_version: String,
}

/// The machine around the run: what else was using it.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct MachineLoad {
    /// The 1-, 5- and 15-minute load averages just before the run (`/proc/loadavg`).
    pub load_before: [f64; 3],
    /// The highest 1-minute load average read at the end of each measured round.
    pub load_during: f64,
    /// CPU seconds that the rest of the machine used during the measured rounds: all busy
    /// time of `/proc/stat` less the topologies' processes and this one (the load
    /// generator). `None` where `/proc/stat` cannot be read.
    pub other_cpu_secs: Option<f64>,
    /// `other_cpu_secs` as a share of every core over the rounds' wall time.
    pub other_cpu_share: Option<f64>,
    /// CPU seconds of the load generator itself during the rounds.
    pub generator_cpu_secs: Option<f64>,
    /// Whether the machine was busy enough that the figures may be off: a load average
    /// before the run above half the cores, or others using more than a tenth of them.
    pub busy: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// `closed` (N clients, as fast as possible) or `open` (constant arrival rate).
    pub mode: String,
    /// Concurrent clients (closed loop) or the in-flight cap (open loop).
    pub concurrency: usize,
    /// Requests per second offered (open loop only).
    pub rate: Option<f64>,
    /// The rate `--target-rate` asked the capacity table for.
    pub target_rate: Option<f64>,
    /// Load time per topology, seconds, spread over `rounds` interleaved slices.
    pub duration_secs: f64,
    pub rounds: usize,
    /// The failure drill: `process` (payments' process killed), `module` (payments alone
    /// failing through its fault switch) or `none`.
    pub drill: String,
    /// How long payments is down in the failure drill, seconds; 0 when skipped.
    pub drill_secs: f64,
    /// Operation name → weight in the request mix.
    pub mix: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopologyReport {
    /// As written by the user: `monolith`, `microservices`, `users+orders,payments`, a URL.
    pub name: String,
    /// Environment given to this topology's processes only (`--with KEY=VALUE`), which
    /// names a variant such as another event bus or database.
    pub variant: BTreeMap<String, String>,
    /// The roles of each process (`gateway,users | orders | payments`); empty for targets.
    pub processes: Vec<ProcessReport>,
    pub load: LoadReport,
    /// The measured load round by round, to show how much the figures move between them.
    pub rounds: Vec<RoundReport>,
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

    /// CPU milliseconds per successful request; `None` without processes or answers.
    pub fn cpu_ms_per_request(&self) -> Option<f64> {
        per_request(
            self.cpu_secs_total() * 1000.0,
            self.load.ok,
            &self.processes,
        )
    }

    /// Peak resident memory per process, bytes.
    pub fn rss_bytes_per_process(&self) -> Option<f64> {
        (!self.processes.is_empty())
            .then(|| self.peak_rss_bytes_total() as f64 / self.processes.len() as f64)
    }

    /// Peak resident memory per 1,000 requests per second of throughput, bytes.
    pub fn rss_bytes_per_krps(&self) -> Option<f64> {
        let krps = self.load.throughput_rps / 1000.0;
        (!self.processes.is_empty() && krps > 0.0 && krps.is_finite())
            .then(|| self.peak_rss_bytes_total() as f64 / krps)
    }

    /// The name shown in tables: the topology, and its variant if it has one.
    pub fn label(&self) -> String {
        if self.variant.is_empty() {
            return self.name.clone();
        }
        let settings: Vec<String> = self
            .variant
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        format!("{} ({})", self.name, settings.join(" "))
    }
}

fn per_request(total: f64, ok: u64, processes: &[ProcessReport]) -> Option<f64> {
    (!processes.is_empty() && ok > 0).then(|| total / ok as f64)
}

/// One round of the measured load on one topology.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct RoundReport {
    /// Seconds of load in this round.
    pub secs: f64,
    pub requests: u64,
    pub ok: u64,
    pub throughput_rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// CPU seconds of the topology's processes in this round; `None` for a target.
    pub cpu_secs: Option<f64>,
    /// CPU milliseconds per successful request in this round.
    pub cpu_ms_per_request: Option<f64>,
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
    /// Requests answered with the expected success.
    pub ok: u64,
    /// Measured load time, seconds.
    pub secs: f64,
    pub throughput_rps: f64,
    /// Answers that were not the expected success, by status code (`"503"`) or
    /// `"transport"` for requests that got no answer.
    pub errors: BTreeMap<String, u64>,
    pub latency: Latency,
    /// The latency distribution for the HDR chart: percentile → milliseconds.
    pub distribution: Vec<Quantile>,
    pub operations: Vec<OperationReport>,
}

/// One point of a latency distribution.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Quantile {
    /// 0 to 100.
    pub percentile: f64,
    pub ms: f64,
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
    /// `process`: the process holding payments was killed; `module`: payments alone failed
    /// through its fault switch while every process ran on.
    pub kind: String,
    /// The roles of the process that was killed (`process` drill), so the report can say
    /// when that was every module.
    pub killed_roles: Option<String>,
    /// The killed process held every module (a monolith): the whole application was down.
    pub killed_every_module: bool,
    /// Seconds payments was down.
    pub outage_secs: f64,
    /// Public requests sent while payments was down, and how many succeeded.
    pub requests_during_outage: u64,
    pub ok_during_outage: u64,
    /// `ok_during_outage / requests_during_outage`.
    pub availability: f64,
    /// The same per operation: which requests a payments fault affects.
    pub operations: Vec<OperationAvailability>,
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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OperationAvailability {
    pub name: String,
    pub requests: u64,
    pub ok: u64,
}

/// The offered rate stepped up, open loop, until each topology missed the objective.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepReport {
    /// The objective: p99 at most this, fewer than 1 % failures, 90 % of the rate served.
    pub slo_p99_ms: f64,
    /// Load per step and topology, seconds.
    pub step_secs: f64,
    /// One curve per topology, in the order of `topologies`.
    pub curves: Vec<SweepCurve>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepCurve {
    /// As [`TopologyReport::label`].
    pub name: String,
    pub points: Vec<SweepPoint>,
    /// The highest offered rate that met the objective before the first that did not;
    /// `None` when even the first step missed it.
    pub knee_rps: Option<f64>,
    /// The first offered rate that missed it; `None` when none did up to the last step.
    pub broke_at_rps: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepPoint {
    pub offered_rps: f64,
    /// Successful answers per second.
    pub achieved_rps: f64,
    pub requests: u64,
    pub errors: u64,
    /// From each request's intended send time.
    pub latency: Latency,
    /// CPU seconds of the topology's processes per successful request, milliseconds.
    pub cpu_ms_per_request: Option<f64>,
    /// Resident memory of the topology's processes at the end of the step, bytes.
    pub rss_bytes: Option<u64>,
    pub met_slo: bool,
}
