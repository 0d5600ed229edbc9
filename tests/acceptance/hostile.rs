//! Hostile clients, over raw sockets: what a client may hold of a process — connections, a
//! head or a body it is slow to send, an idle connection — is bounded, and a flood of such
//! clients leaves the gateway small and its other clients served.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::support::{http_client, poll_until, Options, Shape, Topology};

/// Slack for a loaded machine on top of a deadline the product promises.
const MARGIN: Duration = Duration::from_secs(2);
/// How much earlier than its deadline a client may see a connection cut: the server's
/// clock starts when it accepts, a moment before the client's.
const EARLY: Duration = Duration::from_millis(100);
/// The bound on what the flood adds to the gateway's resident memory. What the process holds
/// idle depends on the binary and its build profile; what a flood adds is what the defences
/// bound, and 1,000 held heads of 300 KB each would add 300 MB.
const FLOOD_RSS_GROWTH_BOUND_KIB: u64 = 40 * 1024;
/// How long the flood may last: its memory is sampled all along.
const FLOOD_AT_MOST: Duration = Duration::from_secs(30);

/// An all-in-one process (which carries the gateway) with `flags`.
async fn start(flags: &[&str]) -> Topology {
    let options = Options {
        args: flags.iter().map(|flag| (*flag).to_owned()).collect(),
        ..Options::default()
    };
    Topology::start_with(Shape::AllInOne, &options).await
}

async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr)
        .await
        .unwrap_or_else(|err| panic!("cannot connect to {addr}: {err}"))
}

async fn send(stream: &mut TcpStream, bytes: &[u8]) {
    stream
        .write_all(bytes)
        .await
        .expect("the server takes the bytes");
}

/// The head of a request for `path` on a connection kept alive.
fn head(method: &str, path: &str) -> String {
    format!("{method} {path} HTTP/1.1\r\nhost: cleave\r\n\r\n")
}

/// The head of a JSON `POST` whose body is `length` bytes.
fn post_head(path: &str, length: u64) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nhost: cleave\r\ncontent-type: application/json\r\n\
         content-length: {length}\r\n\r\n"
    )
}

/// What the server sent until it closed the connection, and how long that took; `None`
/// if the connection is still open after `within`.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<(String, Duration)> {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + within;
    let mut received = Vec::new();
    let mut chunk = [0; 4096];
    for _ in 0..1_000 {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return None,
            // A reset closes it as surely as an end of stream.
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(read)) => received.extend_from_slice(&chunk[..read]),
        }
    }
    Some((
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    ))
}

