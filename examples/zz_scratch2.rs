#[path = "../tests/support/mod.rs"]
mod support;
use cache_aside::RedisCache;
use cache_aside::prelude::*;
use std::time::{Duration, Instant};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = support::RedisServer::start();
    rt.block_on(async {
        let mut raw = server.raw();
        for i in 0..1000 {
            let _: () = redis::cmd("SET")
                .arg(format!("k{i}"))
                .arg(format!("v{i}"))
                .query(&mut raw)
                .unwrap();
        }
        let on = if std::env::var("TIER").is_ok() {
            RedisCache::builder(server.url())
                .local_tier(10_000, Duration::from_secs(60))
                .build()
                .unwrap()
        } else {
            RedisCache::builder(server.url()).build().unwrap()
        };
        for i in 0..20000 {
            on.get(&format!("k{}", i % 1000)).await.unwrap();
        }
        let stop = Instant::now() + Duration::from_secs(1);
        let mut hs = vec![];
        for t in 0..std::env::var("TASKS")
            .map(|t| t.parse().unwrap())
            .unwrap_or(64u64)
        {
            let c = on.clone();
            hs.push(tokio::spawn(async move {
                let (mut ok, mut errs) = (0, Vec::new());
                let mut i = t;
                while Instant::now() < stop {
                    let k = format!("k{}", i % 1000);
                    match c.get(&k).await {
                        Ok(v) => {
                            assert_eq!(v.unwrap(), format!("v{}", i % 1000));
                            ok += 1
                        }
                        Err(e) => {
                            errs.push(format!(
                                "{e} {:?}",
                                std::error::Error::source(&e).map(|s| s.to_string())
                            ));
                        }
                    }
                    i += 7;
                }
                (ok, errs)
            }));
        }
        let (mut ok, mut errs) = (0, vec![]);
        for h in hs {
            let (o, e) = h.await.unwrap();
            ok += o;
            errs.extend(e);
        }
        println!("ok {ok} errors {}", errs.len());
        for e in errs.iter().take(5) {
            println!("{e}");
        }
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query(&mut raw)
            .unwrap();
        println!(
            "{}",
            info.lines()
                .filter(|l| l.contains("get"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        println!("{:?}", on.local_tier_stats());
    });
}
