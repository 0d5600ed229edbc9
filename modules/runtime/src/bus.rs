//! A message broker as the event bus between processes, in place of `POST
//! /internal/events/<module>`: NATS JetStream, Redis Streams, RabbitMQ or Kafka, chosen
//! by the scheme of `--event-bus`.
//!
//! Every broker sits behind the same seam, and keeps the same two promises:
//! - A producer's relay hands a consuming module's batch to the broker's [`Bus::publisher`]
//!   for that module, which returns only once the broker has confirmed every event of the
//!   batch (stored it where a crash of the broker keeps it). Only then does the relay move
//!   that module's cursor; a publish that fails is retried by the relay, from the outbox.
//! - A [`Consumer`] task receives the module's events, applies a batch through the module's
//!   [`EventHandler`] (which records each event id in the inbox, in the same transaction),
//!   and acknowledges the messages to the broker only after that commit. What fails is
//!   handed back to the broker to come again later, never dropped (a Kafka record that
//!   cannot be decoded is moved to a dead-letter topic instead: see [`kafka`]): the inbox,
//!   not the broker, makes applying exactly once.
//!
//! The relay, not the broker, fans an event out: it publishes a copy per consuming module
//! that runs in another process, and a consumer in the producer's own process gets the
//! event in memory. So no copy waits in the broker for a module that never reads it there.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::db::Db;
use crate::events::{EventError, EventHandler};
use crate::metrics::{EVENTS_DELIVERED, EVENTS_REJECTED, PEER_REQUESTS, PEER_SENT_BYTES};
use vocab::events::Envelope;

pub mod kafka;
pub mod nats;
pub mod rabbitmq;
pub mod redis;

/// A consuming module: what it consumes, and from which modules.
#[derive(Debug, Clone)]
pub struct Consumes {
    /// Names the module's queue, consumer group or durable consumer on the broker.
    pub module: &'static str,
    pub topics: &'static [&'static str],
    /// The modules that publish what it consumes.
    pub producers: Vec<&'static str>,
}

/// The broker a process talks to, shared by its relays' publishers and its consumers.
pub trait Bus: Send + Sync {
    /// The [`EventHandler`] the relay of `producer` delivers to when its subscriber,
    /// `consumer`, is in another process.
    fn publisher(&self, producer: &'static str, consumer: &'static str) -> Arc<dyn EventHandler>;

    /// The task that applies `consumes.module`'s events with `handler`. `db` is the
    /// module's database, where a broker that keeps no consumer's place of its own has
    /// it kept.
    fn consumer(
        &self,
        consumes: Consumes,
        handler: Arc<dyn EventHandler>,
        db: Db,
    ) -> Box<dyn Consumer>;
}

/// Applies one module's events from the broker until shut down.
#[async_trait]
pub trait Consumer: Send {
    /// Receives and applies until `shutdown`; a batch being applied then is finished and
    /// acknowledged first. A lost connection is retried, backing off to a second.
    async fn run(self: Box<Self>, shutdown: CancellationToken);
}

/// The brokers `--event-bus` accepts, by the scheme of their URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Nats,
    Redis,
    Rabbitmq,
    Kafka,
}

impl Kind {
    /// The broker a URL names, by its scheme; `None` for any other scheme. TLS (`rediss`,
    /// `amqps`) is not built in.
    pub fn of(url: &str) -> Option<Self> {
        let scheme = url.split_once("://")?.0;
        match scheme {
            "nats" => Some(Self::Nats),
            "redis" => Some(Self::Redis),
            "amqp" => Some(Self::Rabbitmq),
            "kafka" => Some(Self::Kafka),
            _ => None,
        }
    }
}

/// Connects to the broker at `url`, as `name`. A broker that is not up yet is waited for
/// in the background: publishes and receives fail, and are retried, until it is.
/// `consumers` lists every consuming module of the deployment, local or not, so that
/// each one's queue exists before anything is published for it.
///
/// # Errors
/// If the URL names no broker cleave speaks to, or is malformed.
pub async fn connect(
    url: &str,
    name: &str,
    consumers: Vec<Consumes>,
) -> anyhow::Result<Arc<dyn Bus>> {
    Ok(match Kind::of(url) {
        Some(Kind::Nats) => Arc::new(nats::Bus::connect(url, name, consumers).await?),
        Some(Kind::Redis) => Arc::new(redis::Bus::connect(url, consumers)?),
        Some(Kind::Rabbitmq) => Arc::new(rabbitmq::Bus::connect(url, name, consumers)),
        Some(Kind::Kafka) => Arc::new(kafka::Bus::connect(url, name)?),
        None => anyhow::bail!("`{url}` names no event bus cleave speaks to"),
    })
}

/// What a consumer makes of one message it received.
pub(crate) enum Received {
    /// An event the module consumes.
    Event(Envelope),
    /// A topic this module no longer consumes, published before it stopped: acknowledged
    /// and left alone.
    Foreign,
    /// Not an envelope at all: a fault in what was sent, handed back to come again, so that
    /// it is seen and fixed, not lost.
    Undecodable(serde_json::Error),
}

impl Consumes {
    pub(crate) fn read(&self, payload: &[u8]) -> Received {
        match serde_json::from_slice::<Envelope>(payload) {
            Ok(envelope) if self.topics.contains(&envelope.topic.as_str()) => {
                Received::Event(envelope)
            }
            Ok(_) => Received::Foreign,
            Err(err) => {
                // Counted where an operator looks, as a batch refused over HTTP is.
                metrics::counter!(EVENTS_REJECTED, "consumer" => self.module).increment(1);
                Received::Undecodable(err)
            }
        }
    }

