// An error type that borrows is returned, not shared between concurrent callers: it compiles.

use cache_aside::{MemoryCache, cached};

#[cached(key = "len:{text}", cache = cache)]
async fn len<'a>(cache: &MemoryCache, text: &'a str) -> Result<usize, &'a str> {
    if text.is_empty() { Err(text) } else { Ok(text.len()) }
}

#[cached(key = "first:{text}", cache = cache)]
async fn first(cache: &MemoryCache, text: &str) -> Result<char, std::borrow::Cow<'static, str>> {
    text.chars().next().ok_or(std::borrow::Cow::Borrowed("empty"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cache = MemoryCache::new();
    assert_eq!(len(&cache, "abc").await, Ok(3));
    assert_eq!(len(&cache, "").await, Err(""));
    assert_eq!(first(&cache, "xyz").await, Ok('x'));
}
