//! The outbox relay delivers every event at least once, in order, retries a consumer that
//! fails, and remembers across a restart what was acknowledged.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orders_api::{OrderItem, OrderPlaced, OrdersApi, PlaceOrder};
use runtime::db::Location;
use runtime::events::{EventError, EventHandler};
use runtime::module::{Apis, Local, Module};
use runtime::outbox::{Relay, Subscriber};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use users_api::{NewUser, UsersApi};
use uuid::Uuid;
use vocab::events::Envelope;
use vocab::events::Event;

/// Records what it is given; refuses the first `failures` batches.
#[derive(Default)]
struct Recorder {
    failures: AtomicUsize,
    seen: Mutex<Vec<Uuid>>,
}

#[async_trait]
impl EventHandler for Recorder {
    async fn handle(&self, batch: &[Envelope]) -> Result<(), EventError> {
        if self.failures.load(Ordering::SeqCst) > 0 {
            self.failures.fetch_sub(1, Ordering::SeqCst);
            return Err(EventError::Unavailable("not yet".into()));
        }
        let mut seen = self.seen.lock().unwrap();
        for event in batch {
            let placed = event
                .decode::<OrderPlaced>()
                .expect("only OrderPlaced here")
                .unwrap();
            seen.push(placed.order_id);
        }
        Ok(())
    }
}

impl Recorder {
    fn seen(&self) -> Vec<Uuid> {
        self.seen.lock().unwrap().clone()
    }
}

/// `module`, open here on SQLite in `dir`, calling `apis`.
async fn open(module: &'static Module, dir: &TempDir, apis: &Apis) -> Local {
    let location = Location::SqliteDir(dir.path().to_owned());
    module
        .open_at(&location, apis, &module.flags_from(&[]))
        .await
        .unwrap()
}

/// Runs the orders relay with `recorder` until it has seen `count` events (bounded).
async fn relay_until(module: &Local, recorder: Arc<Recorder>, count: usize) {
    let relay = Relay::new(
        module.db.clone(),
        vec![Subscriber {
            name: "recorder",
            topics: vec![OrderPlaced::TOPIC],
            handler: recorder.clone(),
        }],
    );
    let stop = CancellationToken::new();
    let running = tokio::spawn(relay.run(stop.clone()));
    for _ in 0..200 {
        if recorder.seen().len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    stop.cancel();
    running.await.unwrap();
}

async fn place_orders(module: &Local, buyer: Uuid, count: usize) -> Vec<Uuid> {
    let orders: Arc<dyn OrdersApi> = module.api.get();
    let mut ids = Vec::new();
    for _ in 0..count {
        let order = PlaceOrder {
            user_id: buyer,
            currency: "EUR".into(),
            items: vec![OrderItem {
                sku: "BOOK-1".into(),
                quantity: 1,
                unit_price_cents: 100,
            }],
        };
        ids.push(orders.place(order, None).await.unwrap().id);
    }
    ids
}

#[tokio::test]
async fn every_event_is_delivered_in_order_despite_failures_and_restarts() {
    let dir = TempDir::new().unwrap();
    let users = open(&users::MODULE, &dir, &Apis::default()).await;
    let mut apis = Apis::default();
    apis.insert(users_api::NAME, users.api.clone());
    let buyer = users
        .api
        .get::<dyn UsersApi>()
        .create(NewUser {
            email: "b@example.com".into(),
            name: "B".into(),
        })
        .await
        .unwrap();

    let module = open(&orders::MODULE, &dir, &apis).await;
    let first = place_orders(&module, buyer.id, 5).await;
    let flaky = Arc::new(Recorder {
        failures: AtomicUsize::new(3),
        ..Recorder::default()
    });
    relay_until(&module, flaky.clone(), 5).await;
    assert_eq!(
        flaky.seen(),
        first,
        "delivered once the consumer recovered, in order"
    );

    // A new process on the same database: events written while no relay ran are delivered,
    // and the ones already acknowledged are not sent again.
    module.db.close().await;
    let module = open(&orders::MODULE, &dir, &apis).await;
    let second = place_orders(&module, buyer.id, 3).await;
    let fresh = Arc::new(Recorder::default());
    relay_until(&module, fresh.clone(), 3).await;
    assert_eq!(fresh.seen(), second);
}
