//! Reads in flight at once go out together: while a read is on the wire, the reads that
//! arrive queue up, and when it ends they leave as one `MGET`.
//!
//! Nothing waits on a timer: a read that finds the way clear is sent at once as a `GET`, so a
//! lone call pays nothing. Under load the queue fills during each round trip, and one
//! command replaces dozens, which is what lifts throughput past what one connection's
//! per-command costs allow (in the server and in redis-rs alike).
//!
//! The batch is sent by a task of its own, spawned by whichever read ends first, so a
//! caller that is cancelled (or whose runtime ends) never strands the reads queued behind
//! it: each queued read waits for its reply under its own deadline, and a read given up
//! simply drops its receiver.

use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};

use redis::Value;
use tokio::sync::oneshot;

use super::connection::Connection;
use super::key::PrefixedKey;
use super::op::Op;
use crate::error::{CacheError, ErrorCode};

/// The most keys one `MGET` carries; more wait for the next.
const MAX_BATCH: usize = 256;

/// What a read found: the value, and with a first tier the key's `PTTL` in the same round
/// trip (0 without one).
pub(super) struct Read {
    pub(super) value: Option<Vec<u8>>,
    pub(super) pttl: i64,
}

/// The queue of reads waiting for the one in flight.
pub(super) struct Coalescer {
    state: Mutex<State>,
    /// How many reads or batches may be on the wire at once: one per connection.
    limit: usize,
}

#[derive(Default)]
struct State {
    in_flight: usize,
    queue: Vec<Waiter>,
}

/// A batch's answer to one read: `None` when `MGET` answered nil, which it does for a
/// missing key and for a key of another type alike (where `GET` answers `WRONGTYPE`). The
/// reader then asks alone, so that a batched read answers exactly as a lone one: a key
/// holding a list is an error, which the miss path repairs. Only misses pay it.
type Reply = Result<Option<Read>, Arc<CacheError>>;

struct Waiter {
    key: Vec<u8>,
    reply: oneshot::Sender<Reply>,
}

