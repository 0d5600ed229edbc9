//! Redis Streams as the event bus between processes.
//!
//! Each producer has a stream for each consuming module, `cleave:events:<producer>:<consumer>`,
//! and each consuming module one consumer group, named after it, on every stream of its
//! producers. The relay adds a batch with `XADD`s sent as one pipeline and moves its cursor
//! once Redis has answered every one. A [`RedisConsumer`] reads with `XREADGROUP`, applies
//! a batch through the module's handler, then `XACK`s it and `XDEL`s it, as no other group
//! reads that stream. An entry that is not acknowledged (it failed, or it cannot be
//! decoded, or the process that read it died) stays pending in the group; after
//! [`RECLAIM_IDLE`] any of the module's processes takes it over with `XAUTOCLAIM` and tries
//! again. Nothing is ever trimmed unread.
//!
//! Plain Redis pub/sub is not used: it delivers only to whoever listens at that moment and
//! drops the rest, and cleave promises that no event is lost. Streams keep an entry until
//! it is acknowledged, but only as well as Redis keeps its data: the promise needs
//! `appendonly yes` and `appendfsync always`, which writes every `XADD` to disk before Redis
//! answers it. With `everysec` a crash of Redis may lose the last second of events whose
//! publish the relay already took as confirmed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{StreamAutoClaimOptions, StreamId, StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands, RedisError, Value};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::bus::{self, Consumer, Consumes, Received, Retry, FIRST_RETRY, LAST_RETRY};
use crate::db::Db;
use crate::events::{EventError, EventHandler};
use crate::metrics::PEER_RECEIVED_BYTES;
use vocab::events::Envelope;

/// The broker's name in the peer counters, beside the modules' names.
const PEER: &str = "redis";
/// The field of a stream entry that holds the envelope, as JSON.
const FIELD: &str = "envelope";
const BATCH: usize = 100;
/// How long a read waits for new entries before it looks for entries to reclaim.
const BLOCK: Duration = Duration::from_secs(1);
/// How long an entry stays pending before it is delivered again: to this module's process
/// that failed it, or to another of its processes if the one that read it died. Also the
/// delay before a failed or undecodable entry comes again.
pub const RECLAIM_IDLE: Duration = Duration::from_secs(2);
/// A reply slower than this means the connection is lost. Longer than [`BLOCK`].
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The stream of `producer`'s events for `consumer`.
pub fn stream(producer: &str, consumer: &str) -> String {
    format!("cleave:events:{producer}:{consumer}")
}

/// A process's client of the Redis server; each publisher and consumer has a connection
/// of its own, so that a consumer's blocking read holds up no publish.
#[derive(Clone)]
pub struct Bus {
    client: redis::Client,
}

impl Bus {
    /// The client of the server at `url` (`redis://host:6379`); it connects on first use,
    /// and again after a lost connection.
    ///
    /// # Errors
    /// If the URL is malformed.
    pub fn connect(url: &str, _consumers: Vec<Consumes>) -> anyhow::Result<Self> {
        Ok(Self {
            client: redis::Client::open(url)?,
        })
    }

    fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_min_delay(FIRST_RETRY)
            .set_max_delay(LAST_RETRY)
            .set_number_of_retries(1);
        ConnectionManager::new_lazy_with_config(self.client.clone(), config)
    }
}

impl bus::Bus for Bus {
    fn publisher(&self, producer: &'static str, consumer: &'static str) -> Arc<dyn EventHandler> {
        Arc::new(RedisPublisher {
            bus: self.clone(),
            stream: stream(producer, consumer),
            connection: tokio::sync::Mutex::new(None),
        })
    }

    fn consumer(
        &self,
        consumes: Consumes,
        handler: Arc<dyn EventHandler>,
        _db: Db,
    ) -> Box<dyn Consumer> {
        let streams = consumes
            .producers
            .iter()
            .map(|producer| stream(producer, consumes.module))
            .collect();
        Box::new(RedisConsumer {
            bus: self.clone(),
            // A name of this process's own: what it has read is told apart from what
            // another process of the module has, and reclaimed if this one dies.
            name: format!("{}-{}", consumes.module, Uuid::now_v7()),
            streams,
            consumes,
            handler,
        })
    }
}

/// Adds a relay's batches for one consuming module to its stream.
struct RedisPublisher {
    bus: Bus,
    stream: String,
    /// Made on first use, then reconnecting by itself.
    connection: tokio::sync::Mutex<Option<ConnectionManager>>,
}

impl RedisPublisher {
    async fn publish(&self, batch: &[Envelope]) -> anyhow::Result<usize> {
        let mut connection = {
            let mut slot = self.connection.lock().await;
            match &*slot {
                Some(connection) => connection.clone(),
                None => slot.insert(self.bus.connection()?).clone(),
            }
        };
        let mut bytes = 0;
        // One round trip for the batch; the answer to each `XADD` is the entry's id, given
        // once Redis has written it (to disk first, with `appendfsync always`).
        let mut pipeline = redis::pipe();
        for envelope in batch {
            let payload = serde_json::to_vec(envelope)?;
            bytes += payload.len();
            pipeline.xadd(&self.stream, "*", &[(FIELD, payload)]);
        }
        let ids: Vec<String> = pipeline.query_async(&mut connection).await?;
        anyhow::ensure!(
            ids.len() == batch.len(),
            "Redis confirmed {} of {} events",
            ids.len(),
            batch.len()
        );
        Ok(bytes)
    }
}

