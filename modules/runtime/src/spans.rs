//! The spans a process finished last, in a bounded ring in memory: what the gateway's
//! dashboard gathers from every process (`GET /internal/spans`) to draw each recent
//! request's trace as a tree across processes, with no collector to run.
//!
//! The ring is filled by a `tracing` layer ([`Layer`]), with or without the OpenTelemetry
//! layer that exports spans: it keeps the spans that carry a trace (request, event,
//! delivery; see [`crate::trace`]) once they close, with the trace, span and parent ids
//! [`crate::trace`] keeps on them and their fields (method, path, status, request id,
//! consumer, topic). No OpenTelemetry span is built for it.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Record};
use tracing::{Id, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::trace::Ids;

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

/// The layer that fills the ring: it records the fields and start of each span that
/// carries a trace, and pushes the span into the ring when it closes.
#[derive(Debug)]
pub struct Layer(Arc<Recent>);

impl Layer {
    pub fn new(ring: Arc<Recent>) -> Self {
        Self(ring)
    }
}

/// What the ring needs of a span before it closes, kept in the span's extensions.
struct Open {
    start: SystemTime,
    /// The duration is measured on the monotonic clock: the wall clock may step meanwhile.
    started: Instant,
    fields: BTreeMap<String, String>,
}

impl Visit for Open {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.keep(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.keep(field, format!("{value:?}"));
    }
}

impl Open {
    fn keep(&mut self, field: &Field, value: String) {
        // The trace id is the span's own, in the record already.
        if field.name() != "trace_id" {
            self.fields.insert(field.name().to_owned(), value);
        }
    }
}

impl<S> tracing_subscriber::Layer<S> for Layer
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        // Only the spans made in `crate::trace` get ids; the fields of any other span would
        // be recorded for nothing.
        if attrs.metadata().target() != crate::trace::TARGET {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut open = Open {
            start: SystemTime::now(),
            started: Instant::now(),
            fields: BTreeMap::new(),
        };
        attrs.record(&mut open);
        span.extensions_mut().insert(open);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(open) = span.extensions_mut().get_mut::<Open>() {
                values.record(open);
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(open) = span.extensions_mut().remove::<Open>() else {
            return;
        };
        let Some(ids) = span.extensions().get::<Ids>().copied() else {
            return;
        };
        // A span in a trace its caller did not sample is left out, as the exporter's sampler
        // leaves it out.
        if !ids.flags.is_sampled() {
            return;
        }
        self.0.push(RecentSpan {
            trace_id: ids.trace_id.to_string(),
            span_id: ids.span_id.to_string(),
            parent_id: ids.parent.map(|parent| parent.to_string()),
            name: span.name().to_owned(),
            start_us: micros(open.start),
            duration_us: open
                .started
                .elapsed()
                .as_micros()
                .try_into()
                .unwrap_or(u64::MAX),
            fields: open.fields,
        });
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::trace::{current_traceparent, event_span, request_span, TRACEPARENT};

    const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const CALLER_SPAN: &str = "00f067aa0ba902b7";

    fn ring(capacity: usize) -> Arc<Recent> {
        Arc::new(Recent {
            capacity,
            spans: Mutex::new(VecDeque::new()),
        })
    }

    /// Runs `f` with a ring layer over `ring`, in a process that exports spans (with the
    /// OpenTelemetry layer, exporting nowhere) when `exporting`.
    fn with_ring(ring: &Arc<Recent>, exporting: bool, f: impl FnOnce()) {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(exporting.then(|| crate::telemetry::trace_layer(&provider)))
            .with(Layer::new(ring.clone()));
        tracing::subscriber::with_default(subscriber, f);
    }

    fn request(traceparent: &str) -> http::Request<()> {
        http::Request::post("/orders")
            .header(TRACEPARENT, traceparent)
            .body(())
            .unwrap()
    }

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn spans_with_ids_land_in_the_ring_with_their_parent_and_fields() {
        for exporting in [false, true] {
            let ring = ring(16);
            let mut sent = None;
            with_ring(&ring, exporting, || {
                let span = request_span(
                    &request(&format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01")),
                    "r-1",
                );
                span.in_scope(|| {
                    sent = current_traceparent();
                    let envelope = vocab::events::Envelope {
                        id: vocab::new_id(),
                        topic: "orders.order_placed".to_owned(),
                        occurred_at: chrono::Utc::now(),
                        request_id: Some("r-1".to_owned()),
                        traceparent: None,
                        payload: serde_json::Value::Null,
                    };
                    drop(event_span("payments", &envelope));
                    // A span without ids of its own stays out of the ring.
                    drop(tracing::info_span!("other", path = "/elsewhere"));
                });
                span.record("status", 201);
            });
            let spans = snapshot_of(&ring);
            let [event, request] = spans.as_slice() else {
                panic!("two spans, not {spans:?} (exporting: {exporting})");
            };

            assert_eq!(request.name, "request");
            assert_eq!(request.trace_id, CALLER_TRACE);
            assert_eq!(request.parent_id.as_deref(), Some(CALLER_SPAN));
            assert_eq!(
                request.fields,
                fields(&[
                    ("method", "POST"),
                    ("path", "/orders"),
                    ("request_id", "r-1"),
                    ("status", "201")
                ])
            );
            // The ids in the ring are those the request passed on.
            let sent = sent.expect("a traceparent");
            assert_eq!(sent, format!("00-{CALLER_TRACE}-{}-01", request.span_id));

            assert_eq!(event.name, "event");
            assert_eq!(event.trace_id, CALLER_TRACE);
            assert_eq!(event.parent_id.as_ref(), Some(&request.span_id));
            assert_eq!(
                event.fields,
                fields(&[
                    ("consumer", "payments"),
                    ("event_id", &event.fields["event_id"]),
                    ("request_id", "r-1"),
                    ("topic", "orders.order_placed"),
                ])
            );
            assert!(request.start_us <= event.start_us);
        }
    }

    #[test]
    fn a_span_of_a_trace_not_sampled_stays_out() {
        for exporting in [false, true] {
            let ring = ring(16);
            with_ring(&ring, exporting, || {
                drop(request_span(
                    &request(&format!("00-{CALLER_TRACE}-{CALLER_SPAN}-00")),
                    "",
                ));
            });
            assert!(snapshot_of(&ring).is_empty(), "exporting: {exporting}");
        }
    }

    fn snapshot_of(ring: &Recent) -> Vec<RecentSpan> {
        ring.spans.lock().unwrap().iter().cloned().collect()
    }

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
