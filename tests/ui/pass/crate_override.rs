// `crate = "..."`: the generated code names the crate through the given path, as when the
// dependency is renamed in Cargo.toml. An `extern crate ... as` alias is in the extern
// prelude, so it works from any module, also as `::alias`; a `use ... as` alias works where
// it is in scope; any path to a re-export works.

extern crate cache_aside as renamed_cache;

use cache_aside as renamed;

mod reexport {
    pub use cache_aside as inner;
}

use renamed_cache::{cache_put, cached, invalidate};

#[cached(key = "n:{n}", crate = "renamed_cache")]
async fn double(n: u64) -> u64 {
    n * 2
}

#[cache_put(key = "n:{n}", crate = "::renamed_cache")]
async fn put(n: u64) -> u64 {
    n
}

#[invalidate(key = "n:{n}", crate = "crate::reexport::inner")]
async fn forget(n: u64) -> Result<(), String> {
    let _ = n;
    Ok(())
}

#[cached(key = "m:{n}", crate = "renamed")]
async fn through_use(n: u64) -> Option<u64> {
    Some(n)
}

mod nested {
    #[renamed_cache::cached(key = "nested:{n}", crate = "renamed_cache")]
    pub async fn extern_prelude(n: u64) -> u64 {
        n
    }

    #[super::renamed::cached(key = "nested2:{n}", crate = "super::renamed")]
    pub async fn relative(n: u64) -> u64 {
        n
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(double(2).await, 4);
    put(2).await;
    assert_eq!(double(2).await, 2);
    forget(2).await.unwrap();
    assert_eq!(double(2).await, 4);
    assert_eq!(through_use(3).await, Some(3));
    assert_eq!(nested::extern_prelude(4).await, 4);
    assert_eq!(nested::relative(5).await, 5);
}
