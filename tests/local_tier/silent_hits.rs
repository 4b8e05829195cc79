//! A first-tier hit sends nothing to Redis: `INFO commandstats` does not move across many
//! hits, through `get` and through `#[cached]`, and the tier counts each one as a hit.

use std::sync::atomic::{AtomicU64, Ordering};

use cache_aside::{RedisCache, cached};

use crate::rig::{Raw, RedisServer, command_calls, commands_sent, held, read, stats, tiered};

/// Hits per look at the server's counters.
const HITS: u64 = 1_000;
const VALUE: &str = r#""hot""#;

#[cached(key = "silent:attribute", ttl = 600, cache = cache)]
async fn hot(cache: &RedisCache, loads: &AtomicU64) -> String {
    loads.fetch_add(1, Ordering::SeqCst);
    "hot".to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_tier_hits_send_nothing_to_redis() {
    let server = RedisServer::start();
    let raw = Raw::new(&server);
    let cache = tiered(server.url()).build().unwrap();

    let key = "silent:get";
    raw.set(key, VALUE);
    held(&cache, key, VALUE).await;
    let (before, hits) = (command_calls(&raw), stats(&cache).hits);
    for _ in 0..HITS {
        assert_eq!(read(&cache, key).await.as_deref(), Some(VALUE));
    }
    let (after, tier) = (command_calls(&raw), stats(&cache));
    assert_eq!(
        commands_sent(&before, &after),
        [],
        "{HITS} first-tier hits through get sent these (command, calls before, after)"
    );
    assert_eq!(tier.hits - hits, HITS, "every read was a hit: {tier:?}");

    let loads = AtomicU64::new(0);
    assert_eq!(hot(&cache, &loads).await, "hot", "the load");
    held(&cache, "silent:attribute", VALUE).await;
    let (before, hits) = (command_calls(&raw), stats(&cache).hits);
    for _ in 0..HITS {
        assert_eq!(hot(&cache, &loads).await, "hot");
    }
    let (after, tier) = (command_calls(&raw), stats(&cache));
    assert_eq!(
        commands_sent(&before, &after),
        [],
        "{HITS} first-tier hits through #[cached] sent these (command, calls before, after)"
    );
    assert_eq!(tier.hits - hits, HITS, "every call was a hit: {tier:?}");
    assert_eq!(loads.load(Ordering::SeqCst), 1, "the body ran once");
    println!(
        "silent hits: {HITS} hits through get and {HITS} through #[cached], nothing sent; \
         commands after: get {:?}, mget {:?}; tier {tier:?}",
        after.get("get"),
        after.get("mget")
    );
}
