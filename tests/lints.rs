//! The code the attributes generate keeps user lints quiet: this file denies warnings and
//! clippy's pedantic group, and annotates functions of every kind (each attribute, each
//! return kind, methods, generics, `impl Trait` parameters, every `ttl` form (closures and
//! functions of the value included), tags and leases). CI lints it with
//! `cargo clippy --all-targets -- -D warnings`; the test below runs the functions.

#![deny(warnings, clippy::pedantic)]

use std::fmt::Display;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cache_aside::{Cache, MemoryCache, SharedCache, cache_put, cached, invalidate};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

const TTL: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct NotFound;

static LOADS: AtomicU32 = AtomicU32::new(0);

fn load(id: u64) -> User {
    LOADS.fetch_add(1, Ordering::Relaxed);
    User {
        id,
        name: format!("user {id}"),
    }
}

/// `Result`, a template key, `ttl` in seconds.
#[cached(key = "lints:user:{id}", ttl = 3600)]
async fn user(id: u64) -> Result<User, NotFound> {
    if id == 0 {
        return Err(NotFound);
    }
    Ok(load(id))
}

/// `io::Result`, `ttl` as a string, an error type that is not `Clone`.
#[cached(key = "lints:io:{id}", ttl = "15m")]
async fn io_user(id: u64) -> io::Result<User> {
    Ok(load(id))
}

/// `Option`, `ttl` as an expression, `cache_none`.
#[cached(key = "lints:maybe:{id}", ttl = TTL, cache_none = true)]
async fn maybe_user(id: u64) -> Option<User> {
    (id > 0).then(|| load(id))
}

/// `Option` without `cache_none`, a `condition`.
#[cached(key = "lints:some:{id}", condition = id > 1)]
async fn some_user(id: u64) -> Option<User> {
    Some(load(id))
}

/// A plain return type and the default key.
#[cached]
async fn names(prefix: &str, count: u32) -> Vec<String> {
    (0..count).map(|n| format!("{prefix}{n}")).collect()
}

/// No parameters, no `ttl`, unit-less plain value.
#[cached]
async fn answer() -> u64 {
    42
}

/// An early `return`, and a `?` in the body.
#[cached(key = "lints:parsed:{text}")]
async fn parsed(text: &str) -> Result<u64, std::num::ParseIntError> {
    if text.is_empty() {
        return Ok(0);
    }
    let value: u64 = text.trim().parse()?;
    Ok(value)
}

/// An `impl Trait` parameter outside the key, a field path in the key.
#[cached(key = "lints:weighted:{user.id}", ttl = Duration::from_secs(60))]
async fn weighted(user: &User, weight: impl Fn(u64) -> u64 + Send + Sync) -> u64 {
    weight(user.id)
}

/// A generic function with a `where` clause and a generic cache.
#[cached(key = "lints:generic:{id}", cache = cache)]
async fn generic<C, V>(cache: &C, id: V) -> Result<String, NotFound>
where
    C: Cache,
    V: Display + Send + Sync,
{
    Ok(id.to_string())
}

/// A generic cached value.
#[cached(key = "lints:value:{id}")]
async fn value<T>(id: u64, make: fn(u64) -> T) -> Option<T>
where
    T: Serialize + DeserializeOwned + Send,
{
    Some(make(id))
}

#[cache_put(key = "lints:user:{id}", ttl = 3600)]
async fn rename(id: u64, name: String) -> Result<User, NotFound> {
    Ok(User { id, name })
}

#[cache_put(key = "lints:maybe:{id}", cache_none = true)]
async fn clear_maybe(id: u64) -> Option<User> {
    let _ = id;
    None
}

#[invalidate(key = "lints:user:{id}", key = "lints:io:{id}")]
#[invalidate(pattern = "lints:maybe:{id}*")]
async fn delete(id: u64) -> Result<(), NotFound> {
    let _ = id;
    Ok(())
}

/// `ttl` as a closure over the stored value, and as a function's name.
#[cached(key = "lints:token:{id}", ttl = |user: &User| Duration::from_secs(user.id + 60))]
async fn token(id: u64) -> Result<User, NotFound> {
    Ok(load(id))
}

fn user_ttl(user: &User) -> Duration {
    Duration::from_secs(user.id + 60)
}

#[cache_put(key = "lints:token:{id}", ttl = user_ttl)]
async fn refresh_token(id: u64) -> Option<User> {
    Some(load(id))
}

/// `#[invalidate]` on a function returning nothing.
#[invalidate(pattern = "lints:names:*")]
async fn delete_all() {}

/// `tags` and `lease` on `#[cached]`, `tags` on `#[invalidate]`.
#[cached(key = "lints:orders:{id}:{page}", ttl = 600, tags = ["lints:user:{id}"], lease = "2s")]
async fn orders(id: u64, page: u32) -> Result<Vec<u64>, NotFound> {
    Ok(vec![id, u64::from(page)])
}

#[invalidate(tags = ["lints:user:{id}"])]
async fn place_order(id: u64) -> Result<(), NotFound> {
    let _ = id;
    Ok(())
}

/// Public functions, for the lints that look at exported items only (`must_use_candidate`,
/// `missing_errors_doc`, `missing_panics_doc`, `missing_docs`).
pub mod api {
    use cache_aside::{cache_put, cached, invalidate};

