//! What the gateway tells of the whole deployment: `/health/deployment` with every
//! module's readiness as the gateway reaches it, and the state behind `/dashboard`: each
//! process, and an order's trace across processes gathered from their span rings.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{id, poll_until, Module, Options, Shape, Topology};

const TOKEN: &str = "deployment-test-token";

async fn health(app: &Topology) -> (StatusCode, Value) {
    let reply = app.get("/health/deployment").await;
    (reply.status, reply.body)
}

fn module<'a>(health: &'a Value, name: &str) -> &'a Value {
    health["modules"]
        .as_array()
        .and_then(|modules| modules.iter().find(|m| m["module"] == name))
        .unwrap_or_else(|| panic!("no {name} in {health}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_reports_a_killed_module_within_seconds() {
    let app = Topology::start(Shape::Split).await;
    let (status, body) = health(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready", "{body}");
    for name in ["users", "orders", "payments", "shipping"] {
        assert_eq!(module(&body, name)["ready"], true, "{body}");
        assert!(
            module(&body, name)["latency_ms"].as_f64().is_some(),
            "{body}"
        );
    }

    app.kill(Module::Payments);
    let body = poll_until("payments reported down", Duration::from_secs(5), || async {
        match health(&app).await {
            (StatusCode::SERVICE_UNAVAILABLE, body)
                if module(&body, "payments")["ready"] == false =>
            {
                Ok(body)
            }
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(body["status"], "degraded", "{body}");
    let reason = module(&body, "payments")["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("cannot reach"), "{body}");
    assert_eq!(module(&body, "orders")["ready"], true, "{body}");
    // Each process's own /readyz keeps its meaning: the gateway's own databases, none.
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_state_holds_an_orders_trace_across_processes() {
    let options = Options {
        internal_token: Some(TOKEN.to_owned()),
        ..Options::default()
    };
    let app = Topology::start_with(Shape::Split, &options).await;
    let user = app.create_user("traced@example.com").await;
    let order = app.place_order(user, &[("BOOK-1", 1, 1999)]).await;
    app.wait_settled(id(&order)).await;

    let request = poll_until(
        "the order's trace in five processes",
        Duration::from_secs(10),
        || async {
            let state = app.get("/dashboard/state").await.body;
            let placed = state["requests"]
                .as_array()
                .and_then(|requests| {
                    requests
                        .iter()
                        .find(|r| r["method"] == "POST" && r["path"] == "/orders")
                })
                .cloned()
                .ok_or_else(|| format!("no POST /orders in {state}"))?;
            let mut processes: Vec<&str> = placed["spans"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|span| span["process"].as_str())
                .collect();
            processes.sort_unstable();
            processes.dedup();
            if processes == ["gateway", "orders", "payments", "shipping", "users"] {
                Ok(placed)
            } else {
                Err(format!("the trace reaches {processes:?}"))
            }
        },
    )
    .await;
    assert_eq!(request["status"], "201", "{request}");
    // Every span of the trace but the gateway's hangs from another of the same trace.
    let spans = request["spans"].as_array().unwrap();
    let ids: Vec<&Value> = spans.iter().map(|span| &span["span_id"]).collect();
    for span in spans.iter().filter(|span| span["process"] != "gateway") {
        assert!(
            ids.contains(&&span["parent_id"]),
            "{span} hangs from nothing in {request}"
        );
    }
    let state = app.get("/dashboard/state").await.body;
    let processes = state["processes"].as_array().unwrap();
    assert_eq!(processes.len(), 5, "{state}");
    assert!(processes.iter().all(|p| p["up"] == true), "{state}");
}
