//! What wakes a module's relay when a write that put events in its outbox has committed,
//! so that the events leave at once rather than at the relay's next poll.

use std::sync::Arc;

use tokio::sync::watch;

/// Shared by a module's database, which signals, and its relay, which waits.
#[derive(Clone, Debug)]
pub struct EventsCommitted(Arc<watch::Sender<u64>>);

impl Default for EventsCommitted {
    fn default() -> Self {
        Self(Arc::new(watch::channel(0).0))
    }
}

impl EventsCommitted {
    /// A write with events has committed.
    pub(crate) fn signal(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// What a relay waits on.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}
