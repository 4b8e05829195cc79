//! One conformance suite for every adapter: the suite that `cache_aside::conformance`
//! exports, run case by case against `MemoryCache` and against `RedisCache` on a real
//! `redis-server`, without and with its first tier, so they cannot drift apart (and the
//! exported suite stays the one the crate's own adapters pass). A failing test is named
//! `memory::<topic>::<case>`, `redis::<topic>::<case>` or `redis_tiered::<topic>::<case>`,
//! after the case function in `cache_aside::conformance`.

#[path = "../support/mod.rs"]
mod support;

mod no_cache;

use support::backend::{Adapter, Backend};

/// How the cases' caches are built.
mod settings {
    use crate::support::backend::Settings;

    pub fn plain() -> Settings {
        Settings::DEFAULT
    }

    /// With the suite's size limits.
    pub fn limited() -> Settings {
        Settings::DEFAULT
            .max_key_size(cache_aside::conformance::LIMITS.max_key_size)
            .max_value_size(cache_aside::conformance::LIMITS.max_value_size)
    }
}

/// Makes, for every listed case of the exported suite, a `case(backend)` in `mod $topic`
/// that hands the backend's adapter (a fresh one, on a server of its own for Redis) to
/// `cache_aside::conformance::$topic::$case`, and instantiates it on every backend with the
/// matrix of `tests/support/matrix.rs`, as `memory::$topic::$case`, `redis::$topic::$case`
/// and `redis_tiered::$topic::$case`.
macro_rules! every_case {
    ($($topic:ident ($settings:ident): [$($case:ident),* $(,)?]),* $(,)?) => {
        $(
            mod $topic {
                use super::{Adapter, Backend};
                $(
                    pub async fn $case(backend: Backend) {
                        match backend.adapter().clone() {
                            Adapter::Memory(cache) => {
                                cache_aside::conformance::$topic::$case(cache).await;
                            }
                            Adapter::Redis(cache) => {
                                cache_aside::conformance::$topic::$case(cache).await;
                            }
                        }
                    }
                )*
            }
        )*
        support::matrix::matrix! {
            $($topic { $($topic::$case with crate::settings::$settings()),* })*
        }
    };
}

// Every case of the exported suite, by topic, with the settings of its cache.
every_case! {
    keys_and_values(plain): [
        get_of_a_missing_key_is_none,
        set_then_get_round_trips_and_overwrites,
        empty_keys_and_values_are_ordinary,
        unicode_and_binary_looking_keys_and_values_round_trip,
        large_values_round_trip,
        delete_reports_whether_the_key_existed,
        exists_follows_set_and_delete,
        json_round_trips_as_plain_json,
        invalid_json_is_a_json_error_naming_the_key,
        json_of_another_type_is_a_json_error,
        ping_answers,
    ],
    ttl(plain): [
        no_ttl_and_no_key_both_report_none,
        ttl_reports_the_time_left,
        keys_expire_after_their_ttl,
        sub_millisecond_ttls_still_expire,
        set_without_ttl_clears_the_old_ttl,
        expire_sets_a_ttl_on_existing_keys_only,
        expire_zero_deletes_the_key,
        zero_ttl_on_write_is_refused_and_writes_nothing,
        absurd_ttls_are_refused,
    ],
    counters(plain): [
        increment_creates_the_key_at_zero,
        increment_and_decrement_add_and_subtract,
        counters_keep_their_ttl,
        non_integer_values_are_refused_and_kept,
        overflow_is_refused_and_changes_nothing,
        concurrent_increments_are_atomic,
    ],
    batches(plain): [
        get_many_returns_every_key_asked_for,
        set_many_writes_every_entry,
        set_many_with_ttl_sets_it_on_every_entry,
        empty_batches_are_no_ops,
    ],
    patterns(plain): [
        delete_pattern_deletes_matching_keys_only,
        delete_pattern_counts_only_live_keys,
        glob_edge_cases_match_like_redis,
        escaped_values_match_only_themselves,
        delete_pattern_handles_many_keys,
    ],
    prefixes(plain): [
        prefixed_caches_cannot_see_each_others_keys,
        prefixed_flush_deletes_only_its_own_keys,
        prefixed_delete_pattern_stays_inside_the_prefix,
        glob_characters_in_a_prefix_are_literal,
        prefixed_batches_and_counters_stay_inside,
        flush_without_prefix_deletes_everything,
        views_of_a_prefixed_cache_only_narrow,
        a_prefixed_flush_ends_a_lease,
        a_view_gives_back_its_own_leases,
        tags_are_confined_to_their_prefix,
        patterns_never_match_narrower_views_tags,
    ],
    leases(plain): [
        a_marker_is_never_a_value,
        a_lease_is_taken_once_and_never_over_a_value,
        a_resent_lease_is_granted_to_its_own_token,
        the_holder_stores_once_with_its_ttl,
        another_token_cannot_store_or_release,
        a_lease_is_given_back_without_a_runtime,
        a_late_release_leaves_the_value,
        every_deletion_and_write_ends_a_lease,
        a_lease_expires_by_itself,
        a_zero_lease_is_refused,
    ],
    tags(plain): [
        a_tag_deletes_its_entries_only,
        several_tags_at_once_count_each_entry_once,
        a_tag_recorded_again_after_its_invalidation_starts_afresh,
        record_tags_puts_a_plain_write_under_its_tags,
        record_tags_without_tags_does_nothing,
        try_lease_records_the_tags_whatever_it_finds,
        an_entry_that_expired_and_came_back_is_still_tagged,
        a_flush_forgets_every_tag,
        patterns_never_match_tags,
    ],
    limits(limited): [
        values_over_the_limit_are_refused,
        keys_over_the_limit_are_refused,
        leases_keep_the_limits,
        a_prefix_counts_toward_the_key_limit,
    ],
}

