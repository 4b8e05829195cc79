// The body keeps the coercions of a plain `async fn` (a `Box<MyError>` returned as
// `Box<dyn Error>`, `&String` as `&str`), and the future stays `Send` even when the error
// type is not, and when the `ttl` expression takes a lock.

use std::error::Error;
use std::sync::RwLock;
use std::time::Duration;

use cache_aside::{cache_put, cached, invalidate};

#[derive(Debug)]
struct MyError;

impl std::fmt::Display for MyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("my error")
    }
}

impl Error for MyError {}

static TTL: RwLock<Duration> = RwLock::new(Duration::from_secs(60));

#[cached(key = "c:{id}", ttl = *TTL.read().unwrap())]
async fn read(id: u32) -> Result<u32, Box<dyn Error>> {
    if id == 0 {
        return Err(Box::new(MyError));
    }
    tokio::task::yield_now().await;
    Ok(id)
}

#[cache_put(key = "c:{id}", ttl = *TTL.read().unwrap())]
async fn write(id: u32) -> Result<u32, Box<dyn Error>> {
    if id == 0 {
        return Err(Box::new(MyError));
    }
    Ok(id)
}

#[invalidate(key = "c:{id}")]
async fn forget(id: u32) -> Result<(), Box<dyn Error>> {
    if id == 0 {
        return Err(Box::new(MyError));
    }
    Ok(())
}

// Items that the body declares do not change what the return type names: this `use`
// brings `io::Result` into the body, which takes one type argument.
#[cached(key = "g:{x}")]
async fn glob(x: u32) -> Result<u32, String> {
    use std::io::*;
    let _ = stdin;
    Ok(x)
}

struct Named {
    name: String,
}

impl Named {
    #[cached(key = "n:{id}")]
    async fn bytes(&self, id: u32) -> Option<Box<[u8]>> {
        let _ = id;
        Some(Box::new([1_u8, 2, 3]))
    }

    #[invalidate(key = "n:{id}")]
    async fn name(&self, id: u32) -> Option<&str> {
        if id == 0 {
            return Some(&self.name);
        }
        None
    }
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(assert_send(read(1)).await.unwrap(), 1);
    assert!(assert_send(read(0)).await.is_err());
    assert_eq!(assert_send(write(2)).await.unwrap(), 2);
    assert!(assert_send(forget(0)).await.is_err());
    assert_send(forget(2)).await.unwrap();
    assert_eq!(glob(3).await, Ok(3));
    let named = Named { name: "ada".into() };
    assert_eq!(named.bytes(1).await.as_deref(), Some(&[1_u8, 2, 3][..]));
    assert_eq!(named.name(0).await, Some("ada"));
}
