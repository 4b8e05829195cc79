//! Closing the circuit breaker again: one background task per cache waits out the
//! cool-down, probes the server on a new connection, replays the deletions that failed,
//! and only then lets operations through.
//!
//! The probe is the task's own `PING`, not a caller's operation, so no caller ever waits on
//! a server that may still be gone, and no read is served before the waiting deletions are
//! done.

use std::sync::Weak;
use std::sync::atomic::Ordering;

use super::pending::Deletion;
use super::{Connection, Op};
use crate::error::{CacheError, ErrorCode};

impl Connection {
    /// Starts the recovery task unless one is running. Needs a Tokio runtime, as every
    /// operation does; the task ends when the breaker closes or the cache is dropped.
    pub(super) fn recover(&self) {
        if self.recovering.load(Ordering::Acquire) || self.recovering.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // Unreachable through the adapter, whose operations run inside a runtime; the
            // next operation tries again.
            self.recovering.store(false, Ordering::Release);
            return;
        };
        runtime.spawn(recovery(Running(self.me.clone())));
    }

    /// One attempt: `PING`, then every waiting deletion, oldest first. An error leaves the
    /// rest waiting.
    async fn probe_and_replay(&self) -> Result<(), CacheError> {
        let ping = Op::plain("PING", ErrorCode::Connection).unguarded();
        let _: String = self.query(ping, &redis::cmd("PING")).await?;
        loop {
            // The guard must be gone before the await below.
            let next = self.pending().next();
            let Some((deletion, generation)) = next else {
                return Ok(());
            };
            match &deletion {
                Deletion::Key(key) => {
                    let op = Op::on_key("UNLINK", ErrorCode::Delete, key).unguarded();
                    let _: u64 = self.query(op, redis::cmd("UNLINK").arg(key)).await?;
                }
                Deletion::Pattern(pattern) => {
                    let op = Op::on_pattern("SCAN/UNLINK", ErrorCode::Delete, pattern).unguarded();
                    self.scan_and_unlink(op, pattern).await?;
                }
            }
            self.pending().done(generation);
        }
    }

    /// Closes the breaker if no deletion is waiting: under the queue's lock, so that one
    /// queued meanwhile keeps it open.
    fn close_if_caught_up(&self) -> bool {
        let pending = self.pending();
        if !pending.is_empty() {
            return false;
        }
        self.breaker.close();
        true
    }
}

/// Marks the recovery task as running; clears the mark however the task ends (also when
/// its runtime shuts down and drops it), so that the next rejected operation starts another.
struct Running(Weak<Connection>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(connection) = self.0.upgrade() {
            connection.recovering.store(false, Ordering::Release);
        }
    }
}

async fn recovery(running: Running) {
    let mut wait = true;
    loop {
        // Holds the connection only while working, so that dropping the cache ends the task.
        let Some(cool_down) = running.0.upgrade().map(|c| c.breaker.cool_down) else {
            return;
        };
        if wait {
            tokio::time::sleep(cool_down).await;
        }
        let Some(connection) = running.0.upgrade() else {
            return;
        };
        connection.breaker.probing(true);
        match connection.probe_and_replay().await {
            Ok(()) if connection.close_if_caught_up() => return,
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
