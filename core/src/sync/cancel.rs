//! Cancelling network work: a token the app keeps and cancels from any thread; the sync checks
//! it between steps and races it against every request and every wait.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::error::{Error, Result};

/// Cancels an [`enroll`](crate::Store::enroll), [`sync`](crate::Store::sync) or
/// [`fetch_brochure_files`](crate::Store::fetch_brochure_files) in progress. Clones share the
/// same state; once cancelled, a token stays cancelled.
#[derive(Debug, Clone, Default)]
pub struct CancelToken {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Cancels the work using this token (and its clones). The work ends with
    /// [`Error::Cancelled`] at its next step or while waiting for the network.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Fails with [`Error::Cancelled`] if the token is cancelled: checked between steps.
    pub(crate) fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Completes once the token is cancelled.
    pub(crate) async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            // Registered before the flag is read, so a `cancel` between the two is not missed.
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    /// Runs `work` unless the token is cancelled first, in which case `work` is dropped (which
    /// aborts a request in flight) and the result is [`Error::Cancelled`].
    pub(crate) async fn race<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        self.check()?;
        tokio::select! {
            biased;
            () = self.cancelled() => Err(Error::Cancelled),
            result = work => result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn cancelling_ends_a_pending_wait_and_later_work() {
        let token = CancelToken::new();
        let clone = token.clone();
        let waiter = token.race(async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        });
        let canceller = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            clone.cancel();
        };
        let (result, ()) = tokio::join!(waiter, canceller);
        assert!(matches!(result, Err(Error::Cancelled)));
        assert!(token.is_cancelled());
        assert!(matches!(token.check(), Err(Error::Cancelled)));
        assert!(matches!(token.race(async { Ok(1) }).await, Err(Error::Cancelled)));
    }

    #[tokio::test]
    async fn an_uncancelled_token_lets_work_finish() {
        let token = CancelToken::new();
        assert_eq!(token.race(async { Ok(7) }).await.unwrap(), 7);
        assert!(token.check().is_ok());
    }
}
