//! Issue 10, defect 1 (abandoned leases), at random: a storm of requests on 50 keys, each
//! of one to three `#[cached]` calls on one key, cut short by a timeout, an `abort()` or a
//! lost `tokio::select!` race (under a timeout too) at a random moment (a fixed seed, so every run replays the
//! same storm). Afterwards no lease marker is left in Redis once a short settling time has
//! passed, and another handle (another process) gets every key within a bound far below
//! the lease. Today a request whose leader and waiter are cut short together leaves its
//! lease behind until it expires.

use std::time::{Duration, Instant};

use cache_aside::{RedisCache, cached};

use crate::support::RedisServer;

/// Keys of the storm.
const KEYS: u64 = 50;
/// Requests in all, and how many run at once.
const REQUESTS: u64 = 300;
const WAVE: u64 = 30;
/// The lease of every load: a leaked one outlives the settling time by seconds.
const LEASE: Duration = Duration::from_secs(5);
/// How long the library may take to give back what cancelled calls held.
const SETTLE: Duration = Duration::from_millis(1500);
/// How long another handle may take for all the keys together, after the settling time.
const SERVED: Duration = Duration::from_secs(1);
/// A bound on every wave, and on the whole check.
const LIMIT: Duration = Duration::from_secs(20);
const SEED: u64 = 0x5EED_0010;

#[cached(key = "storm:{key}", ttl = 600, lease = "5s", cache = cache)]
async fn storm(cache: &RedisCache, key: u64, work: Duration) -> String {
    // The body's own work: a load that takes a while, so cancellations land inside it too.
    tokio::time::sleep(work).await;
    format!("value {key}")
}

/// xorshift64*: small and deterministic.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }

    fn millis(&mut self, below: u64) -> Duration {
        Duration::from_millis(self.below(below))
    }
}

/// One request: `calls` concurrent calls on one key, in one future.
async fn request(cache: &RedisCache, key: u64, calls: u64, work: Duration) {
    match calls {
        1 => drop(storm(cache, key, work).await),
        2 => drop(tokio::join!(
            storm(cache, key, work),
            storm(cache, key, work)
        )),
        _ => drop(tokio::join!(
            storm(cache, key, work),
            storm(cache, key, work),
            storm(cache, key, work)
        )),
    }
}

/// How a request ends.
#[derive(Clone, Copy, Debug)]
enum End {
    /// `tokio::time::timeout` with this deadline.
    TimesOut(Duration),
    /// Its task aborted after this long.
    Aborted(Duration),
    /// It loses a `select!` against a request on another key (or wins it, and the other
    /// loses), under a timeout of this deadline.
    Races(u64, Duration),
}

async fn run(cache: RedisCache, rng_seed: u64) {
    let mut rng = Rng::new(rng_seed);
    let key = rng.below(KEYS);
    let calls = 1 + rng.below(3);
    let work = rng.millis(20);
    // Every request ends within its deadline, so that a leaked lease cannot slow the storm
    // down (a request that waited for one would be cut short like the others).
    let end = match rng.below(3) {
        0 => End::TimesOut(rng.millis(25)),
        1 => End::Aborted(rng.millis(25)),
        _ => End::Races(rng.below(KEYS), rng.millis(40)),
    };
    match end {
        End::TimesOut(deadline) => {
            let _ = tokio::time::timeout(deadline, request(&cache, key, calls, work)).await;
        }
        End::Aborted(after) => {
            let task = tokio::spawn({
                let cache = cache.clone();
                async move { request(&cache, key, calls, work).await }
            });
            tokio::time::sleep(after).await;
            task.abort();
            let _ = task.await;
        }
        End::Races(other, deadline) => {
            let (other_calls, other_work) = (1 + rng.below(3), rng.millis(20));
            let race = async {
                tokio::select! {
                    () = request(&cache, key, calls, work) => {}
                    () = request(&cache, other, other_calls, other_work) => {}
                }
            };
            let _ = tokio::time::timeout(deadline, race).await;
        }
    }
}

/// The storm's keys that hold a lease marker (a value starting with the byte 0xFF).
fn leased_keys(server: &RedisServer) -> Vec<u64> {
    let mut raw = server.raw();
    (0..KEYS)
        .filter(|key| {
            let value: Option<Vec<u8>> = redis::cmd("GET")
                .arg(format!("storm:{key}"))
                .query(&mut raw)
                .expect("raw GET");
            value.is_some_and(|bytes| bytes.first() == Some(&0xFF))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_cancellations_leaves_no_lease_behind() {
    let server = RedisServer::start();
    let connect = || crate::children::handle(&server.url());
    let (cache, twin) = (connect(), connect());
    let started = Instant::now();
    for wave in 0..REQUESTS / WAVE {
        let requests: Vec<_> = (0..WAVE)
            .map(|n| tokio::spawn(run(cache.clone(), SEED + wave * WAVE + n)))
            .collect();
        tokio::time::timeout(LIMIT, async {
            for request in requests {
                request.await.expect("a request panicked");
            }
        })
        .await
        .unwrap_or_else(|_| panic!("wave {wave} did not finish within {LIMIT:?}"));
    }
    let storm_took = started.elapsed();

    // Settling: what cancelled calls held may be given back on tasks of their own.
    let settled = Instant::now();
    let mut leased = leased_keys(&server);
    while !leased.is_empty() && settled.elapsed() < SETTLE {
        tokio::time::sleep(Duration::from_millis(20)).await;
        leased = leased_keys(&server);
    }
    println!(
        "storm: {REQUESTS} requests on {KEYS} keys in {storm_took:?}; {} key(s) still \
         leased {SETTLE:?} after it: {leased:?}",
        leased.len()
    );
    assert!(
        leased.is_empty(),
        "{} of {KEYS} keys still hold a lease marker {SETTLE:?} after the storm (lease \
         {LEASE:?}): {leased:?}",
        leased.len()
    );

    let checked = Instant::now();
    let reads: Vec<_> = (0..KEYS)
        .map(|key| {
            let twin = twin.clone();
            tokio::spawn(async move { (key, storm(&twin, key, Duration::ZERO).await) })
        })
        .collect();
    tokio::time::timeout(LIMIT, async {
        for read in reads {
            let (key, value) = read.await.expect("a read panicked");
            assert_eq!(value, format!("value {key}"));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("reading every key did not finish within {LIMIT:?}"));
    let took = checked.elapsed();
    println!("storm: another handle got all {KEYS} keys in {took:?}");
    assert!(
        took < SERVED,
        "another handle took {took:?} to get the {KEYS} keys (bound {SERVED:?}, lease \
         {LEASE:?})"
    );
}
