//! The outbox relay delivers every event at least once, in order, retries a consumer that
//! fails, and remembers across a restart what was acknowledged.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orders::OrdersModule;
use orders_api::{OrderItem, OrderPlaced, PlaceOrder};
use runtime::db::Location;
use runtime::events::{EventError, EventHandler};
use runtime::outbox::Subscriber;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use users::UsersModule;
use users_api::NewUser;
use uuid::Uuid;
use vocab::events::Envelope;

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

/// Runs the orders relay with `recorder` until it has seen `count` events (bounded).
async fn relay_until(module: &OrdersModule, recorder: Arc<Recorder>, count: usize) {
    let relay = module.relay(vec![Subscriber {
        name: "recorder",
        topics: payments::CONSUMES,
        handler: recorder.clone(),
    }]);
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

async fn place_orders(module: &OrdersModule, buyer: Uuid, count: usize) -> Vec<Uuid> {
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
        ids.push(module.api().place(order, None).await.unwrap().id);
    }
    ids
}

#[tokio::test]
async fn every_event_is_delivered_in_order_despite_failures_and_restarts() {
    let dir = TempDir::new().unwrap();
    let users = UsersModule::open(&Location::SqliteDir(dir.path().to_owned()))
        .await
        .unwrap();
    let buyer = users
        .api()
        .create(NewUser {
            email: "b@example.com".into(),
            name: "B".into(),
        })
        .await
        .unwrap();

    let module = OrdersModule::open(&Location::SqliteDir(dir.path().to_owned()), users.api())
        .await
        .unwrap();
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
    drop(module);
    let module = OrdersModule::open(&Location::SqliteDir(dir.path().to_owned()), users.api())
        .await
        .unwrap();
    let second = place_orders(&module, buyer.id, 3).await;
    let fresh = Arc::new(Recorder::default());
    relay_until(&module, fresh.clone(), 3).await;
    assert_eq!(fresh.seen(), second);
}
