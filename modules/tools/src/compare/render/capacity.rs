//! The cores a rate needs (`--target-rate N`), topologies side by side as in HotOS'23's
//! Table 2: CPU per request and memory measured at a load each topology sustained, scaled
//! to N requests per second, beside the latency it showed there.

use super::format::{mib, number, short};
use super::tables::Table;
use crate::compare::report::{Latency, Report, TopologyReport};

/// What one topology was measured at, to scale from.
struct Basis {
    cpu_ms_per_request: f64,
    /// Resident memory of all its processes, bytes.
    rss_bytes: f64,
    /// The rate it sustained there, requests per second.
    sustained_rps: f64,
    latency: Latency,
    /// ` (knee)` when measured at the sweep's knee.
    at: &'static str,
}

/// The sweep's knee when there is one, where the objective still held; else the measured
/// rounds (closed loop: as fast as it went; open loop: the offered rate).
fn basis(report: &Report, i: usize, t: &TopologyReport) -> Option<Basis> {
    let knee = report.sweep.as_ref().and_then(|sweep| {
        let curve = sweep.curves.get(i)?;
        let rate = curve.knee_rps?;
        curve.points.iter().find(|p| p.offered_rps == rate)
    });
    if let Some(point) = knee {
        return Some(Basis {
            cpu_ms_per_request: point.cpu_ms_per_request?,
            rss_bytes: point.rss_bytes? as f64,
            sustained_rps: point.achieved_rps,
            latency: point.latency,
            at: " (knee)",
        });
    }
    Some(Basis {
        cpu_ms_per_request: t.cpu_ms_per_request()?,
        rss_bytes: t.peak_rss_bytes_total() as f64,
        sustained_rps: t.load.throughput_rps,
        latency: t.load.latency,
        at: "",
    })
    .filter(|b| b.sustained_rps > 0.0 && b.sustained_rps.is_finite())
}

/// A row per topology; `None` without `--target-rate` or without processes to measure.
pub(super) fn table(report: &Report) -> Option<Table> {
    let rate = report.settings.target_rate?;
    let rows: Vec<Vec<String>> = report
        .topologies
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let b = basis(report, i, t)?;
            let copies = rate / b.sustained_rps;
            Some(vec![
                t.label(),
                number(rate * b.cpu_ms_per_request / 1000.0),
                number(mib((b.rss_bytes * copies) as u64) / 1024.0),
                number(b.latency.p50_ms),
                number(b.latency.p99_ms),
                number(b.cpu_ms_per_request),
                format!("{}{}", number(b.sustained_rps), b.at),
            ])
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let head = [
        "topology".to_owned(),
        format!("cores at {} req/s", short(rate)),
        "memory GiB".to_owned(),
        "p50 ms".to_owned(),
        "p99 ms".to_owned(),
        "CPU ms / request".to_owned(),
        "at req/s".to_owned(),
    ];
    Some(Table {
        head: head.to_vec(),
        rows,
        word_columns: 1,
    })
}

/// What the extrapolation takes for granted.
pub(super) fn assumptions(report: &Report) -> Option<String> {
    let rate = report.settings.target_rate?;
    let cpu = report
        .host
        .cpu_model
        .as_deref()
        .map(|model| format!(" ({model})"))
        .unwrap_or_default();
    Some(format!(
        "Scaled from the sweep's knee, marked (knee), where there is one, else from the \
         measured rounds. Cores at {} req/s are that rate times the CPU time each request \
         took, so CPU is \
         taken to grow linearly with the rate, on cores like this machine's{cpu}. Memory is \
         that of as many copies of the whole topology as the rate needs, each serving what \
         one copy sustained here. Latency is what one copy showed at that load on this \
         machine, with the load generator beside it; it adds no network between machines, no \
         load balancer, and no database shared by the copies.",
        short(rate)
    ))
}
