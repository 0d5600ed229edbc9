//! The traffic of the deployment, read from the spans every process kept: the calls and
//! events between processes (a span whose parent is in another process is a hop from
//! that process to its own), with their rate and latency, and the requests the gateway
//! served last, each with its trace across processes.

use std::collections::{BTreeMap, HashMap};

use runtime::spans::RecentSpan;
use serde::Serialize;

/// Rates are over the spans that started this long ago at most.
const WINDOW_US: u64 = 10_000_000;
/// How many of the last requests the page lists.
const RECENT_REQUESTS: usize = 20;
/// Requests the page itself and the tools of operators make: not the traffic it shows.
const OWN_PATHS: [&str; 8] = [
    "/dashboard",
    "/health",
    "/healthz",
    "/readyz",
    "/metrics",
    "/internal/spans",
    "/openapi.json",
    "/docs",
];

/// The edge from where a request comes into the gateway.
pub(super) const CLIENT: &str = "client";

/// Calls (or events) from one process to another over the window.
#[derive(Debug, Serialize)]
pub(super) struct Edge {
    pub(super) from: String,
    pub(super) to: String,
    /// `call` or `event`.
    pub(super) kind: &'static str,
    /// What travels: routes, or topics.
    pub(super) what: Vec<String>,
    pub(super) per_second: f64,
    pub(super) p50_ms: f64,
    pub(super) p99_ms: f64,
}

/// One span of a request's trace, placed in its process.
#[derive(Debug, Serialize)]
pub(super) struct TraceSpan {
    pub(super) process: String,
    #[serde(flatten)]
    pub(super) span: RecentSpan,
}

/// A request the gateway served, with every span of its trace from every process.
#[derive(Debug, Serialize)]
pub(super) struct Request {
    pub(super) trace_id: String,
    pub(super) method: String,
    pub(super) path: String,
    pub(super) status: String,
    pub(super) start_us: u64,
    pub(super) duration_us: u64,
    pub(super) spans: Vec<TraceSpan>,
}

