//! Kafka as the event bus between processes, through `rskafka`, a Kafka client in Rust.
//!
//! Each producer has a topic for each consuming module, `cleave.events.<producer>.<consumer>`,
//! of one partition. The relay fans an event out, so a topic per consumer costs nothing
//! more, and one partition keeps the producer's commit order for its consumer: a topic
//! per event type would lose the order between types (an order placed, then cancelled),
//! and keying by order id over several partitions keeps it only per order, for a spread
//! that needs a consumer group to divide partitions between processes. The relay
//! produces a batch as one request with `acks=all`, and moves its cursor once the broker
//! has answered with every record's offset.
//!
//! rskafka speaks no consumer-group protocol, so a consuming module's place in each topic
//! is kept where its inbox is: in the module's own database (`broker_offsets`), written
//! after the inbox transaction that applied the batch has committed. A crash between the
//! two makes the batch come again, and the inbox skips it. Kept there, the place goes
//! with the data it describes: a database restored from a backup resumes from its own
//! place. Every process of a module reads the module's topics (with one partition, a
//! group would give each to one process anyway); the inbox makes applying once between
//! them.
//!
//! A partition is a log: a record that is not an envelope cannot be handed back without
//! stopping every record behind it, or writing it again at the log's end, where it
//! would come round forever, once more for each process reading. It is moved instead to
//! the dead-letter topic `<topic>.undecodable`, confirmed there before the place moves
//! past it, and logged and counted, for an operator to read and fix.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use rskafka::client::error::{Error as KafkaError, ProtocolError};
use rskafka::client::partition::{Compression, OffsetAt, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::{Record, RecordAndOffset};
use rskafka::BackoffConfig;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::bus::{self, Consumer, Consumes, Received, Retry, FIRST_RETRY, LAST_RETRY};
use crate::db::{Db, Tx};
use crate::events::{EventError, EventHandler};
use crate::metrics::PEER_RECEIVED_BYTES;
use crate::{on_db, on_tx};
use vocab::events::Envelope;

/// The broker's name in the peer counters, beside the modules' names.
const PEER: &str = "kafka";
/// How long a request is retried (a broker down, a leader being chosen) before it fails,
/// and the relay or the consumer tries again on its own.
const DEADLINE: Duration = Duration::from_secs(5);
/// How long a fetch may wait at the broker for a record before it answers with none. Kafka
/// answers as soon as a record arrives. Some brokers that speak its protocol wait it out
/// even when records are there (tansu 0.6), so that each hop takes up to this long: 100 ms
/// is a fetch per topic ten times a second while nothing comes, where 20 ms cost tansu a
/// fifth of a core idle.
const FETCH_WAIT_MS: i32 = 100;
/// The most a fetch brings back, in bytes.
const FETCH_BYTES: i32 = 1024 * 1024;
/// The most events applied in one transaction.
const BATCH: usize = 100;
/// How long the broker may take to make a topic.
const CREATE_TIMEOUT_MS: i32 = 5_000;

const READ_OFFSET: &str = "SELECT next_offset FROM broker_offsets WHERE topic = $1";
const STORE_OFFSET: &str = "INSERT INTO broker_offsets (topic, next_offset) VALUES ($1, $2) \
     ON CONFLICT (topic) DO UPDATE SET next_offset = excluded.next_offset";

/// The topic of `producer`'s events for `consumer`.
pub fn topic(producer: &str, consumer: &str) -> String {
    format!("cleave.events.{producer}.{consumer}")
}

/// Where the records of `topic` that are not envelopes are kept.
pub fn dead_letters(topic: &str) -> String {
    format!("{topic}.undecodable")
}

/// The brokers of `kafka://host:9092[,host:9092…]`, to bootstrap from.
fn brokers(url: &str) -> anyhow::Result<Vec<String>> {
    let list = url
        .strip_prefix("kafka://")
        .ok_or_else(|| anyhow::anyhow!("`{url}` is not a kafka:// URL"))?
        .trim_end_matches('/');
    let brokers: Vec<String> = list.split(',').map(str::to_owned).collect();
    for broker in &brokers {
        let port = broker.rsplit_once(':').map(|(_, port)| port.parse::<u16>());
        anyhow::ensure!(
            matches!(port, Some(Ok(_))) && !broker.starts_with(':'),
            "`{broker}` in `{url}` is not host:port"
        );
    }
    Ok(brokers)
}

/// A process's way to the Kafka brokers; each publisher and each topic a consumer reads
/// has a client of its own, as a broker answers a connection's requests in turn and a
/// waiting fetch would hold up a produce.
#[derive(Clone)]
pub struct Bus {
    brokers: Vec<String>,
    name: Arc<str>,
}

impl Bus {
    /// The way to the brokers of `url`; it connects on first use, and again after a lost
    /// connection.
    ///
    /// # Errors
    /// If the URL is malformed.
    pub fn connect(url: &str, name: &str) -> anyhow::Result<Self> {
        Ok(Self {
            brokers: brokers(url)?,
            name: Arc::from(name),
        })
    }

    async fn client(&self) -> anyhow::Result<Client> {
        let backoff = BackoffConfig {
            init_backoff: FIRST_RETRY,
            max_backoff: LAST_RETRY,
            base: 2.0,
            deadline: Some(DEADLINE),
        };
        Ok(ClientBuilder::new(self.brokers.clone())
            .client_id(Arc::clone(&self.name))
            .backoff_config(backoff)
            .build()
            .await?)
    }

    /// A client of the one partition of `topic`, made first if it is not there.
    async fn partition(&self, topic: &str) -> anyhow::Result<PartitionClient> {
        let client = self.client().await?;
        // One partition; the broker's own replication factor (-1), so that a cluster
        // replicates as its operator set it up.
        match client
            .controller_client()?
            .create_topic(topic, 1, -1, CREATE_TIMEOUT_MS)
            .await
        {
            Ok(())
            | Err(KafkaError::ServerError {
                protocol_error: ProtocolError::TopicAlreadyExists,
                ..
            }) => {}
            Err(err) => return Err(err.into()),
        }
        Ok(client
            .partition_client(topic, 0, UnknownTopicHandling::Retry)
            .await?)
    }
}

impl bus::Bus for Bus {
    fn publisher(&self, producer: &'static str, consumer: &'static str) -> Arc<dyn EventHandler> {
        Arc::new(KafkaPublisher {
            bus: self.clone(),
            topic: topic(producer, consumer),
            partition: Mutex::new(None),
        })
    }

    fn consumer(
        &self,
        consumes: Consumes,
        handler: Arc<dyn EventHandler>,
        db: Db,
    ) -> Box<dyn Consumer> {
        Box::new(KafkaConsumer {
            bus: self.clone(),
            consumes,
            handler,
            db,
        })
    }
}

/// Produces a relay's batches for one consuming module to its topic.
struct KafkaPublisher {
    bus: Bus,
    topic: String,
    /// Made on first use; dropped after a failure, so that the topic is made again if the
    /// broker came back without it.
    partition: Mutex<Option<Arc<PartitionClient>>>,
}

impl KafkaPublisher {
    async fn publish(&self, batch: &[Envelope]) -> anyhow::Result<usize> {
        let partition = {
            let mut slot = self.partition.lock().await;
            match &*slot {
                Some(partition) => Arc::clone(partition),
                None => Arc::clone(slot.insert(Arc::new(self.bus.partition(&self.topic).await?))),
            }
        };
        let mut bytes = 0;
        let mut records = Vec::with_capacity(batch.len());
        for envelope in batch {
            let value = serde_json::to_vec(envelope)?;
            bytes += value.len();
            records.push(Record {
                key: Some(envelope.id.as_bytes().to_vec()),
                value: Some(value),
                headers: BTreeMap::new(),
                timestamp: envelope.occurred_at,
            });
        }
        let offsets = match partition.produce(records, Compression::NoCompression).await {
            Ok(offsets) => offsets,
            Err(err) => {
                *self.partition.lock().await = None;
                return Err(err.into());
            }
        };
        anyhow::ensure!(
            offsets.len() == batch.len(),
            "Kafka confirmed {} of {} events",
            offsets.len(),
            batch.len()
        );
        Ok(bytes)
    }
}

#[async_trait]
impl EventHandler for KafkaPublisher {
    async fn handle(&self, batch: &[Envelope]) -> Result<(), EventError> {
        bus::published(PEER, self.publish(batch).await)
    }

    /// The events are applied by the consumer's [`KafkaConsumer`], which counts them.
    fn applies(&self) -> bool {
        false
    }
}

/// Applies one module's events from its producers' topics until shut down.
struct KafkaConsumer {
    bus: Bus,
    consumes: Consumes,
    handler: Arc<dyn EventHandler>,
    /// The module's database, where its place in each topic is kept.
    db: Db,
}

#[async_trait]
impl Consumer for KafkaConsumer {
    async fn run(self: Box<Self>, shutdown: CancellationToken) {
        let topics = self
            .consumes
            .producers
            .iter()
            .map(|producer| topic(producer, self.consumes.module));
        futures::future::join_all(topics.map(|topic| self.follow(topic, &shutdown))).await;
        tracing::debug!(consumer = self.consumes.module, "event consumer stopped");
    }
}

impl KafkaConsumer {
    /// Reads and applies `topic` until `shutdown`, starting again after every failure.
    async fn follow(&self, topic: String, shutdown: &CancellationToken) {
        let retry = Retry::new();
        bus::consume_until_shutdown(self.consumes.module, shutdown, &retry, || {
            Box::pin(async {
                self.read(&topic, shutdown, &retry)
                    .await
                    .with_context(|| format!("topic {topic}"))
            })
        })
        .await;
    }

    /// From the module's place in `topic`, fetches, applies and moves the place, until
    /// `shutdown` (`Ok`) or a failure (`Err`): the place is then read again from the
    /// database, so that nothing applied only in part is skipped.
    async fn read(
        &self,
        topic: &str,
        shutdown: &CancellationToken,
        retry: &Retry,
    ) -> anyhow::Result<()> {
        let start = async {
            let partition = self.bus.partition(topic).await?;
            let next = match self.stored(topic).await? {
                Some(next) => next,
                None => partition.get_offset(OffsetAt::Earliest).await?,
            };
            anyhow::Ok((partition, next))
        };
        let (partition, mut next) = tokio::select! {
            started = start => started?,
            () = shutdown.cancelled() => return Ok(()),
        };
        loop {
            let fetched = tokio::select! {
                fetched = partition.fetch_records(next, 1..FETCH_BYTES, FETCH_WAIT_MS) => fetched,
                () = shutdown.cancelled() => return Ok(()),
            };
            let records = match fetched {
                Ok((records, _high_watermark)) => records,
                // Past the log's end or before its start: the broker came back on another
                // store, or dropped old records. From its first record, the inbox skips
                // what was applied.
                Err(KafkaError::ServerError {
                    protocol_error: ProtocolError::OffsetOutOfRange,
                    ..
                }) => {
                    let earliest = partition.get_offset(OffsetAt::Earliest).await?;
                    tracing::warn!(
                        consumer = self.consumes.module,
                        topic,
                        at = next,
                        from = earliest,
                        "the place is not in the topic; reading from its first record"
                    );
                    next = earliest;
                    continue;
                }
                Err(err) => return Err(err.into()),
            };
            // A batch at a time, as the other buses apply them: a fetch after a long
            // absence brings a megabyte of records, which one transaction need not hold.
            let mut records = records.into_iter().peekable();
            while records.peek().is_some() {
                let batch: Vec<RecordAndOffset> = records.by_ref().take(BATCH).collect();
                let last = batch.last().map_or(next, |record| record.offset);
                self.apply(topic, batch).await?;
                next = last + 1;
                self.store(topic, next).await?;
                retry.applied();
            }
        }
    }

    /// Applies the envelopes among `records` and moves the others to the dead letters;
    /// `Err` if either failed, and the records must come again.
    async fn apply(&self, topic: &str, records: Vec<RecordAndOffset>) -> anyhow::Result<()> {
        let module = self.consumes.module;
        let mut envelopes = Vec::with_capacity(records.len());
        let mut undecodable = Vec::new();
        for RecordAndOffset { record, offset } in records {
            let payload = record.value.as_deref().unwrap_or_default();
            metrics::counter!(PEER_RECEIVED_BYTES, "peer" => PEER).increment(payload.len() as u64);
            match self.consumes.read(payload) {
                Received::Event(envelope) => envelopes.push(envelope),
                Received::Foreign => {}
                Received::Undecodable(err) => {
                    tracing::warn!(consumer = module, topic, offset, error = %err, "undecodable event; moved to the dead letters");
                    undecodable.push(record);
                }
            }
        }
        if !undecodable.is_empty() {
            let dead_letters = self.bus.partition(&dead_letters(topic)).await?;
            dead_letters
                .produce(undecodable, Compression::NoCompression)
                .await?;
        }
        if !envelopes.is_empty() {
            self.consumes.apply(&*self.handler, &envelopes).await?;
        }
        Ok(())
    }

    /// The module's place in `topic`: the offset of the next record to apply.
    async fn stored(&self, topic: &str) -> sqlx::Result<Option<i64>> {
        on_db!(&self.db, |pool| sqlx::query_scalar(READ_OFFSET)
            .bind(topic)
            .fetch_optional(pool)
            .await)
    }

    async fn store(&self, topic: &str, next: i64) -> sqlx::Result<()> {
        let topic = topic.to_owned();
        self.db
            .write(move |tx: &mut Tx<'_>| {
                Box::pin(async move {
                    on_tx!(tx, |conn| sqlx::query(STORE_OFFSET)
                        .bind(topic)
                        .bind(next)
                        .execute(conn)
                        .await
                        .map(drop))
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::{brokers, dead_letters, topic};

    #[test]
    fn a_topic_holds_one_producers_events_for_one_consumer() {
        assert_eq!(topic("orders", "payments"), "cleave.events.orders.payments");
        assert_eq!(
            dead_letters(&topic("orders", "payments")),
            "cleave.events.orders.payments.undecodable"
        );
    }

    #[test]
    fn the_url_lists_the_brokers_to_bootstrap_from() {
        assert_eq!(
            brokers("kafka://127.0.0.1:9092").unwrap(),
            ["127.0.0.1:9092"]
        );
        assert_eq!(
            brokers("kafka://a:9092,b:9093/").unwrap(),
            ["a:9092", "b:9093"]
        );
        assert!(brokers("kafka://").is_err());
        assert!(brokers("kafka://a").is_err());
        assert!(brokers("kafka://a:port").is_err());
        assert!(brokers("kafka://:9092").is_err());
    }
}
