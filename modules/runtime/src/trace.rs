//! One trace across processes: the W3C trace context (`traceparent`), read from each
//! incoming request, written on each call to another module, and carried by each event.
//!
//! The trace lives on `tracing` spans. Each span that starts a unit of work here — a
//! request, the delivery of a batch, the handling of one event — joins the trace of its
//! cause and records the trace id as its `trace_id` field, so that every log line written
//! inside it names the trace. Its place in the trace — the trace id, a span id of its own,
//! the span it hangs from, the trace flags — is kept as [`Ids`] in the span's extensions in
//! the `tracing` registry, where what the span propagates and the dashboard's ring of
//! recent spans ([`crate::spans`]) read it. Where those ids come from depends on whether
//! spans are exported:
//!
//! - exported (`--otlp-endpoint`): the OpenTelemetry layer (see [`crate::telemetry`])
//!   builds an OpenTelemetry span for each, [`OpenTelemetrySpanExt`] sets its parent, and
//!   the ids are read from it, so that the ids kept are those exported;
//! - not exported: no OpenTelemetry span is built, as nobody would read it, and the ids
//!   are made here.

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId};
use opentelemetry::Context;
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use tracing::Span;
use tracing_opentelemetry::{OpenTelemetrySpanExt, OtelData};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Registry;

use vocab::events::Envelope;

/// The target of the spans made here, which stay enabled at any log level.
pub(crate) const TARGET: &str = module_path!();

/// The W3C trace context header.
pub const TRACEPARENT: &str = "traceparent";

/// The span of one request with the id `request_id`, in the trace of its `traceparent`
/// header, or in a new trace when it came without one (the request enters the system here).
pub fn request_span(request: &http::Request<impl Sized>, request_id: &str) -> Span {
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id,
        status = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    if span.is_disabled() {
        return span;
    }
    let parent = match request.headers().contains_key(TRACEPARENT) {
        true => TraceContextPropagator::new().extract(&HeaderExtractor(request.headers())),
        false => Context::new(),
    };
    join(&span, parent);
    span
}

/// The span of one delivery of a batch of events to `subscriber`: a trace of its own (a
/// batch holds events of many requests), linked, where spans are exported, to the trace
/// of each event.
pub fn delivery_span(subscriber: &str, batch: &[Envelope]) -> Span {
    let span = tracing::info_span!(
        parent: None,
        "deliver",
        subscriber,
        events = batch.len(),
        trace_id = tracing::field::Empty,
    );
    if span.is_disabled() {
        return span;
    }
    if exported(&span) {
        for envelope in batch {
            if let Some(cx) = envelope_context(envelope) {
                span.add_link(cx.span().span_context().clone());
            }
        }
    }
    join(&span, Context::new());
    span
}

/// The span in which `consumer` handles one event: in the trace of the request that caused
/// the event, whichever process that request was served by.
pub fn event_span(consumer: &str, envelope: &Envelope) -> Span {
    let span = tracing::info_span!(
        "event",
        consumer,
        topic = %envelope.topic,
        event_id = %envelope.id,
        request_id = envelope.request_id.as_deref().unwrap_or(""),
        trace_id = tracing::field::Empty,
    );
    if span.is_disabled() {
        return span;
    }
    // An event stored before events carried a trace stays in the trace of its delivery.
    join(&span, envelope_context(envelope).unwrap_or_default());
    span
}

/// Adds the current span's trace context to a call to another process.
pub fn inject(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    match current_traceparent() {
        Some(traceparent) => request.header(TRACEPARENT, traceparent),
        None => request,
    }
}

/// The current span's trace context as a `traceparent` value, for an event to carry.
pub fn current_traceparent() -> Option<String> {
    let ids = kept(&Span::current())?;
    Some(format!(
        "00-{}-{}-{:02x}",
        ids.trace_id,
        ids.span_id,
        ids.flags.to_u8()
    ))
}

/// A span's place in a trace, kept in the span's extensions (see [`join`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ids {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    /// The span this one hangs from, in this process or in the caller's; `None` for the
    /// root of a trace.
    pub(crate) parent: Option<SpanId>,
    pub(crate) flags: TraceFlags,
}

impl Ids {
    /// The ids of the span `cx` describes, whose parent is not known here.
    fn of(cx: &SpanContext) -> Option<Self> {
        cx.is_valid().then(|| Self {
            trace_id: cx.trace_id(),
            span_id: cx.span_id(),
            parent: None,
            flags: cx.trace_flags(),
        })
    }
}

/// Whether an OpenTelemetry span stands behind `span`, that is whether the layer that
/// exports spans is installed. Asked of the registry, as asking the span for its context
/// would start it before its parent is set.
fn exported(span: &Span) -> bool {
    span.with_subscriber(|(id, dispatch)| {
        dispatch
            .downcast_ref::<Registry>()
            .and_then(|registry| registry.span(id))
            .is_some_and(|span| span.extensions().get::<OtelData>().is_some())
    })
    .unwrap_or(false)
}

/// The ids kept on `span` or, failing that, on the nearest span around it that has some.
fn kept(span: &Span) -> Option<Ids> {
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<Registry>()?;
        registry
            .span(id)?
            .scope()
            .find_map(|span| span.extensions().get::<Ids>().copied())
    })
    .flatten()
}

