//! The cost of one call across a module boundary: orders asking users for a buyer.
//!
//! Group `users_get` asks for the same user six ways, side by side in one run:
//! - `direct_sql`: the SELECT of the users store, run with sqlx on the module's own reader
//!   pool and decoded into the same `User`: no module, no trait.
//! - `in_process`: `UsersApi::get` on the local users module through `Arc<dyn UsersApi>`, what orders
//!   does in the all-in-one. Goal: `in_process − direct_sql` < 1 µs.
//! - `over_http`: `UsersApi::get` through the users module's client to its router served on a
//!   loopback port, what orders does when users runs in another process.
//! - `over_grpc`: `UsersApi::get` through the users module's gRPC client (the same peer
//!   stack) to its gRPC service served on a loopback port over HTTP/2, what orders does
//!   with `--transport grpc`.
//! - `over_http_served`: the same client against the users module as `cleave --role=users`
//!   serves it (`compose::build` + `server::serve`: request id, request span, metrics, panic
//!   guard, fallbacks). Not a goal: `over_http_served − over_http` is what the serving
//!   layers add to a real hop.
//! - `hyper_round_trip`: a minimal hyper 1 client and server exchanging the same bytes (the
//!   user as JSON), the floor under any HTTP hop.
//!   Goal: `over_http − in_process ≤ 1.25 × hyper_round_trip`.
//!
//! The six are measured in rotation. On a shared machine, load drifting between two
//! benchmarks run one after the other moves a ~45 µs query by far more than the sub-µs
//! difference sought, and a round trip by more than the 25 % margin. So each of the six
//! benchmarks takes a sample of all six — a block of `iters` calls of each, back to back,
//! the order of the blocks going through the 720 permutations from sample to sample —
//! and reports its own block to criterion. Each sample's mean per case is kept, and the end
//! of the group prints the goals' figures computed within each sample (median and quartiles
//! over all samples): differences and ratios of blocks run milliseconds apart, which drift
//! does not bias. Blocks rather than one call of each in turn: a case's calls then run in
//! the steady state of a loop, as in a benchmark of its own (a fixed cycle of single calls
//! always ran a case right after the same other one, and measured each partly in what that
//! one left behind). The figures come in wall time, in CPU time of the whole process, and
//! in context switches: on a small VM, most of a loopback call is kernel time (thread
//! hand-offs and the TCP stack), and waking a parked thread adds latency that is not CPU.
//!
//! Before the rotation, each hop's bytes are counted on the wire, through a loopback relay
//! that counts what crosses it each way: request and answer, heads and bodies, per call
//! over a kept-alive connection (HTTP/1 and JSON against HTTP/2 and protobuf).
//!
//! Group `dispatch` is the boundary with nothing behind it: a `UsersApi` whose `get` clones
//! a user held in memory, called through `Arc<dyn UsersApi>` (a virtual call and
//! async-trait's boxed future) and as an inherent async fn. It measures what
//! `in_process − direct_sql` measures, without a SQLite query's noise on top.
//!
//! Client sides run on a current-thread runtime on the bench thread; every server runs on a
//! separate one-worker runtime, so client and server each own a thread as two processes
//! would, and the hyper baseline gets exactly the same arrangement.

mod support;

use std::hint::black_box;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use clap::Parser;
use criterion::{criterion_group, criterion_main, Criterion};
use http::header::{CONTENT_TYPE, HOST};
use http_body_util::{BodyExt, Empty, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use runtime::db::{Db, Location};
use runtime::grpc::server::Server;
use runtime::module::{Apis, Local};
use runtime::peer::{grpc_client, http_client, Peer};
use sqlx::SqlitePool;
use std::sync::atomic::{AtomicU64, Ordering};
use tempfile::TempDir;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;
use users_api::{user_path, NewUser, User, UsersApi, UsersError};
use uuid::Uuid;
use vocab::page::{Page, PageRequest};

use support::{quartiles, Usage};

const PEER_TIMEOUT: Duration = Duration::from_secs(5);

fn config() -> Criterion {
    // A shared, noisy 2-core machine: modest times, enough samples for a stable median.
    Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5))
}

/// The runtime of the calling side: one thread, the bench's own.
fn client_runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

/// The runtime of every server: one worker thread of its own, apart from the client's.
fn server_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-server")
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

fn ada() -> NewUser {
    NewUser {
        email: "ada@example.com".into(),
        name: "Ada Lovelace".into(),
    }
}

