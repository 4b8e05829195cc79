//! `coalescing(true)`: `get`s in flight together go out as one `MGET`, and each caller still
//! gets its own answer: its own value, its own `None`, its own failure; a caller that gives up
//! (cancelled at its await) takes nothing from the others. Without the first tier, so that
//! every read goes to Redis.

use std::sync::Arc;
use std::time::Duration;

use cache_aside::prelude::*;
use cache_aside::{ErrorCode, RedisCache};
use tokio::sync::Barrier;

use crate::rig::{LIMIT, OP_TIMEOUT, Raw, RedisServer, bounded, command_calls};

/// Callers at once.
const CALLERS: usize = 64;
/// Crowds of callers per test: each a chance for the `GET`s to pile up behind one in flight.
const ROUNDS: usize = 20;
/// The caller whose key holds nothing.
const MISSING: usize = 13;
/// A key limit that the too-large caller's key exceeds.
const MAX_KEY: usize = 64;

fn coalescing(server: &RedisServer) -> RedisCache {
    RedisCache::builder(server.url())
        .op_timeout(OP_TIMEOUT)
        .coalescing(true)
        .max_key_size(MAX_KEY)
        .build()
        .unwrap()
}

fn key(caller: usize) -> String {
    format!("crowd:{caller}")
}

fn value(caller: usize, round: usize) -> String {
    format!("value of caller {caller} in round {round}")
}

/// Writes every caller's value for `round` (all but [`MISSING`]'s) in one `MSET`.
fn seed(raw: &Raw, round: usize) {
    let mut mset = redis::cmd("MSET");
    for caller in (0..CALLERS).filter(|&caller| caller != MISSING) {
        mset.arg(key(caller)).arg(value(caller, round));
    }
    raw.query::<()>(&mset);
}

/// `MGET`s the server has run so far.
fn mgets(raw: &Raw) -> u64 {
    command_calls(raw).get("mget").copied().unwrap_or(0)
}

/// Runs `call(caller)` for every caller at once (released together by a barrier) and returns
/// the answers in callers' order.
async fn crowd<T, F, Fut>(call: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(CALLERS));
    let tasks: Vec<_> = (0..CALLERS)
        .map(|caller| {
            let (barrier, call) = (Arc::clone(&barrier), call(caller));
            tokio::spawn(async move {
                barrier.wait().await;
                call.await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(CALLERS);
    for task in tasks {
        answers.push(
            bounded(LIMIT, "a caller", task)
                .await
                .expect("a caller panicked"),
        );
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_caller_gets_its_own_value_and_a_missing_key_is_its_callers_none() {
    let server = RedisServer::start();
    let raw = Raw::new(&server);
    let cache = coalescing(&server);
    let before = mgets(&raw);
    for round in 0..ROUNDS {
        seed(&raw, round);
        let answers = crowd(|caller| {
            let cache = cache.clone();
            async move { cache.get(&key(caller)).await }
        })
        .await;
        for (caller, answer) in answers.into_iter().enumerate() {
            let expected = (caller != MISSING).then(|| value(caller, round));
            assert_eq!(
                answer.unwrap_or_else(|error| panic!("caller {caller}: {error}")),
                expected,
                "caller {caller} in round {round}"
            );
        }
    }
    let batched = mgets(&raw) - before;
    println!(
        "coalescing: {ROUNDS} crowds of {CALLERS} callers on distinct keys, each got its own \
         answer; {batched} MGETs"
    );
    assert!(batched > 0, "no GET was ever coalesced into an MGET");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_caller_does_not_disturb_the_others() {
    let server = RedisServer::start();
    let raw = Raw::new(&server);
    let cache = coalescing(&server);
    let mut cancelled = 0;
    for round in 0..ROUNDS {
        seed(&raw, round);
        // Every third caller gives up: at its first await (a zero timeout polls the read once,
        // so it is queued or sent, then dropped), or after a few turns of the scheduler.
        let answers = crowd(|caller| {
            let cache = cache.clone();
            async move {
                let key = key(caller);
                match caller % 3 {
                    0 => tokio::time::timeout(Duration::ZERO, cache.get(&key))
                        .await
                        .ok(),
                    1 => {
                        let read = tokio::spawn(async move { cache.get(&key).await });
                        tokio::task::yield_now().await;
                        read.abort();
                        read.await.ok()
                    }
                    _ => Some(cache.get(&key).await),
                }
            }
        })
        .await;
        for (caller, answer) in answers.into_iter().enumerate() {
            let Some(answer) = answer else {
                cancelled += 1;
                continue;
            };
            let expected = (caller != MISSING).then(|| value(caller, round));
            assert_eq!(
                answer.unwrap_or_else(|error| panic!("caller {caller}: {error}")),
                expected,
                "caller {caller} in round {round}"
            );
        }
    }
    // Nothing of the cancelled calls is left over to be handed to a later one.
    seed(&raw, ROUNDS);
    for caller in 0..CALLERS {
        let expected = (caller != MISSING).then(|| value(caller, ROUNDS));
        assert_eq!(cache.get(&key(caller)).await.unwrap(), expected);
    }
    println!(
        "coalescing: {cancelled} of {} calls cancelled at their await; every other caller got \
         its own answer",
        ROUNDS * CALLERS
    );
}

/// The outcome of one call, comparable: its value, or its error's code.
fn outcome(
    answer: Result<Option<String>, cache_aside::CacheError>,
) -> Result<Option<String>, ErrorCode> {
    answer.map_err(|error| error.code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_callers_failure_fails_no_other_and_is_its_own() {
    let server = RedisServer::start();
    let raw = Raw::new(&server);
    let cache = coalescing(&server);
    // Three callers whose reads fail, each differently: a key over the size limit (refused
    // before anything is sent), bytes that are not UTF-8, and a list (`GET` answers
    // `WRONGTYPE`; an `MGET` would answer nil).
    let too_large = "x".repeat(MAX_KEY + 1);
    let (not_utf8, list) = ("crowd:not-utf8", "crowd:list");
    raw.set(not_utf8, &[0xff_u8, 0xfe][..]);
    raw.query::<u64>(redis::cmd("RPUSH").arg(list).arg("an item"));
    let special = |caller: usize| match caller {
        1 => Some(too_large.clone()),
        2 => Some(not_utf8.to_owned()),
        3 => Some(list.to_owned()),
        _ => None,
    };
    // Each alone first: what the crowd's callers must get too.
    let mut alone = Vec::new();
    for caller in 1..=3 {
        let key = special(caller).unwrap();
        let answer = outcome(cache.get(&key).await);
        assert!(answer.is_err(), "caller {caller} alone: {answer:?}");
        alone.push(answer);
    }
    for round in 0..ROUNDS {
        seed(&raw, round);
        let answers = crowd(|caller| {
            let (cache, key) = (
                cache.clone(),
                special(caller).unwrap_or_else(|| key(caller)),
            );
            async move { outcome(cache.get(&key).await) }
        })
        .await;
        for (caller, answer) in answers.into_iter().enumerate() {
            let expected = match caller {
                1..=3 => alone[caller - 1].clone(),
                MISSING => Ok(None),
                _ => Ok(Some(value(caller, round))),
            };
            assert_eq!(answer, expected, "caller {caller} in round {round}");
        }
    }
    println!(
        "coalescing: failures alone {alone:?}, the same in every crowd, and no other caller failed"
    );
}
