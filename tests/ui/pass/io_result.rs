// Return types spelled through aliases named `Result`: only `Ok` is cached.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use cache_aside::cached;

type Result<T> = std::result::Result<T, String>;

static CALLS: AtomicU32 = AtomicU32::new(0);

#[cached(key = "io:{id}")]
async fn io_result(id: u64) -> io::Result<u64> {
    CALLS.fetch_add(1, Ordering::SeqCst);
    if id == 0 {
        return Err(io::Error::other("zero"));
    }
    Ok(id)
}

#[cached(key = "local:{id}")]
async fn local_alias(id: u64) -> Result<u64> {
    Ok(id)
}

#[cached(key = "full:{id}")]
async fn full_path(id: u64) -> std::result::Result<u64, std::fmt::Error> {
    Ok(id)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert!(io_result(0).await.is_err());
    assert!(io_result(0).await.is_err(), "an Err is not cached");
    assert_eq!(CALLS.load(Ordering::SeqCst), 2);
    assert_eq!(io_result(5).await.unwrap(), 5);
    assert_eq!(io_result(5).await.unwrap(), 5);
    assert_eq!(CALLS.load(Ordering::SeqCst), 3);
    assert_eq!(local_alias(1).await, Ok(1));
    assert_eq!(full_path(1).await, Ok(1));
}