/// The users module, open here on SQLite in `dir`.
async fn open_users(dir: &std::path::Path) -> Local {
    users::MODULE
        .open_at(
            &Location::SqliteDir(dir.to_owned()),
            &Apis::default(),
            &users::MODULE.flags_from(&[]),
        )
        .await
        .expect("users opens")
}

fn peer(addr: SocketAddr) -> Peer {
    Peer::new(
        users_api::NAME,
        &format!("http://{addr}"),
        http_client(PEER_TIMEOUT),
    )
}

fn grpc_peer(addr: SocketAddr) -> Peer {
    Peer::new(
        users_api::NAME,
        &format!("http://{addr}"),
        grpc_client(PEER_TIMEOUT),
    )
    .with_deadline(PEER_TIMEOUT)
}

/// The users module's gRPC service serving `api`, as a process serves it (with health and
/// reflection beside it, and no internal token).
fn users_grpc_routes(server: &Runtime, api: &runtime::module::Api) -> axum::Router {
    let mut grpc = Server::default();
    (users::MODULE.grpc.serve)(api, grpc.routes());
    grpc.describe(users::MODULE.grpc.service, users::MODULE.grpc.descriptor);
    server
        .block_on(grpc.router(None))
        .expect("the gRPC routes build")
}

/// A loopback relay to `target` that counts the bytes crossing it: (sent to the server,
/// received from it). Each byte is counted before it is passed on, so once a call has
/// been answered its bytes are in the counts, whether or not the connection closes.
fn counting_relay(server: &Runtime, target: SocketAddr) -> (SocketAddr, Arc<[AtomicU64; 2]>) {
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let totals = counts.clone();
    let addr = server.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("a bound address");
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = TcpStream::connect(target).await.expect("the server");
                let (from_client, to_client) = client.into_split();
                let (from_server, to_server) = upstream.into_split();
                tokio::spawn(pass_on(from_client, to_server, totals.clone(), 0));
                tokio::spawn(pass_on(from_server, to_client, totals.clone(), 1));
            }
        });
        addr
    });
    (addr, counts)
}

