//! Rate limits on Redis: one string per key, a ring of the server times (in microseconds)
//! of the requests allowed in its window, checked and updated by one script.
//!
//! The string is a header, the bytes `\xFFrl1` then the ring's head (the slot of the oldest
//! request) as a big-endian `u32`, followed by one big-endian `f64` per slot: the server's
//! `TIME` in microseconds, exact in a double for centuries to come. A slot holding 0 is a
//! free one (older than any window). The ring starts with one slot and doubles, up to the
//! limit, only when every slot is still in the window, so a key's memory follows its peak
//! demand: 8 bytes a request, written with `SET` at each doubling so that the server
//! allocates exactly that.
//!
//! A request is allowed when the oldest slot has left the window (it then takes that slot)
//! or the ring can still grow; otherwise all `limit` slots are in the window and it is
//! refused, to be retried when the oldest leaves. A ring made under a higher limit keeps its
//! size, and the `limit`-th newest request decides. Slots are in time order from the head, so
//! how many remain is one bisection. The key expires a window after the last request
//! allowed, when all its slots have left the window. One key, passed in `KEYS`, so the
//! script runs unchanged on Redis Cluster; the server's clock, so processes on hosts whose
//! clocks differ still share one window.

use std::time::Duration;

use super::RedisCache;
use super::op::Op;
use super::script::Lua;
use crate::error::{CacheError, ErrorCode};
use crate::port::BoxFuture;
use crate::rate_limit::{self, RateDecision, RateLimits};

/// Allows one request at KEYS[1] under ARGV[1] requests per ARGV[2] microseconds, the key
/// then expiring after ARGV[3] milliseconds. Returns `{1, remaining, 0}` when it allowed the
/// request, `{0, 0, microseconds until the oldest request leaves the window}` when not.
///
/// `PEXPIRE` comes last: a server that finds the deadline already past deletes the key at
/// once, and nothing may read it after that.
static CHECK: Lua = Lua::new(
    r"
    local key = KEYS[1]
    local limit = tonumber(ARGV[1])
    local clock = redis.call('TIME')
    local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
    local since = now - tonumber(ARGV[2])
    local MAGIC = '\255rl1'
    -- A ring of up to 1,023 slots is read whole, in this one call; a larger one a slot at a
    -- time, so that a check never copies more than 8 KB.
    local WHOLE = 8192

    local raw = redis.call('GETRANGE', key, 0, WHOLE - 1)
    local size = #raw
    if size == WHOLE then
        size = redis.call('STRLEN', key)
        if size > WHOLE then
            raw = nil
        end
    end
    local head, capacity = 0, 0
    if size > 0 then
        capacity = (size - 8) / 8
        local header = raw or redis.call('GETRANGE', key, 0, 7)
        if capacity < 1 or capacity % 1 ~= 0 or string.sub(header, 1, 4) ~= MAGIC then
            return redis.error_reply('NOTAWINDOW the key holds a value that is not a rate-limit window')
        end
        head = struct.unpack('>I4', header, 5)
        if head >= capacity then
            return redis.error_reply('NOTAWINDOW the key holds a rate-limit window that is damaged')
        end
    end

    -- The time in `slot`. `raw` is the ring as read, or as last rewritten: the slots written
    -- since are read only through the server.
    local function stamp(slot)
        local at = 8 + slot * 8
        if raw then
            return (struct.unpack('>d', raw, at + 1))
        end
        return (struct.unpack('>d', redis.call('GETRANGE', key, at, at + 7)))
    end

    -- Rewrites the ring with `to` slots (more than it has), oldest first from slot 0: free
    -- slots, then the requests it holds.
    local function grow(to)
        local old = raw or redis.call('GET', key)
        local parts = {MAGIC, struct.pack('>I4', 0), string.rep('\0', 8 * (to - capacity))}
        for i = 0, capacity - 1 do
            local at = 9 + ((head + i) % capacity) * 8
            parts[#parts + 1] = string.sub(old, at, at + 7)
        end
        local ring = table.concat(parts)
        redis.call('SET', key, ring, 'KEEPTTL')
        head, capacity = 0, to
        if #ring <= WHOLE then
            raw = ring
        else
            raw = nil
        end
    end

    local remaining
    if capacity == 0 then
        redis.call('SET', key, MAGIC .. struct.pack('>I4', 0) .. struct.pack('>d', now))
        capacity = 1
        remaining = limit - 1
    else
        -- The `limit`-th newest request, or the oldest while the ring is smaller (a ring
        -- made under a higher limit is larger: it keeps counting every request it holds).
        local last = stamp((head + math.max(0, capacity - limit)) % capacity)
        if last > since then
            if capacity >= limit then
                return {0, 0, last - since}
            end
            grow(math.min(limit, capacity * 2))
        end
        -- The oldest has left the window (or is a free slot): this request takes its slot,
        -- which `raw` no longer shows; the bisection below never reads it.
        redis.call('SETRANGE', key, 8 + head * 8, struct.pack('>d', now))
        head = (head + 1) % capacity
        redis.call('SETRANGE', key, 4, struct.pack('>I4', head))
        -- The first slot still in the window, by bisection from the oldest; the newest, at
        -- `capacity - 1`, is this request.
        local low, high = 0, capacity - 1
        while low < high do
            local middle = math.floor((low + high) / 2)
            if stamp((head + middle) % capacity) <= since then
                low = middle + 1
            else
                high = middle
            end
        end
        remaining = limit - (capacity - low)
    end
    redis.call('PEXPIRE', key, ARGV[3])
    return {1, remaining, 0}
    ",
);

impl RateLimits for RedisCache {
    fn check<'a>(
        &'a self,
        key: &'a str,
        limit: u64,
        window: Duration,
    ) -> BoxFuture<'a, Result<RateDecision, CacheError>> {
        Box::pin(self.rate_check(key, limit, window))
    }
}

impl RedisCache {
    /// One round trip: the script, by digest (and once more in full after a `SCRIPT FLUSH`
    /// or a restart), under the operation deadline and the circuit breaker.
    async fn rate_check(
        &self,
        key: &str,
        limit: u64,
        window: Duration,
    ) -> Result<RateDecision, CacheError> {
        let window_ms = rate_limit::window_millis(limit, window)?;
        // Not resent: a second run after a lost reply would record the request twice.
        let op = Op::on_key("EVALSHA rate-limit", ErrorCode::RateLimit, key)
            .in_view(self.view.prefix())
            .not_resent();
        let key = self.key(key)?;
        let (allowed, remaining, wait_us): (i64, i64, i64) = self
            .eval(op, &CHECK, |cmd| {
                cmd.arg(key)
                    .arg(limit)
                    .arg(window_ms.saturating_mul(1000))
                    // A millisecond more: the key must outlive its last request's window.
                    .arg(window_ms.saturating_add(1));
            })
            .await?;
        if allowed == 1 {
            return Ok(RateDecision::allow(u64::try_from(remaining).unwrap_or(0)));
        }
        let wait = Duration::from_micros(u64::try_from(wait_us).unwrap_or(0));
        Ok(RateDecision::refuse(rate_limit::retry_after(
            wait, window_ms,
        )))
    }
}
