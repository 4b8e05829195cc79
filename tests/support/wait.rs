//! Waiting for a condition in tests, with a bound.

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `condition` until it holds, failing the test after `limit`; for things that happen
/// with the passing of time (an entry's TTL running out), never as synchronisation.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !condition().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A bound on an await that should finish: fails the test instead of hanging it.
pub async fn bounded<F: Future>(limit: Duration, what: &str, future: F) -> F::Output {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}"))
}

/// [`eventually`] with a finer poll, for measuring how soon something happens: polls
/// `condition` at once, then between yields for the first millisecond after `since` and every
/// millisecond after that, until it holds; fails the test unless a poll that started within
/// `limit` of `since` saw it, and returns how long after `since` that poll started.
pub async fn seen_within<F, Fut>(
    since: Instant,
    limit: Duration,
    what: &str,
    mut condition: F,
) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    loop {
        let at = since.elapsed();
        let seen = condition().await;
        assert!(
            at < limit,
            "{what} did not happen within {limit:?} (last looked {at:?} after)"
        );
        if seen {
            return at;
        }
        if since.elapsed() < Duration::from_millis(1) {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}
