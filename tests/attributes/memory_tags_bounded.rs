//! Issue 10, defect 8 (in-memory tags are unbounded): the memory a `MemoryCache` holds
//! stays bounded by its capacity, tag records included.
//!
//! 15,000 tagged `#[cached]` inserts (distinct keys, three tags each: one of the key's
//! own, one of 100 groups, one shared by all; keys and tags padded to about 1 KiB, so
//! that what the records keep shows in a short run) into `MemoryCache::with_capacity(1_000)`.
//! Today evicting an entry does not remove it from its tags, so the tag records keep every
//! key ever inserted (the issue measured 423 MiB for a million inserts). The library
//! exposes no count of tag records, so this measures the resident set of a process of its
//! own (this test binary run again for the ignored `child`), where nothing else runs.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use cache_aside::{MemoryCache, SharedCache, cached};

const INSERTS: u64 = 15_000;
const CAPACITY: u64 = 1_000;
/// What the process may grow by: the 1,000 entries and their tags take about 5 MiB; the
/// rest is slack for the allocator and the runtime.
const BOUND_MIB: u64 = 32;
/// Where the child finds that it is one.
const CHILD: &str = "CACHE_ASIDE_MEMORY_TAGS_CHILD";
const LIMIT: Duration = Duration::from_secs(300);

/// Makes keys and tags long.
const PAD: &str = concat!(
    "................................................................",
    "................................................................",
    "................................................................",
    "................................................................",
    "................................................................",
    "................................................................",
    "................................................................",
    "................................................................",
    "................................................................",
    "................................................................",
    "................................................................",
    "................................................................",
    "................................................................",
    "................................................................",
    "................................................................",
    "................................................................",
);

#[cached(
    key = "bounded:{n}:{pad}",
    ttl = 600,
    tags = ["item:{n}:{pad}", "group:{group}:{pad}", "all"],
    cache = cache
)]
async fn insert(cache: &SharedCache, n: u64, group: u64, pad: &str) -> u64 {
    n
}

/// The resident set of this process, in KiB (`VmRSS` in `/proc/self/status`).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

#[test]
fn tag_records_stay_bounded_by_the_capacity() {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new(exe)
        .args([
            "memory_tags_bounded::child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the child");
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let (done, output) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let _ = done.send(text);
    });
    let Ok(text) = output.recv_timeout(LIMIT) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the child did not finish within {LIMIT:?}");
    };
    let status = child.wait().expect("reap the child");
    assert!(status.success(), "the child failed ({status}):\n{text}");
    let growth_kib: u64 = text
        .lines()
        .find_map(|line| line.split("grew by ").nth(1))
        .and_then(|rest| rest.split(" KiB").next())
        .and_then(|kib| kib.trim().parse().ok())
        .unwrap_or_else(|| panic!("the child reported its growth:\n{text}"));
    let growth_mib = growth_kib / 1024;
    println!(
        "memory tags: {INSERTS} tagged inserts into a cache of capacity {CAPACITY}: the \
         process grew by {growth_mib} MiB (bound {BOUND_MIB} MiB)"
    );
    assert!(
        growth_mib < BOUND_MIB,
        "{INSERTS} tagged inserts into a MemoryCache of capacity {CAPACITY} grew the process \
         by {growth_mib} MiB (bound {BOUND_MIB} MiB): tag records outlive evicted entries"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of tag_records_stay_bounded_by_the_capacity"]
async fn child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let cache = SharedCache::new(MemoryCache::with_capacity(CAPACITY));
    // Warm up: the runtime, moka's structures and the first allocations.
    for n in 0..CAPACITY {
        assert_eq!(insert(&cache, n, n % 100, PAD).await, n);
    }
    let before = rss_kib();
    for n in CAPACITY..CAPACITY + INSERTS {
        assert_eq!(insert(&cache, n, n % 100, PAD).await, n);
    }
    let after = rss_kib();
    println!(
        "memory tags child: {before} KiB before, {after} KiB after: grew by {} KiB",
        after.saturating_sub(before)
    );
}
