//! Reading the processes' own `/metrics`: how many calls and bytes crossed between them.

use runtime::metrics::{PEER_RECEIVED_BYTES, PEER_REQUESTS, PEER_SENT_BYTES};

/// Totals of one process's calls to other processes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PeerTotals {
    pub calls: f64,
    pub bytes: f64,
}

impl std::ops::Sub for PeerTotals {
    type Output = Self;

    fn sub(self, before: Self) -> Self {
        Self {
            calls: self.calls - before.calls,
            bytes: self.bytes - before.bytes,
        }
    }
}

impl std::ops::Add for PeerTotals {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            calls: self.calls + other.calls,
            bytes: self.bytes + other.bytes,
        }
    }
}

/// Sums the peer counters of a Prometheus text exposition, over every label set.
pub fn peer_totals(exposition: &str) -> PeerTotals {
    let mut totals = PeerTotals::default();
    for line in exposition.lines().filter(|line| !line.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let name = series.split('{').next().unwrap_or(series);
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        // A call its breaker refused never left the process.
        if name == PEER_REQUESTS && !series.contains("outcome=\"refused\"") {
            totals.calls += value;
        } else if name == PEER_SENT_BYTES || name == PEER_RECEIVED_BYTES {
            totals.bytes += value;
        }
    }
    totals
}

/// The peer totals of the process at `base`.
pub async fn fetch(http: &reqwest::Client, base: &str) -> anyhow::Result<PeerTotals> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    Ok(peer_totals(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_calls_and_bytes_over_labels() {
        let text = "# TYPE cleave_peer_requests_total counter\n\
            cleave_peer_requests_total{peer=\"users\",outcome=\"ok\"} 10\n\
            cleave_peer_requests_total{peer=\"payments\",outcome=\"unreachable\"} 2\n\
            cleave_peer_sent_bytes_total{peer=\"users\"} 400\n\
            cleave_peer_received_bytes_total{peer=\"users\"} 1300\n\
            cleave_http_requests_total{method=\"GET\",route=\"/users\",status=\"200\"} 99\n";
        assert_eq!(
            peer_totals(text),
            PeerTotals {
                calls: 12.0,
                bytes: 1700.0
            }
        );
    }
}
