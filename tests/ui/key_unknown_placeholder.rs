// A placeholder that names no parameter: the error is at the key and lists the parameters.

use cache_aside::cached;

#[cached(key = "user:{user_id}")]
async fn user(id: u64, name: String) -> Option<String> {
    Some(format!("{id} {name}"))
}

struct Repo;

impl Repo {
    #[cached(key = "user:{idd}")]
    async fn user(&self, id: u64) -> Option<u64> {
        Some(id)
    }
}

fn main() {
    let _ = user(1, String::new());
    let _ = Repo.user(1);
}
