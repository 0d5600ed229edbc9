//! Following one request: its trace id in the logs of every process it touched, its spans
//! exported over OTLP in the caller's trace, and `/metrics` moving with each order.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use uuid::Uuid;

use crate::support::{
    http_client, id, order_body, poll_until, Module, Options, Process, Shape, Topology,
};

/// Log lines are written as things happen; the last may trail the answer that shows them.
const LOGGED: Duration = Duration::from_secs(5);
/// The relay recounts its backlog about once a second while it retries.
const GAUGED: Duration = Duration::from_secs(10);

/// A client that traces: the trace and span its request is sent from.
struct Caller {
    trace_id: String,
    span_id: String,
}

impl Caller {
    fn new() -> Self {
        let span = Uuid::new_v4().simple().to_string();
        Self {
            trace_id: Uuid::new_v4().simple().to_string(),
            span_id: span[..16].to_owned(),
        }
    }

    fn traceparent(&self) -> String {
        format!("00-{}-{}-01", self.trace_id, self.span_id)
    }

    /// Places an order from this caller's span; returns the order's id once it is paid.
    async fn place_paid_order(&self, app: &Topology, buyer: Uuid) -> Uuid {
        let request = app
            .request(Method::POST, "/orders")
            .header("traceparent", self.traceparent())
            .json(&order_body(buyer, &[("BOOK-1", 1, 1999)]));
        let reply = app.send(request).await;
        reply.assert_status(StatusCode::CREATED);
        let order = id(&reply.body);
        app.assert_settled_once(order, "paid", "authorized").await;
        order
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn split_one_order_is_one_trace_in_every_log() {
    let extra = Options {
        args: vec!["--log-format".to_owned(), "json".to_owned()],
        // One line per request, so that the gateway and users, which log nothing else for
        // a good request, show it too.
        log_level: Some("info,tower_http=debug"),
        ..Options::default()
    };
    let app = Topology::start_with(Shape::Split, &extra).await;
    let ada = app.create_user("ada@example.com").await;
    let caller = Caller::new();
    caller.place_paid_order(&app, ada).await;

    let buyer_check = format!("/users/{ada}");
    // Where the caller's trace must show: process, span, and a field that tells the span apart.
    let expected = [
        ("gateway", "request", "path", "/orders"),
        ("users", "request", "path", buyer_check.as_str()),
        ("orders", "request", "path", "/orders"),
        ("payments", "event", "topic", "orders.order_placed"),
        ("orders", "event", "topic", "payments.payment_authorized"),
    ];
    poll_until("the caller's trace in every log", LOGGED, || async {
        let missing: Vec<String> = expected
            .iter()
            .filter(|(label, span, field, value)| {
                let lines = json_lines(process(&app, label));
                !lines
                    .iter()
                    .any(|line| in_span(line, &caller.trace_id, span, field, value))
            })
            .map(|(label, span, field, value)| format!("{label}: {span} with {field}={value}"))
            .collect();
        match missing.is_empty() {
            true => Ok(()),
            false => Err(format!("no line of {missing:?}")),
        }
    })
    .await;
}

fn process<'a>(app: &'a Topology, label: &str) -> &'a Process {
    app.processes()
        .iter()
        .find(|p| p.label() == label)
        .unwrap_or_else(|| panic!("no {label} process"))
}

/// Every line a process logged, each of which must be a JSON object (the harness's own
/// header line aside).
fn json_lines(process: &Process) -> Vec<Value> {
    process
        .log_text()
        .lines()
        .filter(|line| !line.starts_with("====="))
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|err| {
                panic!(
                    "{} logged a line that is not JSON ({err}): {line}",
                    process.label()
                )
            })
        })
        .collect()
}

