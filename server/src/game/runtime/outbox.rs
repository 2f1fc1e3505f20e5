//! What goes out to a connection: ready-made frames for its bounded queue, and a
//! close signal anyone (room, hub, revocation, shutdown) can raise once.

use axum::extract::ws::Utf8Bytes;
use std::sync::atomic::{AtomicU16, Ordering};
use tokio::sync::Notify;
use whack_shared::protocol::{CloseCode, ServerMsg};

/// Frames queued per connection before it counts as too slow and is closed.
pub const OUT_QUEUE: usize = 256;

/// What the send half of a connection writes.
#[derive(Debug, Clone)]
pub enum Out {
    /// A JSON text frame, serialized once and shared by every receiver.
    Text(Utf8Bytes),
    /// A heartbeat ping.
    Ping,
}

/// Serializes a server message once, ready to fan out.
pub fn encode(msg: &ServerMsg) -> Option<Utf8Bytes> {
    match serde_json::to_string(msg) {
        Ok(text) => Some(Utf8Bytes::from(text)),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialize a server message");
            None
        }
    }
}

/// A one-shot close request: the first code raised wins.
#[derive(Debug, Default)]
pub struct CloseSignal {
    code: AtomicU16,
    notify: Notify,
}

impl CloseSignal {
    /// Asks the connection to close with `code`; later requests are ignored.
    pub fn raise(&self, code: CloseCode) {
        if self
            .code
            .compare_exchange(0, code.code(), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            // Both halves of the connection wait on it.
            self.notify.notify_waiters();
        }
    }

    /// The code raised, if any.
    pub fn code(&self) -> Option<CloseCode> {
        // Only `raise` stores, and only numbers of a `CloseCode`.
        CloseCode::from_code(self.code.load(Ordering::Acquire))
    }

    /// Waits until a close is raised; returns its code.
    pub async fn raised(&self) -> CloseCode {
        loop {
            // Registered before the check, so a raise in between is not missed.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(code) = self.code() {
                return code;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn the_first_close_code_wins() {
        let signal = Arc::new(CloseSignal::default());
        signal.raise(CloseCode::TokenExpired);
        signal.raise(CloseCode::GoingAway);
        assert_eq!(signal.raised().await, CloseCode::TokenExpired);

        let later = Arc::new(CloseSignal::default());
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let later = Arc::clone(&later);
                tokio::spawn(async move { later.raised().await })
            })
            .collect();
        tokio::task::yield_now().await;
        later.raise(CloseCode::ProtocolError);
        for waiter in waiters {
            assert_eq!(waiter.await.ok(), Some(CloseCode::ProtocolError));
        }
    }
}
