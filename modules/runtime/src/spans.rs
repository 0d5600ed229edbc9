//! The spans a process finished last, in a bounded ring in memory: what the gateway's
//! dashboard gathers from every process (`GET /internal/spans`) to draw each recent
//! request's trace as a tree across processes, with no collector to run.
//!
//! The ring is an OpenTelemetry span processor, beside the exporter when there is one: it
//! sees each span once it ends, with its trace, its parent and the fields of its `tracing`
//! span (method, path, status, request id, consumer, topic).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::routing::get;
use axum::{Json, Router};
use opentelemetry::trace::SpanId;
use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use serde::{Deserialize, Serialize};

/// The internal route the gateway reads a process's ring from.
pub const PATH: &str = "/internal/spans";

/// One finished span, as the dashboard draws it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecentSpan {
    pub trace_id: String,
    pub span_id: String,
    /// Absent for the root of a trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// `request`, `event` or `deliver` (see [`crate::trace`]).
    pub name: String,
    /// Start, in microseconds since the Unix epoch.
    pub start_us: u64,
    pub duration_us: u64,
    /// The span's fields, as text.
    pub fields: BTreeMap<String, String>,
}

/// The ring: the last `capacity` spans, the oldest dropped first.
#[derive(Debug)]
pub struct Recent {
    capacity: usize,
    spans: Mutex<VecDeque<RecentSpan>>,
}

static RING: OnceLock<Arc<Recent>> = OnceLock::new();

impl Recent {
    /// Installs the process's ring of `capacity` spans; `None` when `capacity` is 0 or a
    /// ring is installed already.
    pub fn install(capacity: usize) -> Option<Arc<Recent>> {
        if capacity == 0 {
            return None;
        }
        let ring = Arc::new(Recent {
            capacity,
            spans: Mutex::new(VecDeque::with_capacity(capacity)),
        });
        RING.set(ring.clone()).ok().map(|()| ring)
    }

    fn push(&self, span: RecentSpan) {
        let mut spans = self.spans.lock().unwrap_or_else(PoisonError::into_inner);
        if spans.len() == self.capacity {
            spans.pop_front();
        }
        spans.push_back(span);
    }
}

/// What the process's ring holds now, oldest first; empty without a ring.
pub fn snapshot() -> Vec<RecentSpan> {
    RING.get().map_or_else(Vec::new, |ring| {
        let spans = ring.spans.lock().unwrap_or_else(PoisonError::into_inner);
        spans.iter().cloned().collect()
    })
}

/// `GET /internal/spans`: the ring, for the gateway (behind the internal token).
pub fn router() -> Router {
    Router::new().route(PATH, get(|| async { Json(snapshot()) }))
}

fn micros(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros()
        .try_into()
        .unwrap_or(u64::MAX)
}

/// The ring as a span processor: it only moves what it keeps out of the span's data.
#[derive(Debug)]
pub struct Processor(pub Arc<Recent>);

impl SpanProcessor for Processor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        let context = &span.span_context;
        let fields = span
            .attributes
            .into_iter()
            .filter(|kv| !kv.key.as_str().starts_with("otel.") && kv.key.as_str() != "trace_id")
            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
            .collect();
        self.0.push(RecentSpan {
            trace_id: context.trace_id().to_string(),
            span_id: context.span_id().to_string(),
            parent_id: (span.parent_span_id != SpanId::INVALID)
                .then(|| span.parent_span_id.to_string()),
            name: span.name.into_owned(),
            start_us: micros(span.start_time),
            duration_us: span
                .end_time
                .duration_since(span.start_time)
                .unwrap_or_default()
                .as_micros()
                .try_into()
                .unwrap_or(u64::MAX),
            fields,
        });
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(n: u64) -> RecentSpan {
        RecentSpan {
            trace_id: format!("{n:032x}"),
            span_id: format!("{n:016x}"),
            parent_id: None,
            name: "request".to_owned(),
            start_us: n,
            duration_us: 1,
            fields: BTreeMap::new(),
        }
    }

    #[test]
    fn the_ring_keeps_the_last_spans_only() {
        let ring = Recent {
            capacity: 3,
            spans: Mutex::new(VecDeque::new()),
        };
        for n in 1..=5 {
            ring.push(span(n));
        }
        let kept: Vec<u64> = ring
            .spans
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.start_us)
            .collect();
        assert_eq!(kept, [3, 4, 5]);
    }
}
