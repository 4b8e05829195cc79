// `ttl` strings that are not a whole number followed by one unit.

use cache_aside::cached;

#[cached(key = "a:{id}", ttl = "abc")]
async fn letters(id: u64) -> Option<u64> {
    Some(id)
}

#[cached(key = "b:{id}", ttl = "1 h")]
async fn space(id: u64) -> Option<u64> {
    Some(id)
}

#[cached(key = "c:{id}", ttl = "90")]
async fn no_unit(id: u64) -> Option<u64> {
    Some(id)
}

#[cached(key = "d:{id}", ttl = "1h30m")]
async fn two_units(id: u64) -> Option<u64> {
    Some(id)
}

fn main() {
    let _ = letters(1);
    let _ = space(1);
    let _ = no_unit(1);
    let _ = two_units(1);
}
