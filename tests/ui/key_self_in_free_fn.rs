// `{self.x}` in the key of a free function, which has no `self`.

use cache_aside::cached;

#[cached(key = "{self.tenant}:user:{id}")]
async fn user(id: u64) -> Option<u64> {
    Some(id)
}

fn main() {
    let _ = user(1);
}
