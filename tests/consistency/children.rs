//! Child processes: this test binary run again for one ignored test, with a bound.

use std::io::Read;

use cache_aside::RedisCache;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Starts `test` (an `#[ignore]`d test of this binary) in a process of its own, with
/// `env` set; its stdout is captured.
pub fn spawn(test: &str, env: &[(&str, &str)]) -> Child {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut command = Command::new(exe);
    command
        .args([
            test,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (name, value) in env {
        command.env(name, value);
    }
    command.spawn().expect("spawn a child test process")
}

/// In a child process: the cache at the URL its parent put in the variable `url`, or
/// `None` when the test runs on its own (as `--ignored` alone would run it).
pub fn cache_from_env(url: &str) -> Option<RedisCache> {
    Some(handle(&std::env::var(url).ok()?))
}

/// A handle of its own onto the server at `url` (or the cluster, for `cluster=` and its
/// seeds: see [`cluster_spec`]), sharing no in-process state with any other (as another
/// process's would be), with a deadline generous enough for a loaded machine.
pub fn handle(url: &str) -> RedisCache {
    let builder = match url.strip_prefix(CLUSTER) {
        Some(seeds) => RedisCache::cluster_builder(&seeds.split(',').collect::<Vec<_>>()),
        None => RedisCache::builder(url),
    };
    builder
        .op_timeout(Duration::from_secs(5))
        .build()
        .expect("a valid URL")
}

/// What a child is given for a cluster: [`handle`] reads it back.
pub fn cluster_spec(seeds: &[String]) -> String {
    format!("{CLUSTER}{}", seeds.join(","))
}

const CLUSTER: &str = "cluster=";

/// Waits for `child` to exit and returns its stdout; kills it and fails the test after
/// `limit`.
pub fn finish(mut child: Child, limit: Duration) -> String {
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let (done, outcome) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let _ = done.send(text);
    });
    // The pipe closes when the child exits.
    let Ok(text) = outcome.recv_timeout(limit) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("a child process did not finish within {limit:?}");
    };
    let status = child.wait().expect("reap the child");
    assert!(
        status.success(),
        "a child process failed ({status}):\n{text}"
    );
    text
}