impl Coalescer {
    pub(super) fn new(limit: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            limit: limit.max(1),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A place on the wire: when it ends (the read returned, failed or was dropped), the reads
/// queued meanwhile are sent.
struct Turn<C: Deref<Target = Connection>>(C);

impl<C: Deref<Target = Connection>> Drop for Turn<C> {
    fn drop(&mut self) {
        self.0.turn_over();
    }
}

impl Connection {
    /// Reads `key` (with its `PTTL` when `with_ttl`), alone or in a batch.
    pub(super) async fn read(
        &self,
        op: Op<'_>,
        key: PrefixedKey<'_>,
        with_ttl: bool,
    ) -> Result<Read, CacheError> {
        let Some(coalescer) = &self.coalescer else {
            return self.read_one(op, key, with_ttl).await;
        };
        let waiting = {
            let mut state = coalescer.state();
            if state.in_flight < coalescer.limit {
                state.in_flight += 1;
                None
            } else {
                // A queued read goes out with no key of its own to admit: admit it here.
                self.admit_op(op)?;
                let (reply, waiting) = oneshot::channel();
                state.queue.push(Waiter {
                    key: key.to_vec(),
                    reply,
                });
                Some(waiting)
            }
        };
        let Some(waiting) = waiting else {
            let _turn = Turn(self);
            return self.read_one(op, key, with_ttl).await;
        };
        let answer = async {
            match waiting.await {
                Ok(Ok(Some(read))) => Ok(read),
                Ok(Ok(None)) => self.read_one(op, key, with_ttl).await,
                Ok(Err(batch)) => Err(op
                    .error(batch.code(), batch.message().to_owned())
                    .with_source(batch)),
                // The batch was dropped unsent: its runtime ended.
                Err(_) => Err(op.error(
                    ErrorCode::Connection,
                    format!("{} not sent: its batch was dropped", op.command),
                )),
            }
        };
        // One deadline for the wait, the batch and any read alone.
        match tokio::time::timeout(self.op_timeout, answer).await {
            Ok(answer) => answer,
            Err(_) => Err(op.timed_out(self.op_timeout)),
        }
    }

    async fn read_one(
        &self,
        op: Op<'_>,
        key: PrefixedKey<'_>,
        with_ttl: bool,
    ) -> Result<Read, CacheError> {
        if !with_ttl {
            // Bytes first: redis-rs's own conversion error would quote the stored value.
            let value = self.query(op, redis::cmd("GET").arg(key)).await?;
            return Ok(Read { value, pttl: 0 });
        }
        let mut pipeline = redis::pipe();
        pipeline.cmd("GET").arg(key).cmd("PTTL").arg(key);
        let (value, pttl) = self.pipeline_query(op, &pipeline).await?;
        Ok(Read { value, pttl })
    }

    /// A read or batch ended: the next batch takes its place on the wire, if reads queued.
    fn turn_over(&self) {
        let Some(coalescer) = &self.coalescer else {
            return;
        };
        let batch = {
            let mut state = coalescer.state();
            if state.queue.is_empty() {
                state.in_flight -= 1;
                return;
            }
            // The oldest first: they have waited longest on their deadlines.
            let taken = state.queue.len().min(MAX_BATCH);
            state.queue.drain(..taken).collect::<Vec<_>>()
        };
        let Some(connection) = self.me.upgrade() else {
            // The cache is being dropped: the batch's readers see it dropped.
            return;
        };
        let with_ttl = self.tier.is_some();
        // Made before the task, so that a task dropped unpolled (its runtime is shutting
        // down) still hands the wire on.
        let turn = Turn(connection);
        self.spawn_here(async move {
            turn.0.send_batch(batch, with_ttl).await;
            drop(turn);
        });
    }

    /// One `MGET` (and a `PTTL` per key with a first tier) for the queued reads.
    async fn send_batch(&self, batch: Vec<Waiter>, with_ttl: bool) {
        // Readers that gave up need no answer.
        let batch: Vec<Waiter> = batch
            .into_iter()
            .filter(|waiter| !waiter.reply.is_closed())
            .collect();
        if batch.is_empty() {
            return;
        }
        let op = Op::plain("MGET", ErrorCode::Get);
        let mut pipeline = redis::pipe();
        let get = pipeline.cmd("MGET");
        for waiter in &batch {
            get.arg(&waiter.key);
        }
        if with_ttl {
            for waiter in &batch {
                pipeline.cmd("PTTL").arg(&waiter.key);
            }
        }
        let replies: Result<Vec<Value>, CacheError> = self.pipeline_query(op, &pipeline).await;
        let reads = replies.and_then(|replies| reads(op, replies, batch.len(), with_ttl));
        match reads {
            Ok(reads) => {
                for (waiter, read) in batch.into_iter().zip(reads) {
                    let _ = waiter.reply.send(Ok(read.value.is_some().then_some(read)));
                }
            }
            Err(error) => {
                let error = Arc::new(error);
                for waiter in batch {
                    let _ = waiter.reply.send(Err(Arc::clone(&error)));
                }
            }
        }
    }
}

/// The pipeline's replies as one read per key.
fn reads(
    op: Op<'_>,
    replies: Vec<Value>,
    keys: usize,
    with_ttl: bool,
) -> Result<Vec<Read>, CacheError> {
    let mut replies = replies.into_iter();
    let malformed = || {
        op.error(
            ErrorCode::Get,
            "MGET answered in an unexpected shape".into(),
        )
    };
    let values: Vec<Option<Vec<u8>>> = replies
        .next()
        .and_then(|values| redis::from_redis_value(values).ok())
        .filter(|values: &Vec<Option<Vec<u8>>>| values.len() == keys)
        .ok_or_else(malformed)?;
    values
        .into_iter()
        .map(|value| {
            let pttl = match with_ttl {
                true => replies
                    .next()
                    .and_then(|pttl| redis::from_redis_value(pttl).ok())
                    .ok_or_else(malformed)?,
                false => 0,
            };
            Ok(Read { value, pttl })
        })
        .collect()
}