/// Copies `from` to `to` until either ends, adding what it copies to `totals[slot]`.
async fn pass_on(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    totals: Arc<[AtomicU64; 2]>,
    slot: usize,
) {
    let mut buf = vec![0; 16 * 1024];
    while let Ok(n @ 1..) = from.read(&mut buf).await {
        totals[slot].fetch_add(n as u64, Ordering::SeqCst);
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Calls `get` through a client made by `client` for the relay `calls` times and returns
/// the bytes per call each way.
fn bytes_per_call(
    runtime: &Runtime,
    server: &Runtime,
    target: SocketAddr,
    client: fn(SocketAddr) -> Arc<dyn UsersApi>,
    id: Uuid,
) -> (f64, f64) {
    const CALLS: u64 = 1_000;
    let (relay, counts) = counting_relay(server, target);
    runtime.block_on(async {
        let api = client(relay);
        for _ in 0..CALLS {
            black_box(api.get(id).await.expect("found"));
        }
    });
    let per_call = |i: usize| counts[i].load(Ordering::SeqCst) as f64 / CALLS as f64;
    (per_call(0), per_call(1))
}

/// `users::store::find`, minus the module: the same SQL, pool and decoding.
async fn find_user(pool: &SqlitePool, id: Uuid) -> Option<User> {
    #[derive(sqlx::FromRow)]
    struct UserRow {
        id: Uuid,
        email: String,
        name: String,
        created_at: DateTime<Utc>,
    }
    let row: Option<UserRow> =
        sqlx::query_as("SELECT id, email, name, created_at FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(pool)
            .await
            .expect("the users table answers");
    row.map(|row| User {
        id: row.id,
        email: row.email,
        name: row.name,
        created_at: row.created_at,
    })
}

/// Serves `app` with plain `axum::serve` on a loopback port of the server runtime.
fn serve_router(server: &Runtime, app: axum::Router) -> SocketAddr {
    server.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("a bound address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    })
}

/// Serves `cleave --role=users` on the server runtime, as the binary composes and serves it.
fn serve_cleave_users(server: &Runtime, data_dir: &Path, stop: CancellationToken) -> SocketAddr {
    let args = cleave::cli::Cli::parse_from([
        "cleave".to_owned(),
        "--role=users".to_owned(),
        "--listen=127.0.0.1:0".to_owned(),
        format!("--data-dir={}", data_dir.display()),
    ])
    .serve;
    server.block_on(async move {
        let composition = cleave::compose::build(&args).await.expect("users composes");
        let listener = TcpListener::bind(args.listen).await.expect("a free port");
        let addr = listener.local_addr().expect("a bound address");
        tokio::spawn(cleave::server::serve(
            listener,
            composition,
            cleave::server::Settings::of(&args),
            stop,
        ));
        addr
    })
}

/// The minimal hyper server: every request gets `body` as JSON.
fn serve_fixed_body(server: &Runtime, body: Bytes) -> SocketAddr {
    server.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("a bound address");
        tokio::spawn(async move {
            // Accepted sockets are left as `axum::serve` leaves them (no TCP_NODELAY), so the
            // baseline differs from the users server only in the code above the socket.
            while let Ok((stream, _)) = listener.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |_request| {
                        let response = hyper::Response::builder()
                            .header(CONTENT_TYPE, "application/json")
                            .body(Full::new(body.clone()));
                        async move { response }
                    });
                    // Ends when the client goes away, at the end of the run.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        addr
    })
}

/// One keep-alive HTTP/1 connection of the minimal hyper client; call on the client runtime,
/// which then drives the connection.
async fn hyper_connect(addr: SocketAddr) -> SendRequest<Empty<Bytes>> {
    let stream = TcpStream::connect(addr).await.expect("the server accepts");
    // As `runtime::peer::http_client` does.
    stream.set_nodelay(true).expect("TCP_NODELAY");
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("an HTTP/1 handshake");
    tokio::spawn(connection);
    sender
}

async fn hyper_get(sender: &mut SendRequest<Empty<Bytes>>, host: &str, path: &str) -> Bytes {
    sender.ready().await.expect("the connection is open");
    let request = hyper::Request::get(path)
        .header(HOST, host)
        .body(Empty::new())
        .expect("a valid request");
    let response = sender.send_request(request).await.expect("an answer");
    assert!(response.status().is_success());
    response
        .into_body()
        .collect()
        .await
        .expect("the whole body")
        .to_bytes()
}

/// A users module with nothing behind its boundary: `get` clones a user kept in memory.
struct InMemoryUsers {
    user: User,
}

impl InMemoryUsers {
    /// The body of `get`, callable without the trait.
    async fn find(&self, id: Uuid) -> Result<User, UsersError> {
        if id == self.user.id {
            Ok(self.user.clone())
        } else {
            Err(UsersError::NotFound)
        }
    }
}

#[async_trait]
impl UsersApi for InMemoryUsers {
    async fn create(&self, _new: NewUser) -> Result<User, UsersError> {
        Err(UsersError::DuplicateEmail)
    }

    async fn get(&self, id: Uuid) -> Result<User, UsersError> {
        self.find(id).await
    }

    async fn list(&self, _page: PageRequest) -> Result<Page<User>, UsersError> {
        Err(UsersError::NotFound)
    }
}

/// The cases of `users_get`, measured in rotation.
#[derive(Clone, Copy)]
enum Case {
    DirectSql,
    InProcess,
    OverHttp,
    OverGrpc,
    OverHttpServed,
    HyperRoundTrip,
}

const N: usize = 6;
const CASES: [Case; N] = [
    Case::DirectSql,
    Case::InProcess,
    Case::OverHttp,
    Case::OverGrpc,
    Case::OverHttpServed,
    Case::HyperRoundTrip,
];

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::DirectSql => "direct_sql",
            Case::InProcess => "in_process",
            Case::OverHttp => "over_http",
            Case::OverGrpc => "over_grpc",
            Case::OverHttpServed => "over_http_served",
            Case::HyperRoundTrip => "hyper_round_trip",
        }
    }
}

/// Every order of the cases (720 of them).
fn orders() -> Vec<[Case; N]> {
    // Every N-digit number in base N whose digits are all different.
    (0..N.pow(N as u32))
        .map(|n| std::array::from_fn(|k| n / N.pow(k as u32) % N))
        .filter(|digits: &[usize; N]| {
            digits.iter().fold(0, |seen, d| seen | 1 << d) == (1 << N) - 1
        })
        .map(|digits| digits.map(|d| CASES[d]))
        .collect()
}

/// Everything the cases call, and what every sample so far measured.
struct Rotation<'a> {
    id: Uuid,
    reader: &'a SqlitePool,
    in_process: &'a dyn UsersApi,
    over_http: &'a dyn UsersApi,
    over_grpc: &'a dyn UsersApi,
    /// `cleave --role=users` keeps its own data dir, where the user has another id.
    over_http_served: &'a dyn UsersApi,
    served_id: Uuid,
    hyper: SendRequest<Empty<Bytes>>,
    hyper_host: String,
    path: String,
    /// The order of the blocks of the next sample is `orders[samples.len() % orders.len()]`.
    orders: Vec<[Case; N]>,
    samples: Vec<Sample>,
}

