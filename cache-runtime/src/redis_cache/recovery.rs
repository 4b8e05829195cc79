//! Catching up: one background task per cache (on the cache's own runtime) replays the
//! deletions that failed and closes the circuit breaker again.
//!
//! - While the breaker is closed, waiting deletions are replayed at once, and again after
//!   each cool-down while the replay fails.
//! - While it is open, the task waits out the cool-down, probes the server with `PING` on a
//!   new connection (never one whose connect may have failed during the outage), replays
//!   the waiting deletions, and only then lets operations through.
//!
//! The probe is the task's own `PING`, not a caller's operation, so no caller ever waits on
//! a server that may still be gone, and no read of a key a waiting deletion covers is served
//! before that deletion is done.

use std::sync::Weak;
use std::sync::atomic::Ordering;

use super::pending::Batch;
use super::{Connection, Op};
use crate::error::{CacheError, ErrorCode};
use crate::health::BreakerState;

impl Connection {
    /// Starts the recovery task unless one is running. It runs on the cache's own runtime,
    /// so it does not end with the caller's; it ends once the breaker is closed with no
    /// deletion waiting, or when the cache is dropped.
    pub(super) fn recover(&self) {
        if self.recovering.load(Ordering::Acquire) || self.recovering.swap(true, Ordering::AcqRel) {
            return;
        }
        // If it cannot be spawned, `Running`'s drop clears the mark: the next operation
        // tries again.
        self.spawn(recovery(Running {
            connection: self.me.clone(),
            armed: true,
        }));
    }

    /// One attempt: with the breaker open, a `PING` on a fresh connection first; then every
    /// waiting deletion. An outage leaves the rest waiting; a deletion the server refuses
    /// for good is given up.
    async fn probe_and_replay(&self) -> Result<(), CacheError> {
        if self.breaker.state() != BreakerState::Closed {
            self.breaker.probing(true);
            self.drop_link();
            let ping = Op::plain("PING", ErrorCode::Connection).unguarded();
            let _: String = self.query(ping, &redis::cmd("PING")).await?;
            self.breaker.let_deletions_through();
        }
        loop {
            // The guard must be gone before the await below.
            let next = self.pending().next();
            let Some(batch) = next else {
                return Ok(());
            };
            for part in batch.parts() {
                match self.replay(&part).await {
                    Ok(()) => {
                        let mut pending = self.pending();
                        pending.done(&part);
                        self.pending_changed(&pending);
                    }
                    Err(error) if error.is_unavailable() => return Err(error),
                    Err(error) => {
                        // Such as NOPERM from an ACL: retrying cannot help, and keeping it
                        // would keep its keys off the cache for good.
                        self.log_refusal(&error, part.len());
                        let mut pending = self.pending();
                        pending.give_up(&part);
                        self.pending_changed(&pending);
                    }
                }
            }
        }
    }

    /// A part of a batch: a run of keys, every waiting pattern in one `SCAN` pass, or every
    /// waiting tag.
    async fn replay(&self, batch: &Batch) -> Result<(), CacheError> {
        if !batch.keys.is_empty() {
            let op = Op::plain("UNLINK", ErrorCode::Delete).unguarded();
            self.unlink(op, &batch.keys).await?;
        }
        if !batch.patterns.is_empty() {
            let op = Op::plain("SCAN/UNLINK", ErrorCode::Delete).unguarded();
            self.scan_and_unlink_all(op, &batch.patterns).await?;
        }
        if !batch.tags.is_empty() {
            let op = Op::plain("EVAL take-tag", ErrorCode::Delete).unguarded();
            self.invalidate_tag_sets(op, &batch.tags).await?;
        }
        Ok(())
    }

    /// Closes the breaker if no deletion is waiting, under the queue's lock, so that one
    /// queued meanwhile keeps the task going. The task is marked as ended first, also under
    /// the lock: a failure right after must start a new task.
    fn close_if_caught_up(&self, running: &mut Running) -> bool {
        let pending = self.pending();
        if !pending.is_empty() {
            return false;
        }
        running.armed = false;
        self.recovering.store(false, Ordering::Release);
        self.breaker.close();
        true
    }
}

/// Marks the recovery task as running; clears the mark however the task ends (also when
/// its runtime shuts down and drops it), so that the next rejected operation starts another.
struct Running {
    connection: Weak<Connection>,
    /// False once the task has cleared the mark itself: a later task may own it by then.
    armed: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.armed
            && let Some(connection) = self.connection.upgrade()
        {
            connection.recovering.store(false, Ordering::Release);
        }
    }
}

async fn recovery(mut running: Running) {
    // At first, an open breaker waits a cool-down before its probe, and deletions waiting
    // while it is closed are replayed at once; after a failure, a cool-down either way.
    let mut wait = None;
    // Whether the breaker was open at the last attempt: one that opened since (callers'
    // failures during a replay) gets its cool-down before the probe too.
    let mut was_open = false;
    loop {
        // Holds the connection only while working, so that dropping the cache ends the task.
        let Some((cool_down, open)) = running.connection.upgrade().map(|c| {
            (
                c.breaker.cool_down,
                c.breaker.state() != BreakerState::Closed,
            )
        }) else {
            return;
        };
        let pause = match wait {
            None => open,
            Some(failed) => failed || (open && !was_open),
        };
        was_open = open;
        if pause {
            tokio::time::sleep(cool_down).await;
        }
        let Some(connection) = running.connection.upgrade() else {
            return;
        };
        match connection.probe_and_replay().await {
            Ok(()) if connection.close_if_caught_up(&mut running) => return,
            // A deletion came in after the last replay: go again without waiting.
            Ok(()) => wait = Some(false),
            Err(error) => {
                wait = Some(true);
                if connection.breaker.state() != BreakerState::Closed {
                    connection.breaker.probing(false);
                    // The probe's connection may be the broken one; the next probe makes its
                    // own.
                    connection.drop_link();
                }
                tracing::debug!(
                    target: "cache_aside",
                    code = error.code().as_str(),
                    error = %error,
                    "cache probe or replay failed; trying again after the cool-down"
                );
            }
        }
    }
}
