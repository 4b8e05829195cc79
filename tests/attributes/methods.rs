//! The shapes of function the attributes accept: methods, generic functions, trait impls,
//! `impl Trait` parameters, and the `Send`-ness of what they return.

use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{SharedCache, cache_put, cached, invalidate};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::support::backend::Backend;
use crate::support::wait::bounded;

/// A service holding its own cache, as applications write them.
pub struct Accounts {
    cache: SharedCache,
    tenant: String,
    reads: AtomicUsize,
    writes: u32,
}

impl Accounts {
    fn new(b: &Backend, tenant: &str) -> Self {
        Accounts {
            cache: b.cache.clone(),
            tenant: format!("{}:{tenant}", b.ns),
            reads: AtomicUsize::new(0),
            writes: 0,
        }
    }

    #[cached(key = "{self.tenant}:balance:{id}", ttl = 60, cache = self.cache)]
    async fn balance(&self, id: u32) -> Result<i64, String> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(i64::from(id) * 100)
    }

    /// `&mut self`: the body mutates a field while the cache is borrowed.
    #[cached(key = "{self.tenant}:audit:{id}", cache = self.cache)]
    async fn audit(&mut self, id: u32) -> u32 {
        self.writes += 1;
        id + self.writes
    }

    #[cache_put(key = "{self.tenant}:balance:{id}", cache = self.cache)]
    async fn deposit(&mut self, id: u32, amount: i64) -> Result<i64, String> {
        self.writes += 1;
        Ok(i64::from(id) * 100 + amount)
    }

    #[invalidate(key = "{self.tenant}:balance:{id}", cache = self.cache)]
    async fn close(&mut self, id: u32) -> Result<(), String> {
        self.writes += 1;
        let _ = id;
        Ok(())
    }
}

pub async fn methods_use_their_own_cache_and_receiver_fields(b: Backend) {
    let mut acme = Accounts::new(&b, "acme");
    let globex = Accounts::new(&b, "globex");

    assert_eq!(acme.balance(1).await, Ok(100));
    assert_eq!(acme.balance(1).await, Ok(100));
    assert_eq!(acme.reads.load(Ordering::SeqCst), 1);
    assert_eq!(
        b.stored(&b.key("acme:balance:1")).await.as_deref(),
        Some("100")
    );
    // `{self.tenant}` keeps tenants apart.
    assert_eq!(globex.balance(1).await, Ok(100));
    assert_eq!(globex.reads.load(Ordering::SeqCst), 1);

    assert_eq!(acme.audit(5).await, 6);
    assert_eq!(acme.audit(5).await, 6, "a hit");
    assert_eq!(acme.writes, 1);
    assert_eq!(b.stored(&b.key("acme:audit:5")).await.as_deref(), Some("6"));

    assert_eq!(acme.deposit(1, 5).await, Ok(105));
    assert_eq!(acme.balance(1).await, Ok(105), "the put is a hit");
    assert_eq!(acme.reads.load(Ordering::SeqCst), 1);

    acme.close(1).await.unwrap();
    assert_eq!(b.stored(&b.key("acme:balance:1")).await, None);
    assert_eq!(acme.writes, 3);
    assert!(b.stored(&b.key("globex:balance:1")).await.is_some());
}

/// Generic over the cache, the key's type and the value, with a `where` clause.
#[cached(key = "{ns}:generic:{id}", ttl = "1h", cache = cache)]
async fn generic_load<C, I, T>(cache: &C, calls: &AtomicUsize, ns: &str, id: I) -> Option<T>
where
    C: Cache,
    I: Display + Send + Sync,
    T: Serialize + DeserializeOwned + From<u8>,
{
    calls.fetch_add(1, Ordering::SeqCst);
    let _ = id;
    Some(T::from(7))
}

pub async fn generic_functions_with_where_clauses(b: Backend) {
    let calls = AtomicUsize::new(0);
    let value: Option<u64> = generic_load(&b.cache, &calls, &b.ns, "x").await;
    assert_eq!(value, Some(7));
    let again: Option<u64> = generic_load(&b.cache, &calls, &b.ns, "x").await;
    assert_eq!(again, Some(7));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(b.stored(&b.key("generic:x")).await.as_deref(), Some("7"));

    // Another instantiation, on the concrete cache type behind a reference, another key.
    let float: Option<f64> = generic_load(&&b.cache, &calls, &b.ns, 42_u16).await;
    assert_eq!(float, Some(7.0));
    assert_eq!(b.stored(&b.key("generic:42")).await.as_deref(), Some("7.0"));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// A repository trait with an `async fn`, implemented with `#[cached]` on the impl.
trait Repository {
    async fn find(&self, id: u32) -> Option<String>;
    async fn save(&self, id: u32, name: &str) -> Result<String, String>;
}

struct CachedRepository {
    cache: SharedCache,
    ns: String,
    calls: AtomicUsize,
}

impl Repository for CachedRepository {
    #[cached(key = "{self.ns}:repo:{id}", cache = self.cache)]
    async fn find(&self, id: u32) -> Option<String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Some(format!("row {id}"))
    }

    #[cache_put(key = "{self.ns}:repo:{id}", cache = self.cache)]
    async fn save(&self, id: u32, name: &str) -> Result<String, String> {
        Ok(format!("{name} {id}"))
    }
}

