// A `ttl` expression that is neither a `Duration` nor a function of the stored value that
// returns one: the error is at the expression.

use cache_aside::cached;

#[cached(key = "a:{id}", ttl = 5u32 + 1)]
async fn integer_expression(id: u64) -> Option<u64> {
    Some(id)
}

const TTL: &str = "5m";

#[cached(key = "b:{id}", ttl = TTL)]
async fn string_constant(id: u64) -> Option<u64> {
    Some(id)
}

#[cached(key = "c:{id}", ttl = ttl)]
async fn string_parameter(id: u64, ttl: &str) -> Option<u64> {
    let _ = ttl;
    Some(id)
}

fn seconds_left(value: &u64) -> u64 {
    *value
}

#[cached(key = "d:{id}", ttl = seconds_left)]
async fn function_of_another_type(id: u64) -> Option<u64> {
    Some(id)
}

fn main() {
    let _ = integer_expression(1);
    let _ = string_constant(1);
    let _ = string_parameter(1, "5m");
    let _ = function_of_another_type(1);
}
