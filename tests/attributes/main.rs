//! Behaviour of `#[cached]`, `#[cache_put]` and `#[invalidate]`: every argument and return
//! kind, single flight, invalidation, statistics and failing open.
//!
//! The cases in `keys`, `ttl`, `ttl_from_value`, `returns`, `condition`, `flight`, `invalidate`, `cache_put`,
//! `methods`, `corrupt`, `leases`, `tags` and `stale_per_key` take a
//! [`Backend`](support::backend::Backend) and run three times (the matrix of
//! `tests/support/matrix.rs`), as `memory::case` on a `MemoryCache`, as `redis::case` on
//! a `RedisCache` over a `redis-server` of their own, and as `redis_tiered::case` on the same
//! with its first tier on;
//! what lands in the store is read behind the library's back (a raw `GET`/`PTTL` on Redis).
//! `caches` and `stats` run on memory only, `failopen` on Redis only.
//!
//! Single flight and statistics are process-wide, per function and key: every case keys its
//! entries under a namespace of its own (`Backend::ns`), and the tests that read statistics
//! use functions of their own (per backend, in `flight` and `stale_per_key`).

#[path = "../support/mod.rs"]
mod support;

mod cache_put;
mod caches;
mod condition;
mod corrupt;
mod failopen;
mod flight;
mod invalidate;
mod keys;
mod leases;
mod memory_tags_bounded;
mod methods;
mod returns;
mod stale_per_key;
mod stats;
mod tags;
mod ttl;
mod ttl_from_value;

support::matrix::matrix! {
    keys::template_key_and_json_value_land,
    keys::literal_braces_and_field_paths,
    keys::default_key_is_module_function_and_escaped_arguments,
    keys::default_keys_tell_types_and_instantiations_apart,
    ttl::fixed_ttls_and_no_ttl_land,
    ttl::duration_expression_ttls_are_evaluated_per_call,
    ttl::entries_expire_after_their_ttl,
    ttl_from_value::the_ttl_is_taken_from_the_stored_value,
    ttl_from_value::a_zero_ttl_stores_nothing_and_gives_the_lease_back,
    ttl_from_value::an_absurd_ttl_is_not_stored,
    ttl_from_value::a_panicking_closure_panics_the_caller_and_gives_the_lease_back,
    ttl_from_value::a_put_takes_its_ttl_from_the_value,
    ttl_from_value::a_put_whose_closure_panics_deletes_the_entry_it_replaces,
    ttl_from_value::a_zero_duration_expression_stores_nothing,
    returns::err_is_not_cached_ok_is,
    returns::result_aliases_and_early_returns,
    returns::none_is_not_cached_some_is,
    returns::cache_none_stores_null,
    returns::ok_none_is_not_cached_ok_some_is,
    returns::cache_none_stores_ok_none_as_null,
    condition::condition_decides_whether_the_cache_is_used,
    flight::concurrent_callers_run_a_slow_body_once,
    flight::concurrent_callers_run_an_instant_body_once,
    flight::an_err_is_shared_with_waiters_and_not_stored,
    flight::an_err_that_is_not_clone_makes_each_waiter_load,
    flight::a_none_is_shared_with_waiters_and_not_stored,
    flight::different_keys_do_not_wait_for_each_other,
    flight::a_cancelled_leader_is_replaced_by_a_waiter,
    flight::a_panicking_leader_is_replaced_by_a_waiter,
    flight::an_invalidation_overtaking_a_load_is_not_undone_by_it,
    invalidate::a_key_is_deleted_after_a_successful_body_only,
    invalidate::patterns_and_several_targets,
    invalidate::stacked_attributes_each_use_their_own_targets_and_cache,
    invalidate::interpolated_values_are_glob_escaped,
    cache_put::a_put_always_runs_and_cached_reads_hit_it,
    cache_put::put_return_kinds_and_ttls,
    cache_put::a_put_with_tags_is_deleted_by_its_tags,
    methods::methods_use_their_own_cache_and_receiver_fields,
    methods::generic_functions_with_where_clauses,
    methods::trait_impl_methods,
    methods::impl_trait_parameters_outside_the_key,
    methods::annotated_futures_are_send,
    corrupt::undecodable_values_are_misses_and_overwritten
        with Settings::DEFAULT.failure_threshold(1),
    leases::callers_on_another_handle_wait_for_the_load,
    leases::a_body_that_outlives_its_lease_is_not_stored,
    leases::an_err_gives_the_lease_back_at_once,
    leases::a_key_invalidation_from_elsewhere_beats_a_load,
    leases::a_pattern_invalidation_from_elsewhere_beats_a_load,
    leases::a_tag_invalidation_from_elsewhere_beats_a_load,
    leases::a_call_after_an_invalidation_from_elsewhere_does_not_join_the_older_load,
    leases::a_cancelled_leader_with_no_waiter_gives_its_lease_back,
    tags::tags_delete_what_was_cached_under_them,
    tags::an_undecodable_value_is_replaced_under_its_tags,
    stale_per_key::a_load_outside_a_flight_is_stored_despite_an_unrelated_invalidation,
}
