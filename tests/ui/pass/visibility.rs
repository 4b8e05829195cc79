// The visibility is kept: `pub(crate)`, `pub(super)` and `pub` functions are callable
// from outside their module.

mod users {
    pub mod inner {
        use cache_aside::cached;

        #[cached(key = "crate:{id}")]
        pub(crate) async fn crate_visible(id: u64) -> u64 {
            id
        }

        #[cached(key = "super:{id}")]
        pub(super) async fn super_visible(id: u64) -> u64 {
            id
        }

        #[cached(key = "pub:{id}")]
        pub async fn public(id: u64) -> u64 {
            id
        }
    }

    pub(crate) async fn via_super(id: u64) -> u64 {
        inner::super_visible(id).await
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(users::inner::crate_visible(1).await, 1);
    assert_eq!(users::via_super(2).await, 2);
    assert_eq!(users::inner::public(3).await, 3);
}
