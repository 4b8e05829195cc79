//! Tests of the `redis-server` test harness itself (`tests/support`).

mod support;

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use support::RedisServer;

fn ping(con: &mut redis::Connection) -> redis::RedisResult<String> {
    redis::cmd("PING").query(con)
}

fn set(server: &RedisServer, key: &str, value: &str) {
    let () = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query(&mut server.raw())
        .expect("SET through raw()");
}

fn dbsize(server: &RedisServer) -> u64 {
    redis::cmd("DBSIZE")
        .query(&mut server.raw())
        .expect("DBSIZE through raw()")
}

/// Whether something accepts TCP connections on the loopback port right now.
fn accepts(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// Polls until nothing accepts connections on the port; false after 5 s.
fn port_closes(port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if !accepts(port) {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn start_answers_ping_on_its_url() {
    let server = RedisServer::start();
    assert_eq!(server.url(), format!("redis://127.0.0.1:{}", server.port()));
    assert_eq!(ping(&mut server.raw()).expect("PING"), "PONG");
}

#[test]
fn two_servers_get_distinct_ports_and_data() {
    let a = RedisServer::start();
    let b = RedisServer::start();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.port(), 6379);
    assert_ne!(b.port(), 6379);
    assert_ne!(a.dir(), b.dir());
    set(&a, "key", "on a");
    let on_b: Option<String> = redis::cmd("GET")
        .arg("key")
        .query(&mut b.raw())
        .expect("GET on b");
    assert_eq!(on_b, None, "a key written to one server shows on the other");
}

#[test]
fn stop_refuses_connections_and_restart_reuses_the_port_empty() {
    let mut server = RedisServer::start();
    let port = server.port();
    set(&server, "key", "value");
    assert_eq!(dbsize(&server), 1);

    server.stop();
    server.stop(); // idempotent
    assert_eq!(server.pid(), None);
    assert!(
        server.try_raw().is_err(),
        "a stopped server still accepts connections"
    );
    assert!(!accepts(port), "port {port} still accepts after stop()");

    server.restart();
    assert_eq!(server.port(), port);
    assert_eq!(ping(&mut server.raw()).expect("PING after restart"), "PONG");
    assert_eq!(dbsize(&server), 0, "dataset survived stop() + restart()");

    // restart() while running: stops first, same port, empty again.
    set(&server, "key", "value");
    let pid = server.pid();
    server.restart();
    assert_eq!(server.port(), port);
    assert_ne!(server.pid(), pid, "restart() kept the old process");
    assert_eq!(dbsize(&server), 0, "dataset survived restart()");
}

#[test]
fn freeze_times_commands_out_and_thaw_answers_again() {
    let server = RedisServer::start();
    let mut con = server.raw();
    con.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("set a 200 ms read timeout");
    assert_eq!(ping(&mut con).expect("PING before freeze"), "PONG");

    server.freeze();
    let started = Instant::now();
    let error = ping(&mut con).expect_err("PING to a frozen server answered");
    assert!(error.is_timeout(), "expected a timeout, got: {error}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the read timeout did not apply"
    );

    server.thaw();
    // The timed-out connection still has a late PONG in flight: use a new one.
    let mut con = server.raw();
    con.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("set a 200 ms read timeout");
    assert_eq!(ping(&mut con).expect("PING after thaw"), "PONG");
}

#[test]
fn requirepass_rejects_unauthenticated_commands() {
    let server = RedisServer::start_with_args(&["--requirepass", "s3cret"]);
    let mut con = server.raw();
    let error = redis::cmd("GET")
        .arg("key")
        .query::<Option<String>>(&mut con)
        .expect_err("unauthenticated GET accepted");
    assert_eq!(error.code(), Some("NOAUTH"), "unexpected error: {error}");

    let () = redis::cmd("AUTH")
        .arg("s3cret")
        .query(&mut con)
        .expect("AUTH with the password");
    assert_eq!(ping(&mut con).expect("PING after AUTH"), "PONG");
}

#[test]
fn drop_kills_the_process_and_removes_its_dir() {
    let server = RedisServer::start();
    let port = server.port();
    let dir = server.dir().to_path_buf();
    assert!(
        dir.join("redis.log").exists(),
        "no log in {}",
        dir.display()
    );
    drop(server);
    assert!(port_closes(port), "port {port} still accepts after drop");
    assert!(!dir.exists(), "{} survived drop", dir.display());
}

#[test]
fn drop_kills_a_frozen_process() {
    let server = RedisServer::start();
    let port = server.port();
    server.freeze();
    // A stopped process's listening socket still completes handshakes.
    assert!(accepts(port), "frozen server's port refuses connections");
    drop(server);
    assert!(port_closes(port), "port {port} still accepts after drop");
}
