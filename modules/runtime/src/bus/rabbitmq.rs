//! RabbitMQ as the event bus between processes.
//!
//! One durable topic exchange, [`EXCHANGE`], and one durable queue per consuming module,
//! `cleave.events.<module>`, bound to it by `<module>.#`. The relay publishes each event of
//! a consuming module's batch with the routing key `<module>.<topic>`, persistent and
//! mandatory, on a channel in confirm mode, and moves its cursor only once the broker has
//! confirmed every one. A message the broker could not route (the queue is gone: a broker
//! on a new store) comes back, fails the publish, and the queues are declared again before
//! the next.
//!
//! The queues are classic durable queues, and the messages persistent: the broker confirms
//! such a message once it is on disk. Quorum queues were tried first and dropped: on
//! RabbitMQ 3.10 (Debian 12), a quorum queue declared a moment before its node was killed
//! came back without a leader and never delivered again, and a single node gains nothing
//! from their replication. Classic queues have no delivery limit, so a message that keeps
//! failing is never dropped.
//!
//! A [`RabbitConsumer`] receives with manual acknowledgements and a prefetch of [`BATCH`]
//! messages, applies what has arrived through the module's handler, and acknowledges after
//! that commit. A message that failed or cannot be decoded is handed back (`basic.nack`,
//! requeued) after [`REQUEUE_DELAY`], while the rest flows past it. Every process declares
//! the exchange, every module's queue and its binding whenever it connects, so that no
//! event is published before the queue that keeps it exists.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::Acker;
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::bus::{self, Consumer, Consumes, Received, Retry};
use crate::db::Db;
use crate::events::{EventError, EventHandler};
use crate::metrics::PEER_RECEIVED_BYTES;
use vocab::events::Envelope;

/// The exchange every event that crosses processes goes through.
pub const EXCHANGE: &str = "cleave.events";
/// The broker's name in the peer counters, beside the modules' names.
const PEER: &str = "rabbitmq";
/// How many unacknowledged messages the broker sends a consumer: a batch's worth.
const BATCH: u16 = 100;
/// How long a message that failed waits before it is handed back to the queue.
pub const REQUEUE_DELAY: Duration = Duration::from_secs(1);
/// How long connecting, declaring, or confirming a batch may take before the connection is
/// taken as lost and made again: a broker that accepts connections while it boots, or
/// stops answering, must not hold a relay or a consumer for ever.
const TIMEOUT: Duration = Duration::from_secs(10);
/// AMQP's `delivery-mode` of a message written to disk.
const PERSISTENT: u8 = 2;

/// The queue of `module`'s events.
pub fn queue(module: &str) -> String {
    format!("{EXCHANGE}.{module}")
}

/// The routing key of a topic's events for `consumer`.
pub fn routing_key(consumer: &str, topic: &str) -> String {
    format!("{consumer}.{topic}")
}

/// A process's view of the broker: where it is, and every queue to declare.
#[derive(Clone)]
pub struct Bus {
    url: String,
    name: String,
    consumers: Arc<[Consumes]>,
}

impl Bus {
    /// The broker at `url` (`amqp://user:password@host:5672/%2f`); each publisher and
    /// consumer connects on first use, and again after a lost connection.
    pub fn connect(url: &str, name: &str, consumers: Vec<Consumes>) -> Self {
        Self {
            url: url.to_owned(),
            name: name.to_owned(),
            consumers: consumers.into(),
        }
    }

    /// A new connection and channel, with the exchange and every module's queue declared.
    async fn open(&self) -> anyhow::Result<(Connection, Channel)> {
        tokio::time::timeout(TIMEOUT, self.declare())
            .await
            .map_err(|_| anyhow::anyhow!("the broker did not answer within {TIMEOUT:?}"))?
    }