/// One sample of the rotation: per case (indexed by `Case`), what one call took on average.
struct Sample {
    /// Wall time, in µs.
    wall: [f64; N],
    /// CPU time of all the process's threads, in µs.
    cpu: [f64; N],
    /// Context switches of all the process's threads.
    switches: [f64; N],
}

impl Rotation<'_> {
    async fn call(&mut self, case: Case) {
        let id = black_box(self.id);
        match case {
            Case::DirectSql => {
                black_box(find_user(self.reader, id).await.expect("found"));
            }
            Case::InProcess => {
                black_box(self.in_process.get(id).await.expect("found"));
            }
            Case::OverHttp => {
                black_box(self.over_http.get(id).await.expect("found"));
            }
            Case::OverGrpc => {
                black_box(self.over_grpc.get(id).await.expect("found"));
            }
            Case::OverHttpServed => {
                let id = black_box(self.served_id);
                black_box(self.over_http_served.get(id).await.expect("found"));
            }
            Case::HyperRoundTrip => {
                black_box(hyper_get(&mut self.hyper, &self.hyper_host, &self.path).await);
            }
        }
    }

    /// Runs a block of `iters` calls of every case, and returns the time of `timed`'s.
    async fn sample(&mut self, iters: u64, timed: Case) -> Duration {
        let mut wall = [Duration::ZERO; N];
        let mut sample = Sample {
            wall: [0.0; N],
            cpu: [0.0; N],
            switches: [0.0; N],
        };
        let per_call = |total: f64| total / iters as f64;
        let order = self.orders[self.samples.len() % self.orders.len()];
        for case in order {
            let (start, used) = (Instant::now(), Usage::now());
            for _ in 0..iters {
                self.call(case).await;
            }
            let i = case as usize;
            wall[i] = start.elapsed();
            let used = Usage::now().since(used);
            sample.wall[i] = per_call(wall[i].as_secs_f64() * 1e6);
            sample.cpu[i] = per_call(used.cpu.as_secs_f64() * 1e6);
            sample.switches[i] = per_call(used.switches as f64);
        }
        self.samples.push(sample);
        wall[timed as usize]
    }

    /// Prints the goals' figures, computed within each sample: in wall time, in CPU time
    /// and in context switches.
    fn report(&self) {
        let [direct, local, http, grpc, served, hyper] = CASES.map(|case| case as usize);
        type Figure<'f> = &'f dyn Fn(&[f64; N]) -> f64;
        let row = |label: &str, figure: Figure, goal: &str| {
            let column = |metric: fn(&Sample) -> &[f64; N]| {
                quartiles(self.samples.iter().map(|s| figure(metric(s))), 3)
            };
            println!(
                "  {label:<40} {:<26} {:<26} {:<24} {goal}",
                column(|s| &s.wall),
                column(|s| &s.cpu),
                column(|s| &s.switches),
            );
        };
        println!(
            "users_get in rotation, {} samples; median [quartiles] of per-sample figures",
            self.samples.len()
        );
        println!(
            "  {:<40} {:<26} {:<26} {:<24}",
            "per call", "wall µs", "CPU µs (all threads)", "context switches"
        );
        for case in CASES {
            let i = case as usize;
            row(case.name(), &|s| s[i], "");
        }
        row(
            "boundary: in_process − direct_sql",
            &|s| s[local] - s[direct],
            "goal < 1 µs",
        );
        row(
            "hop: (over_http − in_process) / hyper",
            &|s| (s[http] - s[local]) / s[hyper],
            "goal ≤ 1.25",
        );
        row(
            "hop: (over_grpc − in_process) / hyper",
            &|s| (s[grpc] - s[local]) / s[hyper],
            "",
        );
        row(
            "transport: over_grpc / over_http",
            &|s| s[grpc] / s[http],
            "",
        );
        row(
            "layers: over_http_served − over_http",
            &|s| s[served] - s[http],
            "",
        );
    }
}

