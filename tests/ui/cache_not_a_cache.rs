// A `cache = ...` expression that is not a `Cache`.

use cache_aside::{cached, invalidate};

struct Repo {
    name: String,
}

impl Repo {
    #[cached(key = "user:{id}", cache = self.name)]
    async fn user(&self, id: u64) -> Option<u64> {
        Some(id)
    }

    #[invalidate(key = "user:{id}", cache = 42)]
    async fn forget(&self, id: u64) -> Result<(), String> {
        let _ = id;
        Ok(())
    }
}

fn main() {
    let repo = Repo {
        name: String::new(),
    };
    let _ = repo.user(1);
    let _ = repo.forget(1);
}