    async fn declare(&self) -> anyhow::Result<(Connection, Channel)> {
        let properties =
            ConnectionProperties::default().with_connection_name(self.name.clone().into());
        let connection = Connection::connect(&self.url, properties).await?;
        let channel = connection.create_channel().await?;
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        channel
            .exchange_declare(
                EXCHANGE.into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await?;
        // Named, so that a broker whose default queue type is quorum makes the same queue.
        let mut classic = FieldTable::default();
        classic.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("classic".into()),
        );
        for consumes in self.consumers.iter() {
            let name = queue(consumes.module);
            let durable = QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            };
            channel
                .queue_declare(name.as_str().into(), durable, classic.clone())
                .await?;
            channel
                .queue_bind(
                    name.as_str().into(),
                    EXCHANGE.into(),
                    format!("{}.#", consumes.module).into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        Ok((connection, channel))
    }
}

impl bus::Bus for Bus {
    fn publisher(&self, _producer: &'static str, consumer: &'static str) -> Arc<dyn EventHandler> {
        Arc::new(RabbitPublisher {
            bus: self.clone(),
            consumer,
            session: Mutex::new(None),
        })
    }

    fn consumer(
        &self,
        consumes: Consumes,
        handler: Arc<dyn EventHandler>,
        _db: Db,
    ) -> Box<dyn Consumer> {
        Box::new(RabbitConsumer {
            bus: self.clone(),
            consumes,
            handler,
        })
    }
}

/// Publishes a relay's batches for one consuming module.
struct RabbitPublisher {
    bus: Bus,
    consumer: &'static str,
    /// The connection and its channel in confirm mode; made again after any failure.
    session: Mutex<Option<(Connection, Channel)>>,
}

impl RabbitPublisher {
    async fn publish(&self, batch: &[Envelope]) -> anyhow::Result<usize> {
        let mut session = self.session.lock().await;
        if session.is_none() {
            let (connection, channel) = self.bus.open().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            *session = Some((connection, channel));
        }
        let Some((_, channel)) = &*session else {
            unreachable!("the session was just opened");
        };
        let sent = tokio::time::timeout(TIMEOUT, send(channel, self.consumer, batch))
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("no confirmation within {TIMEOUT:?}")));
        if sent.is_err() {
            // The connection may be broken, or a queue gone: start afresh next time.
            if let Some((connection, _)) = session.take() {
                let _closed = connection.close(0, "publish failed".into()).await;
            }
        }
        sent
    }
}

/// Publishes `batch`, then waits for the broker's confirmation of every event: a batch
/// costs one round trip, not one per event.
async fn send(channel: &Channel, consumer: &str, batch: &[Envelope]) -> anyhow::Result<usize> {
    let mut bytes = 0;
    let mut confirms = Vec::with_capacity(batch.len());
    // Mandatory: a message no queue takes comes back instead of vanishing.
    let mandatory = BasicPublishOptions {
        mandatory: true,
        ..BasicPublishOptions::default()
    };
    for envelope in batch {
        let payload = serde_json::to_vec(envelope)?;
        bytes += payload.len();
        let properties = BasicProperties::default()
            .with_delivery_mode(PERSISTENT)
            .with_content_type("application/json".into())
            .with_message_id(format!("{consumer}/{}", envelope.id).into());
        let confirm = channel
            .basic_publish(
                EXCHANGE.into(),
                routing_key(consumer, &envelope.topic).into(),
                mandatory,
                &payload,
                properties,
            )
            .await?;
        confirms.push(confirm);
    }
    for confirm in confirms {
        match confirm.await? {
            Confirmation::Ack(None) => {}
            Confirmation::Ack(Some(returned)) | Confirmation::Nack(Some(returned)) => {
                anyhow::bail!("the broker returned an event: {}", returned.reply_text);
            }
            Confirmation::Nack(None) => anyhow::bail!("the broker refused an event"),
            Confirmation::NotRequested => anyhow::bail!("the channel is not in confirm mode"),
        }
    }
    Ok(bytes)
}

#[async_trait]
impl EventHandler for RabbitPublisher {
    async fn handle(&self, batch: &[Envelope]) -> Result<(), EventError> {
        bus::published(PEER, self.publish(batch).await)
    }

    /// The events are applied by the consumer's [`RabbitConsumer`], which counts them.
    fn applies(&self) -> bool {
        false
    }
}

/// Applies one module's events from its queue until shut down.
struct RabbitConsumer {
    bus: Bus,
    consumes: Consumes,
    handler: Arc<dyn EventHandler>,
}

