// `impl Trait` parameters that are not part of the key.

use cache_aside::{cache_put, cached, invalidate};

#[cached(key = "score:{id}", ttl = 60)]
async fn score(id: u64, weight: impl Fn(u64) -> u64 + Send + Sync) -> Result<u64, String> {
    Ok(weight(id))
}

#[cached(key = "labels:{id}")]
async fn labels(id: u64, names: impl IntoIterator<Item = String> + Send) -> Vec<String> {
    names
        .into_iter()
        .map(|name| format!("{id}:{name}"))
        .collect()
}

#[cache_put(key = "score:{id}")]
async fn set_score(id: u64, source: impl AsRef<str> + Send) -> Result<u64, String> {
    let _ = id;
    source
        .as_ref()
        .parse()
        .map_err(|_| "not a number".to_owned())
}

#[invalidate(key = "score:{id}")]
async fn forget(id: u64, reason: impl std::fmt::Display + Send) -> Result<(), String> {
    let _ = (id, reason.to_string());
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(score(2, |id| id * 3).await, Ok(6));
    assert_eq!(score(2, |id| id).await, Ok(6), "a hit");
    set_score(2, "9").await.unwrap();
    assert_eq!(score(2, |id| id).await, Ok(9));
    forget(2, "stale").await.unwrap();
    assert_eq!(score(2, |id| id).await, Ok(2));
    assert_eq!(labels(1, vec!["a".to_owned()]).await, ["1:a"]);
}