    /// Applies `envelopes` with `handler`, counting and logging; `Err` means none was
    /// applied and every one must come again.
    pub(crate) async fn apply(
        &self,
        handler: &dyn EventHandler,
        envelopes: &[Envelope],
    ) -> Result<(), EventError> {
        let module = self.module;
        match handler.handle(envelopes).await {
            Ok(()) => {
                metrics::counter!(EVENTS_DELIVERED, "subscriber" => module)
                    .increment(envelopes.len() as u64);
                tracing::debug!(
                    consumer = module,
                    events = envelopes.len(),
                    "events applied"
                );
                Ok(())
            }
            Err(err) => {
                tracing::warn!(consumer = module, error = %err, events = envelopes.len(), "events not applied; they will come again");
                Err(err)
            }
        }
    }
}

// A failed apply, a lost connection and a failed receive back off like the relay does: to
// at most a second, so that recovery is found within a second.
pub(crate) const FIRST_RETRY: Duration = Duration::from_millis(100);
pub(crate) const LAST_RETRY: Duration = Duration::from_secs(1);

/// The pause before attempt `attempt` (1 for the first retry): doubling, to a second.
pub(crate) fn backoff(attempt: u64) -> Duration {
    let exponent = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(4);
    (FIRST_RETRY * 2u32.pow(exponent)).min(LAST_RETRY)
}

/// How long a consumer waits before it starts again after a failure: [`backoff`] of the
/// failures since it last applied a batch. Shared by reference with the attempt that
/// reports the batch, hence atomic.
pub(crate) struct Retry(AtomicU64);

impl Retry {
    pub(crate) fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// A batch was applied: the next failure is retried soon.
    pub(crate) fn applied(&self) {
        self.0.store(0, Ordering::Relaxed);
    }

    /// The pause before the next attempt.
    fn next(&self) -> Duration {
        backoff(self.0.fetch_add(1, Ordering::Relaxed) + 1)
    }
}

/// Runs `attempt` until it ends with `Ok` or `shutdown` comes; each `Err` is logged as
/// `consumer`'s and tried again after `retry`'s pause.
pub(crate) async fn consume_until_shutdown<'a>(
    consumer: &'static str,
    shutdown: &CancellationToken,
    retry: &Retry,
    mut attempt: impl FnMut() -> BoxFuture<'a, anyhow::Result<()>>,
) {
    while !shutdown.is_cancelled() {
        match attempt().await {
            Ok(()) => break,
            Err(err) => {
                let pause = retry.next();
                tracing::warn!(consumer, error = format!("{err:#}"), retry_in = ?pause, "event consumer failed");
                self::pause(pause, shutdown).await;
            }
        }
    }
}

/// Waits `pause`, or less if `shutdown` comes first.
pub(crate) async fn pause(pause: Duration, shutdown: &CancellationToken) {
    tokio::select! {
        () = tokio::time::sleep(pause) => {}
        () = shutdown.cancelled() => {}
    }
}

/// What a publisher answers the relay for a batch it sent to the broker `peer`: one call to
/// that peer in the metrics, and on failure "unavailable", so that the relay keeps its
/// cursor and sends the batch again.
pub(crate) fn published(peer: &'static str, sent: anyhow::Result<usize>) -> Result<(), EventError> {
    match sent {
        Ok(bytes) => {
            metrics::counter!(PEER_REQUESTS, "peer" => peer, "outcome" => "ok").increment(1);
            metrics::counter!(PEER_SENT_BYTES, "peer" => peer).increment(bytes as u64);
            Ok(())
        }
        Err(err) => {
            metrics::counter!(PEER_REQUESTS, "peer" => peer, "outcome" => "unreachable")
                .increment(1);
            Err(EventError::Unavailable(format!("{err:#}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{backoff, Kind, Retry};
    use std::time::Duration;

    #[test]
    fn the_scheme_names_the_broker() {
        assert_eq!(Kind::of("nats://127.0.0.1:4222"), Some(Kind::Nats));
        assert_eq!(Kind::of("redis://127.0.0.1:6379/0"), Some(Kind::Redis));
        assert_eq!(
            Kind::of("amqp://guest:guest@127.0.0.1:5672/%2f"),
            Some(Kind::Rabbitmq)
        );
        assert_eq!(Kind::of("kafka://127.0.0.1:9092"), Some(Kind::Kafka));
        assert_eq!(Kind::of("http://127.0.0.1"), None);
        assert_eq!(Kind::of("rediss://127.0.0.1:6379"), None);
        assert_eq!(Kind::of("127.0.0.1:4222"), None);
    }

    #[test]
    fn retries_back_off_to_a_second() {
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(2), Duration::from_millis(200));
        assert_eq!(backoff(40), Duration::from_secs(1));
    }

    #[test]
    fn a_consumer_retries_soon_again_once_it_has_applied_a_batch() {
        let retry = Retry::new();
        assert_eq!(retry.next(), Duration::from_millis(100));
        assert_eq!(retry.next(), Duration::from_millis(200));
        retry.applied();
        assert_eq!(retry.next(), Duration::from_millis(100));
    }
}
