//! `ttl = |value: &T| ...`: a TTL computed from the value to store, after the body, on
//! `#[cached]` and `#[cache_put]`; a zero means "do not store", and a closure that panics
//! leaves no lease behind.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use cache_aside::{SharedCache, cache_put, cached};
use serde::{Deserialize, Serialize};

use crate::support::backend::Backend;
use crate::support::wait::bounded;
use crate::ttl::assert_ttl_near;

/// An OAuth provider's token: valid for `expires_in` seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Token {
    access: String,
    expires_in: u64,
}

/// What the provider hands out next, and how often it was asked.
pub struct Provider {
    ns: String,
    expires_in: AtomicU64,
    fetches: AtomicUsize,
}

/// Five minutes of margin: a token is cached until five minutes before it expires, and not
/// at all when it has less left (`saturating_sub` gives zero: "do not store").
fn margin(token: &Token) -> Duration {
    Duration::from_secs(token.expires_in.saturating_sub(300))
}

impl Provider {
    fn new(b: &Backend, expires_in: u64) -> Provider {
        Provider {
            ns: b.ns.clone(),
            expires_in: AtomicU64::new(expires_in),
            fetches: AtomicUsize::new(0),
        }
    }

    fn fetch(&self) -> Token {
        let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
        Token {
            access: format!("token {n}"),
            expires_in: self.expires_in.load(Ordering::SeqCst),
        }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    #[cached(
        key = "{self.ns}:token:{user}",
        ttl = |t: &Token| Duration::from_secs(t.expires_in.saturating_sub(300)),
        cache = cache
    )]
    async fn token(&self, cache: &SharedCache, user: u32) -> Result<Token, String> {
        Ok(self.fetch())
    }

    /// The same with an unannotated closure, the type coming from the return kind, and
    /// `std::time::Duration` written in full.
    #[cached(
        key = "{self.ns}:maybe:{user}",
        ttl = |t| std::time::Duration::from_secs(t.expires_in / 2),
        cache = cache
    )]
    async fn maybe(&self, cache: &SharedCache, user: u32) -> Option<Token> {
        Some(self.fetch())
    }

    /// `Result<Option<T>, E>`: the closure takes the `T`.
    #[cached(key = "{self.ns}:found:{user}", ttl = margin, cache = cache)]
    async fn found(&self, cache: &SharedCache, user: u32) -> Result<Option<Token>, String> {
        Ok(Some(self.fetch()))
    }

    /// With `cache_none`, what is stored is the `Option`: a remembered `None` gets a TTL of
    /// its own.
    #[cached(
        key = "{self.ns}:none:{user}",
        cache_none = true,
        ttl = |found: &Option<Token>| match found {
            Some(token) => margin(token),
            None => Duration::from_secs(30),
        },
        cache = cache
    )]
    async fn none(&self, cache: &SharedCache, user: u32) -> Option<Token> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        None
    }

    /// A closure that reads a parameter (by reference, as the body does).
    #[cached(key = "{self.ns}:plain:{seconds}", ttl = |_: &u64| Duration::from_secs(*seconds), cache = cache)]
    async fn plain(&self, cache: &SharedCache, seconds: &u64) -> u64 {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        *seconds
    }

    /// A closure that panics on some values.
    #[cached(
        key = "{self.ns}:panics",
        ttl = |t: &Token| if t.expires_in == 0 { panic!("no expiry") } else { margin(t) },
        cache = cache
    )]
    async fn panics(&self, cache: &SharedCache) -> Result<Token, String> {
        Ok(self.fetch())
    }

    #[cache_put(key = "{self.ns}:token:{user}", ttl = margin, cache = cache)]
    async fn refresh(&self, cache: &SharedCache, user: u32) -> Result<Token, String> {
        Ok(self.fetch())
    }

    #[cache_put(
        key = "{self.ns}:panics",
        ttl = |t: &Token| if t.expires_in == 0 { panic!("no expiry") } else { margin(t) },
        cache = cache
    )]
    async fn refresh_panics(&self, cache: &SharedCache) -> Result<Token, String> {
        Ok(self.fetch())
    }
}

pub async fn the_ttl_is_taken_from_the_stored_value(b: Backend) {
    let provider = Provider::new(&b, 3_900);
    let token = provider.token(&b.cache, 1).await.unwrap();
    assert_eq!(token.access, "token 1");
    assert_ttl_near(&b, "token:1", Duration::from_secs(3_600)).await;
    assert_eq!(provider.token(&b.cache, 1).await.unwrap(), token, "a hit");

    provider.maybe(&b.cache, 1).await.unwrap();
    assert_ttl_near(&b, "maybe:1", Duration::from_secs(1_950)).await;
    provider.found(&b.cache, 1).await.unwrap().unwrap();
    assert_ttl_near(&b, "found:1", Duration::from_secs(3_600)).await;

    assert_eq!(provider.none(&b.cache, 1).await, None);
    assert_eq!(b.stored(&b.key("none:1")).await.as_deref(), Some("null"));
    assert_ttl_near(&b, "none:1", Duration::from_secs(30)).await;

    assert_eq!(provider.plain(&b.cache, &600).await, 600);
    assert_ttl_near(&b, "plain:600", Duration::from_secs(600)).await;
    assert_eq!(provider.fetches(), 5);
}

