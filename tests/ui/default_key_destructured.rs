// The default key is made of every parameter; a destructured one has no name to use.

use cache_aside::cached;

struct Point {
    x: i64,
    y: i64,
}

#[cached]
async fn distance((a, b): (i64, i64), Point { x, y }: Point) -> i64 {
    (a - x).abs() + (b - y).abs()
}

#[cached]
async fn ignored(id: u64, _: bool) -> u64 {
    id
}

fn main() {
    let _ = distance((0, 0), Point { x: 1, y: 1 });
    let _ = ignored(1, true);
}
