// `#[invalidate]` without a key or a pattern deletes nothing.

use cache_aside::invalidate;

#[invalidate]
async fn forget(id: u64) -> Result<(), String> {
    let _ = id;
    Ok(())
}

#[invalidate(cache = cache_aside::global())]
async fn forget_in(id: u64) -> Result<(), String> {
    let _ = id;
    Ok(())
}

fn main() {
    let _ = forget(1);
    let _ = forget_in(1);
}
