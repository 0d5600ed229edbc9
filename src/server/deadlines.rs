//! Deadlines on what a client owes its connection: the head of a request within
//! `header_read` of the connection's start (or of the head's first byte, on a kept-alive
//! connection), and the first byte of the next request within `idle` of the previous
//! response. A connection that misses one is closed.
//!
//! hyper's own header timer starts as soon as a connection waits for a request, so it
//! would also close kept-alive connections after `header_read`, and idle clients could not
//! be given longer than slow ones. Here the socket's reads fail once the client is late,
//! and the connection's service says when a request is being served: then the client owes
//! nothing (a body has a timeout of its own, where it is read).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// How long a client may take to send a request's head (request line and headers),
    /// from the connection's start, or on a kept-alive connection from the head's first byte.
    pub header_read: Duration,
    /// How long a kept-alive connection may wait for the first byte of its next request.
    pub idle: Duration,
}

/// The requests of one connection, counted by its service as they start and finish.
#[derive(Debug, Clone, Default)]
pub(super) struct Requests(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    started: AtomicU64,
    finished: AtomicU64,
    /// The connection's task. hyper reads an idle connection only when its socket wakes
    /// it, so a request that finishes wakes it: its next read starts the idle deadline.
    connection: AtomicWaker,
}

impl Requests {
    /// Counts a request as served until the returned guard is dropped.
    pub(super) fn start(&self) -> Serving {
        self.0.started.fetch_add(1, Ordering::Release);
        Serving(self.0.clone())
    }

    /// Started and finished, read in the order that never shows more finished.
    fn counts(&self) -> (u64, u64) {
        let finished = self.0.finished.load(Ordering::Acquire);
        (self.0.started.load(Ordering::Acquire), finished)
    }
}

/// A request being served; finished when dropped (its response is ready).
pub(super) struct Serving(Arc<Counts>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.finished.fetch_add(1, Ordering::Release);
        self.0.connection.wake();
    }
}

/// What the connection is waiting for from its client.
#[derive(Debug, Clone, Copy)]
enum Waiting {
    /// The rest of a request's head, since the instant its wait began.
    Head(Instant),
    /// The first byte of the next request, since the previous response.
    Next(Instant),
    /// Nothing: a request is being served.
    Nothing,
}

/// A connection's socket whose reads fail with `TimedOut` once the client is late.
pub(super) struct Watched<IO> {
    io: IO,
    deadlines: Deadlines,
    requests: Requests,
    waiting: Waiting,
    /// Requests finished when the socket last looked: a change means a response went out.
    finished: u64,
    timer: Pin<Box<Sleep>>,
}

impl<IO> Watched<IO> {
    /// Watches a connection accepted at `accepted`, whose first request is awaited.
    pub(super) fn new(io: IO, deadlines: Deadlines, accepted: Instant, requests: Requests) -> Self {
        Self {
            io,
            deadlines,
            requests,
            waiting: Waiting::Head(accepted),
            finished: 0,
            timer: Box::pin(tokio::time::sleep_until(accepted + deadlines.header_read)),
        }
    }

    /// Catches up with the requests the service started and finished since the last read.
    fn observe_requests(&mut self, cx: &Context<'_>) {
        self.requests.0.connection.register(cx.waker());
        let (started, finished) = self.requests.counts();
        if started != finished {
            self.waiting = Waiting::Nothing;
        } else if finished != self.finished {
            self.waiting = Waiting::Next(Instant::now());
        }
        self.finished = finished;
    }

    fn deadline(&self) -> Option<Instant> {
        match self.waiting {
            Waiting::Head(since) => Some(since + self.deadlines.header_read),
            Waiting::Next(since) => Some(since + self.deadlines.idle),
            Waiting::Nothing => None,
        }
    }

    /// Called when a read found nothing to read: `TimedOut` if the client is late, else
    /// pending, woken by the socket or by the deadline.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(deadline) = self.deadline() else {
            return Poll::Pending;
        };
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client did not send its request in time",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.observe_requests(cx);
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Pending => this.poll_deadline(cx),
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                if let Waiting::Next(_) = this.waiting {
                    this.waiting = Waiting::Head(Instant::now());
                }
                Poll::Ready(Ok(()))
            }
            ready => ready,
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
