//! Tests of the Redis Cluster test harness itself (`tests/support/cluster.rs`).

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::cluster::{ClusterLease, ClusterNode, ClusterRaw, RedisCluster};

/// Whether something accepts TCP connections on the loopback port right now.
fn accepts(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// GET straight from one node, without following redirects.
fn get_from(node: &ClusterNode, key: &str) -> redis::RedisResult<Option<String>> {
    redis::cmd("GET").arg(key).query(&mut node.raw())
}

/// The error code of a redirect (`MOVED`, `ASK`), or what came instead.
fn redirect(reply: redis::RedisResult<Option<String>>) -> String {
    match reply {
        Err(error) => error.code().unwrap_or("(no code)").to_owned(),
        Ok(value) => format!("a value: {value:?}"),
    }
}

#[test]
fn a_started_cluster_has_three_primaries_with_a_replica_each_and_routes_keys() {
    let started = Instant::now();
    let cluster = RedisCluster::start();
    eprintln!("cluster started in {:?}", started.elapsed());

    assert_eq!(cluster.nodes().len(), 6);
    assert_eq!(cluster.urls().len(), 6);
    let primaries = cluster.primaries();
    assert_eq!(primaries.len(), 3, "primaries: {:?}", cluster.seeds());
    assert_eq!(cluster.seeds().len(), 3);
    let mut replicas: Vec<&str> = primaries
        .iter()
        .map(|primary| cluster.replica_of(primary).id())
        .collect();
    replicas.sort_unstable();
    replicas.dedup();
    assert_eq!(replicas.len(), 3, "each primary has its own replica");
    for node in cluster.nodes() {
        assert_ne!(node.port(), 6379);
        assert_eq!(node.bus_port(), node.port() + 10000);
        assert_eq!(node.url(), format!("redis://127.0.0.1:{}", node.port()));
    }
    // Known values of CRC16 mod 16384, and hash tags.
    assert_eq!(cluster.slot_of("foo"), 12182);
    assert_eq!(cluster.slot_of("{foo}.bar"), 12182);

    let keys: Vec<String> = (0..30).map(|i| format!("key:{i}")).collect();
    let mut through_one_seed = ClusterRaw::connect(&cluster.seeds()[..1]);
    for key in &keys {
        through_one_seed.set(key, &format!("value of {key}"));
    }
    let mut through_all = cluster.raw();
    let mut owners: Vec<&str> = Vec::new();
    for key in &keys {
        let expected = Some(format!("value of {key}"));
        assert_eq!(through_all.get(key), expected);
        let owner = cluster.primary_for_key(key);
        assert_eq!(get_from(owner, key).expect("GET on the owner"), expected);
        let other = primaries
            .iter()
            .find(|primary| primary.id() != owner.id())
            .expect("another primary");
        assert_eq!(redirect(get_from(other, key)), "MOVED");
        owners.push(owner.id());
    }
    owners.sort_unstable();
    owners.dedup();
    assert_eq!(owners.len(), 3, "30 keys spread over all three primaries");

    let ports: Vec<u16> = cluster
        .nodes()
        .iter()
        .flat_map(|node| [node.port(), node.bus_port()])
        .collect();
    let dirs: Vec<_> = cluster
        .nodes()
        .iter()
        .map(|node| node.dir().to_owned())
        .collect();
    drop(cluster);
    for port in ports {
        assert!(
            !accepts(port),
            "port {port} still accepts connections after drop"
        );
    }
    for dir in dirs {
        assert!(!dir.exists(), "{} still exists after drop", dir.display());
    }
}

#[test]
fn killing_a_primary_promotes_its_replica_which_kept_the_key() {
    let cluster = RedisCluster::start();
    let key = "failover:key";
    let primary = cluster.primary_for_key(key);
    let replica = cluster.replica_of(primary);
    let mut con = primary.raw();
    let () = redis::cmd("SET")
        .arg(key)
        .arg("kept")
        .query(&mut con)
        .expect("SET on the primary");
    let acked: u32 = redis::cmd("WAIT")
        .arg(1)
        .arg(5000)
        .query(&mut con)
        .expect("WAIT");
    assert_eq!(acked, 1, "the replica acknowledged the write");

    let killed = cluster.kill_primary_of(key);
    assert_eq!(killed.id(), primary.id());
    assert!(!killed.is_running());
    assert_eq!(killed.pid(), None);
    let took = cluster.wait_for_failover(killed);
    eprintln!("failover took {took:?} from the kill");

    let promoted = cluster.primary_for_key(key);
    assert_eq!(promoted.id(), replica.id(), "the replica took over");
    assert!(cluster.primaries().iter().all(|p| p.id() != killed.id()));
    assert_eq!(cluster.raw().get(key), Some("kept".to_owned()));

    let rejoining = Instant::now();
    killed.restart();
    cluster.wait_until_healthy();
    eprintln!("the killed primary rejoined in {:?}", rejoining.elapsed());
    assert_eq!(
        cluster.replica_of(promoted).id(),
        killed.id(),
        "the old primary came back as the replica of its successor"
    );
}

#[test]
fn migrating_a_slot_moves_its_keys_and_redirects_with_ask_midway() {
    let cluster = RedisCluster::shared();
    let keys: Vec<String> = (0..20).map(|i| format!("{{moved}}:{i}")).collect();
    let slot = cluster.slot_of("{moved}");
    let source = cluster.primary_for_slot(slot);
    let primaries = cluster.primaries();
    let target = primaries
        .iter()
        .find(|primary| primary.id() != source.id())
        .expect("another primary");
    let mut raw = cluster.raw();
    for key in &keys {
        raw.set(key, key);
    }

    let migration = cluster.begin_migration(slot, target);
    assert_eq!(migration.slot(), slot);
    assert_eq!(
        get_from(source, &keys[0]).expect("GET"),
        Some(keys[0].clone())
    );
    assert_eq!(redirect(get_from(target, &keys[0])), "MOVED");

    assert_eq!(migration.move_keys(), keys.len());
    assert_eq!(redirect(get_from(source, &keys[0])), "ASK");
    for key in &keys {
        assert_eq!(raw.get(key), Some(key.clone()), "through ASK");
    }
    raw.set("{moved}:written midway", "x");

    assert_eq!(migration.finish(), 0, "every key had been moved");
    assert_eq!(cluster.primary_for_slot(slot).id(), target.id());
    for key in keys
        .iter()
        .map(String::as_str)
        .chain(["{moved}:written midway"])
    {
        assert!(
            get_from(target, key)
                .expect("GET on the new owner")
                .is_some()
        );
        assert_eq!(redirect(get_from(source, key)), "MOVED");
    }
    assert_eq!(
        cluster.migrate_slot(slot, source),
        keys.len() + 1,
        "and back"
    );
    assert_eq!(cluster.primary_for_slot(slot).id(), source.id());
}

#[test]
fn shared_leases_are_exclusive_and_start_whole_and_empty() {
    fn assert_send<T: Send>() {}
    assert_send::<ClusterLease>();

    const CASES: usize = 4;
    let inside = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(CASES));
    let cases: Vec<_> = (0..CASES)
        .map(|case| {
            let inside = Arc::clone(&inside);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                let cluster = RedisCluster::shared();
                let others = inside.fetch_add(1, Ordering::SeqCst);
                assert_whole(&cluster);
                let mut raw = cluster.raw();
                let left: Option<String> = raw.get("lease:marker");
                raw.set("lease:marker", &case.to_string());
                for primary in cluster.primaries() {
                    let keys: u64 = redis::cmd("DBSIZE")
                        .query(&mut primary.raw())
                        .expect("DBSIZE");
                    assert!(keys <= 1, "a lease started with {keys} keys on one primary");
                }
                // Left for the next lease to repair.
                match case {
                    0 => cluster.replica_of(cluster.primaries()[0]).kill(),
                    1 => {
                        let slot = cluster.slot_of("{half}");
                        let to = cluster
                            .primaries()
                            .into_iter()
                            .find(|primary| primary.id() != cluster.primary_for_slot(slot).id())
                            .expect("another primary");
                        let _unfinished = cluster.begin_migration(slot, to);
                    }
                    _ => {}
                }
                inside.fetch_sub(1, Ordering::SeqCst);
                (others, left)
            })
        })
        .collect();
    for case in cases {
        let (others, left) = case.join().expect("a lease holder panicked");
        assert_eq!(
            others, 0,
            "another case held the shared cluster at the same time"
        );
        assert_eq!(left, None, "a lease started with the previous holder's key");
    }
    assert_whole(&RedisCluster::shared());
}

/// Every node runs and no slot is half-way through a migration.
fn assert_whole(cluster: &RedisCluster) {
    for node in cluster.nodes() {
        assert!(node.is_running(), "{} is not running", node.describe());
        let nodes: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query(&mut node.raw())
            .expect("CLUSTER NODES");
        assert!(
            !nodes.contains("->-") && !nodes.contains("-<-"),
            "a slot is half-way through a migration:\n{nodes}"
        );
    }
}
