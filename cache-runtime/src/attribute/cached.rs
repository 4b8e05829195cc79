//! `#[cached]`: the hit path, kept small; a miss goes on in `miss.rs`.

use std::future::Future;
use std::pin::pin;

use tracing::Instrument;

use super::fail_open::FailOpen;
use super::miss::miss;
use super::options::{MissOptions, StoreTtl};
use super::outcome::{self, Answer, Outcome, timed};
use super::shape::ReturnKind;
use super::site::Site;
use crate::port::Cache;

/// `#[cached]`: the value at `key`, or the body's result, loaded once per key and cache at a
/// time in this process, under the key's lease across processes, and stored when its return
/// kind says so. With `enabled` false (a `condition` that did not hold) the body runs and the
/// cache is not touched.
///
/// A hit is one `get`. A value that does not decode (corrupt, or another type since a deploy)
/// is a miss, and the load that follows replaces it. The call runs in its span
/// (`outcome.rs`), which is told at the end how the call was answered.
pub async fn cached<C, R, V, F, T>(
    site: &'static Site,
    cache: &C,
    enabled: bool,
    key: String,
    options: MissOptions<T>,
    kind: ReturnKind<R, V>,
    body: F,
) -> R
where
    C: Cache,
    F: Future<Output = R>,
    T: StoreTtl<V>,
{
    site.register();
    let span = outcome::span(site, &key);
    let answer = async move {
        let mut load = None;
        if !enabled {
            Site::count(&site.loads);
            let result = timed(site, body, &mut load).await;
            return Answer::new(result, Outcome::Bypassed, load);
        }
        let mut fail = FailOpen::default();
        if let Some(Some(raw)) = fail.keep(site, &key, "read", cache.get(&key).await) {
            let decoded = kind.decode(&key, &raw);
            if let Some(value) = fail.keep(site, &key, "decode", decoded) {
                Site::count(&site.hits);
                site.used_cleanly();
                tracing::trace!(target: "cache_aside", function = site.function(), key, "hit");
                return Answer::new(kind.rebuild(value), Outcome::Hit, None);
            }
        }
        tracing::trace!(target: "cache_aside", function = site.function(), key, "miss");
        // Boxed: the state of a miss (single flight, the lease, waiting, storing) would
        // otherwise make the future of every call larger, hits included.
        let body = timed(site, body, &mut load);
        let result = Box::pin(miss(site, cache, key, options, kind, body, &mut fail)).await;
        Answer::new(result, Outcome::of_miss(load.is_some(), &fail), load)
    };
    // Pinned here rather than moved into `instrument`, so that the span can be told the
    // outcome once the call is answered.
    let mut call = pin!(answer.instrument(span));
    let answer = call.as_mut().await;
    answer.record(call.span())
}
