//! What is cached for each return kind: `Result`, `Option`, `Result<Option<T>, E>`,
//! `cache_none` (a plain value: `keys`).

use std::sync::atomic::{AtomicUsize, Ordering};

use cache_aside::{SharedCache, cached};

use crate::support::backend::Backend;

/// Fails while `fail` is set; counts its runs.
#[cached(key = "{ns}:result:{id}", cache = cache)]
async fn fallible(
    cache: &SharedCache,
    calls: &AtomicUsize,
    ns: &str,
    id: u32,
    fail: bool,
) -> Result<u32, String> {
    calls.fetch_add(1, Ordering::SeqCst);
    if fail {
        Err(format!("no row {id}"))
    } else {
        Ok(id * 10)
    }
}

pub async fn err_is_not_cached_ok_is(b: Backend) {
    let calls = AtomicUsize::new(0);
    let key = b.key("result:4");
    assert_eq!(
        fallible(&b.cache, &calls, &b.ns, 4, true).await,
        Err("no row 4".to_owned())
    );
    assert_eq!(b.stored(&key).await, None, "an Err is never stored");
    assert_eq!(
        fallible(&b.cache, &calls, &b.ns, 4, true).await,
        Err("no row 4".to_owned())
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2, "an Err is not a hit");

    assert_eq!(fallible(&b.cache, &calls, &b.ns, 4, false).await, Ok(40));
    assert_eq!(
        b.stored(&key).await.as_deref(),
        Some("40"),
        "the Ok value alone"
    );
    // A hit: even a body that would fail now does not run.
    assert_eq!(fallible(&b.cache, &calls, &b.ns, 4, true).await, Ok(40));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[cached(key = "{ns}:io:{id}", cache = cache)]
async fn io_fallible(
    cache: &SharedCache,
    calls: &AtomicUsize,
    ns: &str,
    id: u32,
) -> std::io::Result<u32> {
    if calls.fetch_add(1, Ordering::SeqCst) == 0 {
        return Err(std::io::Error::other("first call fails"));
    }
    let parsed: u32 = "12".parse().map_err(std::io::Error::other)?;
    Ok(parsed + id)
}

/// `io::Result<T>` is recognised as a `Result` by its name; `return` and `?` in the body
/// end the body, not the wrapper.
pub async fn result_aliases_and_early_returns(b: Backend) {
    let calls = AtomicUsize::new(0);
    let error = io_fallible(&b.cache, &calls, &b.ns, 1).await.unwrap_err();
    assert_eq!(error.to_string(), "first call fails");
    assert_eq!(b.stored(&b.key("io:1")).await, None);
    assert_eq!(io_fallible(&b.cache, &calls, &b.ns, 1).await.unwrap(), 13);
    assert_eq!(b.stored(&b.key("io:1")).await.as_deref(), Some("13"));
    assert_eq!(io_fallible(&b.cache, &calls, &b.ns, 1).await.unwrap(), 13);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[cached(key = "{ns}:option:{id}", cache = cache)]
async fn find(
    cache: &SharedCache,
    calls: &AtomicUsize,
    ns: &str,
    id: u32,
    found: bool,
) -> Option<Vec<String>> {
    calls.fetch_add(1, Ordering::SeqCst);
    found.then(|| vec![format!("item {id}")])
}

pub async fn none_is_not_cached_some_is(b: Backend) {
    let calls = AtomicUsize::new(0);
    let key = b.key("option:2");
    assert_eq!(find(&b.cache, &calls, &b.ns, 2, false).await, None);
    assert_eq!(b.stored(&key).await, None, "None is not stored");
    assert_eq!(find(&b.cache, &calls, &b.ns, 2, false).await, None);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "None is not a hit");

    let item = Some(vec!["item 2".to_owned()]);
    assert_eq!(find(&b.cache, &calls, &b.ns, 2, true).await, item);
    assert_eq!(
        b.stored(&key).await.as_deref(),
        Some(r#"["item 2"]"#),
        "Some(v) is stored as v"
    );
    assert_eq!(find(&b.cache, &calls, &b.ns, 2, false).await, item, "a hit");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[cached(key = "{ns}:none:{id}", cache = cache, cache_none = true)]
async fn find_remembering_none(
    cache: &SharedCache,
    calls: &AtomicUsize,
    ns: &str,
    id: u32,
) -> Option<u32> {
    calls.fetch_add(1, Ordering::SeqCst);
    id.is_multiple_of(2).then_some(id)
}

pub async fn cache_none_stores_null(b: Backend) {
    let calls = AtomicUsize::new(0);
    assert_eq!(
        find_remembering_none(&b.cache, &calls, &b.ns, 1).await,
        None
    );
    assert_eq!(b.stored(&b.key("none:1")).await.as_deref(), Some("null"));
    assert_eq!(
        find_remembering_none(&b.cache, &calls, &b.ns, 1).await,
        None
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the stored None is a hit");

    assert_eq!(
        find_remembering_none(&b.cache, &calls, &b.ns, 2).await,
        Some(2)
    );
    assert_eq!(b.stored(&b.key("none:2")).await.as_deref(), Some("2"));
    assert_eq!(
        find_remembering_none(&b.cache, &calls, &b.ns, 2).await,
        Some(2)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// `Result<Option<T>, E>`; counts its runs.
#[cached(key = "{ns}:ok_option:{id}", cache = cache)]
async fn lookup(
    cache: &SharedCache,
    calls: &AtomicUsize,
    ns: &str,
    id: u32,
    found: bool,
) -> Result<Option<u32>, String> {
    calls.fetch_add(1, Ordering::SeqCst);
    Ok(found.then_some(id * 10))
}

pub async fn ok_none_is_not_cached_ok_some_is(b: Backend) {
    let calls = AtomicUsize::new(0);
    let key = b.key("ok_option:3");
    assert_eq!(lookup(&b.cache, &calls, &b.ns, 3, false).await, Ok(None));
    assert_eq!(b.stored(&key).await, None, "Ok(None) is not stored");
    assert_eq!(lookup(&b.cache, &calls, &b.ns, 3, false).await, Ok(None));
    assert_eq!(calls.load(Ordering::SeqCst), 2, "Ok(None) is not a hit");

    assert_eq!(lookup(&b.cache, &calls, &b.ns, 3, true).await, Ok(Some(30)));
    assert_eq!(
        b.stored(&key).await.as_deref(),
        Some("30"),
        "Ok(Some(v)) is stored as v"
    );
    assert_eq!(
        lookup(&b.cache, &calls, &b.ns, 3, false).await,
        Ok(Some(30)),
        "a hit"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

/// `Result<Option<T>, E>` with `cache_none = true`: `None` for odd ids, `Err` for 0.
#[cached(key = "{ns}:ok_none:{id}", cache = cache, cache_none = true)]
async fn lookup_remembering_none(
    cache: &SharedCache,
    calls: &AtomicUsize,
    ns: &str,
    id: u32,
) -> Result<Option<u32>, String> {
    calls.fetch_add(1, Ordering::SeqCst);
    if id == 0 {
        return Err("no id 0".to_owned());
    }
    Ok(id.is_multiple_of(2).then_some(id))
}

pub async fn cache_none_stores_ok_none_as_null(b: Backend) {
    let calls = AtomicUsize::new(0);
    let lookup = |id| lookup_remembering_none(&b.cache, &calls, &b.ns, id);
    assert_eq!(lookup(1).await, Ok(None));
    assert_eq!(b.stored(&b.key("ok_none:1")).await.as_deref(), Some("null"));
    assert_eq!(lookup(1).await, Ok(None));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the stored Ok(None) is a hit"
    );

    assert_eq!(lookup(2).await, Ok(Some(2)));
    assert_eq!(b.stored(&b.key("ok_none:2")).await.as_deref(), Some("2"));
    assert_eq!(lookup(2).await, Ok(Some(2)));
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    assert_eq!(lookup(0).await, Err("no id 0".to_owned()));
    assert_eq!(
        b.stored(&b.key("ok_none:0")).await,
        None,
        "an Err is never stored"
    );
    assert_eq!(lookup(0).await, Err("no id 0".to_owned()));
    assert_eq!(calls.load(Ordering::SeqCst), 4, "an Err is not a hit");
}
