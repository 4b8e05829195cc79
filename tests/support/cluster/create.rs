//! Joining fresh nodes into a cluster: `redis-cli --cluster create`.

use std::fs::File;
use std::io;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::super::read_from;
use super::health;
use super::node::ClusterNode;

/// The message a test fails with when there is no `redis-cli` to run.
pub const REDIS_CLI_NOT_FOUND: &str = "redis-cli not found on PATH: it comes with redis-server (run scripts/test, which installs it), or install it yourself, e.g. sudo apt-get install redis-tools";

/// How long `redis-cli --cluster create` may take.
const CREATE_TIMEOUT: Duration = Duration::from_secs(30);

/// `redis-cli --cluster create` over all nodes, one replica each.
pub(super) fn create(nodes: &[ClusterNode]) {
    let output_path = nodes[0].dir().join("redis-cli.log");
    let output = File::create(&output_path)
        .unwrap_or_else(|error| panic!("could not create {}: {error}", output_path.display()));
    let stderr = output
        .try_clone()
        .unwrap_or_else(|error| panic!("could not clone a file handle: {error}"));
    let mut command = Command::new("redis-cli");
    command
        .arg("--cluster")
        .arg("create")
        .args(
            nodes
                .iter()
                .map(|node| format!("127.0.0.1:{}", node.port())),
        )
        .args(["--cluster-replicas", "1", "--cluster-yes"])
        .stdin(Stdio::null())
        .stdout(output)
        .stderr(stderr);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            panic!("{REDIS_CLI_NOT_FOUND}")
        }
        Err(error) => panic!("could not spawn redis-cli: {error}"),
    };
    let deadline = Instant::now() + CREATE_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!("did not finish within {CREATE_TIMEOUT:?}"));
            }
            Err(error) => break Err(format!("waiting for it: {error}")),
        }
    };
    let failure = match status {
        Ok(status) if status.success() => return,
        Ok(status) => format!("exited with {status}"),
        Err(failure) => failure,
    };
    panic!(
        "redis-cli --cluster create {failure}\n--- its output ---\n{}\n{}",
        read_from(&output_path, 0).trim_end(),
        health::log_tails(nodes)
    );
}
