//! Logging and tracing, set up once per process.
//!
//! One layer writes log lines to stderr (text or JSON, level from `RUST_LOG`). When a
//! collector is configured, a second layer builds an OpenTelemetry span for every span, to
//! export over OTLP; without one, no OpenTelemetry span is built, and [`crate::trace`]
//! keeps each span's place in its W3C trace itself. When the dashboard keeps recent spans,
//! a third layer ([`crate::spans::Layer`]) puts the spans that carry a trace in the ring as
//! they close. The spans that carry a trace stay enabled whatever `RUST_LOG` says, so a
//! quieter log level never breaks the propagation of a trace.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::Subscriber;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The spans that carry a trace (see [`crate::trace`]), enabled at any log level.
fn trace_spans() -> String {
    format!("{}=info", crate::trace::TARGET)
}

/// How long an export to the collector may take before it is abandoned.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// How a process logs and where it sends its spans.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// One JSON object per line, with the fields of every enclosing span, instead of text.
    pub json: bool,
    /// Base URL of an OTLP/HTTP collector (`http://collector:4318`); spans go to
    /// `<url>/v1/traces`. None: nothing is exported, and no OpenTelemetry span is built.
    pub otlp_endpoint: Option<String>,
    /// The `service.name` of exported spans.
    pub service: String,
    /// How many finished spans the process keeps in memory for the dashboard
    /// ([`crate::spans`]); 0 keeps none.
    pub recent_spans: usize,
}

/// The process's tracing pipeline; [`Telemetry::shutdown`] flushes the spans not yet exported.
pub struct Telemetry {
    /// Present only when spans are exported.
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports what is left and stops the exporter. Call it outside the async runtime: the
    /// exporter's HTTP client blocks.
    pub fn shutdown(self) {
        if let Some(Err(err)) = self.provider.map(|provider| provider.shutdown()) {
            tracing::warn!(error = %err, "spans could not all be exported");
        }
    }
}

/// Installs logging and tracing for the whole process.
pub fn init(settings: &Settings) -> anyhow::Result<Telemetry> {
    // OpenTelemetry spans are built only to be exported: the dashboard's ring of recent
    // spans is filled from the `tracing` spans themselves, at a fraction of the cost.
    let provider = settings
        .otlp_endpoint
        .as_deref()
        .map(|base| -> anyhow::Result<SdkTracerProvider> {
            // Every trace is recorded unless a caller's `traceparent` says it is not sampled.
            Ok(SdkTracerProvider::builder()
                .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
                .with_resource(
                    Resource::builder_empty()
                        .with_service_name(settings.service.clone())
                        .build(),
                )
                .with_batch_exporter(exporter(base)?)
                .build())
        })
        .transpose()?;
    let ring = crate::spans::Recent::install(settings.recent_spans).map(crate::spans::Layer::new);
    // One filter for every layer: per-layer filters would cost a little on every span
    // entered, and a span is entered on every poll of the future it instruments.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info"))
        .add_directive(trace_spans().parse().expect("a valid directive"));
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in `docker logs` or a log file.
        .with_ansi(std::io::stderr().is_terminal())
        // Its report of a failed write goes to stderr too and panics when stderr is a pipe
        // whose reader is gone (a child whose parent died): a lost log line must not be fatal.
        .log_internal_errors(false);
    let logs = if settings.json {
        logs.json()
            .with_current_span(true)
            .with_span_list(true)
            .boxed()
    } else {
        logs.boxed()
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(provider.as_ref().map(trace_layer))
        .with(ring)
        .try_init()
        .context("installing the log subscriber")?;
    Ok(Telemetry { provider })
}

/// The layer that builds an OpenTelemetry span for every span, for `provider` to export.
pub(crate) fn trace_layer<S>(provider: &SdkTracerProvider) -> impl Layer<S>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("cleave"))
        // Source locations, threads, targets and busy/idle timings cost on every span and
        // say little here; contexts are read from the spans themselves, never from the
        // OpenTelemetry thread-local, so entering a span need not activate one.
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        .with_context_activation(false)
}

fn exporter(base: &str) -> anyhow::Result<SpanExporter> {
    let endpoint = format!("{}/v1/traces", base.trim_end_matches('/'));
    SpanExporter::builder()
        .with_http()
        .with_endpoint(&endpoint)
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .with_context(|| format!("the OTLP exporter for {endpoint}"))
}
