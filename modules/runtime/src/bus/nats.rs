//! NATS JetStream as the event bus between processes, in place of `POST
//! /internal/events/<module>`.
//!
//! One durable stream, [`STREAM`], holds every event that crosses processes. A producer's
//! relay has a cursor per consuming module, and hands that module's batches to a
//! [`NatsPublisher`] of its own, which publishes them on the subject
//! `cleave.events.<consumer>.<topic>` and waits for the stream's acknowledgement of every
//! event before the relay moves that cursor. The relay, not the broker, fans an event out
//! to its consumers: a consumer in the producer's own process gets it in memory, and no
//! copy waits in the stream for it, whichever modules share a process. The envelope id
//! and the consumer make the `Nats-Msg-Id`, so the batch a crash makes the relay send
//! again is dropped by the stream's duplicate window. Each consuming module has a durable
//! pull consumer named after it, on its own subjects; a [`NatsConsumer`] task applies what it pulls through the
//! module's [`EventHandler`] and acknowledges a message only after the inbox transaction
//! that applied it has committed. A message that fails is handed back with a delay and
//! comes again: the inbox, not the broker, makes applying exactly once.
//!
//! The stream keeps a message until every consumer whose filter matches it has
//! acknowledged it (interest retention). So that no event is published before the
//! consumer that will read it exists, every process that uses the bus creates the stream
//! and every module's consumer before its first publish or pull, and again before the next
//! one after the broker said the stream or a consumer does not exist (a broker started on
//! a new store). What that store held is gone with it; what the outboxes still hold flows.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{self, RetentionPolicy, StorageType};
use async_nats::jetstream::stream::{ConsumerError, ConsumerErrorKind};
use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::{self, AckKind, Message};
use async_trait::async_trait;
use futures::StreamExt;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::bus::{self, Consumer, Consumes, Received, Retry, FIRST_RETRY, LAST_RETRY};
use crate::db::Db;
use crate::events::{EventError, EventHandler};
use crate::metrics::PEER_RECEIVED_BYTES;
use vocab::events::Envelope;

/// The stream of every event that crosses processes.
pub const STREAM: &str = "CLEAVE_EVENTS";
const SUBJECT_PREFIX: &str = "cleave.events";
/// The broker's name in the peer counters, beside the modules' names.
const PEER: &str = "nats";

/// A re-publish within this window of the first is recognised by its `Nats-Msg-Id` and
/// dropped; a relay restarted later than that delivers a duplicate that the consumer's
/// inbox skips.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// How long a consumer may hold a message before the broker delivers it again. Short, as
/// it is also how long the messages that a killed consumer had pulled wait to be
/// delivered to its successor; a batch is applied in far less.
const ACK_WAIT: Duration = Duration::from_secs(5);
const BATCH: usize = 100;
/// A pull request lasts this long and the broker sends a heartbeat at this interval while
/// it has nothing, so a lost connection is noticed within seconds.
const PULL_EXPIRES: Duration = Duration::from_secs(10);
const PULL_HEARTBEAT: Duration = Duration::from_secs(2);

/// The subject of a topic's events for `consumer`.
pub fn subject(consumer: &str, topic: &str) -> String {
    format!("{SUBJECT_PREFIX}.{consumer}.{topic}")
}

/// The subjects the broker filters on for `module`: every topic published for it.
fn filter(module: &str) -> String {
    format!("{SUBJECT_PREFIX}.{module}.>")
}

fn consumer_config(module: &str) -> pull::Config {
    pull::Config {
        durable_name: Some(module.to_owned()),
        description: Some(format!("cleave events applied by {module}")),
        filter_subject: filter(module),
        deliver_policy: DeliverPolicy::All,
        ack_policy: AckPolicy::Explicit,
        ack_wait: ACK_WAIT,
        // Never give up on a message: one that cannot be applied is retried until the
        // consumer is fixed, as the relay retries over HTTP.
        max_deliver: -1,
        ..Default::default()
    }
}

fn stream_config() -> stream::Config {
    stream::Config {
        name: STREAM.to_owned(),
        description: Some("cleave events between modules in different processes".to_owned()),
        subjects: vec![format!("{SUBJECT_PREFIX}.>")],
        retention: RetentionPolicy::Interest,
        storage: StorageType::File,
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    }
}

/// A process's connection to the JetStream bus, shared by its publishers and consumers.
#[derive(Clone)]
pub struct Bus {
    jetstream: jetstream::Context,
    consumers: Arc<[Consumes]>,
    /// Whether the stream and every consumer are known to exist on the broker.
    ready: Arc<Mutex<bool>>,
}

