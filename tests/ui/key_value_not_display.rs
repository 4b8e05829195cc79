// A value interpolated into a key or pattern must implement `Display`.

use cache_aside::{cached, invalidate};

struct Filter {
    active: bool,
}

#[cached(key = "count:{filter}")]
async fn count(filter: Filter) -> u64 {
    u64::from(filter.active)
}

#[invalidate(pattern = "count:{ids}*")]
async fn forget(ids: Vec<u64>) -> Result<(), String> {
    let _ = ids;
    Ok(())
}

fn main() {
    let _ = count(Filter { active: true });
    let _ = forget(vec![1]);
}