/// Through the trait only, as generic callers see it.
async fn find_twice(repo: &impl Repository, id: u32) -> (Option<String>, Option<String>) {
    (repo.find(id).await, repo.find(id).await)
}

pub async fn trait_impl_methods(b: Backend) {
    let repo = CachedRepository {
        cache: b.cache.clone(),
        ns: b.ns.clone(),
        calls: AtomicUsize::new(0),
    };
    let row = Some("row 1".to_owned());
    assert_eq!(find_twice(&repo, 1).await, (row.clone(), row));
    assert_eq!(repo.calls.load(Ordering::SeqCst), 1);
    assert_eq!(repo.save(1, "renamed").await, Ok("renamed 1".to_owned()));
    assert_eq!(repo.find(1).await.as_deref(), Some("renamed 1"));
    assert_eq!(repo.calls.load(Ordering::SeqCst), 1);
}

/// `impl Trait` parameters that are not part of the key.
#[cached(key = "{ns}:hook:{id}", cache = cache)]
async fn with_hooks(
    cache: &SharedCache,
    ns: &str,
    id: u32,
    format: impl Fn(u32) -> String + Send + Sync,
    extra: impl IntoIterator<Item = u32>,
) -> String {
    let sum: u32 = extra.into_iter().sum();
    format(id + sum)
}

pub async fn impl_trait_parameters_outside_the_key(b: Backend) {
    let first = with_hooks(&b.cache, &b.ns, 1, |n| format!("<{n}>"), [1, 2]).await;
    assert_eq!(first, "<4>");
    assert_eq!(
        b.stored(&b.key("hook:1")).await.as_deref(),
        Some(r#""<4>""#)
    );
    // The key ignores them: another closure and another iterator still hit.
    let second = with_hooks(&b.cache, &b.ns, 1, |n| format!("[{n}]"), vec![10]).await;
    assert_eq!(second, "<4>");
}

#[cached(key = "{ns}:send:{id}", ttl = Duration::from_secs(60), cache = cache)]
async fn send_read(cache: SharedCache, ns: String, id: u32) -> Result<u32, String> {
    tokio::task::yield_now().await;
    Ok(id)
}

#[cache_put(key = "{ns}:send:{id}", cache = cache)]
async fn send_write(cache: SharedCache, ns: String, id: u32) -> Result<u32, String> {
    tokio::task::yield_now().await;
    Ok(id + 1)
}

#[invalidate(key = "{ns}:send:{id}", cache = cache)]
async fn send_remove(cache: SharedCache, ns: String, id: u32) -> Result<(), String> {
    tokio::task::yield_now().await;
    Ok(())
}

/// Compiles only for `Send` futures.
fn assert_send<F: std::future::Future + Send>(future: F) -> F {
    future
}

pub async fn annotated_futures_are_send(b: Backend) {
    let accounts = Arc::new(Accounts::new(&b, "spawned"));
    let limit = Duration::from_secs(5);
    let read = tokio::spawn(send_read(b.cache.clone(), b.ns.clone(), 1));
    assert_eq!(bounded(limit, "a spawned read", read).await.unwrap(), Ok(1));
    let write = tokio::spawn(send_write(b.cache.clone(), b.ns.clone(), 1));
    assert_eq!(bounded(limit, "a spawned put", write).await.unwrap(), Ok(2));
    assert_eq!(b.stored(&b.key("send:1")).await.as_deref(), Some("2"));
    let remove = tokio::spawn(assert_send(send_remove(b.cache.clone(), b.ns.clone(), 1)));
    bounded(limit, "a spawned invalidation", remove)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.stored(&b.key("send:1")).await, None);

    // Methods borrowing an `Arc`'d service, and trait impl methods.
    let method = tokio::spawn({
        let accounts = Arc::clone(&accounts);
        async move { accounts.balance(2).await }
    });
    assert_eq!(
        bounded(limit, "a spawned method", method).await.unwrap(),
        Ok(200)
    );
    let repo = Arc::new(CachedRepository {
        cache: b.cache.clone(),
        ns: b.ns.clone(),
        calls: AtomicUsize::new(0),
    });
    let found = tokio::spawn(async move { repo.find(3).await });
    assert_eq!(
        bounded(limit, "a spawned trait method", found)
            .await
            .unwrap(),
        Some("row 3".to_owned())
    );
}