/// A token with less than the margin left is returned and not stored, and its lease goes
/// back at once: a handle elsewhere loads without waiting for it.
pub async fn a_zero_ttl_stores_nothing_and_gives_the_lease_back(b: Backend) {
    let provider = Provider::new(&b, 200);
    assert_eq!(provider.token(&b.cache, 2).await.unwrap().access, "token 1");
    assert_eq!(b.stored(&b.key("token:2")).await, None);
    // Given back on a task of its own, it may still be there for a moment; the bound is far
    // below the lease's 10 s.
    let again = bounded(
        Duration::from_secs(3),
        "a load after one that did not store",
        provider.token(&b.twin, 2),
    )
    .await;
    assert_eq!(again.unwrap().access, "token 2", "the body ran again");
    assert_eq!(b.stored(&b.key("token:2")).await, None);
}

/// A TTL over the 100 years a cache accepts (a subtraction that wrapped around) is not
/// stored: the caller gets the value, and the call counts an error.
pub async fn an_absurd_ttl_is_not_stored(b: Backend) {
    #[cached(key = "{ns}:absurd", ttl = |_: &u8| Duration::MAX, cache = cache)]
    async fn absurd(cache: &SharedCache, ns: &str) -> u8 {
        7
    }
    let errors =
        || cache_aside::stats_for("attributes::ttl_from_value::absurd").map_or(0, |s| s.errors);
    let before = errors();
    assert_eq!(absurd(&b.cache, &b.ns).await, 7);
    assert_eq!(b.stored(&b.key("absurd")).await, None);
    // The other backend's case may count too: the counters are per function.
    assert!(errors() > before, "counted as an error");
    let again = bounded(
        Duration::from_secs(3),
        "a load after an absurd TTL",
        absurd(&b.twin, &b.ns),
    )
    .await;
    assert_eq!(again, 7, "the lease went back");
}

/// A panicking closure reaches the caller as a panicking body would, and its lease goes
/// back: the next call, elsewhere, loads at once.
pub async fn a_panicking_closure_panics_the_caller_and_gives_the_lease_back(b: Backend) {
    let provider = std::sync::Arc::new(Provider::new(&b, 0));
    let call = tokio::spawn({
        let (provider, cache) = (std::sync::Arc::clone(&provider), b.cache.clone());
        async move { provider.panics(&cache).await }
    });
    let outcome = bounded(Duration::from_secs(10), "the panicking call", call).await;
    assert!(outcome.unwrap_err().is_panic(), "the caller got the panic");
    assert_eq!(b.stored(&b.key("panics")).await, None);

    provider.expires_in.store(3_900, Ordering::SeqCst);
    let again = bounded(
        Duration::from_secs(3),
        "a load after a panicking closure",
        provider.panics(&b.twin),
    )
    .await;
    assert_eq!(again.unwrap().access, "token 2");
    assert_ttl_near(&b, "panics", Duration::from_secs(3_600)).await;
}

/// `#[cache_put]` takes its TTL from the value too; a zero deletes the entry it would have
/// replaced, which is stale now.
pub async fn a_put_takes_its_ttl_from_the_value(b: Backend) {
    let provider = Provider::new(&b, 1_300);
    provider.refresh(&b.cache, 3).await.unwrap();
    assert_ttl_near(&b, "token:3", Duration::from_secs(1_000)).await;
    assert_eq!(provider.token(&b.cache, 3).await.unwrap().access, "token 1");

    provider.expires_in.store(100, Ordering::SeqCst);
    assert_eq!(
        provider.refresh(&b.cache, 3).await.unwrap().access,
        "token 2"
    );
    assert_eq!(b.pttl(&b.key("token:3")).await, -2, "the old token is gone");
    assert_eq!(provider.fetches(), 2);
}

/// A put whose closure panics has run its body all the same: the entry it would have
/// replaced is deleted before the panic reaches the caller.
pub async fn a_put_whose_closure_panics_deletes_the_entry_it_replaces(b: Backend) {
    let provider = std::sync::Arc::new(Provider::new(&b, 3_900));
    provider.panics(&b.cache).await.unwrap();
    assert!(b.stored(&b.key("panics")).await.is_some());
    provider.expires_in.store(0, Ordering::SeqCst);
    let put = tokio::spawn({
        let (provider, cache) = (std::sync::Arc::clone(&provider), b.cache.clone());
        async move { provider.refresh_panics(&cache).await }
    });
    let outcome = bounded(Duration::from_secs(10), "the panicking put", put).await;
    assert!(outcome.unwrap_err().is_panic(), "the caller got the panic");
    assert_eq!(
        b.stored(&b.key("panics")).await,
        None,
        "the old token is gone"
    );
}

/// `ttl = <expression>` that gives zero is "do not store" as well.
pub async fn a_zero_duration_expression_stores_nothing(b: Backend) {
    #[cached(key = "{ns}:zero:{seconds}", ttl = Duration::from_secs(seconds), cache = cache)]
    async fn for_seconds(cache: &SharedCache, calls: &AtomicUsize, ns: &str, seconds: u64) -> u64 {
        calls.fetch_add(1, Ordering::SeqCst);
        seconds
    }
    let calls = AtomicUsize::new(0);
    assert_eq!(for_seconds(&b.cache, &calls, &b.ns, 0).await, 0);
    assert_eq!(for_seconds(&b.cache, &calls, &b.ns, 0).await, 0);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "never stored");
    assert_eq!(b.stored(&b.key("zero:0")).await, None);
    let stats = cache_aside::stats_for("attributes::ttl_from_value::for_seconds").expect("ran");
    assert_eq!(stats.errors, 0, "not storing is no error");
}
