// Key templates: field paths, tuple fields, literal braces, a parameter used twice, raw
// identifiers, `condition`, and the default key.

use cache_aside::{cached, invalidate};

struct Order {
    id: u64,
    customer: Customer,
}

struct Customer {
    name: String,
}

#[cached(key = "order:{order.id}:{order.customer.name}")]
async fn nested(order: &Order) -> u64 {
    order.id
}

#[cached(key = "pair:{pair.0}-{pair.1}")]
async fn tuple(pair: (u32, &str)) -> String {
    format!("{}{}", pair.0, pair.1)
}

#[cached(key = "{{literal}}:{id}:{id}")]
async fn braces(id: u64) -> u64 {
    id
}

#[cached(key = "static")]
async fn no_params() -> Vec<u8> {
    vec![1, 2, 3]
}

#[cached(key = "skip:{id}", condition = id % 2 == 0)]
async fn conditional(id: u64) -> u64 {
    id
}

#[cached]
async fn default_key(id: u64, name: &str, _unused: bool) -> String {
    format!("{id}{name}")
}

#[cached]
async fn default_key_no_params() -> u32 {
    7
}

#[invalidate(key = "{{literal}}:{id}:{id}", pattern = "order:{id}:*")]
async fn forget(id: u64) {
    let _ = id;
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let order = Order {
        id: 9,
        customer: Customer {
            name: "ada".to_owned(),
        },
    };
    assert_eq!(nested(&order).await, 9);
    assert_eq!(tuple((1, "a")).await, "1a");
    assert_eq!(braces(1).await, 1);
    assert_eq!(no_params().await, [1, 2, 3]);
    assert_eq!(conditional(3).await, 3);
    assert_eq!(default_key(1, "x", false).await, "1x");
    assert_eq!(default_key_no_params().await, 7);
    forget(9).await;
}
