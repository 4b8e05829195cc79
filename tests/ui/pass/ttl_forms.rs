// Every form `ttl` takes: seconds, a string with a unit, and any `Duration` expression
// (a constant, a call, a parameter, a field).

use std::time::Duration;

use cache_aside::{cache_put, cached};

const TTL: Duration = Duration::from_secs(30);

fn configured() -> Duration {
    Duration::from_millis(1500)
}

#[cached(key = "a:{id}", ttl = 3600)]
async fn seconds(id: u64) -> u64 {
    id
}

#[cached(key = "b:{id}", ttl = 1_000)]
async fn seconds_with_separator(id: u64) -> u64 {
    id
}

#[cached(key = "c:{id}", ttl = "90s")]
async fn with_seconds(id: u64) -> u64 {
    id
}

#[cached(key = "d:{id}", ttl = "15m")]
async fn with_minutes(id: u64) -> u64 {
    id
}

#[cached(key = "e:{id}", ttl = "1h")]
async fn with_hours(id: u64) -> u64 {
    id
}

#[cached(key = "f:{id}", ttl = "7d")]
async fn with_days(id: u64) -> u64 {
    id
}

#[cached(key = "g:{id}", ttl = TTL)]
async fn constant(id: u64) -> u64 {
    id
}

#[cached(key = "h:{id}", ttl = configured())]
async fn call(id: u64) -> u64 {
    id
}

#[cached(key = "i:{id}", ttl = Duration::from_millis(250) * 4)]
async fn arithmetic(id: u64) -> u64 {
    id
}

#[cached(key = "j:{id}", ttl = ttl)]
async fn parameter(id: u64, ttl: Duration) -> u64 {
    id + ttl.as_secs()
}

struct Settings {
    ttl: Duration,
}

impl Settings {
    #[cache_put(key = "k:{id}", ttl = self.ttl)]
    async fn field(&self, id: u64) -> u64 {
        id
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    seconds(1).await;
    seconds_with_separator(1).await;
    with_seconds(1).await;
    with_minutes(1).await;
    with_hours(1).await;
    with_days(1).await;
    constant(1).await;
    call(1).await;
    arithmetic(1).await;
    assert_eq!(parameter(1, Duration::from_secs(2)).await, 3);
    let settings = Settings {
        ttl: Duration::from_secs(5),
    };
    settings.field(1).await;
}