impl Bus {
    /// Connects to the broker at `url` (`nats://host:4222`), as `name`. A broker that is
    /// not up yet is waited for in the background: publishes and pulls fail, and are
    /// retried, until it is. `consumers` lists every consuming module of the deployment,
    /// local or not, so that each one's consumer exists before anything is published.
    pub async fn connect(url: &str, name: &str, consumers: Vec<Consumes>) -> anyhow::Result<Self> {
        let client = async_nats::ConnectOptions::new()
            .name(name)
            .retry_on_initial_connect()
            .reconnect_delay_callback(|attempts| {
                let exponent = u32::try_from(attempts.saturating_sub(1))
                    .unwrap_or(u32::MAX)
                    .min(4);
                (FIRST_RETRY * 2u32.pow(exponent)).min(LAST_RETRY)
            })
            .connect(url)
            .await?;
        Ok(Self {
            jetstream: jetstream::new(client),
            consumers: consumers.into(),
            ready: Arc::new(Mutex::new(false)),
        })
    }

    /// Creates or updates the stream and every consumer, once per process and again after
    /// the broker said they were gone; until that has succeeded, each call tries again.
    async fn ready(&self) -> anyhow::Result<()> {
        let mut ready = self.ready.lock().await;
        if *ready {
            return Ok(());
        }
        self.jetstream
            .create_or_update_stream(stream_config())
            .await?;
        for consumes in self.consumers.iter() {
            self.jetstream
                .create_consumer_on_stream(consumer_config(consumes.module), STREAM)
                .await?;
        }
        tracing::info!(
            stream = STREAM,
            consumers = ?self.consumers.iter().map(|c| c.module).collect::<Vec<_>>(),
            "event stream and consumers ready"
        );
        *ready = true;
        Ok(())
    }

    /// The broker has no stream or consumer by our names: it was started on a new store
    /// (a new volume, say). They are made again before the next publish or pull, instead of
    /// every publish and pull failing until the process restarts.
    async fn gone(&self) {
        let mut ready = self.ready.lock().await;
        if *ready {
            tracing::warn!(
                stream = STREAM,
                "the broker lost the event stream or a consumer; setting them up again"
            );
            *ready = false;
        }
    }
}

impl bus::Bus for Bus {
    fn publisher(&self, _producer: &'static str, consumer: &'static str) -> Arc<dyn EventHandler> {
        Arc::new(NatsPublisher {
            bus: self.clone(),
            consumer,
        })
    }

    fn consumer(
        &self,
        consumes: Consumes,
        handler: Arc<dyn EventHandler>,
        _db: Db,
    ) -> Box<dyn Consumer> {
        Box::new(NatsConsumer {
            bus: self.clone(),
            consumes,
            handler,
        })
    }
}

/// Publishes a relay's batches for one consuming module to the stream.
struct NatsPublisher {
    bus: Bus,
    consumer: &'static str,
}

impl NatsPublisher {
    async fn publish(&self, batch: &[Envelope]) -> anyhow::Result<usize> {
        self.bus.ready().await?;
        let mut bytes = 0;
        let mut acks = Vec::with_capacity(batch.len());
        // Every event is sent before any acknowledgement is awaited: a batch costs one
        // round trip to the broker, not one per event.
        for envelope in batch {
            let payload = serde_json::to_vec(envelope)?;
            bytes += payload.len();
            let message = PublishMessage::build()
                .payload(payload.into())
                .message_id(format!("{}/{}", self.consumer, envelope.id));
            let ack = self
                .bus
                .jetstream
                .send_publish(subject(self.consumer, &envelope.topic), message)
                .await?;
            acks.push(ack);
        }
        for ack in acks {
            if let Err(err) = ack.await {
                if err.kind() == PublishErrorKind::StreamNotFound {
                    self.bus.gone().await;
                }
                return Err(err.into());
            }
        }
        Ok(bytes)
    }
}

#[async_trait]
impl EventHandler for NatsPublisher {
    async fn handle(&self, batch: &[Envelope]) -> Result<(), EventError> {
        bus::published(PEER, self.publish(batch).await)
    }

    /// The events are applied by the consumer's [`NatsConsumer`], which counts them.
    fn applies(&self) -> bool {
        false
    }
}

/// Applies one module's events from its durable consumer until shut down.
struct NatsConsumer {
    bus: Bus,
    consumes: Consumes,
    handler: Arc<dyn EventHandler>,
}