    /// Reads a count through the cache.
    ///
    /// # Errors
    /// When `id` is zero.
    #[cached(key = "lints:api:{id}", ttl = "1m")]
    pub async fn count(id: u64) -> Result<u64, String> {
        if id == 0 {
            return Err("zero".to_owned());
        }
        Ok(id * 10)
    }

    /// Reads a label through the cache.
    #[cached]
    #[must_use]
    pub async fn label(id: u64) -> String {
        format!("label {id}")
    }

    /// Writes a count to the cache.
    ///
    /// # Errors
    /// Never.
    #[cache_put(key = "lints:api:{id}")]
    pub async fn set_count(id: u64, count: u64) -> Result<u64, String> {
        let _ = id;
        Ok(count)
    }

    /// Drops a count from the cache.
    ///
    /// # Errors
    /// Never.
    #[invalidate(key = "lints:api:{id}")]
    pub async fn forget(id: u64) -> Result<(), String> {
        let _ = id;
        Ok(())
    }
}

/// A service holding its cache.
struct Users {
    cache: SharedCache,
    tenant: String,
    writes: u32,
}

impl Users {
    #[cached(key = "{self.tenant}:user:{id}", cache = self.cache, ttl = "1h")]
    async fn get(&self, id: u64) -> Result<User, NotFound> {
        Ok(load(id))
    }

    #[cached(key = "{self.tenant}:count:{id}", cache = self.cache)]
    async fn count(&mut self, id: u64) -> u64 {
        self.writes += 1;
        id + u64::from(self.writes)
    }

    #[cache_put(key = "{self.tenant}:user:{id}", cache = self.cache)]
    async fn put(&mut self, id: u64, name: &str) -> Result<User, NotFound> {
        self.writes += 1;
        Ok(User {
            id,
            name: name.to_owned(),
        })
    }

    #[invalidate(key = "{self.tenant}:user:{id}", cache = self.cache)]
    async fn remove(&self, id: u64) -> Result<bool, NotFound> {
        Ok(id > 0)
    }
}

trait Directory {
    async fn lookup(&self, id: u64) -> Option<User>;
}

impl Directory for Users {
    #[cached(key = "{self.tenant}:lookup:{id}", cache = self.cache)]
    async fn lookup(&self, id: u64) -> Option<User> {
        Some(load(id))
    }
}

/// A body that never falls through: a loop left only by `return`.
#[cached(key = "lints:retry:{id}")]
async fn retry(id: u64) -> Result<u64, NotFound> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        if attempt > 2 {
            return Ok(id);
        }
    }
}

/// A one-expression body on one line (kept so: `unused_braces` looks at one-line bodies).
#[rustfmt::skip]
#[cached(key = "lints:double:{x}")]
async fn double(x: u32) -> u32 { x * 2 }

#[tokio::test]
async fn annotated_functions_run() {
    assert_eq!(user(1).await, Ok(load(1)));
    assert_eq!(user(0).await, Err(NotFound));
    assert_eq!(io_user(1).await.unwrap().id, 1);
    assert_eq!(maybe_user(0).await, None);
    assert_eq!(some_user(2).await.map(|user| user.id), Some(2));
    assert_eq!(names("n", 2).await, ["n0", "n1"]);
    assert_eq!(answer().await, 42);
    assert_eq!(retry(3).await, Ok(3));
    assert_eq!(double(4).await, 8);
    assert_eq!(parsed(" 7 ").await, Ok(7));
    assert!(parsed("x").await.is_err());
    assert_eq!(weighted(&load(3), |id| id * 2).await, 6);
    let memory = MemoryCache::new();
    assert_eq!(generic(&memory, 5).await, Ok("5".to_owned()));
    assert_eq!(value(4, |id| id + 1).await, Some(5));
    assert_eq!(rename(1, "ada".to_owned()).await.unwrap().name, "ada");
    assert_eq!(user(1).await.unwrap().name, "ada");
    assert_eq!(clear_maybe(1).await, None);
    delete(1).await.unwrap();
    delete_all().await;
    assert_eq!(token(3).await.map(|user| user.id), Ok(3));
    assert_eq!(refresh_token(3).await.map(|user| user.id), Some(3));
    assert_eq!(orders(1, 2).await, Ok(vec![1, 2]));
    place_order(1).await.unwrap();
    assert_eq!(api::count(1).await, Ok(10));
    assert!(api::count(0).await.is_err());
    assert_eq!(api::label(1).await, "label 1");
    assert_eq!(api::set_count(1, 5).await, Ok(5));
    api::forget(1).await.unwrap();

    let mut users = Users {
        cache: SharedCache::new(MemoryCache::new()),
        tenant: "acme".to_owned(),
        writes: 0,
    };
    assert_eq!(users.get(1).await.unwrap().id, 1);
    assert_eq!(users.count(1).await, 2);
    assert_eq!(users.count(1).await, 2);
    assert_eq!(users.put(1, "bob").await.unwrap().name, "bob");
    assert_eq!(users.get(1).await.unwrap().name, "bob");
    assert_eq!(users.remove(1).await, Ok(true));
    assert_eq!(users.lookup(9).await.map(|user| user.id), Some(9));
}
