//! Routes only modules may call: absent where no other process needs them, refused
//! without the deployment's token, and the event flow across processes with it.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{http_client, id, Module, Options, Reply, Shape, Topology};

const TOKEN: &str = "a-token-only-the-modules-know";
const CONSUMERS: [&str; 2] = ["/internal/events/orders", "/internal/events/payments"];

fn with_token() -> Options {
    Options {
        internal_token: Some(TOKEN.to_owned()),
        ..Options::default()
    }
}

/// POSTs an empty batch of events to `path` on `base`, with `authorization` if given.
async fn deliver_nothing(base: &str, path: &str, authorization: Option<&str>) -> Reply {
    let mut request = http_client().post(format!("{base}{path}")).json(&json!([]));
    if let Some(value) = authorization {
        request = request.header(AUTHORIZATION, value);
    }
    let response = request.send().await.expect("the process answers");
    Reply::read(response).await.expect("the answer reads")
}

#[tokio::test(flavor = "multi_thread")]
async fn all_in_one_serves_no_internal_route() {
    let app = Topology::start(Shape::AllInOne).await;
    for path in CONSUMERS {
        let reply = deliver_nothing(&app.gateway().url(), path, None).await;
        reply.assert_problem(StatusCode::NOT_FOUND, None);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn split_keeps_internal_routes_off_the_gateway_and_behind_the_token() {
    let app = Topology::start_with(Shape::Split, &with_token()).await;
    for path in CONSUMERS {
        let bearer = format!("Bearer {TOKEN}");
        let reply = deliver_nothing(&app.gateway().url(), path, Some(&bearer)).await;
        reply.assert_problem(StatusCode::NOT_FOUND, None);
    }
    for (module, path) in [
        (Module::Orders, CONSUMERS[0]),
        (Module::Payments, CONSUMERS[1]),
    ] {
        let base = app.process_of(module).url();
        // No token, another token, the token without its scheme.
        for authorization in [None, Some("Bearer not-the-token"), Some(TOKEN)] {
            let reply = deliver_nothing(&base, path, authorization).await;
            reply.assert_problem(StatusCode::UNAUTHORIZED, None);
        }
        let challenge = http_client()
            .post(format!("{base}{path}"))
            .json(&json!([]))
            .send()
            .await
            .expect("the process answers");
        assert!(
            challenge.headers().contains_key(WWW_AUTHENTICATE),
            "no challenge with the 401 of {path}"
        );
        let reply = deliver_nothing(&base, path, Some(&format!("Bearer {TOKEN}"))).await;
        reply.assert_status(StatusCode::NO_CONTENT);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn split_with_a_token_delivers_events_both_ways() {
    let app = Topology::start_with(Shape::Split, &with_token()).await;
    let ada = app.create_user("ada@example.com").await;
    let paid = app.place_order(ada, &[("BOOK-1", 2, 1999)]).await;
    let declined = app.place_order(ada, &[("CAR-1", 1, 5_000_000)]).await;
    app.assert_settled_once(id(&paid), "paid", "authorized")
        .await;
    app.assert_settled_once(id(&declined), "payment_failed", "declined")
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mixed_with_the_token_in_a_file_delivers_events_both_ways() {
    let options = Options {
        token_file_for: Some(Module::Payments),
        ..with_token()
    };
    let app = Topology::start_with(Shape::Mixed, &options).await;
    let ada = app.create_user("ada@example.com").await;
    let order = app.place_order(ada, &[("BOOK-1", 2, 1999)]).await;
    app.assert_settled_once(id(&order), "paid", "authorized")
        .await;
    // The gateway shares its process with orders, whose route payments calls: there it
    // is, behind the token.
    let reply = deliver_nothing(&app.gateway().url(), CONSUMERS[0], None).await;
    reply.assert_problem(StatusCode::UNAUTHORIZED, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn open_internal_routes_are_warned_about_at_start() {
    let split = Topology::start(Shape::Split).await;
    let warning = "internal routes are open";
    for module in [Module::Orders, Module::Payments] {
        let log = split.process_of(module).log_text();
        assert!(
            log.contains(warning),
            "no warning in the log of {module:?}:\n{log}"
        );
    }
    assert!(!split.gateway().log_text().contains(warning));
    assert!(!split.process_of(Module::Users).log_text().contains(warning));

    let monolith = Topology::start(Shape::AllInOne).await;
    assert!(!monolith.gateway().log_text().contains(warning));
}

/// POSTs `batch` (raw JSON text) to `path` on `base` with the token.
async fn deliver(base: &str, path: &str, batch: String) -> Reply {
    let response = http_client()
        .post(format!("{base}{path}"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(CONTENT_TYPE, "application/json")
        .body(batch)
        .send()
        .await
        .expect("the process answers");
    Reply::read(response).await.expect("the answer reads")
}

/// One envelope of `topic` carrying `payload`.
fn envelope(topic: &str, payload: serde_json::Value) -> serde_json::Value {
    json!({
        "id": uuid::Uuid::now_v7(),
        "topic": topic,
        "occurred_at": "2026-01-01T00:00:00Z",
        "payload": payload,
    })
}

/// How many batches the route of `consumer` refused, from the `/metrics` of `base`.
async fn rejected(base: &str, consumer: &str) -> f64 {
    let text = http_client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("the process answers")
        .text()
        .await
        .expect("the metrics read");
    let series = format!("cleave_events_rejected_total{{consumer=\"{consumer}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread")]
async fn split_refuses_an_undecodable_batch_with_a_400_logged_and_counted() {
    let app = Topology::start_with(Shape::Split, &with_token()).await;
    let not_a_uuid = json!({"order_id": "not-a-uuid"});
    for (module, path, topic) in [
        (Module::Orders, CONSUMERS[0], "payments.payment_authorized"),
        (Module::Payments, CONSUMERS[1], "orders.order_placed"),
    ] {
        let process = app.process_of(module);
        let base = process.url();
        let batches = [
            // Envelopes whose payload is not the event their topic names.
            json!([envelope(topic, not_a_uuid.clone())]).to_string(),
            // Not a list of envelopes at all.
            json!([{"id": 1}]).to_string(),
            // Not JSON.
            "[{".to_owned(),
        ];
        for batch in batches {
            let reply = deliver(&base, path, batch.clone()).await;
            assert!(
                reply
                    .problem_mismatch(StatusCode::BAD_REQUEST, None)
                    .is_none(),
                "{batch} to {path}: {reply}"
            );
            assert_eq!(reply.body["code"], "undecodable-events", "{reply}");
        }
        assert_eq!(rejected(&base, module.name()).await, 3.0, "{path}");
        let log = process.log_text();
        assert!(
            log.contains("undecodable event batch refused"),
            "no log line in {module:?}:\n{log}"
        );
    }
    // The refusals held nothing up.
    let ada = app.create_user("ada@example.com").await;
    let order = app.place_order(ada, &[("BOOK-1", 2, 1999)]).await;
    app.assert_settled_once(id(&order), "paid", "authorized")
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_batch_may_be_larger_than_a_public_body() {
    let options = Options {
        args: vec!["--max-body-bytes".to_owned(), "1024".to_owned()],
        ..with_token()
    };
    let app = Topology::start_with(Shape::Split, &options).await;
    let padded = format!("[{}]", " ".repeat(4 * 1024));
    let reply = deliver(&app.process_of(Module::Orders).url(), CONSUMERS[0], padded).await;
    reply.assert_status(StatusCode::NO_CONTENT);

    let name = "x".repeat(2 * 1024);
    let user = app
        .post("/users", &json!({"email": "big@example.com", "name": name}))
        .await;
    user.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, None);
}
