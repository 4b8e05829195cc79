// `Result<Option<T>, E>`: an `Ok(None)` is not cached, as the `None` of an `Option`, unless
// `cache_none = true`; an `Err` never is. With errors that are `Clone`, that are not
// (`io::Error`), that borrow, through an alias named `Result`, and on `#[cache_put]`.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use cache_aside::{MemoryCache, cache_put, cached};

static FOUND: AtomicU32 = AtomicU32::new(0);
static REMEMBERED: AtomicU32 = AtomicU32::new(0);

#[cached(key = "find:{id}")]
async fn find(id: u64) -> Result<Option<u64>, String> {
    FOUND.fetch_add(1, Ordering::SeqCst);
    Ok((id > 0).then_some(id))
}

#[cached(key = "remember:{id}", cache_none = true)]
async fn remember(id: u64) -> Result<Option<u64>, String> {
    REMEMBERED.fetch_add(1, Ordering::SeqCst);
    Ok((id > 0).then_some(id))
}

#[cached(key = "io:{id}")]
async fn io_find(id: u64) -> io::Result<Option<u64>> {
    if id == 0 {
        return Err(io::Error::other("zero"));
    }
    Ok(Some(id))
}

#[cached(key = "io_none:{id}", cache_none = true)]
async fn io_remember(id: u64) -> io::Result<std::option::Option<u64>> {
    Ok((id > 0).then_some(id))
}

#[cached(key = "borrowed:{text}", cache = cache)]
async fn borrowed<'a>(cache: &MemoryCache, text: &'a str) -> Result<Option<usize>, &'a str> {
    if text == "!" { Err(text) } else { Ok((!text.is_empty()).then_some(text.len())) }
}

#[cached(key = "borrowed_none:{text}", cache = cache, cache_none = true)]
async fn borrowed_none<'a>(cache: &MemoryCache, text: &'a str) -> Result<Option<usize>, &'a str> {
    Ok((!text.is_empty()).then_some(text.len()))
}

#[cache_put(key = "remember:{id}", cache_none = true)]
async fn forget(id: u64) -> Result<Option<u64>, String> {
    let _ = id;
    Ok(None)
}

#[cache_put(key = "find:{id}")]
async fn put_found(id: u64) -> Result<Option<u64>, String> {
    Ok(Some(id + 1))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(find(0).await, Ok(None));
    assert_eq!(find(0).await, Ok(None));
    assert_eq!(FOUND.load(Ordering::SeqCst), 2, "an Ok(None) is not cached");
    assert_eq!(find(1).await, Ok(Some(1)));
    assert_eq!(find(1).await, Ok(Some(1)));
    assert_eq!(FOUND.load(Ordering::SeqCst), 3, "an Ok(Some) is cached");

    assert_eq!(remember(0).await, Ok(None));
    assert_eq!(remember(0).await, Ok(None));
    assert_eq!(REMEMBERED.load(Ordering::SeqCst), 1, "with cache_none, it is");

    assert!(io_find(0).await.is_err());
    assert_eq!(io_find(2).await.unwrap(), Some(2));
    assert_eq!(io_remember(0).await.unwrap(), None);

    let cache = MemoryCache::new();
    assert_eq!(borrowed(&cache, "!").await, Err("!"));
    assert_eq!(borrowed(&cache, "").await, Ok(None));
    assert_eq!(borrowed(&cache, "abc").await, Ok(Some(3)));
    assert_eq!(borrowed_none(&cache, "").await, Ok(None));

    assert_eq!(remember(5).await, Ok(Some(5)));
    assert_eq!(forget(5).await, Ok(None));
    assert_eq!(remember(5).await, Ok(None), "the put stored the Ok(None)");
    assert_eq!(put_found(7).await, Ok(Some(8)));
    assert_eq!(find(7).await, Ok(Some(8)), "the put stored the Ok(Some)");
}
