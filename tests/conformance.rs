//! Each module's contract holds the same whether it is called in-process or over HTTP:
//! every check here runs against the local implementation and against the module's HTTP
//! client talking to the module's router on a real loopback port. A caller cannot tell
//! the two apart, which is what lets the composition root pick either.

use std::sync::Arc;
use std::time::Duration;

use orders::OrdersModule;
use orders_api::{OrderFilter, OrderItem, OrderPlaced, OrderStatus, OrdersError, PlaceOrder};
use payments::processor::Processor;
use payments::PaymentsModule;
use payments_api::{PaymentFilter, PaymentStatus, PaymentsError};
use runtime::db::Location;
use runtime::events::{consumer_router, EventHandler, RemoteConsumer};
use runtime::peer::{http_client, Peer};
use tempfile::TempDir;
use users::UsersModule;
use users_api::{NewUser, UsersApi, UsersError};
use uuid::Uuid;
use vocab::events::Envelope;
use vocab::page::PageRequest;

/// Serves `router` on a free loopback port; the server lives as long as the test's runtime.
async fn serve(name: &'static str, router: axum::Router) -> Peer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Peer::new(
        name,
        &format!("http://{addr}"),
        http_client(Duration::from_secs(5)),
    )
}

/// A peer on a port where nothing listens.
fn dead_peer(name: &'static str) -> Peer {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    Peer::new(
        name,
        &format!("http://127.0.0.1:{port}"),
        http_client(Duration::from_secs(5)),
    )
}

fn new_user(email: &str) -> NewUser {
    NewUser {
        email: email.into(),
        name: "Ada".into(),
    }
}

fn order_for(user_id: Uuid, unit_price_cents: i64) -> PlaceOrder {
    PlaceOrder {
        user_id,
        currency: "EUR".into(),
        items: vec![OrderItem {
            sku: "BOOK-1".into(),
            quantity: 2,
            unit_price_cents,
        }],
    }
}

/// The users module, local and over HTTP.
async fn users_both_ways(dir: &TempDir) -> (UsersModule, [Arc<dyn UsersApi>; 2]) {
    let module = UsersModule::open(&Location::SqliteDir(dir.path().to_owned()))
        .await
        .unwrap();
    let remote = users::client(serve("users", users::router(module.api())).await);
    let local = module.api();
    (module, [local, remote])
}

#[tokio::test]
async fn users_contract_is_the_same_in_process_and_over_http() {
    let dir = TempDir::new().unwrap();
    let (_module, sides) = users_both_ways(&dir).await;
    for (side, api) in ["local", "http"].into_iter().zip(sides) {
        let email = format!("ada.{side}@example.com");
        let created = api.create(new_user(&email)).await.unwrap();
        assert_eq!(created.email, email);
        assert_eq!(api.get(created.id).await.unwrap(), created, "{side}");

        let shouted = new_user(&email.to_uppercase());
        assert!(
            matches!(api.create(shouted).await, Err(UsersError::DuplicateEmail)),
            "{side}"
        );

        let bad = NewUser {
            email: "not-an-address".into(),
            name: " ".into(),
        };
        match api.create(bad).await {
            Err(UsersError::Invalid(errors)) => {
                let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["email", "name"], "{side}");
            }
            other => panic!("{side}: expected Invalid, got {other:?}"),
        }
        assert!(
            matches!(api.get(Uuid::now_v7()).await, Err(UsersError::NotFound)),
            "{side}"
        );
    }
}

#[tokio::test]
async fn users_list_pages_through_every_user_once() {
    let dir = TempDir::new().unwrap();
    let (_module, sides) = users_both_ways(&dir).await;
    for i in 0..5 {
        sides[0]
            .create(new_user(&format!("u{i}@example.com")))
            .await
            .unwrap();
    }
    for api in sides {
        let mut seen = Vec::new();
        let mut page = PageRequest {
            limit: 2,
            after: None,
        };
        loop {
            let got = api.list(page).await.unwrap();
            seen.extend(got.data.iter().map(|u| u.email.clone()));
            match got.next_cursor {
                Some(cursor) => page.after = Some(cursor.parse().unwrap()),
                None => break,
            }
        }
        let expected: Vec<String> = (0..5).map(|i| format!("u{i}@example.com")).collect();
        assert_eq!(seen, expected);
    }
}

#[tokio::test]
async fn orders_contract_is_the_same_in_process_and_over_http() {
    let dir = TempDir::new().unwrap();
    let users = UsersModule::open(&Location::SqliteDir(dir.path().to_owned()))
        .await
        .unwrap();
    let buyer = users
        .api()
        .create(new_user("buyer@example.com"))
        .await
        .unwrap();
    let module = OrdersModule::open(&Location::SqliteDir(dir.path().to_owned()), users.api())
        .await
        .unwrap();
    let remote = orders::client(serve("orders", orders::router(module.api())).await);
    for (side, api) in ["local", "http"].into_iter().zip([module.api(), remote]) {
        let placed = api.place(order_for(buyer.id, 1999), None).await.unwrap();
        assert_eq!(
            (placed.status, placed.total_cents),
            (OrderStatus::Pending, 3998),
            "{side}"
        );
        assert_eq!(api.get(placed.id).await.unwrap(), placed, "{side}");

        let key = Some(format!("key-{side}"));
        let first = api
            .place(order_for(buyer.id, 5), key.clone())
            .await
            .unwrap();
        let again = api
            .place(order_for(buyer.id, 5), key.clone())
            .await
            .unwrap();
        assert_eq!(first, again, "{side}: a repeat returns the first order");
        let reused = api.place(order_for(buyer.id, 6), key).await;
        assert!(
            matches!(reused, Err(OrdersError::IdempotencyKeyReused)),
            "{side}"
        );

        let stranger = api.place(order_for(Uuid::now_v7(), 1), None).await;
        assert!(matches!(stranger, Err(OrdersError::UnknownUser)), "{side}");

        let mut empty = order_for(buyer.id, 1);
        empty.items.clear();
        match api.place(empty, None).await {
            Err(OrdersError::Invalid(errors)) => assert_eq!(errors[0].field, "items", "{side}"),
            other => panic!("{side}: expected Invalid, got {other:?}"),
        }
        assert!(
            matches!(api.get(Uuid::now_v7()).await, Err(OrdersError::NotFound)),
            "{side}"
        );
    }
    let mine = OrderFilter {
        user_id: Some(buyer.id),
    };
    let listed = module
        .api()
        .list(mine, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        listed.data.len(),
        4,
        "two plain orders and two keyed ones, no repeats"
    );
    let nobody = OrderFilter {
        user_id: Some(Uuid::now_v7()),
    };
    assert!(module
        .api()
        .list(nobody, PageRequest::default())
        .await
        .unwrap()
        .data
        .is_empty());
}

