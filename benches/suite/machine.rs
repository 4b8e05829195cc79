//! What the benchmarks run on, and what their headers say of it: the machine's load (other
//! processes move the absolute figures, which is why the tables give ratios), the server's
//! version, and the runtime that drives the contenders.

use tokio::runtime::Runtime;

/// The runtime's worker threads, as the headers say.
pub const WORKERS: usize = 2;

/// Whether `cargo bench` ran this binary: `cargo test --benches` (and `--all-targets`) runs
/// bench binaries too, without `--bench`, and a benchmark takes minutes.
pub fn asked_to_run() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

/// A multi-thread Tokio runtime with [`WORKERS`] workers, as the callers of a cache use.
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .expect("a Tokio runtime")
}

/// The machine's load (`/proc/loadavg`: 1, 5 and 15 minutes).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The server's version (`INFO server`); `?` if it does not say.
pub fn redis_version(connection: &mut redis::Connection) -> String {
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query(connection)
        .unwrap_or_default();
    info.lines()
        .find_map(|line| line.strip_prefix("redis_version:"))
        .unwrap_or("?")
        .trim()
        .to_owned()
}
