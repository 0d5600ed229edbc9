//! POST /orders throughput: the all-in-one cleave against a bare baseline doing the same
//! database work. Goal: `all_in_one` ≥ 80 % of `bare`'s orders per second.
//!
//! - `all_in_one`: `cleave --role=all`, composed by `compose::build` and served by
//!   `server::serve` on a loopback port with a temp data dir. Each order goes through the
//!   serving layers (request id, request span, metrics, problem+json), the orders router,
//!   `OrdersApi::place`, the `UsersApi` boundary for the buyer check, the outbox, and two
//!   relays: orders → payments (`OrderPlaced`) and payments → orders (`PaymentAuthorized`).
//! - `bare`: one axum handler and one background task, with sqlx straight on the same three
//!   database files, opened with the same pragmas as the modules (WAL, synchronous=NORMAL)
//!   as a pool of one writer connection and a read pool. Per order: read the buyer from
//!   users; insert the order (items as JSON) and an outbox row in one transaction. The task
//!   reads the outbox and, per batch, writes the inbox row, payment row and outcome outbox
//!   row on payments; the inbox row and `paid` status on orders, with its cursor; then moves
//!   the payments cursor. The same rows as the all-in-one, without traits, relay or
//!   problem+json (and in three commits per batch where the two relays take four).
//!
//! A block of orders sends `iters` POST /orders, 32 in flight over keep-alive connections,
//! and is timed to the last response. It then waits, untimed, for both outboxes to empty
//! (every order paid), so that one block's backlog of events does not slow the next.
//!
//! Both targets are measured in rotation: each sample, of either benchmark, runs a block on
//! each target back to back (which goes first alternates) and reports its own block to
//! criterion. Load on a shared machine drifts by more than the 20 % margin between two
//! benchmarks run one after the other; between two blocks a fraction of a second apart it
//! does not. The end of the group prints, from each sample, both targets' orders/s, their
//! CPU time and context switches per order (whole process, from the first request to the
//! last event applied), how long the events took to drain, and the all-in-one/bare ratios
//! (median and quartiles over the samples); then checks that every order placed was paid.
//!
//! Both servers run on their own multi-thread runtime (one worker per core, as
//! `#[tokio::main]` gives the binary); the load generator runs on a current-thread runtime on
//! the bench thread. On 2 cores the three compete, equally for both targets.

mod support;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use clap::Parser;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use futures::StreamExt;
use http::header::{CONTENT_TYPE, LOCATION};
use http::StatusCode;
use orders_api::{order_path, Order, OrderItem, OrderPlaced, OrderStatus, PlaceOrder};
use payments_api::{PaymentAuthorized, PaymentDeclined};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use users_api::{NewUser, User};
use uuid::Uuid;
use vocab::events::Event;

use support::{quartiles, Usage};

/// Requests in flight at once, each on its own keep-alive connection.
const IN_FLIGHT: usize = 32;
/// Longest wait for the events of one block to be applied before the bench gives up.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);

fn config() -> Criterion {
    // A shared, noisy 2-core machine: modest times. Flat sampling gives every block the same
    // few hundred orders, so each runs at the full 32 in flight most of its time.
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(3))
        .measurement_time(Duration::from_secs(5))
}

fn server_runtime(name: &str) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name(name)
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

/// A server under test, with what the bench needs to load it and to check its work.
struct Target {
    name: &'static str,
    orders_url: String,
    /// The body of every POST /orders: an order for the target's user.
    order: Bytes,
    outboxes: Outboxes,
    stop: CancellationToken,
    server: Runtime,
    _data_dir: TempDir,
    placed: u64,
}

/// What one block of orders cost a target.
#[derive(Clone, Copy, Default)]
struct Block {
    orders_per_s: f64,
    /// CPU time of the whole process (client included) per order, events applied.
    cpu_us: f64,
    /// Context switches of the whole process per order, events applied.
    switches: f64,
    /// From the last response to the last event applied.
    drain_ms: f64,
}