#[tokio::test]
async fn orders_answer_unavailable_when_users_cannot_be_reached() {
    let dir = TempDir::new().unwrap();
    let module = OrdersModule::open(
        &Location::SqliteDir(dir.path().to_owned()),
        users::client(dead_peer("users")),
    )
    .await
    .unwrap();
    let remote = orders::client(serve("orders", orders::router(module.api())).await);
    for (side, api) in ["local", "http"].into_iter().zip([module.api(), remote]) {
        match api.place(order_for(Uuid::now_v7(), 1), None).await {
            Err(OrdersError::Other(problem)) => assert_eq!(problem.status, 503, "{side}"),
            other => panic!("{side}: expected 503, got {other:?}"),
        }
    }
}

fn placed(amount_cents: i64) -> Envelope {
    runtime::events::envelope(&OrderPlaced {
        order_id: Uuid::now_v7(),
        user_id: Uuid::now_v7(),
        amount_cents,
        currency: "EUR".into(),
    })
}

#[tokio::test]
async fn payments_charge_each_order_once_however_often_the_event_arrives() {
    let dir = TempDir::new().unwrap();
    let module = PaymentsModule::open(
        &Location::SqliteDir(dir.path().to_owned()),
        Processor { limit_cents: 1000 },
    )
    .await
    .unwrap();
    let peer = serve(
        "payments",
        payments::router(module.api())
            .merge(consumer_router(payments::NAME, module.event_handler())),
    )
    .await;
    let remote_handler: Arc<dyn EventHandler> =
        Arc::new(RemoteConsumer::new(peer.clone(), payments::NAME));
    let remote_api = payments::client(peer);
    let handlers = [module.event_handler(), remote_handler];
    let apis = [module.api(), remote_api];

    for (side, handler) in ["local", "http"].into_iter().zip(handlers) {
        let cheap = placed(1000);
        let dear = placed(1001);
        let batch = [cheap.clone(), dear.clone()];
        handler.handle(&batch).await.unwrap();
        handler.handle(&batch).await.unwrap();
        handler.handle(std::slice::from_ref(&cheap)).await.unwrap();
        for (event, status) in [
            (&cheap, PaymentStatus::Authorized),
            (&dear, PaymentStatus::Declined),
        ] {
            let order_id: Uuid = event.payload["order_id"].as_str().unwrap().parse().unwrap();
            for api in &apis {
                let filter = PaymentFilter {
                    order_id: Some(order_id),
                };
                let found = api.list(filter, PageRequest::default()).await.unwrap().data;
                assert_eq!(found.len(), 1, "{side}: one payment per order");
                assert_eq!(found[0].status, status, "{side}");
                assert_eq!(api.get(found[0].id).await.unwrap(), found[0]);
            }
        }
    }
    for api in &apis {
        assert!(matches!(
            api.get(Uuid::now_v7()).await,
            Err(PaymentsError::NotFound)
        ));
    }
}

#[tokio::test]
async fn the_first_payment_outcome_settles_an_order_for_good() {
    let dir = TempDir::new().unwrap();
    let users = UsersModule::open(&Location::SqliteDir(dir.path().to_owned()))
        .await
        .unwrap();
    let buyer = users
        .api()
        .create(new_user("late@example.com"))
        .await
        .unwrap();
    let module = OrdersModule::open(&Location::SqliteDir(dir.path().to_owned()), users.api())
        .await
        .unwrap();
    let peer = serve(
        "orders",
        consumer_router(orders::NAME, module.event_handler()),
    )
    .await;
    let remote: Arc<dyn EventHandler> = Arc::new(RemoteConsumer::new(peer, orders::NAME));
    for (side, handler) in ["local", "http"]
        .into_iter()
        .zip([module.event_handler(), remote])
    {
        let order = module
            .api()
            .place(order_for(buyer.id, 1), None)
            .await
            .unwrap();
        let paid = runtime::events::envelope(&payments_api::PaymentAuthorized {
            payment_id: Uuid::now_v7(),
            order_id: order.id,
        });
        let declined = runtime::events::envelope(&payments_api::PaymentDeclined {
            payment_id: Uuid::now_v7(),
            order_id: order.id,
            reason: "too late".into(),
        });
        handler
            .handle(&[paid.clone(), declined, paid])
            .await
            .unwrap();
        let settled = module.api().get(order.id).await.unwrap();
        assert_eq!(settled.status, OrderStatus::Paid, "{side}");
        assert!(settled.updated_at > settled.created_at, "{side}");
    }
}
