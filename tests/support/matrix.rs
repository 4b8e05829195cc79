//! The backend matrix: one list of cases, each an `async fn case(backend: Backend)` in a
//! module at the test binary's root, instantiated once per backend as `memory::case` on a
//! `MemoryCache`, `redis::case` on a `RedisCache` over a `redis-server` of its own, and
//! `redis_tiered::case` on the same with its first tier on (`Kind::RedisTiered`), and
//! `cluster::case` / `cluster_tiered::case` on a Redis Cluster (the binary's shared one,
//! one case at a time), without and with the first tier.
//!
//! ```ignore
//! matrix! {
//!     keys::template_key_and_json_value_land,
//!     sizes::values_over_the_limit_are_returned_not_stored
//!         with Settings::DEFAULT.max_value_size(64).failure_threshold(1),
//! }
//! ```
//! A case listed `with <settings>` gets a backend built with them (see
//! [`Settings`](crate::support::backend::Settings)). Cases can also be grouped by topic,
//! `topic { module::case, ... }`, to be named `memory::topic::case`.

#[allow(unused_macros)] // shared by several test binaries; not all of them use it
macro_rules! matrix {
    ($($module:ident :: $case:ident $(with $settings:expr)?),* $(,)?) => {
        mod memory {
            $crate::support::matrix::matrix!(
                @cases Memory; $($module :: $case $(with $settings)?),*
            );
        }
        mod redis {
            $crate::support::matrix::matrix!(
                @cases Redis; $($module :: $case $(with $settings)?),*
            );
        }
        mod redis_tiered {
            $crate::support::matrix::matrix!(
                @cases RedisTiered; $($module :: $case $(with $settings)?),*
            );
        }
        mod cluster {
            $crate::support::matrix::matrix!(
                @cases Cluster; $($module :: $case $(with $settings)?),*
            );
        }
        mod cluster_tiered {
            $crate::support::matrix::matrix!(
                @cases ClusterTiered; $($module :: $case $(with $settings)?),*
            );
        }
    };
    ($($topic:ident { $($module:ident :: $case:ident $(with $settings:expr)?),* $(,)? })*) => {
        mod memory {
            $(
                mod $topic {
                    $crate::support::matrix::matrix!(
                        @cases Memory; $($module :: $case $(with $settings)?),*
                    );
                }
            )*
        }
        mod redis {
            $(
                mod $topic {
                    $crate::support::matrix::matrix!(
                        @cases Redis; $($module :: $case $(with $settings)?),*
                    );
                }
            )*
        }
        mod redis_tiered {
            $(
                mod $topic {
                    $crate::support::matrix::matrix!(
                        @cases RedisTiered; $($module :: $case $(with $settings)?),*
                    );
                }
            )*
        }
        mod cluster {
            $(
                mod $topic {
                    $crate::support::matrix::matrix!(
                        @cases Cluster; $($module :: $case $(with $settings)?),*
                    );
                }
            )*
        }
        mod cluster_tiered {
            $(
                mod $topic {
                    $crate::support::matrix::matrix!(
                        @cases ClusterTiered; $($module :: $case $(with $settings)?),*
                    );
                }
            )*
        }
    };
    (@cases $kind:ident; $($module:ident :: $case:ident $(with $settings:expr)?),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                use $crate::support::backend::{Backend, Kind, Settings};
                let settings = Settings::or_default(&[$($settings)?]);
                $crate::$module::$case(Backend::new(Kind::$kind, settings)).await;
            }
        )*
    };
}

#[allow(unused_imports)] // shared by several test binaries; not all of them use it
pub(crate) use matrix;

/// Cases whose annotated functions exist once per backend, so that what is per function and
/// process (single flight's `Site`, `stats_for` counters) is not shared by the backends'
/// copies of a test, which run at once: the calling module holds `mod memory`, `mod redis`
/// and `mod redis_tiered` (usually made by a macro of its own), each with every listed case,
/// and this makes the `case(backend)` that [`matrix!`] instantiates pick the one for its
/// backend.
#[allow(unused_macros)] // shared by several test binaries; not all of them use it
macro_rules! by_backend {
    ($($case:ident),* $(,)?) => {
        $(
            pub async fn $case(backend: $crate::support::backend::Backend) {
                match backend.kind() {
                    $crate::support::backend::Kind::Memory => memory::$case(backend).await,
                    $crate::support::backend::Kind::Redis => redis::$case(backend).await,
                    $crate::support::backend::Kind::RedisTiered => {
                        redis_tiered::$case(backend).await
                    }
                    $crate::support::backend::Kind::Cluster => cluster::$case(backend).await,
                    $crate::support::backend::Kind::ClusterTiered => {
                        cluster_tiered::$case(backend).await
                    }
                }
            }
        )*
    };
}

#[allow(unused_imports)] // shared by several test binaries; not all of them use it
pub(crate) use by_backend;