impl Target {
    /// `n` orders, timed to the last response; then, untimed, the drain.
    async fn block(&mut self, http: &reqwest::Client, n: u64) -> (Duration, Block) {
        let (start, used) = (Instant::now(), Usage::now());
        place_orders(http, &self.orders_url, &self.order, n).await;
        let elapsed = start.elapsed();
        self.placed += n;

        let drained = Instant::now();
        self.outboxes.wait_empty(self.name).await;
        let drain = drained.elapsed();
        let used = Usage::now().since(used);
        let n = n as f64;
        let block = Block {
            orders_per_s: n / elapsed.as_secs_f64(),
            cpu_us: used.cpu.as_secs_f64() * 1e6 / n,
            switches: used.switches as f64 / n,
            drain_ms: drain.as_secs_f64() * 1e3,
        };
        (elapsed, block)
    }

    /// Checks that every order placed was paid, and stops the server.
    fn finish(self, client: &Runtime) {
        let (orders, paid) = client.block_on(self.outboxes.orders_paid());
        assert_eq!(orders, self.placed, "{}: orders stored", self.name);
        assert_eq!(paid, self.placed, "{}: orders paid", self.name);
        println!("{}: {} orders placed, all paid", self.name, self.placed);
        self.stop.cancel();
        self.server.shutdown_timeout(Duration::from_secs(10));
    }
}

/// The two targets, measured in rotation.
struct Rotation {
    targets: [Target; 2],
    http: reqwest::Client,
    /// Per sample, each target's block (blocks too small to reach steady state left out).
    samples: Vec<[Block; 2]>,
    /// Samples taken so far, to alternate which target goes first.
    taken: usize,
}

impl Rotation {
    /// A block of `n` orders on each target; returns the time of `timed`'s.
    async fn sample(&mut self, n: u64, timed: usize) -> Duration {
        let mut elapsed = [Duration::ZERO; 2];
        let mut blocks = [Block::default(); 2];
        let first = self.taken % 2;
        self.taken += 1;
        for i in [first, 1 - first] {
            (elapsed[i], blocks[i]) = self.targets[i].block(&self.http, n).await;
        }
        // Criterion's warm-up starts at one order: a block needs a few rounds of 32 in
        // flight before it says anything about throughput.
        if n >= 4 * IN_FLIGHT as u64 {
            self.samples.push(blocks);
        }
        elapsed[timed]
    }

    /// Prints each target's figures and the all-in-one/bare ratios, computed per sample.
    fn report(&self) {
        type Metric = (&'static str, fn(&Block) -> f64);
        const METRICS: [Metric; 4] = [
            ("orders/s", |b| b.orders_per_s),
            ("CPU µs/order", |b| b.cpu_us),
            ("switches/order", |b| b.switches),
            ("drain ms", |b| b.drain_ms),
        ];
        println!(
            "post_orders in rotation, {} samples; median [quartiles] of per-sample figures",
            self.samples.len()
        );
        print!("  {:<20}", "");
        for (name, _) in METRICS {
            print!(" {name:<26}");
        }
        println!();
        for (i, target) in self.targets.iter().enumerate() {
            print!("  {:<20}", target.name);
            for (_, metric) in METRICS {
                print!(
                    " {:<26}",
                    quartiles(self.samples.iter().map(|s| metric(&s[i])), 2)
                );
            }
            println!();
        }
        print!("  {:<20}", "all_in_one / bare");
        for (_, metric) in METRICS {
            let ratio = |s: &[Block; 2]| metric(&s[0]) / metric(&s[1]);
            print!(" {:<26}", quartiles(self.samples.iter().map(ratio), 2));
        }
        println!(" goal ≥ 0.80 in orders/s");
    }
}

/// Sends `n` POST /orders with [`IN_FLIGHT`] at a time; every one must create an order.
async fn place_orders(http: &reqwest::Client, url: &str, body: &Bytes, n: u64) {
    futures::stream::iter(0..n)
        .map(|_| async {
            let response = http
                .post(url)
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await
                .expect("POST /orders is answered");
            assert_eq!(response.status(), StatusCode::CREATED, "POST /orders");
            // Read the body to the end, so the connection goes back to the pool.
            response.bytes().await.expect("the order comes back");
        })
        .buffer_unordered(IN_FLIGHT)
        .for_each(|()| async {})
        .await;
}

/// Read-only connections to the orders and payments files of a target, to watch its events.
struct Outboxes {
    orders: SqlitePool,
    payments: SqlitePool,
}

impl Outboxes {
    async fn open(data_dir: &Path) -> Self {
        let open = |module: &str| {
            let options = SqliteConnectOptions::from_str("sqlite:")
                .expect("sqlite options")
                .filename(data_dir.join(format!("{module}.db")))
                .read_only(true);
            SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
        };
        Self {
            orders: open(orders_api::NAME).await.expect("orders.db opens"),
            payments: open(payments_api::NAME).await.expect("payments.db opens"),
        }
    }

