//! What the benchmarks share: reading this process's CPU time and context switches, and
//! summarizing per-sample ratios.

use std::time::Duration;

use nix::sys::resource::{getrusage, UsageWho};
use nix::sys::time::TimeVal;

/// What all the threads of this process (client, servers, SQLite workers) used so far.
/// Unlike wall time, CPU time leaves out waiting for a parked thread (or a halted vCPU) to
/// wake; context switches count the thread hand-offs a call makes.
#[derive(Clone, Copy)]
pub(crate) struct Usage {
    pub(crate) cpu: Duration,
    pub(crate) switches: u64,
}

impl Usage {
    pub(crate) fn now() -> Self {
        let usage = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
        let cpu = |t: TimeVal| Duration::new(t.tv_sec() as u64, t.tv_usec() as u32 * 1000);
        Self {
            cpu: cpu(usage.user_time()) + cpu(usage.system_time()),
            switches: (usage.voluntary_context_switches() + usage.involuntary_context_switches())
                as u64,
        }
    }

    pub(crate) fn since(self, earlier: Self) -> Self {
        Self {
            cpu: self.cpu - earlier.cpu,
            switches: self.switches - earlier.switches,
        }
    }
}

/// The median and quartiles of `values`, formatted `median [q1 q3]` with `decimals`.
pub(crate) fn quartiles(values: impl Iterator<Item = f64>, decimals: usize) -> String {
    let mut values: Vec<f64> = values.collect();
    if values.is_empty() {
        return "-".into();
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    format!(
        "{:.decimals$} [{:.decimals$} {:.decimals$}]",
        at(0.5),
        at(0.25),
        at(0.75)
    )
}