/// Whether `line` was logged inside a span named `span`, in trace `trace_id`, whose
/// `field` is `value`.
fn in_span(line: &Value, trace_id: &str, span: &str, field: &str, value: &str) -> bool {
    line["spans"].as_array().is_some_and(|spans| {
        spans
            .iter()
            .any(|s| s["name"] == span && s["trace_id"] == trace_id && s[field] == value)
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn all_in_one_exports_spans_in_the_callers_trace() {
    let collector = Collector::start().await;
    let extra = Options {
        args: vec!["--otlp-endpoint".to_owned(), collector.url()],
        ..Options::default()
    };
    let app = Topology::start_with(Shape::AllInOne, &extra).await;
    let ada = app.create_user("ada@example.com").await;
    let caller = Caller::new();
    caller.place_paid_order(&app, ada).await;

    // Spans leave in batches; a graceful stop sends what is left.
    let status = app
        .process_of(Module::Orders)
        .terminate(Duration::from_secs(15))
        .await;
    assert!(status.success(), "SIGTERM ended cleave with {status}");

    let exported = collector.spans();
    let services: Vec<&str> = exported
        .iter()
        .map(|(service, _)| service.as_str())
        .collect();
    assert!(services.iter().all(|s| *s == "cleave-all"), "{services:?}");
    let in_trace: Vec<&Span> = exported
        .iter()
        .map(|(_, span)| span)
        .filter(|span| hex(&span.trace_id) == caller.trace_id)
        .collect();
    let summary: Vec<String> = in_trace.iter().map(|s| describe(s)).collect();
    let request = in_trace
        .iter()
        .find(|s| s.name == "request" && attribute(s, "path").as_deref() == Some("/orders"))
        .unwrap_or_else(|| panic!("no POST /orders span in the caller's trace: {summary:?}"));
    assert_eq!(hex(&request.parent_span_id), caller.span_id, "{summary:?}");
    for consumer in ["payments", "orders"] {
        assert!(
            in_trace
                .iter()
                .any(|s| s.name == "event" && attribute(s, "consumer").as_deref() == Some(consumer)),
            "no span of {consumer} handling an event in the caller's trace: {summary:?}"
        );
    }
}

/// An OTLP/HTTP collector on a loopback port that keeps every export it receives.
struct Collector {
    addr: SocketAddr,
    bodies: Arc<Mutex<Vec<Bytes>>>,
}

impl Collector {
    async fn start() -> Self {
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route(
                "/v1/traces",
                post(
                    |State(bodies): State<Arc<Mutex<Vec<Bytes>>>>, body: Bytes| async move {
                        bodies.lock().unwrap().push(body);
                        StatusCode::OK
                    },
                ),
            )
            .with_state(bodies.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, bodies }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received, with the service that sent it.
    fn spans(&self) -> Vec<(String, Span)> {
        let bodies = self.bodies.lock().unwrap();
        let mut spans = Vec::new();
        for body in bodies.iter() {
            let export = ExportTraceServiceRequest::decode(body.as_ref())
                .expect("an export is an OTLP protobuf message");
            for resource_spans in export.resource_spans {
                let service = resource_spans
                    .resource
                    .as_ref()
                    .and_then(|r| string_value(&r.attributes, "service.name"))
                    .unwrap_or_default();
                for scope in resource_spans.scope_spans {
                    spans.extend(scope.spans.into_iter().map(|s| (service.clone(), s)));
                }
            }
        }
        spans
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    string_value(&span.attributes, key)
}

fn string_value(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .and_then(|value| match value {
            any_value::Value::StringValue(text) => Some(text.clone()),
            _ => None,
        })
}

fn describe(span: &Span) -> String {
    format!(
        "{} {} parent {} {:?}",
        span.name,
        hex(&span.span_id),
        hex(&span.parent_span_id),
        span.attributes
            .iter()
            .map(|kv| kv.key.as_str())
            .collect::<Vec<_>>()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn split_metrics_follow_an_order() {
    let app = Topology::start(Shape::Split).await;
    let ada = app.create_user("ada@example.com").await;
    let books = [("BOOK-1", 2, 1999)];
    let before = Metrics::of_every_process(&app).await;

    let order = id(&app.place_order(ada, &books).await);
    app.assert_settled_once(order, "paid", "authorized").await;
    let after = settled(&app).await;

    let moved = |label: &str, name: &str, labels: &[(&str, &str)]| {
        after[label].value(name, labels) - before[label].value(name, labels)
    };
    let placed = [("method", "POST"), ("route", "/orders"), ("status", "201")];
    assert_eq!(moved("gateway", "cleave_http_requests_total", &placed), 1.0);
    assert_eq!(moved("orders", "cleave_http_requests_total", &placed), 1.0);
    let to_orders = [("peer", "orders"), ("outcome", "ok")];
    assert!(moved("gateway", "cleave_peer_requests_total", &to_orders) >= 1.0);
    let buyer_check = [("peer", "users"), ("outcome", "ok")];
    assert_eq!(
        moved("orders", "cleave_peer_requests_total", &buyer_check),
        1.0
    );
    let to_payments = [("subscriber", "payments")];
    assert_eq!(
        moved("orders", "cleave_events_delivered_total", &to_payments),
        1.0
    );
    let to_orders = [("subscriber", "orders")];
    assert_eq!(
        moved("payments", "cleave_events_delivered_total", &to_orders),
        1.0
    );

    // The same event twice in one batch, as a relay that crashed before recording its
    // progress would send it again: payments skips the copy, and counts it.
    let again = serde_json::json!({
        "id": Uuid::now_v7(),
        "topic": "orders.order_placed",
        "occurred_at": "2026-01-01T00:00:00Z",
        "payload": {"order_id": order, "user_id": ada, "amount_cents": 3998, "currency": "EUR"},
    });
    let payments = app.process_of(Module::Payments);
    let delivered = http_client()
        .post(format!("{}/internal/events/payments", payments.url()))
        .json(&[&again, &again])
        .send()
        .await
        .expect("payments answers");
    assert_eq!(delivered.status(), StatusCode::NO_CONTENT);
    let deduplicated = Metrics::of(payments).await.value(
        "cleave_events_deduplicated_total",
        &[("consumer", "payments")],
    );
    assert_eq!(deduplicated, 1.0);
    app.assert_settled_once(order, "paid", "authorized").await;

    // Payments away: the event waits, and is counted as waiting, then redelivered.
    app.kill(Module::Payments);
    let waiting = id(&app.place_order(ada, &books).await);
    poll_until(
        "orders to count the event waiting for payments",
        GAUGED,
        || async {
            let orders = Metrics::of(app.process_of(Module::Orders)).await;
            let backlog = orders.value("cleave_outbox_backlog", &to_payments);
            let age = orders.value("cleave_outbox_oldest_age_seconds", &to_payments);
            match backlog == 1.0 && age > 0.0 {
                true => Ok(()),
                false => Err(format!("backlog {backlog}, oldest {age} s")),
            }
        },
    )
    .await;
    app.restart(Module::Payments).await;
    app.assert_settled_once(waiting, "paid", "authorized").await;
    let recovered = settled(&app).await;
    assert!(
        recovered["orders"].value("cleave_events_redelivered_total", &to_payments) >= 1.0,
        "the event refused while payments was away was not counted as redelivered"
    );
}

/// The metrics of every process, once both relays report an empty backlog.
async fn settled(app: &Topology) -> HashMap<String, Metrics> {
    poll_until("both outboxes to drain", GAUGED, || async {
        let all = Metrics::of_every_process(app).await;
        let waiting = all["orders"].value("cleave_outbox_backlog", &[("subscriber", "payments")])
            + all["payments"].value("cleave_outbox_backlog", &[("subscriber", "orders")]);
        let age = all["orders"].value("cleave_outbox_oldest_age_seconds", &[])
            + all["payments"].value("cleave_outbox_oldest_age_seconds", &[]);
        match waiting == 0.0 && age == 0.0 {
            true => Ok(all),
            false => Err(format!(
                "{waiting} events waiting, oldest ages adding to {age} s"
            )),
        }
    })
    .await
}

/// One scrape of `/metrics`: each sample's name, labels and value.
struct Metrics(Vec<(String, HashMap<String, String>, f64)>);

impl Metrics {
    async fn of(process: &Process) -> Self {
        let text = http_client()
            .get(format!("{}/metrics", process.url()))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .expect("/metrics answers")
            .text()
            .await
            .expect("/metrics is text");
        Self::parse(&text)
    }

    async fn of_every_process(app: &Topology) -> HashMap<String, Self> {
        let mut all = HashMap::new();
        for process in app.processes() {
            all.insert(process.label().to_owned(), Self::of(process).await);
        }
        all
    }

    fn parse(text: &str) -> Self {
        let samples = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
                let value: f64 = value.parse().expect("a sample's value is a number");
                let (name, labels) = match series.split_once('{') {
                    Some((name, rest)) => (name, rest.strip_suffix('}').expect("labels close")),
                    None => (series, ""),
                };
                let labels = labels
                    .split("\",")
                    .filter(|pair| !pair.is_empty())
                    .map(|pair| {
                        let (key, value) =
                            pair.split_once("=\"").expect("a label is key=\"value\"");
                        (key.to_owned(), value.trim_end_matches('"').to_owned())
                    })
                    .collect();
                (name.to_owned(), labels, value)
            })
            .collect();
        Self(samples)
    }

    /// The sum of the samples named `name` that carry every label of `labels`; 0 when none
    /// does (a counter appears at its first increment).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, value)| value)
            .sum()
    }
}
