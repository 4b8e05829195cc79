//! One measured phase: a contender called for a fixed window of time, by one task or by
//! many, and what the process spent meanwhile.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

use crate::allocations;
use crate::commands::Commands;
use crate::cpu::CpuTime;

/// Something whose hit is measured: one call for one user id.
pub trait Hit: Clone + Send + 'static {
    fn hit(&mut self, id: u64) -> impl Future<Output = ()> + Send;
}

/// Which user ids a phase asks for.
#[derive(Clone)]
pub enum Keys {
    /// Ids drawn at random from `0..count`, a different sequence per task.
    Random { count: u64 },
    /// Ids never asked for before, counting up from a shared counter (cold misses).
    Fresh(Arc<AtomicU64>),
}

impl Keys {
    pub fn fresh_from(first: u64) -> Keys {
        Keys::Fresh(Arc::new(AtomicU64::new(first)))
    }

    fn stream(&self, task: usize) -> KeyStream {
        KeyStream {
            keys: self.clone(),
            // xorshift needs a state other than zero.
            state: 0x9E37_79B9_7F4A_7C15 ^ (task as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
        }
    }
}

struct KeyStream {
    keys: Keys,
    state: u64,
}

impl KeyStream {
    fn next(&mut self) -> u64 {
        match &self.keys {
            Keys::Random { count } => {
                // xorshift64*: a few nanoseconds, and the same sequence for every contender.
                self.state ^= self.state >> 12;
                self.state ^= self.state << 25;
                self.state ^= self.state >> 27;
                self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) % count
            }
            Keys::Fresh(next) => next.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// How a phase drives its contender.
#[derive(Clone, Copy, Debug)]
pub enum Drive {
    /// One task; every call timed on its own (for latency percentiles).
    Latency,
    /// One task; calls timed in batches (for hits too short to time one by one).
    PerCall,
    /// `tasks` tasks calling as fast as they can (for throughput).
    Throughput { tasks: usize },
}

/// What one phase measured.
#[derive(Debug, Default)]
pub struct Sample {
    pub calls: u64,
    pub elapsed: Duration,
    /// Every call's latency, sorted (`Drive::Latency` only).
    pub latencies: Vec<Duration>,
    pub cpu: CpuTime,
    pub allocations: u64,
    /// What the server ran meanwhile, when the phase looked (see `Suite::measure`).
    pub commands: Option<Commands>,
}

impl Sample {
    pub fn calls_per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }

    pub fn nanos_per_call(&self) -> f64 {
        self.elapsed.as_nanos() as f64 / self.calls as f64
    }

    /// The `fraction` quantile of the latencies (0.5: the median).
    pub fn latency(&self, fraction: f64) -> Duration {
        let last = self.latencies.len().saturating_sub(1);
        let index = ((last as f64) * fraction).round() as usize;
        self.latencies.get(index).copied().unwrap_or_default()
    }
}

/// Calls `contender` for `window` as `drive` says, on `runtime`'s workers, and measures it.
pub fn phase<C: Hit>(
    runtime: &Runtime,
    drive: Drive,
    contender: &C,
    keys: &Keys,
    window: Duration,
) -> Sample {
    let (contender, keys) = (contender.clone(), keys.clone());
    let cpu = CpuTime::now();
    let allocated = allocations::total();
    let mut sample = match drive {
        Drive::Latency => on_a_worker(runtime, latency(contender, keys, window)),
        Drive::PerCall => on_a_worker(runtime, per_call(contender, keys, window)),
        Drive::Throughput { tasks } => runtime.block_on(throughput(contender, keys, tasks, window)),
    };
    sample.cpu = CpuTime::now().since(cpu);
    sample.allocations = allocations::total() - allocated;
    sample
}

/// Runs `future` as a task on the runtime's workers, as the callers of a cache would, not
/// on the thread blocked in `block_on`.
fn on_a_worker<F>(runtime: &Runtime, future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    runtime
        .block_on(runtime.spawn(future))
        .expect("a measured task panicked")
}

async fn latency<C: Hit>(mut contender: C, keys: Keys, window: Duration) -> Sample {
    let mut stream = keys.stream(0);
    // Sized up front so that growing it is not measured.
    let mut latencies = Vec::with_capacity(1 << 16);
    let started = Instant::now();
    loop {
        let id = stream.next();
        let call = Instant::now();
        contender.hit(id).await;
        let done = Instant::now();
        latencies.push(done - call);
        if done - started >= window {
            latencies.sort_unstable();
            return Sample {
                calls: latencies.len() as u64,
                elapsed: done - started,
                latencies,
                ..Sample::default()
            };
        }
    }
}

/// Calls between two looks at the clock in `per_call`.
const BATCH: u64 = 64;

async fn per_call<C: Hit>(mut contender: C, keys: Keys, window: Duration) -> Sample {
    let mut stream = keys.stream(0);
    let started = Instant::now();
    let mut calls = 0;
    loop {
        for _ in 0..BATCH {
            contender.hit(stream.next()).await;
        }
        calls += BATCH;
        let elapsed = started.elapsed();
        if elapsed >= window {
            return Sample {
                calls,
                elapsed,
                ..Sample::default()
            };
        }
    }
}

async fn throughput<C: Hit>(contender: C, keys: Keys, tasks: usize, window: Duration) -> Sample {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|task| {
            let (mut contender, stop) = (contender.clone(), Arc::clone(&stop));
            let mut stream = keys.stream(task);
            tokio::spawn(async move {
                let mut calls = 0_u64;
                while !stop.load(Ordering::Relaxed) {
                    contender.hit(stream.next()).await;
                    calls += 1;
                }
                calls
            })
        })
        .collect();
    // The window itself, not a synchronisation: the tasks stop at their next call.
    tokio::time::sleep(window).await;
    stop.store(true, Ordering::Relaxed);
    let mut calls = 0;
    for worker in workers {
        calls += worker.await.expect("a measured task panicked");
    }
    Sample {
        calls,
        elapsed: started.elapsed(),
        ..Sample::default()
    }
}
