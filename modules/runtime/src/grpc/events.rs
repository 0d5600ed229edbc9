//! Event delivery between processes over gRPC: `cleave.events.v1.Events/Deliver`, what
//! `POST /internal/events/{consumer}` is over HTTP. The consumer's handler answers the same
//! way: a batch it cannot decode is refused (`INVALID_ARGUMENT`, HTTP's 400), one it cannot
//! apply now is `UNAVAILABLE` (HTTP's 503); the relay sends either again.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use tonic::{Code, Request, Response, Status};
use vocab::events::Envelope as Event;

use crate::events::{EventError, EventHandler};
use crate::grpc::channel::Channel;
use crate::grpc::vocab::{id, time, timestamp};
use crate::metrics::EVENTS_REJECTED;
use crate::peer::Peer;

#[allow(clippy::all, clippy::pedantic, unreachable_pub)]
mod generated {
    tonic::include_proto!("cleave.events.v1");
}
use generated::events_client::EventsClient;
use generated::events_server::{Events, EventsServer};
use generated::{Batch, Delivered, Envelope};

/// The gRPC service name of event delivery, for health checks.
pub const SERVICE: &str = "cleave.events.v1.Events";

fn envelope(event: &Event) -> Envelope {
    Envelope {
        id: event.id.to_string(),
        topic: event.topic.clone(),
        occurred_at: Some(timestamp(event.occurred_at)),
        request_id: event.request_id.clone(),
        traceparent: event.traceparent.clone(),
        payload_json: event.payload.to_string(),
    }
}

fn event(envelope: Envelope) -> Result<Event, String> {
    Ok(Event {
        id: id(&envelope.id).map_err(|err| err.to_string())?,
        topic: envelope.topic,
        occurred_at: time(envelope.occurred_at).map_err(|err| err.to_string())?,
        request_id: envelope.request_id,
        traceparent: envelope.traceparent,
        payload: serde_json::from_str(&envelope.payload_json)
            .map_err(|err| format!("payload: {err}"))?,
    })
}

/// The local consumers of events from other processes, by module name.
pub fn service(
    consumers: BTreeMap<&'static str, Arc<dyn EventHandler>>,
) -> EventsServer<Deliveries> {
    EventsServer::new(Deliveries { consumers })
        .max_decoding_message_size(crate::events::BATCH_BODY_LIMIT)
}

/// The handlers that apply delivered batches.
pub struct Deliveries {
    consumers: BTreeMap<&'static str, Arc<dyn EventHandler>>,
}

/// A batch a consumer cannot decode. Its producer sends it again until one of the two is
/// fixed, so it is logged and counted where an operator looks.
fn refuse(consumer: &str, detail: String) -> Status {
    tracing::error!(%consumer, %detail, "undecodable event batch refused");
    metrics::counter!(EVENTS_REJECTED, "consumer" => consumer.to_owned()).increment(1);
    Status::invalid_argument(detail)
}

#[async_trait]
impl Events for Deliveries {
    async fn deliver(&self, request: Request<Batch>) -> Result<Response<Delivered>, Status> {
        let batch = request.into_inner();
        let Some(handler) = self.consumers.get(batch.consumer.as_str()) else {
            return Err(Status::not_found(format!(
                "no consumer {:?} here",
                batch.consumer
            )));
        };
        let events = batch
            .events
            .into_iter()
            .map(event)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|detail| refuse(&batch.consumer, detail))?;
        match handler.handle(&events).await {
            Ok(()) => Ok(Response::new(Delivered {})),
            Err(EventError::Unavailable(detail)) => Err(Status::unavailable(detail)),
            Err(EventError::Undecodable(detail)) => Err(refuse(&batch.consumer, detail)),
            Err(err @ EventError::Failed(_)) => Err(Status::internal(err.to_string())),
        }
    }
}

/// A consumer in another process, reached over gRPC.
pub struct GrpcConsumer {
    client: EventsClient<Channel>,
    consumer: String,
}

impl GrpcConsumer {
    pub fn new(peer: Peer, consumer: &str) -> Self {
        Self {
            client: EventsClient::new(Channel::new(peer))
                .max_encoding_message_size(crate::events::BATCH_BODY_LIMIT),
            consumer: consumer.to_owned(),
        }
    }
}

#[async_trait]
impl EventHandler for GrpcConsumer {
    async fn handle(&self, batch: &[Event]) -> Result<(), EventError> {
        let request = Batch {
            consumer: self.consumer.clone(),
            events: batch.iter().map(envelope).collect(),
        };
        match self.client.clone().deliver(request).await {
            Ok(_) => Ok(()),
            Err(status) => Err(match status.code() {
                Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                    EventError::Unavailable(status.message().to_owned())
                }
                Code::InvalidArgument => EventError::Undecodable(status.message().to_owned()),
                _ => EventError::Failed(format!("{:?}: {}", status.code(), status.message())),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_survives_the_round_trip() {
        let sent = Event {
            id: vocab::new_id(),
            topic: "orders.order_placed".into(),
            occurred_at: chrono::Utc::now(),
            request_id: Some("r-1".into()),
            traceparent: None,
            payload: serde_json::json!({"order_id": "x", "amount_cents": 12}),
        };
        let back = event(envelope(&sent)).unwrap();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&sent).unwrap()
        );
        let broken = Envelope {
            payload_json: "{".into(),
            ..envelope(&sent)
        };
        assert!(event(broken).is_err());
    }
}
