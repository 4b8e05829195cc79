//! Two OS processes (this test binary, run again) × 8 tasks hammering one key on one
//! server for five windows: no window holds more than the limit, and the allowance is used.

use std::time::Duration;

use cache_aside::RateLimiter;
use cache_aside::prelude::*;

use crate::children;
use crate::hammer::{self, LIMIT, RUN, Run, Span, TASKS, WINDOW};
use crate::support::RedisServer;

const PROCESSES: usize = 2;
/// Where a child finds the server.
const URL: &str = "CACHE_ASIDE_RATE_LIMIT_URL";
/// The bound on each child process, start-up included.
const LIMIT_PER_CHILD: Duration = Duration::from_secs(60);
/// What starts a child's report line (libtest prints the test's name before it).
const REPORT: &str = "rate-limit child:";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_never_exceed_the_limit() {
    let server = RedisServer::start();
    let url = server.url();
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| children::spawn("processes::child", &[(URL, &url)]))
        .collect();
    let outputs: Vec<String> = children
        .into_iter()
        .map(|child| children::finish(child, LIMIT_PER_CHILD))
        .collect();
    let mut run = Run::default();
    let mut ended = 0;
    let mut reports = 0;
    for line in outputs.iter().flat_map(|output| output.lines()) {
        let Some(at) = line.find(REPORT) else {
            continue;
        };
        let (child, child_ended) = parse(&line[at + REPORT.len()..]);
        run.merge(child);
        ended = ended.max(child_ended);
        reports += 1;
    }
    assert_eq!(reports, PROCESSES, "every child reported:\n{outputs:?}");
    hammer::judge(&format!("{PROCESSES} processes"), &run, ended);
}

/// One of the processes: waits until both are ready, then hammers from just before a
/// boundary of a fixed window, and reports every allowed request's span.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of two_processes_never_exceed_the_limit"]
async fn child() {
    let Some(cache) = children::cache_from_env(URL) else {
        return;
    };
    // A barrier in the store, so both start together; its key is not the limiter's.
    cache.increment("rate:ready", 1).await.expect("ready");
    crate::support::wait::eventually(Duration::from_secs(30), "both processes ready", || async {
        let ready = cache.get("rate:ready").await.expect("read the barrier");
        ready.as_deref() == Some(&PROCESSES.to_string())
    })
    .await;
    let limiter = RateLimiter::new(cache, LIMIT, WINDOW);
    hammer::just_before_a_boundary(WINDOW).await;
    let run = hammer::hammer(std::slice::from_ref(&limiter), "rate:hammered", TASKS, RUN).await;
    let ended = hammer::now_us();
    let spans: Vec<String> = run
        .allowed
        .iter()
        .map(|span| format!("{}-{}", span.sent, span.received))
        .collect();
    assert_eq!(limiter.stats().failed_open, 0, "{:?}", limiter.stats());
    println!(
        "{REPORT} refused={} ended={ended} allowed={}",
        run.refused,
        spans.join(",")
    );
}

/// A child's report: `refused=N ended=T allowed=S-R,S-R,...`.
fn parse(report: &str) -> (Run, u64) {
    let mut run = Run::default();
    let mut ended = 0;
    for field in report.split_whitespace() {
        let (name, value) = field.split_once('=').expect("name=value");
        match name {
            "refused" => run.refused = value.parse().expect("a count"),
            "ended" => ended = value.parse().expect("a time"),
            "allowed" => {
                for span in value.split(',').filter(|span| !span.is_empty()) {
                    let (sent, received) = span.split_once('-').expect("sent-received");
                    run.allowed.push(Span {
                        sent: sent.parse().expect("a time"),
                        received: received.parse().expect("a time"),
                    });
                }
            }
            other => panic!("unknown field {other} in a child's report"),
        }
    }
    (run, ended)
}