    async fn count(pool: &SqlitePool, sql: &str) -> u64 {
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(pool)
            .await
            .expect("a count");
        n.try_into().expect("a count is not negative")
    }

    /// Waits until both outboxes are empty. Payments writes its outcome before orders
    /// forgets the `OrderPlaced`, so an empty orders outbox, then an empty payments outbox,
    /// means every order so far is settled.
    async fn wait_empty(&self, target: &str) {
        let start = Instant::now();
        loop {
            if Self::count(&self.orders, "SELECT COUNT(*) FROM outbox").await == 0
                && Self::count(&self.payments, "SELECT COUNT(*) FROM outbox").await == 0
            {
                return;
            }
            assert!(
                start.elapsed() < DRAIN_LIMIT,
                "{target}: events not applied after {DRAIN_LIMIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// How many orders are stored, and how many of them are paid.
    async fn orders_paid(&self) -> (u64, u64) {
        (
            Self::count(&self.orders, "SELECT COUNT(*) FROM orders").await,
            Self::count(
                &self.orders,
                "SELECT COUNT(*) FROM orders WHERE status = 'paid'",
            )
            .await,
        )
    }
}

/// The body of POST /orders: two books for `user_id`, well under the payment limit.
fn order_for(user_id: Uuid) -> Bytes {
    let order = PlaceOrder {
        user_id,
        currency: "EUR".into(),
        items: vec![OrderItem {
            sku: "BOOK-1".into(),
            quantity: 2,
            unit_price_cents: 1999,
        }],
    };
    Bytes::from(serde_json::to_vec(&order).expect("an order serializes"))
}

/// `cleave --role=all` on a loopback port, with one user created through its API.
fn all_in_one(client: &Runtime, http: &reqwest::Client) -> Target {
    let data_dir = TempDir::new().expect("a temp dir");
    let args = cleave::cli::Cli::parse_from([
        "cleave".to_owned(),
        "--role=all".to_owned(),
        "--listen=127.0.0.1:0".to_owned(),
        format!("--data-dir={}", data_dir.path().display()),
    ])
    .serve;
    let server = server_runtime("all-in-one");
    let stop = CancellationToken::new();
    let addr = server.block_on(async {
        let composition = cleave::compose::build(&args).await.expect("all composes");
        let listener = TcpListener::bind(args.listen).await.expect("a free port");
        let addr = listener.local_addr().expect("a bound address");
        tokio::spawn(cleave::server::serve(
            listener,
            composition,
            cleave::server::Settings::of(&args),
            stop.clone(),
        ));
        addr
    });
    let base = format!("http://{addr}");
    let user: User = client.block_on(async {
        http.post(format!("{base}{}", users_api::PATH))
            .json(&NewUser {
                email: "buyer@example.com".into(),
                name: "Buyer".into(),
            })
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("POST /users")
            .json()
            .await
            .expect("the user comes back")
    });
    let outboxes = client.block_on(Outboxes::open(data_dir.path()));
    Target {
        name: "all_in_one",
        orders_url: format!("{base}{}", orders_api::PATH),
        order: order_for(user.id),
        outboxes,
        stop,
        server,
        _data_dir: data_dir,
        placed: 0,
    }
}

/// The bare baseline on a loopback port, with one user inserted directly.
fn bare(client: &Runtime) -> Target {
    let data_dir = TempDir::new().expect("a temp dir");
    let server = server_runtime("bare");
    let stop = CancellationToken::new();
    let (addr, user_id) = server.block_on(bare::start(data_dir.path(), stop.clone()));
    let outboxes = client.block_on(Outboxes::open(data_dir.path()));
    Target {
        name: "bare",
        orders_url: format!("http://{addr}{}", orders_api::PATH),
        order: order_for(user_id),
        outboxes,
        stop,
        server,
        _data_dir: data_dir,
        placed: 0,
    }
}

/// The baseline: the same writes as the all-in-one, in plain axum and sqlx.
mod bare {
    use super::*;

    // The root crate's migrations: the very same schema as the modules.
    static USERS: Migrator = sqlx::migrate!("./migrations/users/sqlite");
    static ORDERS: Migrator = sqlx::migrate!("./migrations/orders/sqlite");
    static PAYMENTS: Migrator = sqlx::migrate!("./migrations/payments/sqlite");

    /// The largest amount authorized, as the all-in-one's default processor.
    const LIMIT_CENTS: i64 = 100_000;
    /// Outbox rows read per batch, as the relay does.
    const BATCH: i64 = 100;

    /// One database file: a pool of one connection that writes, and a pool of readers.
    #[derive(Clone)]
    struct Pools {
        writer: SqlitePool,
        reader: SqlitePool,
    }

    impl Pools {
        /// Opens (creating) the file with the modules' pragmas and applies `migrator`.
        async fn open(path: &Path, migrator: &Migrator) -> Self {
            let options = SqliteConnectOptions::from_str("sqlite:")
                .expect("SQLite options")
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5));
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                .connect_with(options.clone())
                .await
                .expect("the writer opens");
            migrator.run(&writer).await.expect("the schema is migrated");
            let reader = SqlitePoolOptions::new()
                .max_connections(4)
                .test_before_acquire(false)
                .connect_with(options.read_only(true))
                .await
                .expect("the readers open");
            Self { writer, reader }
        }
    }

    #[derive(Clone)]
    struct App {
        users: Pools,
        orders: Pools,
        placed: Arc<Notify>,
    }

    type Failure = (StatusCode, String);

    fn internal(err: impl std::fmt::Display) -> Failure {
        (StatusCode::INTERNAL_SERVER_ERROR, err.to_string())
    }

    /// Opens the three databases, inserts a user, and serves; returns the address and the
    /// user's id.
    pub(super) async fn start(
        data_dir: &Path,
        stop: CancellationToken,
    ) -> (std::net::SocketAddr, Uuid) {
        let open = |module: &str, migrator| {
            let path = data_dir.join(format!("{module}.db"));
            async move { Pools::open(&path, migrator).await }
        };
        let users = open(users_api::NAME, &USERS).await;
        let orders = open(orders_api::NAME, &ORDERS).await;
        let payments = open(payments_api::NAME, &PAYMENTS).await;

        let user_id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO users (id, email, email_key, name, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(user_id)
        .bind("buyer@example.com")
        .bind("buyer@example.com")
        .bind("Buyer")
        .bind(Utc::now())
        .execute(&users.writer)
        .await
        .expect("a user is inserted");
        for (db, subscriber) in [(&orders, payments_api::NAME), (&payments, orders_api::NAME)] {
            sqlx::query("INSERT INTO outbox_cursor (subscriber, last_seq) VALUES (?, 0)")
                .bind(subscriber)
                .execute(&db.writer)
                .await
                .expect("a cursor is inserted");
        }

        let placed = Arc::new(Notify::new());
        tokio::spawn(settle(
            orders.clone(),
            payments,
            placed.clone(),
            stop.clone(),
        ));
        let app = Router::new()
            .route(orders_api::PATH, post(place))
            .with_state(App {
                users,
                orders,
                placed,
            });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("a bound address");
        let server = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned());
        tokio::spawn(async move { server.await });
        (addr, user_id)
    }

    /// POST /orders: check the buyer, write the order and its event, answer 201.
    async fn place(
        State(app): State<App>,
        Json(order): Json<PlaceOrder>,
    ) -> Result<impl IntoResponse, Failure> {
        let total_cents = order
            .items
            .iter()
            .try_fold(0i64, |sum, item| {
                let line = item
                    .unit_price_cents
                    .checked_mul(i64::from(item.quantity))?;
                (item.quantity > 0 && item.unit_price_cents >= 0).then_some(sum.checked_add(line)?)
            })
            .filter(|_| !order.items.is_empty() && order.currency.len() == 3)
            .ok_or((StatusCode::UNPROCESSABLE_ENTITY, "invalid order".into()))?;

        // The users store's SELECT, decoded into the same types.
        let buyer: Option<(Uuid, String, String, DateTime<Utc>)> =
            sqlx::query_as("SELECT id, email, name, created_at FROM users WHERE id = ?")
                .bind(order.user_id)
                .fetch_optional(&app.users.reader)
                .await
                .map_err(internal)?;
        if buyer.is_none() {
            return Err((StatusCode::UNPROCESSABLE_ENTITY, "unknown user".into()));
        }

        let now = Utc::now();
        let order = Order {
            id: Uuid::now_v7(),
            user_id: order.user_id,
            currency: order.currency,
            items: order.items,
            total_cents,
            status: OrderStatus::Pending,
            created_at: now,
            updated_at: now,
        };
        let event = OrderPlaced {
            order_id: order.id,
            user_id: order.user_id,
            amount_cents: order.total_cents,
            currency: order.currency.clone(),
        };
        let mut tx = app.orders.writer.begin().await.map_err(internal)?;
        sqlx::query(
            "INSERT INTO orders (id, user_id, currency, items, total_cents, status, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
        )
        .bind(order.id)
        .bind(order.user_id)
        .bind(&order.currency)
        .bind(serde_json::to_string(&order.items).map_err(internal)?)
        .bind(order.total_cents)
        .bind(order.created_at)
        .bind(order.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        append(
            &mut tx,
            Uuid::now_v7(),
            OrderPlaced::TOPIC,
            serde_json::to_string(&event).map_err(internal)?,
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        app.placed.notify_one();
        Ok((
            StatusCode::CREATED,
            [(LOCATION, order_path(order.id))],
            Json(order),
        ))
    }

    /// Appends event `id` to the outbox of the transaction's database; returns its seq.
    async fn append(
        tx: &mut sqlx::SqliteConnection,
        id: Uuid,
        topic: &str,
        payload: String,
    ) -> sqlx::Result<i64> {
        let done = sqlx::query(
            "INSERT INTO outbox (id, topic, occurred_at, request_id, payload) VALUES (?, ?, ?, NULL, ?)",
        )
        .bind(id)
        .bind(topic)
        .bind(Utc::now())
        .bind(payload)
        .execute(tx)
        .await?;
        Ok(done.last_insert_rowid())
    }

    /// Records an event id as applied; `false` if it already was.
    async fn first_delivery(tx: &mut sqlx::SqliteConnection, id: Uuid) -> sqlx::Result<bool> {
        let done =
            sqlx::query("INSERT OR IGNORE INTO inbox (event_id, processed_at) VALUES (?, ?)")
                .bind(id)
                .bind(Utc::now())
                .execute(tx)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Pays placed orders until `stop`, a batch at a time.
    async fn settle(orders: Pools, payments: Pools, placed: Arc<Notify>, stop: CancellationToken) {
        let mut after = 0;
        while !stop.is_cancelled() {
            // A failure here stalls the outbox; `Outboxes::wait_empty` then fails the bench.
            match settle_batch(&orders, &payments, after).await {
                Ok(Some(last)) => after = last,
                Ok(None) => tokio::select! {
                    () = placed.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    () = stop.cancelled() => {}
                },
                Err(err) => panic!("bare: settling failed: {err}"),
            }
        }
    }

    /// Settles the orders placed after outbox seq `after`; returns the last seq, if any.
    async fn settle_batch(
        orders: &Pools,
        payments: &Pools,
        after: i64,
    ) -> sqlx::Result<Option<i64>> {
        let rows: Vec<(i64, Uuid, String)> = sqlx::query_as(
            "SELECT seq, id, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after)
        .bind(BATCH)
        .fetch_all(&orders.reader)
        .await?;
        let Some(&(last, _, _)) = rows.last() else {
            return Ok(None);
        };

        // Payments: each order charged once, with its outcome event, in one transaction.
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut last_outcome = None;
        let mut tx = payments.writer.begin().await?;
        for (_, event_id, payload) in &rows {
            if !first_delivery(&mut tx, *event_id).await? {
                continue;
            }
            let placed: OrderPlaced =
                serde_json::from_str(payload).map_err(|err| sqlx::Error::Decode(err.into()))?;
            let payment_id = Uuid::now_v7();
            let authorized = placed.amount_cents <= LIMIT_CENTS;
            let charged = sqlx::query(
                "INSERT INTO payments (id, order_id, amount_cents, currency, status, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING",
            )
            .bind(payment_id)
            .bind(placed.order_id)
            .bind(placed.amount_cents)
            .bind(&placed.currency)
            .bind(if authorized { "authorized" } else { "declined" })
            .bind(Utc::now())
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !charged {
                continue;
            }
            let order_id = placed.order_id;
            let (topic, payload, status) = if authorized {
                let event = PaymentAuthorized {
                    payment_id,
                    order_id,
                };
                (
                    PaymentAuthorized::TOPIC,
                    serde_json::to_string(&event),
                    "paid",
                )
            } else {
                let event = PaymentDeclined {
                    payment_id,
                    order_id,
                    reason: format!("amount exceeds the limit of {LIMIT_CENTS} cents"),
                };
                (
                    PaymentDeclined::TOPIC,
                    serde_json::to_string(&event),
                    "payment_failed",
                )
            };
            let payload = payload.map_err(|err| sqlx::Error::Encode(err.into()))?;
            let outcome_id = Uuid::now_v7();
            last_outcome = Some(append(&mut tx, outcome_id, topic, payload).await?);
            outcomes.push((outcome_id, order_id, status));
        }
        tx.commit().await?;

        // Orders: apply the outcomes and forget the delivered events, in one transaction.
        let mut tx = orders.writer.begin().await?;
        for (outcome_id, order_id, status) in &outcomes {
            if first_delivery(&mut tx, *outcome_id).await? {
                sqlx::query(
                    "UPDATE orders SET status = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
                )
                .bind(status)
                .bind(Utc::now())
                .bind(order_id)
                .execute(&mut *tx)
                .await?;
            }
        }
        forget_delivered(&mut tx, payments_api::NAME, last).await?;
        tx.commit().await?;

        // Payments: its outcome events are applied.
        if let Some(seq) = last_outcome {
            let mut tx = payments.writer.begin().await?;
            forget_delivered(&mut tx, orders_api::NAME, seq).await?;
            tx.commit().await?;
        }
        Ok(Some(last))
    }

    /// Moves `subscriber`'s cursor to `seq` and deletes the outbox rows up to it.
    async fn forget_delivered(
        tx: &mut sqlx::SqliteConnection,
        subscriber: &str,
        seq: i64,
    ) -> sqlx::Result<()> {
        sqlx::query("UPDATE outbox_cursor SET last_seq = ? WHERE subscriber = ?")
            .bind(seq)
            .bind(subscriber)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM outbox WHERE seq <= ?")
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

fn post_orders(c: &mut Criterion) {
    // As `cleave::run` does: the all-in-one records its metrics, as in production.
    runtime::metrics::install();
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .expect("an HTTP client");
    let targets = [all_in_one(&client, &http), bare(&client)];
    let names = targets.each_ref().map(|target| target.name);
    let mut rotation = Rotation {
        targets,
        http,
        samples: Vec::new(),
        taken: 0,
    };

    let mut group = c.benchmark_group("post_orders");
    group
        .throughput(Throughput::Elements(1))
        .sampling_mode(SamplingMode::Flat);
    for (i, name) in names.into_iter().enumerate() {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| client.block_on(rotation.sample(iters, i)));
        });
    }
    group.finish();
    rotation.report();
    for target in rotation.targets {
        target.finish(&client);
    }
}

criterion_group! {
    name = benches;
    config = config();
    targets = post_orders
}
criterion_main!(benches);
