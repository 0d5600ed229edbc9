//! What a client does on a good day: register, order, get paid or declined, retry safely,
//! page through lists.

use futures::future::join_all;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::support::{id, Shape, Topology};

pub(crate) async fn order_is_paid(shape: Shape) {
    let app = Topology::start(shape).await;
    let ada = app.create_user("ada@example.com").await;

    let order = app.place_order(ada, &[("BOOK-1", 2, 1999)]).await;
    assert_eq!(order["total_cents"], 3998, "{order}");
    assert_eq!(order["user_id"], ada.to_string(), "{order}");
    let order_id = id(&order);

    let settled = app.wait_settled(order_id).await;
    assert_eq!(settled["status"], "paid", "{settled}");

    let payments = app.payments_of(order_id).await;
    assert_eq!(payments.len(), 1, "{payments:?}");
    let payment = &payments[0];
    assert_eq!(payment["status"], "authorized", "{payment}");
    assert_eq!(payment["amount_cents"], 3998, "{payment}");
    assert_eq!(payment["currency"], "EUR", "{payment}");
    assert_eq!(payment["order_id"], order_id.to_string(), "{payment}");

    let fetched = app.get(&format!("/payments/{}", id(payment))).await;
    fetched.assert_status(StatusCode::OK);
    assert_eq!(&fetched.body, payment);

    let listed = app.orders_of(ada).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(id(&listed[0]), order_id);
    assert_eq!(listed[0]["status"], "paid");
}

pub(crate) async fn order_over_the_limit_fails(shape: Shape) {
    let app = Topology::start(shape).await;
    let ada = app.create_user("ada@example.com").await;

    // The default limit is 100000 cents, inclusive.
    let piano = app.place_order(ada, &[("PIANO-1", 1, 100_001)]).await;
    let at_limit = app.place_order(ada, &[("PIANO-2", 1, 100_000)]).await;

    app.assert_settled_once(id(&piano), "payment_failed", "declined")
        .await;
    app.assert_settled_once(id(&at_limit), "paid", "authorized")
        .await;
}

pub(crate) async fn idempotency_key_places_one_order(shape: Shape) {
    let app = Topology::start(shape).await;
    let ada = app.create_user("ada@example.com").await;
    let key = Uuid::now_v7().to_string();
    let books = [("BOOK-1", 2, 1999)];

    let first = app.place_order_with_key(&key, ada, &books).await;
    first.assert_status(StatusCode::CREATED);
    let again = app.place_order_with_key(&key, ada, &books).await;
    again.assert_status(StatusCode::CREATED);
    assert_eq!(id(&again.body), id(&first.body));

    let other = app
        .place_order_with_key(&key, ada, &[("BOOK-1", 3, 1999)])
        .await;
    other.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("idempotency-key"));
    assert_eq!(other.body["code"], "idempotency-key-reused", "{other}");

    assert_eq!(app.orders_of(ada).await.len(), 1);
    app.assert_settled_once(id(&first.body), "paid", "authorized")
        .await;

    // Concurrent retries of one request, as a client with an impatient timeout sends them.
    let grace = app.create_user("grace@example.com").await;
    let key = Uuid::now_v7().to_string();
    let pens = [("PEN-1", 1, 250)];
    let replies = join_all((0..8).map(|_| app.place_order_with_key(&key, grace, &pens))).await;
    for reply in &replies {
        reply.assert_status(StatusCode::CREATED);
    }
    let order_id = id(&replies[0].body);
    assert!(
        replies.iter().all(|reply| id(&reply.body) == order_id),
        "one key gave several orders: {replies:?}"
    );
    let listed = app.orders_of(grace).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    app.assert_settled_once(order_id, "paid", "authorized")
        .await;
}

pub(crate) async fn users_are_paged_with_a_cursor(shape: Shape) {
    let app = Topology::start(shape).await;
    let mut created = Vec::new();
    for n in 1..=7 {
        created.push(app.create_user(&format!("user{n}@example.com")).await);
    }

    let mut seen = Vec::new();
    let mut pages = 0;
    let mut path = "/users?limit=3".to_owned();
    loop {
        assert!(pages < 10, "the cursor never ends: {seen:?}");
        pages += 1;
        let page = app.get(&path).await;
        page.assert_status(StatusCode::OK);
        let data = page.body["data"].as_array().expect("a list");
        assert!(data.len() <= 3, "{page}");
        seen.extend(data.iter().map(id));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/users?limit=3&cursor={cursor}"),
            None => {
                assert!(page.body["next_cursor"].is_null(), "{page}");
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    // Lists are in creation order, so the walk sees every user once, as created.
    assert_eq!(seen, created);
}
