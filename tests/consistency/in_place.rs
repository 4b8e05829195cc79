//! Waiting until a caller is in place (joined a flight, waiting on a lease) before the
//! next step of a test.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long a caller may take to show that it is in place before the test goes on anyway.
const GRACE: Duration = Duration::from_secs(1);

/// Waits until `shown` holds, or [`GRACE`] has passed.
///
/// Today's miss path counts a waiter's miss just before it waits, so `shown` is "its miss
/// is counted" and holds at once; a miss path that counts later has its caller in place
/// long before the grace has passed. Either way the test never fails here.
pub async fn in_place<F, Fut>(mut shown: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + GRACE;
    while !shown().await && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
