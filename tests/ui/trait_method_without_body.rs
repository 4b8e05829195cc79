// The attributes go on functions with a body, not on a trait's declarations.

use cache_aside::cached;

trait Users {
    #[cached(key = "user:{id}")]
    async fn user(&self, id: u64) -> Option<u64>;
}

struct Store;

impl Users for Store {
    async fn user(&self, id: u64) -> Option<u64> {
        Some(id)
    }
}

fn main() {
    let _ = Store.user(1);
}
