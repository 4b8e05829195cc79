#[path = "../tests/support/mod.rs"]
mod support;
use cache_aside::RedisCache;
use cache_aside::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn run_tasks<F, Fut>(tasks: usize, dur: Duration, f: F) -> f64
where
    F: Fn(u64) -> Fut + Send + Sync + 'static + Clone,
    Fut: std::future::Future<Output = ()> + Send,
{
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stop = Instant::now() + dur;
    let mut handles = vec![];
    for t in 0..tasks {
        let f = f.clone();
        let counter = counter.clone();
        handles.push(tokio::spawn(async move {
            let mut i = t as u64;
            while Instant::now() < stop {
                f(i % 1000).await;
                i += 7;
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    counter.load(std::sync::atomic::Ordering::Relaxed) as f64 / dur.as_secs_f64()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = support::RedisServer::start();
    rt.block_on(async {
        let mut raw = server.raw();
        for i in 0..1000 { let _: () = redis::cmd("SET").arg(format!("k{i}")).arg("{\"id\":1,\"name\":\"Ada Lovelace\",\"email\":\"ada@example.com\"}").query(&mut raw).unwrap(); }
        let client = redis::Client::open(server.url()).unwrap();
        let mux = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Arc<Vec<String>> = Arc::new((0..1000).map(|i| format!("k{i}")).collect());
        let d = Duration::from_millis(1500);
        for conns in [1usize, 2] {
        let on = RedisCache::builder(server.url()).connections(conns).build().unwrap();
        let off = RedisCache::builder(server.url()).connections(conns).coalescing(false).build().unwrap();
        let tier = RedisCache::builder(server.url()).connections(conns).local_tier(10_000, Duration::from_secs(60)).build().unwrap();
        for round in 0..2 {
            for tasks in [1usize, 64, 256] {
                let (m, k) = (mux.clone(), keys.clone());
                let raw_t = run_tasks(tasks, d, move |i| { let mut m = m.clone(); let k = k.clone(); async move { let v: Option<Vec<u8>> = redis::cmd("GET").arg(&k[i as usize]).query_async(&mut m).await.unwrap(); std::hint::black_box(v); } }).await;
                let (c, k) = (on.clone(), keys.clone());
                let on_t = run_tasks(tasks, d, move |i| { let c = c.clone(); let k = k.clone(); async move { if let Err(e) = c.get(&k[i as usize]).await { eprintln!("ERR on tasks {} {e}", 0); } } }).await;
                let (c, k) = (off.clone(), keys.clone());
                let off_t = run_tasks(tasks, d, move |i| { let c = c.clone(); let k = k.clone(); async move { if let Err(e) = c.get(&k[i as usize]).await { eprintln!("ERR off tasks {} {e}", 0); } } }).await;
                let (c, k) = (tier.clone(), keys.clone());
                let tier_t = run_tasks(tasks, d, move |i| { let c = c.clone(); let k = k.clone(); async move { if let Err(e) = c.get(&k[i as usize]).await { eprintln!("ERR tier tasks {} {e}", 0); } } }).await;
                println!("conns {conns} round {round} tasks {tasks}: raw {raw_t:.0}/s  coalesce {on_t:.0}/s ({:.2}x)  plain {off_t:.0}/s ({:.2}x) tier {tier_t:.0}/s ({:.2}x)", on_t/raw_t, off_t/raw_t, tier_t/raw_t);
            }
        }
        }
    });
}
