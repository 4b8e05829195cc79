//! A method whose `self` holds a cache, but whose attribute forgot `cache = self.cache`,
//! uses the process-wide cache: the macro cannot see `self`'s fields to tell, so the
//! fallback says so at run time. With no cache installed, the warning that `global()` falls
//! back to memory names the function that fell back. Its own test binary: that warning is
//! logged once per process.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use cache_aside::prelude::*;
use cache_aside::{MemoryCache, cached};
use tracing_subscriber::util::SubscriberInitExt;

struct Users {
    cache: MemoryCache,
}

impl Users {
    /// The mistake: `cache = self.cache` is missing.
    #[cached(key = "user:{id}:name")]
    async fn name(&self, id: u64) -> String {
        format!("user {id}")
    }
}

/// What a subscriber wrote.
#[derive(Clone, Default)]
struct Logged(Arc<Mutex<Vec<u8>>>);

impl Write for Logged {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut logged = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        logged.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_fallback_to_memory_names_the_function_that_forgot_its_cache() {
    let logged = Logged::default();
    let writer = logged.clone();
    let _guard = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .without_time()
        .finish()
        .set_default();

    let users = Users {
        cache: MemoryCache::new(),
    };
    assert_eq!(users.name(1).await, "user 1");
    assert!(
        !users.cache.exists("user:1:name").await.unwrap(),
        "not in its own cache"
    );
    assert!(cache_aside::global().exists("user:1:name").await.unwrap());

    let logged = String::from_utf8_lossy(&logged.0.lock().unwrap()).into_owned();
    let warning = logged
        .lines()
        .find(|line| line.contains("no global cache installed"))
        .unwrap_or_else(|| panic!("no fallback warning in: {logged}"));
    assert!(warning.contains("WARN"), "{warning}");
    // `forgotten_cache::name`, or with the type, `forgotten_cache::Users::name`.
    let named = warning.contains("forgotten_cache::") && warning.contains("::name");
    assert!(named, "names the function: {warning}");
    assert!(
        warning.contains("cache = self.cache"),
        "says what to add: {warning}"
    );
}