#[async_trait]
impl Consumer for NatsConsumer {
    async fn run(self: Box<Self>, shutdown: CancellationToken) {
        let module = self.consumes.module;
        let retry = Retry::new();
        bus::consume_until_shutdown(module, &shutdown, &retry, || {
            Box::pin(self.consume(&shutdown, &retry))
        })
        .await;
        // Acknowledgements are buffered by the client: send them before the process exits.
        if let Err(err) = self.bus.jetstream.client().flush().await {
            tracing::warn!(consumer = module, error = %err, "acknowledgements not flushed");
        }
        tracing::debug!(consumer = module, "event consumer stopped");
    }
}

impl NatsConsumer {
    /// Pulls until `shutdown` (`Ok`) or until the pull fails (`Err`).
    async fn consume(&self, shutdown: &CancellationToken, retry: &Retry) -> anyhow::Result<()> {
        self.bus.ready().await?;
        let consumer: PullConsumer = match self
            .bus
            .jetstream
            .get_consumer_from_stream(self.consumes.module, STREAM)
            .await
        {
            Ok(consumer) => consumer,
            Err(err) => {
                if not_found(&err) {
                    self.bus.gone().await;
                }
                return Err(err.into());
            }
        };
        let messages = consumer
            .stream()
            .max_messages_per_batch(BATCH)
            .expires(PULL_EXPIRES)
            .heartbeat(PULL_HEARTBEAT)
            .messages()
            .await?;
        // Whatever has arrived is applied together, in one transaction of the consumer.
        let mut chunks = messages.ready_chunks(BATCH);
        loop {
            let chunk = tokio::select! {
                chunk = chunks.next() => chunk,
                () = shutdown.cancelled() => return Ok(()),
            };
            let Some(chunk) = chunk else {
                anyhow::bail!("the pull subscription ended");
            };
            let mut failure = None;
            let mut batch = Vec::with_capacity(chunk.len());
            for item in chunk {
                match item {
                    Ok(message) => batch.push(message),
                    Err(err) => failure = Some(err),
                }
            }
            if !batch.is_empty() {
                self.apply(batch).await;
                retry.applied();
            }
            if let Some(err) = failure {
                return Err(err.into());
            }
        }
    }

    /// Applies a batch, then acknowledges it; or hands it back to be delivered again.
    async fn apply(&self, messages: Vec<Message>) {
        let module = self.consumes.module;
        let mut envelopes = Vec::with_capacity(messages.len());
        let mut applied = Vec::with_capacity(messages.len());
        for message in messages {
            metrics::counter!(PEER_RECEIVED_BYTES, "peer" => PEER)
                .increment(message.payload.len() as u64);
            match self.consumes.read(&message.payload) {
                Received::Event(envelope) => {
                    envelopes.push(envelope);
                    applied.push(message);
                }
                Received::Foreign => acknowledge(&message, AckKind::Ack).await,
                Received::Undecodable(err) => {
                    tracing::warn!(consumer = module, subject = %message.subject, error = %err, "undecodable event; it will come again");
                    acknowledge(&message, AckKind::Nak(Some(redelivery_delay(&message)))).await;
                }
            }
        }
        if envelopes.is_empty() {
            return;
        }
        let outcome = self.consumes.apply(&*self.handler, &envelopes).await;
        for message in &applied {
            let kind = match outcome {
                Ok(()) => AckKind::Ack,
                Err(_) => AckKind::Nak(Some(redelivery_delay(message))),
            };
            acknowledge(message, kind).await;
        }
    }
}

/// Whether the broker answered that the stream or the consumer does not exist.
fn not_found(err: &ConsumerError) -> bool {
    let ConsumerErrorKind::JetStream(err) = err.kind() else {
        return false;
    };
    [ErrorCode::STREAM_NOT_FOUND, ErrorCode::CONSUMER_NOT_FOUND].contains(&err.error_code())
}

/// Backs off with the number of times the broker has delivered the message.
fn redelivery_delay(message: &Message) -> Duration {
    bus::backoff(
        message
            .info()
            .map_or(1, |info| info.delivered.unsigned_abs()),
    )
}

/// A lost acknowledgement only means the broker delivers the message again after
/// [`ACK_WAIT`], which the inbox turns into a no-op.
async fn acknowledge(message: &Message, kind: AckKind) {
    if let Err(err) = message.ack_with(kind).await {
        tracing::debug!(subject = %message.subject, error = %err, "acknowledgement not sent");
    }
}

#[cfg(test)]
mod tests {
    use super::{filter, subject};

    #[test]
    fn a_consumer_reads_every_topic_published_for_it_and_nothing_else() {
        assert_eq!(filter("orders"), "cleave.events.orders.>");
        assert_eq!(
            subject("orders", "payments.payment_authorized"),
            "cleave.events.orders.payments.payment_authorized"
        );
    }
}
