// `cache_none`: with `true` a `None` is cached too; with `false` it is not (the default).

use std::sync::atomic::{AtomicU32, Ordering};

use cache_aside::{cache_put, cached};

static WITH: AtomicU32 = AtomicU32::new(0);
static WITHOUT: AtomicU32 = AtomicU32::new(0);

#[cached(key = "with:{id}", cache_none = true)]
async fn with_none(id: u64) -> Option<u64> {
    WITH.fetch_add(1, Ordering::SeqCst);
    (id > 0).then_some(id)
}

#[cached(key = "without:{id}", cache_none = false)]
async fn without_none(id: u64) -> Option<u64> {
    WITHOUT.fetch_add(1, Ordering::SeqCst);
    (id > 0).then_some(id)
}

#[cache_put(key = "with:{id}", cache_none = true, ttl = 60)]
async fn put_none(id: u64) -> Option<u64> {
    let _ = id;
    None
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(with_none(0).await, None);
    assert_eq!(with_none(0).await, None);
    assert_eq!(WITH.load(Ordering::SeqCst), 1, "the None was cached");
    assert_eq!(without_none(0).await, None);
    assert_eq!(without_none(0).await, None);
    assert_eq!(WITHOUT.load(Ordering::SeqCst), 2, "the None was not cached");
    assert_eq!(with_none(3).await, Some(3));
    put_none(3).await;
    assert_eq!(with_none(3).await, None);
}
