//! A stand-in for the users module that the test controls: a raw HTTP/1.1 server on a
//! loopback port that answers `GET /users/{id}` with a user after a delay the test can
//! change while it runs, or cuts connections without answering.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the stub does with the `n`th request (from 0) of a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Answers with a user after the stub's current delay.
    User,
    /// Closes the connection without answering, as a process that dies mid-request.
    Cut,
}

type Behaviour = dyn Fn(&str, usize) -> Answer + Send + Sync;

#[derive(Default)]
struct Seen {
    requests: Vec<String>,
}

pub(crate) struct Stub {
    addr: SocketAddr,
    delay_ms: Arc<AtomicU64>,
    seen: Arc<Mutex<Seen>>,
    task: JoinHandle<()>,
}

impl Stub {
    /// Starts a stub that answers every request with a user after `delay`.
    pub(crate) async fn slow(delay: Duration) -> Self {
        Self::start(delay, |_, _| Answer::User).await
    }

    pub(crate) async fn start(
        delay: Duration,
        behaviour: impl Fn(&str, usize) -> Answer + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let delay_ms = Arc::new(AtomicU64::new(millis(delay)));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let behaviour: Arc<Behaviour> = Arc::new(behaviour);
        let task = tokio::spawn({
            let (delay_ms, seen) = (delay_ms.clone(), seen.clone());
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let (delay_ms, seen, behaviour) =
                        (delay_ms.clone(), seen.clone(), behaviour.clone());
                    tokio::spawn(async move {
                        serve(stream, &delay_ms, &seen, &*behaviour).await;
                    });
                }
            }
        });
        Self {
            addr,
            delay_ms,
            seen,
            task,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers from now on after `delay`.
    pub(crate) fn set_delay(&self, delay: Duration) {
        self.delay_ms.store(millis(delay), Ordering::SeqCst);
    }

    /// `METHOD /path` of every request received so far.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().requests.clone()
    }

    /// How many requests of `method` were received so far.
    pub(crate) fn count(&self, method: &str) -> usize {
        let prefix = format!("{method} ");
        self.requests()
            .iter()
            .filter(|r| r.starts_with(&prefix))
            .count()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn millis(delay: Duration) -> u64 {
    u64::try_from(delay.as_millis()).expect("test delays fit in u64")
}

/// Serves one request on `stream`, then closes it.
async fn serve(
    mut stream: TcpStream,
    delay_ms: &AtomicU64,
    seen: &Mutex<Seen>,
    behaviour: &Behaviour,
) {
    let Some((method, path)) = read_request(&mut stream).await else {
        return;
    };
    let nth = {
        let mut seen = seen.lock().unwrap();
        let prefix = format!("{method} ");
        let nth = seen
            .requests
            .iter()
            .filter(|r| r.starts_with(&prefix))
            .count();
        seen.requests.push(format!("{method} {path}"));
        nth
    };
    match behaviour(&method, nth) {
        Answer::Cut => {}
        Answer::User => {
            tokio::time::sleep(Duration::from_millis(delay_ms.load(Ordering::SeqCst))).await;
            let id = path.rsplit('/').next().unwrap_or_default();
            let body = json!({
                "id": id,
                "email": "ada@example.com",
                "name": "Ada",
                "created_at": "2026-01-01T00:00:00Z",
            })
            .to_string();
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            // The caller may have given up already; that is what some tests are about.
            let _ = stream.write_all(response.as_bytes()).await;
        }
    }
}

/// Reads a request's head and body; returns its method and path.
async fn read_request(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let mut words = head.split_whitespace();
    Some((words.next()?.to_owned(), words.next()?.to_owned()))
}