fn keep(span: &Span, ids: Ids) {
    span.with_subscriber(|(id, dispatch)| {
        if let Some(span) = dispatch
            .downcast_ref::<Registry>()
            .and_then(|registry| registry.span(id))
        {
            span.extensions_mut().replace(ids);
        }
    });
}

fn envelope_context(envelope: &Envelope) -> Option<Context> {
    let traceparent = envelope.traceparent.as_deref()?;
    let cx = TraceContextPropagator::new().extract(&Traceparent(traceparent));
    cx.has_active_span().then_some(cx)
}

/// Makes `parent` the parent of `span` (an empty context keeps the span's own place in the
/// trace: a child of the current span, or a new trace), keeps the span's [`Ids`] and
/// records the trace id it ends up in.
fn join(span: &Span, parent: Context) {
    // What the span hangs from: the caller's span, or else the nearest enclosing span with
    // ids of its own (the span has none yet). The OpenTelemetry layer takes the nearest
    // enclosing span of any kind instead; they differ only where another span sits between,
    // and then the dashboard's tree, which holds only spans with ids, still has the parent.
    let cause = Ids::of(parent.span().span_context()).or_else(|| kept(span));
    let parent_id = cause.map(|cause| cause.span_id);
    let ids = if exported(span) {
        if parent.has_active_span() && span.set_parent(parent).is_err() {
            return;
        }
        Ids::of(span.context().span().span_context()).map(|ids| Ids {
            parent: parent_id,
            ..ids
        })
    } else {
        let ids = RandomIdGenerator::default();
        Some(Ids {
            trace_id: cause.map_or_else(|| ids.new_trace_id(), |cause| cause.trace_id),
            span_id: ids.new_span_id(),
            parent: parent_id,
            flags: cause.map_or(TraceFlags::SAMPLED, |cause| cause.flags),
        })
    };
    if let Some(ids) = ids {
        keep(span, ids);
        span.record("trace_id", tracing::field::display(ids.trace_id));
    }
}

/// A carrier holding only a `traceparent` value, as events store it.
struct Traceparent<'a>(&'a str);

impl Extractor for Traceparent<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == TRACEPARENT).then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const CALLER_SPAN: &str = "00f067aa0ba902b7";

    /// Runs `f` as a process that exports spans (with the OpenTelemetry layer, exporting
    /// nowhere), then as one that does not.
    fn traced(f: impl Fn()) {
        let provider = SdkTracerProvider::builder().build();
        let exporting =
            tracing_subscriber::registry().with(crate::telemetry::trace_layer(&provider));
        tracing::subscriber::with_default(exporting, &f);
        tracing::subscriber::with_default(tracing_subscriber::registry(), &f);
    }

    /// The trace `span` is in, as what it passes on says.
    fn trace_of(span: &Span) -> String {
        let traceparent = span.in_scope(current_traceparent).expect("a trace context");
        traceparent[3..35].to_owned()
    }

    fn envelope(traceparent: Option<String>) -> Envelope {
        Envelope {
            id: vocab::new_id(),
            topic: "orders.order_placed".to_owned(),
            occurred_at: chrono::Utc::now(),
            request_id: None,
            traceparent,
            payload: serde_json::Value::Null,
        }
    }

    #[test]
    fn a_request_joins_the_callers_trace_and_passes_it_on() {
        traced(|| {
            let request = http::Request::get("/orders")
                .header(TRACEPARENT, format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
                .body(())
                .unwrap();
            let span = request_span(&request, "");
            assert_eq!(trace_of(&span), CALLER_TRACE);
            let sent = span
                .in_scope(current_traceparent)
                .expect("a context to send");
            // Same trace, sampled, with this request's span as the parent of what follows.
            assert!(sent.starts_with(&format!("00-{CALLER_TRACE}-")), "{sent}");
            assert!(sent.ends_with("-01"), "{sent}");
            assert!(!sent.contains(CALLER_SPAN), "{sent}");
        });
    }

    #[test]
    fn a_request_without_a_traceparent_starts_a_trace() {
        traced(|| {
            let request = http::Request::get("/orders").body(()).unwrap();
            let first = trace_of(&request_span(&request, ""));
            let second = trace_of(&request_span(&request, ""));
            assert_ne!(first, TraceId::INVALID.to_string());
            assert_ne!(first, second);
        });
    }

    #[test]
    fn an_event_is_handled_in_the_trace_that_caused_it() {
        traced(|| {
            let caused = envelope(Some(format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01")));
            let stored = envelope(None);
            let delivery = delivery_span("payments", &[caused.clone(), stored.clone()]);
            let delivery_trace = trace_of(&delivery);
            assert_ne!(
                delivery_trace, CALLER_TRACE,
                "a batch is a trace of its own"
            );
            delivery.in_scope(|| {
                assert_eq!(trace_of(&event_span("payments", &caused)), CALLER_TRACE);
                // An event stored before events carried a trace stays in its delivery's.
                assert_eq!(trace_of(&event_span("payments", &stored)), delivery_trace);
            });
        });
    }
}
