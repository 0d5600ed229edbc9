//! Each module's contract holds the same whether it is called in-process, over HTTP or
//! over gRPC: every check here runs against the local implementation, against the
//! module's HTTP client talking to the module's router, and against its gRPC client
//! talking to its gRPC service, each on a real loopback port. A caller cannot tell the
//! three apart, which is what lets the composition root pick any.

use std::sync::Arc;
use std::time::Duration;

use orders_api::{
    OrderFilter, OrderItem, OrderPlaced, OrderStatus, OrdersApi, OrdersError, PlaceOrder,
};
use payments_api::{PaymentFilter, PaymentStatus, PaymentsApi, PaymentsError};
use runtime::db::Location;
use runtime::events::{consumer_router, EventHandler, RemoteConsumer};
use runtime::grpc::events::GrpcConsumer;
use runtime::grpc::server::Server;
use runtime::module::{Api, Apis, Local, Module};
use runtime::peer::{grpc_client, http_client, Peer};
use shipping_api::{ShipmentFilter, ShippingApi, ShippingError};
use tempfile::TempDir;
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

/// Serves the gRPC routes `router` on a free loopback port (HTTP/2 without TLS); the
/// server lives as long as the test's runtime.
async fn serve_grpc(name: &'static str, router: axum::Router) -> Peer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Peer::new(
        name,
        &format!("http://{addr}"),
        grpc_client(Duration::from_secs(5)),
    )
}

