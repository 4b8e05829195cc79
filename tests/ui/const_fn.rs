// A `const fn`: the error is at `const` (and, as it is not async, at `fn`).

use cache_aside::cached;

#[cached(key = "user:{id}")]
const fn user(id: u64) -> Option<u64> {
    Some(id)
}

fn main() {
    let _: Option<u64> = user(1);
}
