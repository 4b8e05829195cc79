//! Lease markers are never kept: while another instance loads a key (its marker in the key),
//! the reader reads no value and keeps nothing; once the load stores the value, the reader
//! sees it within [`STALENESS`], and a call of its own that waited for the load gets it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use cache_aside::{LeaseToken, RedisCache, cached, stats_for};
use tokio::sync::Notify;

use crate::rig::{
    LIMIT, Raw, RedisServer, STALENESS, bounded, eventually, held, read, seen_within, stats, tiered,
};

const KEY: &str = "leased:key";

/// The first load waits for `release`; any other returns at once.
#[derive(Default)]
struct Gate {
    loads: AtomicU64,
    entered: Notify,
    release: Notify,
}

#[cached(key = "leased:key", ttl = 600, cache = cache)]
async fn load(cache: &RedisCache, gate: &Gate) -> String {
    if gate.loads.fetch_add(1, Ordering::SeqCst) == 0 {
        gate.entered.notify_one();
        gate.release.notified().await;
        "loaded".to_owned()
    } else {
        "loaded by a second load".to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_marker_is_not_kept_and_the_stored_value_is_seen() {
    let server = RedisServer::start();
    let raw = Raw::new(&server);
    let loader = tiered(server.url()).build().unwrap();
    let reader = tiered(server.url()).build().unwrap();
    let gate = std::sync::Arc::new(Gate::default());

    let loading = tokio::spawn({
        let (loader, gate) = (loader.clone(), std::sync::Arc::clone(&gate));
        async move { load(&loader, &gate).await }
    });
    bounded(LIMIT, "the other instance loading", gate.entered.notified()).await;
    let marker = raw.get(KEY).expect("the load's marker is in the key");
    assert!(
        LeaseToken::is_marker(&marker),
        "the key holds a lease marker"
    );

    let inserts = stats(&reader).inserts;
    for _ in 0..10 {
        assert_eq!(read(&reader, KEY).await, None, "a marker is no value");
    }
    let tier = stats(&reader);
    assert_eq!(tier.inserts, inserts, "a marker was kept: {tier:?}");
    // A call of the reader's own misses (it counts its miss once it has read the marker as no
    // value) and waits for the other instance's load.
    let waiting = tokio::spawn({
        let (reader, gate) = (reader.clone(), std::sync::Arc::clone(&gate));
        async move { load(&reader, &gate).await }
    });
    eventually(LIMIT, "the reader's call missing", || async {
        stats_for(concat!(module_path!(), "::load")).is_some_and(|calls| calls.misses >= 2)
    })
    .await;

    gate.release.notify_one();
    assert_eq!(bounded(LIMIT, "the load", loading).await.unwrap(), "loaded");
    let stored = Instant::now();
    let value = r#""loaded""#;
    let took = seen_within(stored, STALENESS, "the stored value", || async {
        read(&reader, KEY).await.as_deref() == Some(value)
    })
    .await;
    assert_eq!(
        bounded(LIMIT, "the reader's waiting call", waiting)
            .await
            .unwrap(),
        "loaded",
        "the reader's call waited for the other instance's load"
    );
    assert_eq!(gate.loads.load(Ordering::SeqCst), 1, "one load in all");
    held(&reader, KEY, value).await;
    println!(
        "leases: the value stored over a marker seen {took:?} after the load returned; tier {:?}",
        stats(&reader)
    );
}
