//! Reads in flight at once go out together: while a read is on the wire, the reads that
//! arrive queue up, and a drainer sends them as one `MGET`.
//!
//! Nothing waits on a timer: a read that finds nothing on the wire is sent at once as a
//! `GET`, so a lone call pays nothing. A read that finds one there queues, and a drainer (a
//! task, one per connection at most) sends the queue as one `MGET` at once, then whatever
//! queued meanwhile, until the queue is empty. Under load the queue fills during each round
//! trip, and one command replaces dozens, which is what lifts throughput past what one
//! connection's per-command costs allow (in the server and in redis-rs alike).
//!
//! The queue depends on no caller: the drainer is a task of its own, so a caller that is
//! slow to poll, cancelled, or whose runtime ends never strands the reads queued behind it.
//! Each queued read waits under its own deadline, and one given up drops its receiver.

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
    /// How many lone reads, and how many drainers, may be on the wire at once: one per
    /// connection.
    limit: usize,
}

#[derive(Default)]
struct State {
    alone: usize,
    drainers: usize,
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

/// A lone read on the wire, until it ends or is dropped.
struct Alone<'a>(&'a Coalescer);

impl Drop for Alone<'_> {
    fn drop(&mut self) {
        self.0.state().alone -= 1;
    }
}

/// A running drainer: if its task is dropped before the queue is empty (its runtime is
/// shutting down), the reads still queued fail at once rather than at their deadlines.
struct Draining {
    connection: Arc<Connection>,
    /// Whether it still counts among the drainers (`next_batch` gives the count up itself).
    counted: bool,
}

impl Draining {
    /// `next_batch` gave the count up under the lock, finding the queue empty.
    fn settled(mut self) {
        self.counted = false;
    }
}

impl Drop for Draining {
    fn drop(&mut self) {
        if !self.counted {
            return;
        }
        if let Some(coalescer) = &self.connection.coalescer {
            let mut state = coalescer.state();
            state.drainers -= 1;
            if state.drainers == 0 {
                state.queue.clear();
            }
        }
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
        let (waiting, drain) = {
            let mut state = coalescer.state();
            if state.alone < coalescer.limit && state.drainers == 0 {
                state.alone += 1;
                (None, false)
            } else {
                // A queued read goes out with no key of its own to admit: admit it here.
                self.admit_op(op)?;
                let (reply, waiting) = oneshot::channel();
                state.queue.push(Waiter {
                    key: key.to_vec(),
                    reply,
                });
                let drain = state.drainers < coalescer.limit;
                if drain {
                    state.drainers += 1;
                }
                (Some(waiting), drain)
            }
        };
        let Some(waiting) = waiting else {
            let _alone = Alone(coalescer);
            return self.read_one(op, key, with_ttl).await;
        };
        if drain {
            self.start_drainer();
        }
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

    /// Spawns a drainer (counted already): it sends the queue, batch after batch, until it
    /// finds it empty.
    fn start_drainer(&self) {
        let Some(connection) = self.me.upgrade() else {
            // Cannot happen while a caller borrows the connection; settled all the same.
            if let Some(coalescer) = &self.coalescer {
                coalescer.state().drainers -= 1;
            }
            return;
        };
        // Made before the task, so that a task dropped unpolled still settles its count.
        let draining = Draining {
            connection,
            counted: true,
        };
        self.spawn_here(async move {
            let with_ttl = draining.connection.tier.is_some();
            while let Some(batch) = draining.connection.next_batch() {
                draining.connection.send_batch(batch, with_ttl).await;
            }
            draining.settled();
        });
    }

    /// The oldest queued reads, up to a batch; `None` (and one drainer fewer) when none.
    fn next_batch(&self) -> Option<Vec<Waiter>> {
        let coalescer = self.coalescer.as_ref()?;
        let mut state = coalescer.state();
        if state.queue.is_empty() {
            state.drainers -= 1;
            return None;
        }
        let taken = state.queue.len().min(MAX_BATCH);
        Some(state.queue.drain(..taken).collect())
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

    /// One `MGET` (and a `PTTL` per key with a first tier) for the queued reads: on a
    /// cluster, one per slot, all in the same round trip.
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
        let groups = self.by_slot(batch);
        let mut commands = self.new_batch();
        for group in &groups {
            let mut get = redis::cmd("MGET");
            for waiter in group {
                get.arg(&waiter.key);
            }
            commands.add(&group[0].key, get);
            if with_ttl {
                for waiter in group {
                    let mut pttl = redis::cmd("PTTL");
                    pttl.arg(&waiter.key);
                    commands.add(&waiter.key, pttl);
                }
            }
        }
        let mut replies = match self.batch(op, &commands).await {
            Ok(replies) => replies.into_iter(),
            Err(error) => {
                let error = Arc::new(error);
                for waiter in groups.into_iter().flatten() {
                    let _ = waiter.reply.send(Err(Arc::clone(&error)));
                }
                return;
            }
        };
        for group in groups {
            let answers = 1 + if with_ttl { group.len() } else { 0 };
            let group_replies: Vec<Value> = replies.by_ref().take(answers).collect();
            match reads(op, group_replies, group.len(), with_ttl) {
                Ok(reads) => {
                    for (waiter, read) in group.into_iter().zip(reads) {
                        let _ = waiter.reply.send(Ok(read.value.is_some().then_some(read)));
                    }
                }
                Err(error) => {
                    let error = Arc::new(error);
                    for waiter in group {
                        let _ = waiter.reply.send(Err(Arc::clone(&error)));
                    }
                }
            }
        }
    }

    /// The reads, in groups whose keys share a slot on a cluster (one `MGET` may not cross
    /// slots there); one group on a server.
    fn by_slot(&self, batch: Vec<Waiter>) -> Vec<Vec<Waiter>> {
        #[cfg(feature = "cluster")]
        if self.is_cluster() {
            let mut groups: Vec<(redis::cluster_routing::Slot, Vec<Waiter>)> = Vec::new();
            for waiter in batch {
                let slot = redis::cluster_routing::Slot::for_key(&waiter.key);
                match groups.iter_mut().find(|(of, _)| *of == slot) {
                    Some((_, group)) => group.push(waiter),
                    None => groups.push((slot, vec![waiter])),
                }
            }
            return groups.into_iter().map(|(_, group)| group).collect();
        }
        vec![batch]
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
