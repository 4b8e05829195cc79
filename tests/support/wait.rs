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