/// One response read from a connection that stays open (its body sized by
/// `content-length`), within `within`.
async fn read_response(stream: &mut TcpStream, within: Duration) -> String {
    let deadline = tokio::time::Instant::now() + within;
    let mut received = Vec::new();
    let mut chunk = [0; 4096];
    for _ in 0..1_000 {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|value| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(read)) if read > 0 => received.extend_from_slice(&chunk[..read]),
            outcome => panic!(
                "no whole response within {within:?} ({outcome:?}); got {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
    panic!("a response of more than 1000 reads")
}

fn status(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
}

/// Asserts that `response` is the problem `status` with `code`.
fn assert_problem(response: &str, status_code: StatusCode, code: &str) {
    assert_eq!(status(response), status_code.as_u16(), "{response}");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{response}"
    );
    let body: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{response}"));
    assert_eq!(body["code"], code, "{response}");
    assert_eq!(body["status"], status_code.as_u16(), "{response}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_is_late_is_a_408_and_changes_nothing() {
    let timeout = Duration::from_millis(500);
    let app = start(&["--body-read-timeout-ms", "500"]).await;
    let addr = app.gateway().addr();
    let body = format!("{:<100}", r#"{"email":"slow@example.com","name":"Slow"}"#);

    // Shorter than its Content-Length, and then nothing.
    let mut short = connect(addr).await;
    send(
        &mut short,
        (post_head("/users", 100) + &body[..20]).as_bytes(),
    )
    .await;
    let (response, after) = read_until_closed(&mut short, timeout + MARGIN)
        .await
        .expect("a short body is answered");
    assert_problem(&response, StatusCode::REQUEST_TIMEOUT, "body-timeout");
    assert!(after >= timeout - EARLY, "answered after {after:?}");

    // All of it, a byte every 200 ms: 20 s for the whole body.
    let mut slow = connect(addr).await;
    send(&mut slow, post_head("/users", 100).as_bytes()).await;
    let started = Instant::now();
    for byte in body.as_bytes() {
        if slow.write_all(&[*byte]).await.is_err() || started.elapsed() > timeout + MARGIN {
            break;
        }
        let mut peek = [0; 1];
        if let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_millis(200), slow.peek(&mut peek)).await
        {
            break;
        }
    }
    let (response, _) = read_until_closed(&mut slow, MARGIN)
        .await
        .expect("a slow body is answered");
    assert_problem(&response, StatusCode::REQUEST_TIMEOUT, "body-timeout");
    assert!(
        started.elapsed() < timeout + MARGIN,
        "took {:?}",
        started.elapsed()
    );

    let users = app.get("/users").await;
    assert_eq!(users.body["data"], serde_json::json!([]), "{users}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declared_length_over_the_limit_is_a_413_before_the_body_is_sent() {
    // With the default body timeout (30 s), an answer that waited for the body would
    // come far too late.
    let app = start(&[]).await;
    let mut stream = connect(app.gateway().addr()).await;
    send(&mut stream, post_head("/users", 10_000_000_000).as_bytes()).await;
    let (response, after) = read_until_closed(&mut stream, MARGIN)
        .await
        .expect("the head alone is answered");
    assert_problem(&response, StatusCode::PAYLOAD_TOO_LARGE, "body-too-large");
    assert!(after < MARGIN, "took {after:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_slow_to_send_its_head_is_cut_off() {
    let timeout = Duration::from_millis(500);
    let app = start(&["--header-read-timeout-ms", "500"]).await;
    let addr = app.gateway().addr();
    // Part of a head and then nothing, or nothing at all.
    for sent in ["GET /users HTTP/1.1\r\nhost: cleave\r\n", ""] {
        let mut stream = connect(addr).await;
        send(&mut stream, sent.as_bytes()).await;
        let (response, after) = read_until_closed(&mut stream, timeout + MARGIN)
            .await
            .unwrap_or_else(|| panic!("still open after sending {sent:?}"));
        assert_eq!(response, "", "answered after {sent:?}");
        assert!(after >= timeout - EARLY, "cut after {after:?}");
    }
    app.get("/users").await.assert_status(StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kept_alive_connection_waits_longer_than_a_head_may_take_then_closes() {
    let idle = Duration::from_millis(2_000);
    let app = start(&[
        "--header-read-timeout-ms",
        "500",
        "--idle-timeout-ms",
        "2000",
    ])
    .await;
    let mut stream = connect(app.gateway().addr()).await;
    send(&mut stream, head("GET", "/healthz").as_bytes()).await;
    assert_eq!(status(&read_response(&mut stream, MARGIN).await), 200);

    // Idle for longer than a head may take: the next request is still served.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    send(&mut stream, head("GET", "/healthz").as_bytes()).await;
    assert_eq!(status(&read_response(&mut stream, MARGIN).await), 200);

    let (response, after) = read_until_closed(&mut stream, idle + MARGIN)
        .await
        .expect("an idle connection is closed");
    assert_eq!(response, "");
    assert!(after >= idle - EARLY, "closed after {after:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_head_over_the_limit_is_a_431() {
    let app = start(&["--max-header-bytes", "4096"]).await;
    let addr = app.gateway().addr();
    for (padding, expected) in [(3_000, 200), (8_000, 431)] {
        let mut stream = connect(addr).await;
        let request = format!(
            "GET /healthz HTTP/1.1\r\nhost: cleave\r\nx-padding: {}\r\n\r\n",
            "a".repeat(padding)
        );
        send(&mut stream, request.as_bytes()).await;
        let response = read_response(&mut stream, MARGIN).await;
        assert_eq!(status(&response), expected, "{padding} bytes: {response}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_beyond_the_bound_wait_until_one_closes() {
    let app = start(&["--max-connections", "3"]).await;
    let addr = app.gateway().addr();
    // The bound's three places, taken by connections that send nothing (the readiness
    // probe's connection may still hold one for a moment).
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect(addr).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The kernel completes the handshake, but the process does not take the connection.
    let mut waiting = connect(addr).await;
    send(&mut waiting, head("GET", "/healthz").as_bytes()).await;
    let mut byte = [0; 1];
    let early = tokio::time::timeout(Duration::from_millis(700), waiting.peek(&mut byte)).await;
    assert!(early.is_err(), "a fourth connection was served: {early:?}");

    drop(held.pop());
    let response = read_response(&mut waiting, MARGIN).await;
    assert_eq!(status(&response), 200, "{response}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_closes_idle_connections_and_lets_a_request_in_flight_finish() {
    let app = start(&[]).await;
    let process = app.gateway();
    let addr = process.addr();
    let mut idle = connect(addr).await;
    send(&mut idle, head("GET", "/healthz").as_bytes()).await;
    assert_eq!(status(&read_response(&mut idle, MARGIN).await), 200);
    let body = r#"{"email":"late@example.com","name":"Late"}"#;
    let mut in_flight = connect(addr).await;
    send(
        &mut in_flight,
        (post_head("/users", body.len() as u64) + &body[..10]).as_bytes(),
    )
    .await;
    // Let the head arrive, so that the request is in flight before the signal.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let client = async {
        let (response, after) = read_until_closed(&mut idle, MARGIN)
            .await
            .expect("the idle connection is closed");
        assert_eq!(response, "", "closed after {after:?}");
        poll_until("new connections to be refused", MARGIN, || async {
            match TcpStream::connect(addr).await {
                Err(_) => Ok(()),
                Ok(_) => Err("a connection was accepted".to_owned()),
            }
        })
        .await;
        send(&mut in_flight, &body.as_bytes()[10..]).await;
        read_response(&mut in_flight, MARGIN).await
    };
    let (status_code, response) = tokio::join!(process.terminate(Duration::from_secs(10)), client);
    assert_eq!(status(&response), 201, "{response}");
    assert!(
        status_code.success(),
        "SIGTERM ended cleave with {status_code}"
    );
}

/// The CPU time process `pid` has used so far.
fn cpu_time(pid: u32) -> Duration {
    use nix::unistd::{sysconf, SysconfVar};
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process runs");
    // The fields after the command's name, which may hold spaces, start at the third.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("a command name in parentheses")
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    let per_second = sysconf(SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|ticks| u64::try_from(ticks).ok())
        .expect("clock ticks per second");
    Duration::from_millis(ticks * 1_000 / per_second)
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_file_descriptors_the_accept_loop_waits_without_spinning() {
    let app = start(&[]).await;
    let process = app.gateway();
    let (addr, pid) = (process.addr(), process.pid());
    // A few descriptors left to the process, fewer than the connections that come.
    let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the process's descriptors list")
        .count();
    let limit = format!("--nofile={}", open + 8);
    let lowered = std::process::Command::new("prlimit")
        .args([&format!("--pid={pid}"), &limit])
        .status()
        .expect("prlimit runs");
    assert!(lowered.success(), "prlimit {limit} failed: {lowered}");
    let mut held = Vec::new();
    for _ in 0..32 {
        held.push(connect(addr).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let before = cpu_time(pid);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let used = cpu_time(pid) - before;
    assert!(
        used < Duration::from_millis(300),
        "{used:?} of CPU in a second without descriptors"
    );
    let log = process.log_text();
    assert!(
        log.contains("cannot accept connections"),
        "no warning in the log:\n{log}"
    );

    drop(held);
    poll_until("the process to serve again", MARGIN, || async {
        match app
            .try_send(app.request(reqwest::Method::GET, "/healthz"))
            .await
        {
            Ok(reply) if reply.status == StatusCode::OK => Ok(()),
            Ok(reply) => Err(reply.to_string()),
            Err(err) => Err(err.to_string()),
        }
    })
    .await;
}

/// The resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process runs");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

/// The latency of `count` requests for `url`, one after the other, each on a connection
/// of its own, sorted; fails if one is not a 200.
async fn latencies(url: &str, count: usize) -> Vec<Duration> {
    let client = http_client();
    let mut took = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        let response = client
            .get(url)
            .send()
            .await
            .expect("a normal request is answered");
        assert_eq!(response.status(), StatusCode::OK);
        response.bytes().await.expect("its body reads");
        took.push(started.elapsed());
    }
    took.sort();
    took
}

fn p99(sorted: &[Duration]) -> Duration {
    sorted[(sorted.len() * 99).div_ceil(100) - 1]
}

/// The soft limit on open files raised to the hard one: the flood needs thousands of
/// sockets in this process.
fn raise_open_files_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("the limit reads");
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("the soft limit rises to the hard one");
}

/// Sends heads of 300 KiB that never end, 4 KiB every 250 ms, until `stop`; connects
/// again when the server cuts one off.
async fn send_endless_heads(addr: SocketAddr, stop: CancellationToken) {
    const HEAD_BYTES: usize = 300 * 1024;
    const PIECE: [u8; 4096] = [b'a'; 4096];
    for _ in 0..1_000 {
        if stop.is_cancelled() {
            return;
        }
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        if stream
            .write_all(b"GET /users HTTP/1.1\r\nhost: flood\r\nx-padding: ")
            .await
            .is_err()
        {
            continue;
        }
        for _ in 0..HEAD_BYTES / PIECE.len() {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
                () = stop.cancelled() => return,
            }
            if stream.write_all(&PIECE).await.is_err() {
                break;
            }
        }
    }
}

/// The resident memory of process `pid` at its largest until `stop`, sampled every 50 ms.
async fn peak_rss_kib(pid: u32, stop: CancellationToken) -> u64 {
    let mut peak = rss_kib(pid);
    for _ in 0..FLOOD_AT_MOST.as_millis() / 50 {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
            () = stop.cancelled() => break,
        }
        peak = peak.max(rss_kib(pid));
    }
    peak
}

/// The goal for hostile clients, measured: 1,000 connections sending 300 KiB heads that
/// never end and 2,000 idle connections leave the gateway under 64 MiB of resident
/// memory, and other clients served. Run with `--nocapture` to see the figures.
#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_endless_heads_and_idle_connections_leaves_the_gateway_small() {
    const SLOW_CLIENTS: usize = 1_000;
    const IDLE_CLIENTS: usize = 2_000;
    const REQUESTS: usize = 200;
    raise_open_files_limit();
    // The idle connections stay open for the whole measurement.
    let app = start(&["--header-read-timeout-ms", "60000"]).await;
    let gateway = app.gateway();
    let (addr, pid) = (gateway.addr(), gateway.pid());
    let ada = app.create_user("ada@example.com").await;
    let url = format!("{}/users/{ada}", gateway.url());

    latencies(&url, 20).await;
    let before = latencies(&url, REQUESTS).await;
    let rss_before = rss_kib(pid);

    let stop = CancellationToken::new();
    let started = Instant::now();
    let slow = tokio::spawn(join_all(
        (0..SLOW_CLIENTS).map(|_| send_endless_heads(addr, stop.clone())),
    ));
    let peak = tokio::spawn(peak_rss_kib(pid, stop.clone()));
    let mut idle = Vec::with_capacity(IDLE_CLIENTS);
    for _ in 0..IDLE_CLIENTS {
        idle.push(connect(addr).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let during = latencies(&url, REQUESTS).await;
    let flooded_for = started.elapsed();
    stop.cancel();
    let rss_peak = peak.await.expect("the sampler runs");
    slow.await.expect("the slow clients run");
    drop(idle);

    eprintln!(
        "gateway RSS: {rss_before} KiB idle, {rss_peak} KiB at most under the flood; normal \
         requests p99: {:?} before, {:?} during (of {REQUESTS} each)",
        p99(&before),
        p99(&during)
    );
    assert!(
        flooded_for < FLOOD_AT_MOST,
        "the requests took {flooded_for:?}"
    );
    assert!(
        rss_peak.saturating_sub(rss_before) < FLOOD_RSS_GROWTH_BOUND_KIB,
        "{rss_peak} KiB under the flood (from {rss_before} KiB)"
    );
    assert!(
        p99(&during) < Duration::from_secs(1),
        "p99 {:?} during the flood",
        p99(&during)
    );
}