fn users_get(c: &mut Criterion) {
    // As `cleave::run` does: the peer client and the served stack record their metrics.
    runtime::metrics::install();
    let client = client_runtime();
    let server = server_runtime();

    // One users database. The calling side and the plain users server each open the module
    // on it, each on its own runtime, as two processes sharing a file would.
    let dir = TempDir::new().expect("a temp dir");
    let local = client.block_on(open_users(dir.path()));
    let in_process: Arc<dyn UsersApi> = local.api.get();
    let user = client
        .block_on(in_process.create(ada()))
        .expect("a user is created");
    let id = user.id;
    let Db::Sqlite(db) = &local.db else {
        unreachable!("the users module was opened on SQLite")
    };
    let reader = db.reader().clone();

    let served_module = server.block_on(open_users(dir.path()));
    let http_addr = serve_router(&server, (users::MODULE.router)(&served_module.api));
    let over_http: Arc<dyn UsersApi> = (users::MODULE.client)(peer(http_addr)).get();
    let grpc_addr = serve_router(&server, users_grpc_routes(&server, &served_module.api));
    let over_grpc: Arc<dyn UsersApi> = (users::MODULE.grpc.client)(grpc_peer(grpc_addr)).get();

    // `cleave --role=users` keeps its own data dir: its user has another id, same shape.
    let stop = CancellationToken::new();
    let cleave_dir = TempDir::new().expect("a temp dir");
    let over_http_served: Arc<dyn UsersApi> = (users::MODULE.client)(peer(serve_cleave_users(
        &server,
        cleave_dir.path(),
        stop.clone(),
    )))
    .get();
    let served_id = client
        .block_on(over_http_served.create(ada()))
        .expect("a user is created")
        .id;

    let body = Bytes::from(serde_json::to_vec(&user).expect("a user serializes"));
    let hyper_addr = serve_fixed_body(&server, body.clone());
    let hyper_host = hyper_addr.to_string();
    let path = user_path(id);
    let mut hyper = client.block_on(hyper_connect(hyper_addr));

    // Every case must answer the same thing, or the comparison means nothing.
    client.block_on(async {
        assert_eq!(find_user(&reader, id).await.as_ref(), Some(&user));
        assert_eq!(in_process.get(id).await.expect("in process"), user);
        assert_eq!(over_http.get(id).await.expect("over HTTP"), user);
        assert_eq!(over_grpc.get(id).await.expect("over gRPC"), user);
        assert_eq!(
            over_http_served.get(served_id).await.expect("served").email,
            user.email
        );
        assert_eq!(hyper_get(&mut hyper, &hyper_host, &path).await, body);
    });

    let http_bytes = bytes_per_call(
        &client,
        &server,
        http_addr,
        |addr| (users::MODULE.client)(peer(addr)).get(),
        id,
    );
    let grpc_bytes = bytes_per_call(
        &client,
        &server,
        grpc_addr,
        |addr| (users::MODULE.grpc.client)(grpc_peer(addr)).get(),
        id,
    );
    println!("users_get bytes on the wire per call (request, answer), kept-alive connection:");
    for (label, (up, down)) in [("over_http", http_bytes), ("over_grpc", grpc_bytes)] {
        println!(
            "  {label:<12} {up:>7.1} B sent  {down:>7.1} B received  {:>7.1} B in all",
            up + down
        );
    }

    let mut rotation = Rotation {
        id,
        reader: &reader,
        in_process: &*in_process,
        over_http: &*over_http,
        over_grpc: &*over_grpc,
        over_http_served: &*over_http_served,
        served_id,
        hyper,
        hyper_host,
        path,
        orders: orders(),
        samples: Vec::new(),
    };
    let mut group = c.benchmark_group("users_get");
    // A benchmark of the rotation runs all six cases but counts one: its wall time is a few
    // times its measurement time, so keep that short. Samples are many: the figures printed
    // at the end are computed over all of them (warm-up samples included).
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    for case in CASES {
        group.bench_function(case.name(), |b| {
            b.iter_custom(|iters| client.block_on(rotation.sample(iters, case)));
        });
    }
    group.finish();
    stop.cancel();
    rotation.report();
}

fn dispatch(c: &mut Criterion) {
    let runtime = client_runtime();
    let user = runtime
        .block_on(async {
            let dir = TempDir::new().expect("a temp dir");
            open_users(dir.path())
                .await
                .api
                .get::<dyn UsersApi>()
                .create(ada())
                .await
        })
        .expect("a user is created");
    let id = user.id;
    let module = Arc::new(InMemoryUsers { user });
    let api: Arc<dyn UsersApi> = module.clone();

    let mut group = c.benchmark_group("dispatch");
    let (module, api) = (&module, &api);
    group.bench_function("inherent_fn", |b| {
        b.to_async(&runtime)
            .iter(|| async move { module.find(black_box(id)).await.expect("found") });
    });
    group.bench_function("dyn_users_api", |b| {
        b.to_async(&runtime)
            .iter(|| async move { api.get(black_box(id)).await.expect("found") });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = users_get, dispatch
}
criterion_main!(benches);