#[async_trait]
impl EventHandler for RedisPublisher {
    async fn handle(&self, batch: &[Envelope]) -> Result<(), EventError> {
        bus::published(PEER, self.publish(batch).await)
    }

    /// The events are applied by the consumer's [`RedisConsumer`], which counts them.
    fn applies(&self) -> bool {
        false
    }
}

/// Applies one module's events from its consumer group until shut down.
struct RedisConsumer {
    bus: Bus,
    /// This process's consumer in the module's group.
    name: String,
    /// The streams of the module's producers.
    streams: Vec<String>,
    consumes: Consumes,
    handler: Arc<dyn EventHandler>,
}

#[async_trait]
impl Consumer for RedisConsumer {
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

impl RedisConsumer {
    /// Makes the group on every stream, then reads and reclaims until `shutdown` (`Ok`) or
    /// until Redis fails (`Err`). The groups are made again after every failure, in case
    /// Redis came back on a new store.
    async fn consume(&self, shutdown: &CancellationToken, retry: &Retry) -> anyhow::Result<()> {
        let mut connection = self.bus.connection()?;
        for stream in &self.streams {
            // From the stream's first entry: what was added before the group existed is
            // read too.
            let made: Result<(), RedisError> = connection
                .xgroup_create_mkstream(stream, self.consumes.module, "0")
                .await;
            match made {
                Err(err) if err.code() != Some("BUSYGROUP") => return Err(err.into()),
                _ => {}
            }
        }
        let read = StreamReadOptions::default()
            .group(self.consumes.module, &self.name)
            .count(BATCH)
            .block(usize::try_from(BLOCK.as_millis()).unwrap_or(usize::MAX));
        let new = vec![">"; self.streams.len()];
        let mut reclaimed: Option<Instant> = None;
        loop {
            // Pending entries turn idle enough at most every RECLAIM_IDLE: looking for
            // them at every read would cost a round trip per batch.
            if reclaimed.is_none_or(|at| at.elapsed() >= RECLAIM_IDLE / 2) {
                for stream in &self.streams {
                    self.reclaim(&mut connection, stream).await?;
                }
                reclaimed = Some(Instant::now());
            }
            let reply: Option<StreamReadReply> = tokio::select! {
                reply = connection.xread_options(&self.streams, &new, &read) => reply?,
                () = shutdown.cancelled() => return Ok(()),
            };
            for key in reply.map(|reply| reply.keys).unwrap_or_default() {
                self.apply(&mut connection, &key.key, key.ids).await?;
                retry.applied();
            }
        }
    }

    /// Takes over the entries of `stream` pending for longer than [`RECLAIM_IDLE`], in
    /// this process or another of the module's, and applies them.
    async fn reclaim(
        &self,
        connection: &mut ConnectionManager,
        stream: &str,
    ) -> anyhow::Result<()> {
        let mut start = "0-0".to_owned();
        // Bounded: a few pages a round; the rest waits for the next.
        for _ in 0..10 {
            let reply: redis::streams::StreamAutoClaimReply = connection
                .xautoclaim_options(
                    stream,
                    self.consumes.module,
                    &self.name,
                    u64::try_from(RECLAIM_IDLE.as_millis()).unwrap_or(u64::MAX),
                    &start,
                    StreamAutoClaimOptions::default().count(BATCH),
                )
                .await?;
            if !reply.claimed.is_empty() {
                tracing::debug!(
                    consumer = self.consumes.module,
                    stream,
                    entries = reply.claimed.len(),
                    "pending events reclaimed"
                );
                self.apply(connection, stream, reply.claimed).await?;
            }
            if reply.next_stream_id == "0-0" {
                break;
            }
            start = reply.next_stream_id;
        }
        Ok(())
    }

    /// Applies entries of `stream`, then acknowledges and deletes them; what is not
    /// applied stays pending, to be reclaimed after [`RECLAIM_IDLE`].
    async fn apply(
        &self,
        connection: &mut ConnectionManager,
        stream: &str,
        entries: Vec<StreamId>,
    ) -> anyhow::Result<()> {
        let module = self.consumes.module;
        let mut envelopes = Vec::with_capacity(entries.len());
        let mut done = Vec::with_capacity(entries.len());
        let mut applied = Vec::with_capacity(entries.len());
        for entry in entries {
            let payload = match entry.map.get(FIELD) {
                Some(Value::BulkString(bytes)) => bytes.as_slice(),
                _ => &[],
            };
            metrics::counter!(PEER_RECEIVED_BYTES, "peer" => PEER).increment(payload.len() as u64);
            match self.consumes.read(payload) {
                Received::Event(envelope) => {
                    envelopes.push(envelope);
                    applied.push(entry.id);
                }
                Received::Foreign => done.push(entry.id),
                Received::Undecodable(err) => {
                    tracing::warn!(consumer = module, stream, entry = %entry.id, error = %err, "undecodable event; it will come again");
                }
            }
        }
        if !envelopes.is_empty()
            && self
                .consumes
                .apply(&*self.handler, &envelopes)
                .await
                .is_ok()
        {
            done.extend(applied);
        }
        if !done.is_empty() {
            // Acknowledged, then deleted: no other group reads this stream.
            let () = redis::pipe()
                .atomic()
                .xack(stream, module, &done)
                .ignore()
                .xdel(stream, &done)
                .ignore()
                .query_async(connection)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::stream;

    #[test]
    fn a_stream_holds_one_producers_events_for_one_consumer() {
        assert_eq!(
            stream("payments", "orders"),
            "cleave:events:payments:orders"
        );
    }
}
