// Several `#[invalidate]`s on one function, each with several keys and patterns, and
// `#[invalidate]` stacked with `#[cache_put]`.

use cache_aside::{cache_put, cached, invalidate};

#[cached(key = "user:{id}")]
async fn user(id: u64) -> Result<String, String> {
    Ok(format!("user {id}"))
}

#[cached(key = "user:{id}:posts")]
async fn posts(id: u64) -> Result<u32, String> {
    let _ = id;
    Ok(1)
}

#[cached(key = "team:{team}")]
async fn team(team: String) -> Result<String, String> {
    Ok(team)
}

#[invalidate(key = "user:{id}", key = "user:{id}:posts")]
#[invalidate(pattern = "team:{team}*")]
#[invalidate(pattern = "user:{id}:*", key = "nothing-here")]
async fn delete_user(id: u64, team: String) -> Result<(), String> {
    let _ = (id, team);
    Ok(())
}

#[invalidate(key = "user:{id}:posts")]
#[cache_put(key = "user:{id}")]
async fn rename(id: u64, name: String) -> Result<String, String> {
    let _ = id;
    Ok(name)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    user(1).await.unwrap();
    posts(1).await.unwrap();
    team("red".to_owned()).await.unwrap();
    delete_user(1, "red".to_owned()).await.unwrap();
    assert_eq!(rename(1, "ada".to_owned()).await.unwrap(), "ada");
    assert_eq!(user(1).await.unwrap(), "ada");
}