/// The `RedisCache` of a Redis backend.
fn redis_cache(backend: &Backend) -> cache_aside::RedisCache {
    match backend.adapter() {
        Adapter::Redis(cache) => cache.clone(),
        Adapter::Memory(_) => panic!("a Redis backend was expected"),
    }
}

/// The group runners, as an outside adapter's author calls them.
mod groups {
    use std::collections::HashMap;
    use std::time::Duration;

    use cache_aside::prelude::*;
    use cache_aside::{CacheError, MemoryCache, conformance};

    use crate::support::backend::Backend;
    use crate::{redis_cache, settings};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory_passes_every_group() {
        conformance::run_all(|| async { MemoryCache::new() }).await;
        conformance::prefixes(|| async { MemoryCache::new() }).await;
        conformance::limits(|limits| async move {
            MemoryCache::builder()
                .max_key_size(limits.max_key_size)
                .max_value_size(limits.max_value_size)
                .build()
        })
        .await;
    }

    /// Every case on one server: the runner flushes before each case.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_passes_every_group_on_one_server() {
        every_group_on_one_server(Backend::redis(), Backend::redis_with(settings::limited())).await;
    }

    /// The same with the first tier on: one cache keeps every case's reads in memory, so an
    /// entry that outlives its key's change, flush or expiry in Redis fails a case.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_with_a_first_tier_passes_every_group_on_one_server() {
        every_group_on_one_server(
            Backend::redis_tiered(),
            Backend::redis_tiered_with(settings::limited()),
        )
        .await;
    }

    async fn every_group_on_one_server(backend: Backend, limited: Backend) {
        let cache = &redis_cache(&backend);
        conformance::run_all(|| async { cache.clone() }).await;
        conformance::prefixes(|| async { cache.clone() }).await;
        let limited = &redis_cache(&limited);
        conformance::limits(|_| async { limited.clone() }).await;
    }

    /// An adapter without leases passes `run_all`, which skips the lease and tag cases.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cache_without_leases_passes_run_all() {
        conformance::run_all(|| async { NoLeases(MemoryCache::new()) }).await;
    }

    /// A case that fails is named in the panic.
    #[tokio::test]
    #[should_panic(expected = "conformance case `leases::a_marker_is_never_a_value` failed")]
    async fn a_cache_without_leases_fails_the_lease_group_by_name() {
        conformance::leases(|| async { NoLeases(MemoryCache::new()) }).await;
    }

    /// A decorator that hides the lease capability.
    #[derive(Clone)]
    struct NoLeases(MemoryCache);

    impl Cache for NoLeases {
        async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
            self.0.get(key).await
        }
        async fn set(
            &self,
            key: &str,
            value: &str,
            ttl: Option<Duration>,
        ) -> Result<(), CacheError> {
            self.0.set(key, value, ttl).await
        }
        async fn delete(&self, key: &str) -> Result<bool, CacheError> {
            self.0.delete(key).await
        }
        async fn delete_pattern(&self, pattern: &str) -> Result<u64, CacheError> {
            self.0.delete_pattern(pattern).await
        }
    }

    impl KeyValue for NoLeases {
        async fn exists(&self, key: &str) -> Result<bool, CacheError> {
            self.0.exists(key).await
        }
        async fn expire(&self, key: &str, ttl: Duration) -> Result<bool, CacheError> {
            self.0.expire(key, ttl).await
        }
        async fn increment(&self, key: &str, amount: i64) -> Result<i64, CacheError> {
            self.0.increment(key, amount).await
        }
        async fn decrement(&self, key: &str, amount: i64) -> Result<i64, CacheError> {
            self.0.decrement(key, amount).await
        }
        async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
            self.0.ttl(key).await
        }
        async fn flush(&self) -> Result<(), CacheError> {
            self.0.flush().await
        }
        async fn ping(&self) -> Result<(), CacheError> {
            self.0.ping().await
        }
        async fn get_many(
            &self,
            keys: &[&str],
        ) -> Result<HashMap<String, Option<String>>, CacheError> {
            self.0.get_many(keys).await
        }
        async fn set_many(
            &self,
            entries: &[(&str, &str)],
            ttl: Option<Duration>,
        ) -> Result<(), CacheError> {
            self.0.set_many(entries, ttl).await
        }
    }
}

/// What only a byte store can hold at a key: `Lease::Foreign`.
mod redis_only {
    use cache_aside::conformance::leases::foreign_contents_are_reported;

    use crate::redis_cache;
    use crate::support::backend::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_list_at_the_key_is_foreign() {
        let backend = Backend::redis();
        let backend = &backend;
        foreign_contents_are_reported(redis_cache(backend), |key| async move {
            let _: () = redis::cmd("RPUSH")
                .arg(key)
                .arg("x")
                .query(&mut raw(backend))
                .unwrap();
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bytes_that_are_not_utf8_are_foreign() {
        let backend = Backend::redis();
        let backend = &backend;
        foreign_contents_are_reported(redis_cache(backend), |key| async move {
            let _: () = redis::cmd("SET")
                .arg(key)
                .arg(&[0xFE_u8, 0x01][..])
                .query(&mut raw(backend))
                .unwrap();
        })
        .await;
    }

    fn raw(backend: &Backend) -> redis::Connection {
        backend
            .server()
            .expect("a Redis backend has a server")
            .raw()
    }
}
