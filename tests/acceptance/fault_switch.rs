//! The switch that failure drills (`cleave compare --drill module`) use to make one
//! module fail alone: in one process as in several, only behind the internal token, and
//! over by itself, with nothing lost.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::StatusCode;

use crate::support::{http_client, id, Module, Options, Reply, Shape, Topology};

const TOKEN: &str = "a-token-only-the-modules-know";

fn with_token() -> Options {
    Options {
        internal_token: Some(TOKEN.to_owned()),
        ..Options::default()
    }
}

/// POSTs `body` to the fault switch of `module` on `base`, with the token if `signed`.
async fn switch(base: &str, module: &str, body: &str, signed: bool) -> Reply {
    let mut request = http_client()
        .post(format!("{base}/internal/faults/{module}"))
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_owned());
    if signed {
        request = request.header(AUTHORIZATION, format!("Bearer {TOKEN}"));
    }
    let response = request.send().await.expect("the process answers");
    Reply::read(response).await.expect("the answer reads")
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_token_there_is_no_switch() {
    let app = Topology::start(Shape::AllInOne).await;
    let reply = switch(&app.gateway().url(), "payments", r#"{"secs": 1}"#, false).await;
    reply.assert_problem(StatusCode::NOT_FOUND, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn all_in_one_fails_payments_alone() {
    fails_payments_alone(Shape::AllInOne).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn split_fails_payments_alone() {
    fails_payments_alone(Shape::Split).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_split_fails_payments_alone() {
    fails_payments_alone(Shape::GrpcSplit).await;
}

async fn fails_payments_alone(shape: Shape) {
    let app = Topology::start_with(shape, &with_token()).await;
    let base = app.process_of(Module::Payments).url();

    switch(&base, "payments", r#"{"secs": 1}"#, false)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, None);
    switch(&base, "billing", r#"{"secs": 1}"#, true)
        .await
        .assert_problem(StatusCode::NOT_FOUND, None);
    for wrong in [
        r#"{"secs": -1}"#,
        r#"{"secs": 1e9}"#,
        r#"{"secs": "soon"}"#,
        "{}",
    ] {
        switch(&base, "payments", wrong, true)
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, None);
    }
    switch(&base, "payments", "{", true)
        .await
        .assert_problem(StatusCode::BAD_REQUEST, None);
    if shape != Shape::AllInOne {
        // Orders runs elsewhere: not this process's to fail.
        switch(&base, "orders", r#"{"secs": 1}"#, true)
            .await
            .assert_problem(StatusCode::NOT_FOUND, None);
    }

    let ada = app.create_user("ada@example.com").await;
    switch(&base, "payments", r#"{"secs": 3}"#, true)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    // Orders are taken and read; payments answers 503, and pays nothing yet.
    let order = app.place_order(ada, &[("BOOK-1", 2, 1999)]).await;
    let payments = app.get(&format!("/payments?order_id={}", id(&order))).await;
    payments.assert_problem(StatusCode::SERVICE_UNAVAILABLE, None);
    assert_eq!(app.order(id(&order)).await["status"], "pending");
    // Once the fault is over, the refused event comes again and the order is paid once.
    app.assert_settled_once(id(&order), "paid", "authorized")
        .await;
}
