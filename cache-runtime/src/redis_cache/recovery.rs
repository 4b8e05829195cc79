//! Closing the circuit breaker again: one background task per cache waits out the
//! cool-down, probes the server on a new connection, replays the deletions that failed,
//! and only then lets operations through.
//!
//! The probe is the task's own `PING`, not a caller's operation, so no caller ever waits on
//! a server that may still be gone, and no read is served before the waiting deletions are
//! done.

use std::sync::Weak;
use std::sync::atomic::Ordering;

use super::pending::{Batch, Deletion};
use super::{Connection, Op};
use crate::error::{CacheError, ErrorCode};

impl Connection {
    /// Starts the recovery task unless one is running. It runs on the cache's own runtime,
    /// so it does not end with the caller's; it ends when the breaker closes or the cache is
    /// dropped.
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

    /// One attempt: `PING`, then every waiting deletion, oldest first. An outage leaves the
    /// rest waiting; a deletion the server refuses for another reason is given up.
    async fn probe_and_replay(&self) -> Result<(), CacheError> {
        let ping = Op::plain("PING", ErrorCode::Connection).unguarded();
        let _: String = self.query(ping, &redis::cmd("PING")).await?;
        self.breaker.let_deletions_through();
        loop {
            // The guard must be gone before the await below.
            let next = self.pending().next();
            let Some(batch) = next else {
                return Ok(());
            };
            match self.replay(&batch).await {
                Ok(()) => self.pending().done(&batch),
                Err(error) if error.is_unavailable() => return Err(error),
                Err(error) => {
                    // Such as NOPERM from an ACL: retrying cannot help, and keeping it would
                    // keep the cache off for good.
                    tracing::warn!(
                        code = error.code().as_str(),
                        error = %error,
                        deletions = batch.deletions.len(),
                        "the server refused to replay cache deletions; they are given up, \
                         and the entries may be served until their TTL ends"
                    );
                    self.pending().give_up(&batch);
                }
            }
        }
    }

    async fn replay(&self, batch: &Batch) -> Result<(), CacheError> {
        let mut keys = Vec::with_capacity(batch.deletions.len());
        for deletion in &batch.deletions {
            match deletion {
                Deletion::Key(key) => keys.push(key.as_slice()),
                Deletion::Pattern(pattern) | Deletion::Everything(pattern) => {
                    let op = Op::on_pattern("SCAN/UNLINK", ErrorCode::Delete, pattern).unguarded();
                    let spare_tags = matches!(deletion, Deletion::Pattern(_));
                    self.scan_and_unlink(op, pattern, spare_tags).await?;
                }
                Deletion::Tag(key) => {
                    let op = Op::plain("EVAL take-tag", ErrorCode::Delete).unguarded();
                    self.invalidate_tag_sets(op, std::slice::from_ref(key))
                        .await?;
                }
            }
        }
        if !keys.is_empty() {
            let op = Op::plain("UNLINK", ErrorCode::Delete).unguarded();
            let _: u64 = self.query(op, redis::cmd("UNLINK").arg(&keys)).await?;
        }
        Ok(())
    }

    /// Closes the breaker if no deletion is waiting, under the queue's lock, so that one
    /// queued meanwhile keeps it open. The task is marked as ended first, also under the
    /// lock: a failure that opens the breaker again right after must start a new task.
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
    let mut wait = true;
    loop {
        // Holds the connection only while working, so that dropping the cache ends the task.
        let Some(cool_down) = running.connection.upgrade().map(|c| c.breaker.cool_down) else {
            return;
        };
        if wait {
            tokio::time::sleep(cool_down).await;
        }
        let Some(connection) = running.connection.upgrade() else {
            return;
        };
        connection.breaker.probing(true);
        match connection.probe_and_replay().await {
            Ok(()) if connection.close_if_caught_up(&mut running) => return,
            // A deletion came in after the last replay: go again without waiting.
            Ok(()) => wait = false,
            Err(error) => {
                wait = true;
                connection.breaker.probing(false);
                // The connection made for the probe may be the broken one; the next probe
                // makes its own.
                connection.drop_manager();
                tracing::debug!(
                    code = error.code().as_str(),
                    error = %error,
                    "cache probe failed; the circuit breaker stays open"
                );
            }
        }
    }
}
