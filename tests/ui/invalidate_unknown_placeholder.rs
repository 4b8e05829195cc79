// Unknown placeholders in `#[invalidate]`'s keys and patterns: one error per template.

use cache_aside::invalidate;

#[invalidate(key = "user:{id}", key = "user:{name}", pattern = "team:{team}*")]
async fn forget(id: u64, team_id: u64) -> Result<(), String> {
    let _ = (id, team_id);
    Ok(())
}

fn main() {
    let _ = forget(1, 2);
}
