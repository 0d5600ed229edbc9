//! Events between modules: the types a contract publishes, and the envelope each one
//! travels in, in an outbox, over HTTP or through a broker.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An event payload type, published under a fixed topic.
pub trait Event: Serialize + DeserializeOwned {
    const TOPIC: &'static str;
}

/// One event as stored in an outbox and delivered to consumers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// Unique per event; consumers record it to apply each event once.
    pub id: Uuid,
    pub topic: String,
    pub occurred_at: DateTime<Utc>,
    /// The request that caused the event, so one request can be followed across modules.
    #[serde(default)]
    pub request_id: Option<String>,
    /// The W3C `traceparent` of the span that caused the event: its consumer handles it in
    /// the same trace. Absent from events stored or sent before events carried a trace.
    #[serde(default)]
    pub traceparent: Option<String>,
    pub payload: serde_json::Value,
}

impl Envelope {
    /// Wraps an event caused by the request `request_id`, in the trace `traceparent`.
    pub fn of<E: Event>(
        event: &E,
        request_id: Option<String>,
        traceparent: Option<String>,
    ) -> Self {
        Self {
            id: crate::new_id(),
            topic: E::TOPIC.to_owned(),
            occurred_at: Utc::now(),
            request_id,
            traceparent,
            payload: serde_json::to_value(event).expect("event types serialize to JSON"),
        }
    }

    /// The payload as `E`, or `None` when this envelope carries another topic.
    pub fn decode<E: Event>(&self) -> Option<Result<E, serde_json::Error>> {
        (self.topic == E::TOPIC).then(|| E::deserialize(&self.payload))
    }
}
