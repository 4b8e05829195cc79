// A field path through a parameter that has no such field.

use cache_aside::cached;

struct User {
    id: u64,
}

struct Repo {
    tenant: String,
}

impl Repo {
    #[cached(key = "{self.tennant}:{user.uid}")]
    async fn name(&self, user: User) -> Option<String> {
        Some(format!("{}{}", self.tenant, user.id))
    }
}

fn main() {
    let repo = Repo {
        tenant: String::new(),
    };
    let _ = repo.name(User { id: 1 });
}