/// From which process, to which, and whether a call or an event.
type Hop = (String, String, &'static str);

fn own(span: &RecentSpan) -> bool {
    span.fields.get("path").is_some_and(|path| {
        OWN_PATHS
            .iter()
            .any(|own| path == own || path.starts_with(&format!("{own}/")))
    })
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[at] as f64 / 1000.0
}

/// The edges and recent requests in `spans`, each span with the process that kept it;
/// `gateway` names the process that serves the public API.
pub(super) fn read(
    spans: Vec<(String, RecentSpan)>,
    gateway: &str,
    now_us: u64,
) -> (Vec<Edge>, Vec<Request>) {
    let spans: Vec<(String, RecentSpan)> =
        spans.into_iter().filter(|(_, span)| !own(span)).collect();
    let process_of: HashMap<&str, &str> = spans
        .iter()
        .map(|(process, span)| (span.span_id.as_str(), process.as_str()))
        .collect();

    let mut edges: BTreeMap<Hop, (Vec<u64>, Vec<String>)> = BTreeMap::new();
    let since = now_us.saturating_sub(WINDOW_US);
    for (process, span) in spans.iter().filter(|(_, span)| span.start_us >= since) {
        let (kind, what) = match span.name.as_str() {
            "request" => (
                "call",
                format!(
                    "{} {}",
                    span.fields.get("method").map_or("", String::as_str),
                    span.fields.get("path").map_or("", String::as_str)
                ),
            ),
            "event" => (
                "event",
                span.fields.get("topic").cloned().unwrap_or_default(),
            ),
            _ => continue,
        };
        let from = match span.parent_id.as_deref().and_then(|id| process_of.get(id)) {
            Some(parent) if *parent != process => (*parent).to_owned(),
            Some(_) => continue,
            None if process == gateway && kind == "call" => CLIENT.to_owned(),
            None => continue,
        };
        let entry = edges
            .entry((from, process.clone(), kind))
            .or_insert_with(|| (Vec::new(), Vec::new()));
        entry.0.push(span.duration_us);
        if !entry.1.contains(&what) && entry.1.len() < 6 {
            entry.1.push(what);
        }
    }
    let edges = edges
        .into_iter()
        .map(|((from, to, kind), (mut durations, what))| {
            durations.sort_unstable();
            Edge {
                from,
                to,
                kind,
                what,
                per_second: durations.len() as f64 / (WINDOW_US as f64 / 1e6),
                p50_ms: percentile(&durations, 0.5),
                p99_ms: percentile(&durations, 0.99),
            }
        })
        .collect();

    let mut roots: Vec<&RecentSpan> = spans
        .iter()
        .filter(|(process, span)| {
            process == gateway
                && span.name == "request"
                && span
                    .parent_id
                    .as_deref()
                    .is_none_or(|id| !process_of.contains_key(id))
        })
        .map(|(_, span)| span)
        .collect();
    roots.sort_by_key(|span| std::cmp::Reverse(span.start_us));
    roots.truncate(RECENT_REQUESTS);
    let mut by_trace: HashMap<&str, Vec<TraceSpan>> = HashMap::new();
    for (process, span) in &spans {
        if roots.iter().any(|root| root.trace_id == span.trace_id) {
            by_trace
                .entry(span.trace_id.as_str())
                .or_default()
                .push(TraceSpan {
                    process: process.clone(),
                    span: span.clone(),
                });
        }
    }
    let field = |span: &RecentSpan, name: &str| span.fields.get(name).cloned().unwrap_or_default();
    let requests = roots
        .iter()
        .map(|root| Request {
            trace_id: root.trace_id.clone(),
            method: field(root, "method"),
            path: field(root, "path"),
            status: field(root, "status"),
            start_us: root.start_us,
            duration_us: root.duration_us,
            spans: by_trace.remove(root.trace_id.as_str()).unwrap_or_default(),
        })
        .collect();
    (edges, requests)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, name: &str, path: &str, start_us: u64) -> RecentSpan {
        RecentSpan {
            trace_id: "t1".to_owned(),
            span_id: id.to_owned(),
            parent_id: parent.map(str::to_owned),
            name: name.to_owned(),
            start_us,
            duration_us: 2_000,
            fields: BTreeMap::from([
                ("method".to_owned(), "POST".to_owned()),
                ("path".to_owned(), path.to_owned()),
                ("topic".to_owned(), "orders.order_placed".to_owned()),
            ]),
        }
    }

    #[test]
    fn hops_between_processes_are_edges_and_requests_carry_their_trace() {
        let now = 100_000_000;
        let spans = vec![
            (
                "gateway".to_owned(),
                span("a", None, "request", "/orders", now - 5),
            ),
            (
                "orders".to_owned(),
                span("b", Some("a"), "request", "/orders", now - 4),
            ),
            (
                "users".to_owned(),
                span("c", Some("b"), "request", "/users/x", now - 3),
            ),
            (
                "payments".to_owned(),
                span("d", Some("b"), "event", "", now - 2),
            ),
            (
                "gateway".to_owned(),
                span("e", None, "request", "/dashboard/state", now - 1),
            ),
        ];
        let (edges, requests) = read(spans, "gateway", now);
        let pairs: Vec<(&str, &str, &str)> = edges
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str(), e.kind))
            .collect();
        assert_eq!(
            pairs,
            [
                ("client", "gateway", "call"),
                ("gateway", "orders", "call"),
                ("orders", "payments", "event"),
                ("orders", "users", "call"),
            ]
        );
        assert_eq!(edges[0].p99_ms, 2.0);
        assert_eq!(requests.len(), 1, "the page's own request is not listed");
        assert_eq!(requests[0].path, "/orders");
        assert_eq!(requests[0].spans.len(), 4);
    }
}