#[async_trait]
impl Consumer for RabbitConsumer {
    async fn run(self: Box<Self>, shutdown: CancellationToken) {
        let module = self.consumes.module;
        let retry = Retry::new();
        bus::consume_until_shutdown(module, &shutdown, &retry, || {
            Box::pin(self.consume(&shutdown, &retry))
        })
        .await;
        tracing::debug!(consumer = module, "event consumer stopped");
    }
}

impl RabbitConsumer {
    /// Receives until `shutdown` (`Ok`) or until the connection fails (`Err`).
    async fn consume(&self, shutdown: &CancellationToken, retry: &Retry) -> anyhow::Result<()> {
        let module = self.consumes.module;
        let (connection, channel) = self.bus.open().await?;
        channel.basic_qos(BATCH, BasicQosOptions::default()).await?;
        let deliveries = channel
            .basic_consume(
                queue(module).as_str().into(),
                format!("{}-{module}", self.bus.name).into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        // Whatever has arrived is applied together, in one transaction of the consumer.
        let mut chunks = deliveries.ready_chunks(usize::from(BATCH));
        let ended = loop {
            let chunk = tokio::select! {
                chunk = chunks.next() => chunk,
                () = shutdown.cancelled() => break Ok(()),
            };
            let Some(chunk) = chunk else {
                break Err(anyhow::anyhow!("the broker ended the consumer"));
            };
            let mut batch = Vec::with_capacity(chunk.len());
            let mut failure = None;
            for item in chunk {
                match item {
                    Ok(delivery) => batch.push(delivery),
                    Err(err) => failure = Some(err),
                }
            }
            if !batch.is_empty() {
                self.apply(batch).await;
                retry.applied();
            }
            if let Some(err) = failure {
                break Err(err.into());
            }
        };
        // Unacknowledged messages go back to the queue with the connection.
        let _closed = connection.close(0, "consumer stopped".into()).await;
        ended
    }

    /// Applies a batch, then acknowledges it; or hands it back, after a delay.
    async fn apply(&self, deliveries: Vec<lapin::message::Delivery>) {
        let module = self.consumes.module;
        let mut envelopes = Vec::with_capacity(deliveries.len());
        let mut applied = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            metrics::counter!(PEER_RECEIVED_BYTES, "peer" => PEER)
                .increment(delivery.data.len() as u64);
            match self.consumes.read(&delivery.data) {
                Received::Event(envelope) => {
                    envelopes.push(envelope);
                    applied.push(delivery.acker);
                }
                Received::Foreign => acknowledge(&delivery.acker).await,
                Received::Undecodable(err) => {
                    tracing::warn!(consumer = module, routing_key = %delivery.routing_key, error = %err, "undecodable event; it will come again");
                    requeue_later(delivery.acker);
                }
            }
        }
        if envelopes.is_empty() {
            return;
        }
        match self.consumes.apply(&*self.handler, &envelopes).await {
            Ok(()) => {
                for acker in &applied {
                    acknowledge(acker).await;
                }
            }
            Err(_) => applied.into_iter().for_each(requeue_later),
        }
    }
}

/// A lost acknowledgement only means the broker delivers the message again once the
/// connection is gone, which the inbox turns into a no-op.
async fn acknowledge(acker: &Acker) {
    if let Err(err) = acker.ack(BasicAckOptions::default()).await {
        tracing::debug!(error = %err, "acknowledgement not sent");
    }
}

/// Hands the message back to the queue after [`REQUEUE_DELAY`], without holding up the
/// messages behind it; should the connection close first, the broker requeues it then.
fn requeue_later(acker: Acker) {
    tokio::spawn(async move {
        tokio::time::sleep(REQUEUE_DELAY).await;
        let requeue = BasicNackOptions {
            requeue: true,
            ..BasicNackOptions::default()
        };
        if let Err(err) = acker.nack(requeue).await {
            tracing::debug!(error = %err, "message not handed back");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::{queue, routing_key};

    #[test]
    fn a_module_s_queue_takes_every_topic_routed_to_it() {
        assert_eq!(queue("payments"), "cleave.events.payments");
        assert_eq!(
            routing_key("payments", "orders.order_placed"),
            "payments.orders.order_placed"
        );
    }
}
