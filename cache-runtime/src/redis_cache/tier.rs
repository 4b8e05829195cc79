//! The first tier: values read from Redis, kept in process memory and dropped the moment
//! Redis says their key changed.

/// What a cache's first tier has done since the cache was built; shared by every clone and
/// view. See [`RedisCacheBuilder::local_tier`](super::RedisCacheBuilder::local_tier).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LocalTierStats {
    /// Reads answered from process memory, with nothing sent to Redis.
    pub hits: u64,
    /// Reads that went to Redis.
    pub misses: u64,
    /// Values kept after a read from Redis.
    pub inserts: u64,
    /// Keys Redis said changed (its pushes), and this process's own writes and deletions.
    pub invalidations: u64,
    /// Times the whole tier was dropped: a connection that carries its invalidations was
    /// lost, or the server flushed.
    pub clears: u64,
    /// Entries now held (approximate: moka counts lazily).
    pub entries: u64,
}
