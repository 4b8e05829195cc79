//! One conformance suite for every adapter: each case below runs against `MemoryCache` and
//! against `RedisCache` on a real `redis-server`, so the two cannot drift apart.

#[path = "../support/mod.rs"]
mod support;

mod backend;
mod counters;
mod keys_and_values;
mod leases;
mod limits;
mod many;
mod patterns;
mod prefixes;
mod tags;
mod ttl;

use backend::Backend;

/// Instantiates every listed case once per adapter, as `memory::case` and `redis::case`.
macro_rules! conformance {
    ($($module:ident :: $case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$module::$case(super::Backend::memory()).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$module::$case(super::Backend::redis()).await;
                }
            )*
        }
    };
}

conformance! {
    keys_and_values::get_of_a_missing_key_is_none,
    keys_and_values::set_then_get_round_trips_and_overwrites,
    keys_and_values::empty_keys_and_values_are_ordinary,
    keys_and_values::unicode_and_binary_looking_keys_and_values_round_trip,
    keys_and_values::large_values_round_trip,
    keys_and_values::delete_reports_whether_the_key_existed,
    keys_and_values::exists_follows_set_and_delete,
    keys_and_values::json_round_trips_as_plain_json,
    keys_and_values::invalid_json_is_a_json_error_naming_the_key,
    keys_and_values::json_of_another_type_is_a_json_error,
    keys_and_values::ping_answers,
    ttl::no_ttl_and_no_key_both_report_none,
    ttl::ttl_reports_the_time_left,
    ttl::keys_expire_after_their_ttl,
    ttl::sub_millisecond_ttls_still_expire,
    ttl::set_without_ttl_clears_the_old_ttl,
    ttl::expire_sets_a_ttl_on_existing_keys_only,
    ttl::expire_zero_deletes_the_key,
    ttl::zero_ttl_on_write_is_refused_and_writes_nothing,
    ttl::absurd_ttls_are_refused,
    counters::increment_creates_the_key_at_zero,
    counters::increment_and_decrement_add_and_subtract,
    counters::counters_keep_their_ttl,
    counters::non_integer_values_are_refused_and_kept,
    counters::overflow_is_refused_and_changes_nothing,
    counters::concurrent_increments_are_atomic,
    many::get_many_returns_every_key_asked_for,
    many::set_many_writes_every_entry,
    many::set_many_with_ttl_sets_it_on_every_entry,
    many::empty_batches_are_no_ops,
    patterns::delete_pattern_deletes_matching_keys_only,
    patterns::delete_pattern_counts_only_live_keys,
    patterns::glob_edge_cases_match_like_redis,
    patterns::escaped_values_match_only_themselves,
    patterns::delete_pattern_handles_many_keys,
    prefixes::prefixed_caches_cannot_see_each_others_keys,
    prefixes::prefixed_flush_deletes_only_its_own_keys,
    prefixes::prefixed_delete_pattern_stays_inside_the_prefix,
    prefixes::glob_characters_in_a_prefix_are_literal,
    prefixes::prefixed_batches_and_counters_stay_inside,
    prefixes::flush_without_prefix_deletes_everything,
    prefixes::views_of_a_prefixed_cache_only_narrow,
    leases::a_marker_is_never_a_value,
    leases::a_lease_is_taken_once_and_never_over_a_value,
    leases::the_holder_stores_once_with_its_ttl,
    leases::another_token_cannot_store_or_release,
    leases::every_deletion_and_write_ends_a_lease,
    leases::a_lease_expires_by_itself,
    leases::a_zero_lease_is_refused,
    tags::a_tag_deletes_its_entries_only,
    tags::several_tags_at_once_count_each_entry_once,
    tags::a_tag_recorded_again_after_its_invalidation_starts_afresh,
    tags::tags_are_confined_to_their_prefix,
    tags::patterns_never_match_tags,
}