/// `module`'s gRPC service serving `api`, with event delivery to `events` if given.
async fn grpc_routes(
    module: &'static Module,
    api: &Api,
    events: Option<Arc<dyn EventHandler>>,
) -> axum::Router {
    let mut server = Server::default();
    (module.grpc.serve)(api, server.routes());
    if let Some(handler) = events {
        let consumers = [(module.name, handler)].into_iter().collect();
        server
            .routes()
            .add_service(runtime::grpc::events::service(consumers));
    }
    server.router(None).await.unwrap()
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

/// `module`, open here on SQLite in `dir` with the flags `flags`, calling `apis`.
async fn open(module: &'static Module, dir: &TempDir, apis: &Apis, flags: &[&str]) -> Local {
    let location = Location::SqliteDir(dir.path().to_owned());
    module
        .open_at(&location, apis, &module.flags_from(flags))
        .await
        .unwrap()
}

/// `module`'s contract over HTTP, to its router serving `api` on a loopback port.
async fn over_http(module: &'static Module, api: &Api) -> Api {
    (module.client)(serve(module.name, (module.router)(api)).await)
}

/// `module`'s contract over gRPC, to its service serving `api` on a loopback port.
async fn over_grpc(module: &'static Module, api: &Api) -> Api {
    let routes = grpc_routes(module, api, None).await;
    (module.grpc.client)(serve_grpc(module.name, routes).await)
}

/// The users module open here, and the contracts a module calling it is given.
async fn users_here(dir: &TempDir) -> (Local, Apis) {
    let users = open(&users::MODULE, dir, &Apis::default(), &[]).await;
    let mut apis = Apis::default();
    apis.insert(users_api::NAME, users.api.clone());
    (users, apis)
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

/// The sides every contract is checked from.
const SIDES: [&str; 3] = ["local", "http", "grpc"];

/// The users module, local, over HTTP and over gRPC.
async fn users_every_way(dir: &TempDir) -> (Local, [Arc<dyn UsersApi>; 3]) {
    let module = open(&users::MODULE, dir, &Apis::default(), &[]).await;
    let http = over_http(&users::MODULE, &module.api).await;
    let grpc = over_grpc(&users::MODULE, &module.api).await;
    let local = module.api.get();
    (module, [local, http.get(), grpc.get()])
}

#[tokio::test]
async fn users_contract_is_the_same_in_process_over_http_and_over_grpc() {
    let dir = TempDir::new().unwrap();
    let (_module, sides) = users_every_way(&dir).await;
    for (side, api) in SIDES.into_iter().zip(sides) {
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
    let (_module, sides) = users_every_way(&dir).await;
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
async fn orders_contract_is_the_same_in_process_over_http_and_over_grpc() {
    let dir = TempDir::new().unwrap();
    let (users, apis) = users_here(&dir).await;
    let buyer = users
        .api
        .get::<dyn UsersApi>()
        .create(new_user("buyer@example.com"))
        .await
        .unwrap();
    let module = open(&orders::MODULE, &dir, &apis, &[]).await;
    let http = over_http(&orders::MODULE, &module.api).await;
    let grpc = over_grpc(&orders::MODULE, &module.api).await;
    let local: Arc<dyn OrdersApi> = module.api.get();
    for (side, api) in SIDES
        .into_iter()
        .zip([local.clone(), http.get(), grpc.get()])
    {
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
    let listed = local.list(mine, PageRequest::default()).await.unwrap();
    assert_eq!(
        listed.data.len(),
        6,
        "three plain orders and three keyed ones, no repeats"
    );
    let nobody = OrderFilter {
        user_id: Some(Uuid::now_v7()),
    };
    assert!(local
        .list(nobody, PageRequest::default())
        .await
        .unwrap()
        .data
        .is_empty());
}

#[tokio::test]
async fn orders_answer_unavailable_when_users_cannot_be_reached() {
    let dir = TempDir::new().unwrap();
    let mut apis = Apis::default();
    apis.insert(users_api::NAME, (users::MODULE.client)(dead_peer("users")));
    let module = open(&orders::MODULE, &dir, &apis, &[]).await;
    let http = over_http(&orders::MODULE, &module.api).await;
    let grpc = over_grpc(&orders::MODULE, &module.api).await;
    let sides: [Arc<dyn OrdersApi>; 3] = [module.api.get(), http.get(), grpc.get()];
    for (side, api) in SIDES.into_iter().zip(sides) {
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
    let module = open(
        &payments::MODULE,
        &dir,
        &Apis::default(),
        &["--payment-limit-cents", "1000"],
    )
    .await;
    let handler = module.events.clone().unwrap();
    let peer = serve(
        payments_api::NAME,
        (payments::MODULE.router)(&module.api)
            .merge(consumer_router(payments_api::NAME, handler.clone())),
    )
    .await;
    let http_handler: Arc<dyn EventHandler> =
        Arc::new(RemoteConsumer::new(peer.clone(), payments_api::NAME));
    let http_api = (payments::MODULE.client)(peer);
    let routes = grpc_routes(&payments::MODULE, &module.api, Some(handler.clone())).await;
    let peer = serve_grpc(payments_api::NAME, routes).await;
    let grpc_handler: Arc<dyn EventHandler> =
        Arc::new(GrpcConsumer::new(peer.clone(), payments_api::NAME));
    let grpc_api = (payments::MODULE.grpc.client)(peer);
    let handlers = [handler, http_handler, grpc_handler];
    let apis: [Arc<dyn PaymentsApi>; 3] = [module.api.get(), http_api.get(), grpc_api.get()];

    for (side, handler) in SIDES.into_iter().zip(handlers) {
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
    let (users, apis) = users_here(&dir).await;
    let buyer = users
        .api
        .get::<dyn UsersApi>()
        .create(new_user("late@example.com"))
        .await
        .unwrap();
    let module = open(&orders::MODULE, &dir, &apis, &[]).await;
    let local = module.events.clone().unwrap();
    let orders: Arc<dyn OrdersApi> = module.api.get();
    let peer = serve(
        orders_api::NAME,
        consumer_router(orders_api::NAME, local.clone()),
    )
    .await;
    let http: Arc<dyn EventHandler> = Arc::new(RemoteConsumer::new(peer, orders_api::NAME));
    let routes = grpc_routes(&orders::MODULE, &module.api, Some(local.clone())).await;
    let peer = serve_grpc(orders_api::NAME, routes).await;
    let grpc: Arc<dyn EventHandler> = Arc::new(GrpcConsumer::new(peer, orders_api::NAME));
    for (side, handler) in SIDES.into_iter().zip([local, http, grpc]) {
        let order = orders.place(order_for(buyer.id, 1), None).await.unwrap();
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
        let settled = orders.get(order.id).await.unwrap();
        assert_eq!(settled.status, OrderStatus::Paid, "{side}");
        assert!(settled.updated_at > settled.created_at, "{side}");
    }
}

#[tokio::test]
async fn shipping_ships_each_paid_order_once_and_reads_the_same_every_way() {
    let dir = TempDir::new().unwrap();
    let module = open(&shipping::MODULE, &dir, &Apis::default(), &[]).await;
    let handler = module.events.clone().unwrap();
    let peer = serve(
        shipping_api::NAME,
        (shipping::MODULE.router)(&module.api)
            .merge(consumer_router(shipping_api::NAME, handler.clone())),
    )
    .await;
    let http_handler: Arc<dyn EventHandler> =
        Arc::new(RemoteConsumer::new(peer.clone(), shipping_api::NAME));
    let http_api = (shipping::MODULE.client)(peer);
    let routes = grpc_routes(&shipping::MODULE, &module.api, Some(handler.clone())).await;
    let peer = serve_grpc(shipping_api::NAME, routes).await;
    let grpc_handler: Arc<dyn EventHandler> =
        Arc::new(GrpcConsumer::new(peer.clone(), shipping_api::NAME));
    let grpc_api = (shipping::MODULE.grpc.client)(peer);
    let apis: [Arc<dyn ShippingApi>; 3] = [module.api.get(), http_api.get(), grpc_api.get()];

    for (side, handler) in SIDES.into_iter().zip([handler, http_handler, grpc_handler]) {
        let order_id = Uuid::now_v7();
        let paid = runtime::events::envelope(&payments_api::PaymentAuthorized {
            payment_id: Uuid::now_v7(),
            order_id,
        });
        let declined = runtime::events::envelope(&payments_api::PaymentDeclined {
            payment_id: Uuid::now_v7(),
            order_id: Uuid::now_v7(),
            reason: "over the limit".into(),
        });
        // Again, and as a second authorization of the same order: one shipment.
        let again = runtime::events::envelope(&payments_api::PaymentAuthorized {
            payment_id: Uuid::now_v7(),
            order_id,
        });
        handler.handle(&[paid.clone(), declined]).await.unwrap();
        handler.handle(&[paid, again]).await.unwrap();
        for api in &apis {
            let filter = ShipmentFilter {
                order_id: Some(order_id),
            };
            let found = api.list(filter, PageRequest::default()).await.unwrap().data;
            assert_eq!(found.len(), 1, "{side}: one shipment per paid order");
            assert_eq!(api.get(found[0].id).await.unwrap(), found[0], "{side}");
        }
    }
    for api in &apis {
        let all = api
            .list(ShipmentFilter::default(), PageRequest::default())
            .await
            .unwrap();
        assert_eq!(all.data.len(), 3, "only the paid orders are shipped");
        assert!(matches!(
            api.get(Uuid::now_v7()).await,
            Err(ShippingError::NotFound)
        ));
    }
}
