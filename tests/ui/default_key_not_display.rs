// The default key formats every parameter with `Display`.

use cache_aside::cached;

struct Filter {
    active: bool,
}

#[cached]
async fn count(id: u64, filter: Filter) -> u64 {
    id + u64::from(filter.active)
}

fn main() {
    let _ = count(1, Filter { active: true });
}
