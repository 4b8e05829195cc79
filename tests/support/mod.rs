#![allow(dead_code)] // shared by several test binaries; each uses a part

//! Real `redis-server` processes for integration tests.
//!
//! Each [`RedisServer`] is a private `redis-server` child process on its own
//! loopback port (never 6379), with its own temporary directory for the log
//! and any files the server writes. Dropping it kills the process and removes
//! the directory.
//!
//! Keep a `RedisServer` in a local variable of the test (not in a `static`:
//! statics are never dropped, so the process would outlive the test binary).

pub mod backend;
pub mod cluster;
pub mod matrix;
pub mod wait;

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write as _};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis::IntoConnectionInfo;

/// The message a test fails with when there is no `redis-server` to run.
pub const REDIS_SERVER_NOT_FOUND: &str = "redis-server not found on PATH: run scripts/test (it installs it), or install it yourself, e.g. sudo apt-get install redis-server";

/// How long one launch may take to answer PING.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between readiness probes.
const READY_POLL: Duration = Duration::from_millis(20);
/// Connect/read/write timeout of one readiness probe.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// `start()`: fresh ports to try when the chosen one turns out to be taken.
const START_ATTEMPTS: usize = 5;
/// `restart()`: how long to keep retrying while the same port is taken.
const RESTART_PORT_TIMEOUT: Duration = Duration::from_secs(10);
/// `restart()`: pause between those retries.
const RESTART_RETRY_PAUSE: Duration = Duration::from_millis(100);
/// How long to wait for a SIGKILLed process to be reaped.
const REAP_TIMEOUT: Duration = Duration::from_secs(5);
/// Connect timeout, and default read/write timeout, of [`RedisServer::raw`].
const RAW_TIMEOUT: Duration = Duration::from_secs(10);
/// Lines of the server log quoted in a panic message.
const LOG_TAIL_LINES: usize = 40;

/// Ports handed out by this process and not yet released, so that two
/// servers of one test binary never race for the same port.
static PORTS_IN_USE: Mutex<Vec<u16>> = Mutex::new(Vec::new());
/// Makes temporary directory names unique within this process.
static DIR_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A `redis-server` child process on `127.0.0.1:port()`.
pub struct RedisServer {
    /// `None` after [`RedisServer::stop`].
    process: Option<Process>,
    port: ReservedPort,
    /// Extra arguments, replayed by [`RedisServer::restart`].
    args: Vec<String>,
    /// Value of `--requirepass` among the extra arguments, for the readiness probe.
    password: Option<String>,
    /// Private directory: `--dir`, the log file, the captured stderr.
    dir: PrivateDir,
}

impl RedisServer {
    /// Spawns `redis-server` on a free loopback port and waits until it answers PING.
    pub fn start() -> RedisServer {
        RedisServer::start_with_args(&[])
    }

    /// Same, with extra server arguments (e.g. `["--requirepass", "secret"]`).
    pub fn start_with_args(args: &[&str]) -> RedisServer {
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        let password = requirepass(&args);
        // Guards: a panic below removes the directory and releases the port.
        let dir = PrivateDir::create();
        let reserve = || {
            let port = ReservedPort::reserve();
            let number = port.0;
            (port, number)
        };
        let (port, process) = launch_on_fresh_port(
            "redis-server",
            reserve,
            &dir.0,
            &args,
            password.as_deref(),
            spawn_here,
        );
        RedisServer {
            process: Some(process),
            port,
            args,
            password,
            dir,
        }
    }

    /// The loopback port the server listens on (kept across `stop`/`restart`).
    pub fn port(&self) -> u16 {
        self.port.0
    }

    /// `redis://127.0.0.1:PORT` (no password, even when one is set).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port.0)
    }

    /// The server's private directory (`--dir`; the log is `redis.log` in it).
    pub fn dir(&self) -> &Path {
        &self.dir.0
    }

    /// Process id of the running server, `None` after `stop()`.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Process::pid)
    }

    /// SIGKILL the process and reap it; the port stays reserved for restart(). Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take()
            && let Err(error) = process.kill_and_reap()
        {
            panic!(
                "could not stop redis-server on port {}: {error}",
                self.port.0
            );
        }
    }

    /// Starts a fresh server (same args) on the SAME port and waits until it
    /// answers. Works after stop(), and also while running (it stops first).
    ///
    /// The dataset starts empty (nothing is saved). If the port is taken
    /// meanwhile, retries for a bounded time, then panics.
    pub fn restart(&mut self) {
        self.stop();
        self.process = Some(relaunch(
            "redis-server",
            self.port.0,
            &self.dir.0,
            &self.args,
            self.password.as_deref(),
            spawn_here,
        ));
    }

    /// SIGSTOP the process (for fault tests): it keeps its connections and
    /// its listening socket but answers nothing until [`RedisServer::thaw`].
    pub fn freeze(&self) {
        let process = self.running("freeze");
        process.signal(libc::SIGSTOP).unwrap_or_else(|error| {
            panic!("SIGSTOP to redis-server pid {}: {error}", process.pid())
        });
        process.frozen.store(true, Ordering::SeqCst);
    }

    /// SIGCONT the process: undoes [`RedisServer::freeze`].
    pub fn thaw(&self) {
        let process = self.running("thaw");
        process.signal(libc::SIGCONT).unwrap_or_else(|error| {
            panic!("SIGCONT to redis-server pid {}: {error}", process.pid())
        });
        process.frozen.store(false, Ordering::SeqCst);
    }

    /// A plain synchronous connection for inspecting or corrupting data
    /// behind the library's back.
    ///
    /// Not authenticated (send `AUTH` yourself when a password is set), and
    /// it sends nothing on connect, so it can be opened while the server is
    /// frozen. Reads and writes time out after 10 s unless you change it.
    pub fn raw(&self) -> redis::Connection {
        self.try_raw().unwrap_or_else(|error| {
            panic!(
                "could not connect to redis-server at {}: {error}",
                self.url()
            )
        })
    }

    /// [`RedisServer::raw`] that returns the error instead of panicking
    /// (e.g. to check that a stopped server refuses connections).
    pub fn try_raw(&self) -> redis::RedisResult<redis::Connection> {
        let con = client(self.port.0, None).get_connection_with_timeout(RAW_TIMEOUT)?;
        con.set_read_timeout(Some(RAW_TIMEOUT))?;
        con.set_write_timeout(Some(RAW_TIMEOUT))?;
        Ok(con)
    }

    /// The last lines of the server's log file (for assertion messages).
    pub fn log_tail(&self) -> String {
        tail(&read_from(&self.dir.0.join(LOG_FILE), 0))
    }

    fn running(&self, action: &str) -> &Process {
        self.process.as_ref().unwrap_or_else(|| {
            panic!(
                "cannot {action} redis-server on port {}: it is stopped",
                self.port.0
            )
        })
    }
}

impl Drop for RedisServer {
    /// Kills the process (SIGCONT first if frozen, then SIGKILL), reaps it,
    /// releases the port and removes the directory. Never panics.
    fn drop(&mut self) {
        // Dropping the `Process` kills and reaps it, reporting failures on
        // stderr. Then the fields' own drops release the port and remove the
        // directory.
        drop(self.process.take());
    }
}

/// A spawned `redis-server`. Dropping it kills and reaps it, so a child is
/// never leaked, even when a launch fails halfway or a test panics.
struct Process {
    child: Child,
    frozen: AtomicBool,
    reaped: bool,
}

impl Process {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn signal(&self, signal: libc::c_int) -> io::Result<()> {
        if self.reaped {
            return Err(io::Error::other("the process was already reaped"));
        }
        send_signal(self.pid(), signal)
    }

    /// SIGCONT if frozen, SIGKILL, then wait (bounded) until it is reaped. Idempotent.
    fn kill_and_reap(&mut self) -> Result<(), String> {
        if self.reaped {
            return Ok(());
        }
        let pid = self.pid();
        if self.frozen.swap(false, Ordering::SeqCst) {
            // SIGKILL also ends a stopped process; SIGCONT first is just tidy.
            let _ = self.signal(libc::SIGCONT);
        }
        // Fails only if it already exited, which the wait below reports.
        let _ = self.child.kill();
        let deadline = Instant::now() + REAP_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => {
                    self.reaped = true;
                    return Ok(());
                }
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                Ok(None) => {
                    return Err(format!(
                        "pid {pid} still not reaped {REAP_TIMEOUT:?} after SIGKILL"
                    ));
                }
                Err(error) => return Err(format!("waiting for pid {pid}: {error}")),
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Err(error) = self.kill_and_reap() {
            let _ = writeln!(io::stderr(), "warning: redis-server test harness: {error}");
        }
    }
}

#[allow(unsafe_code)] // kill(2) is the only way to SIGSTOP/SIGCONT a child from std
fn send_signal(pid: u32, signal: libc::c_int) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(io::Error::other)?;
    // SAFETY: kill(2) only takes integers and touches no memory of ours. The
    // pid is a child we have not reaped yet, so it cannot name another process.
    let rc = unsafe { libc::kill(pid, signal) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

const LOG_FILE: &str = "redis.log";
const STDERR_FILE: &str = "stderr.log";
/// What redis-server logs once it listens.
const READY_LOG_LINE: &str = "Ready to accept connections";

/// Why one launch did not produce a ready server.
enum Failure {
    /// Another process holds the port: worth retrying.
    PortTaken(String),
    /// Anything else: bad arguments, crash, no answer in time.
    Fatal(String),
}

/// How [`launch`] turns the prepared command into a child process.
type Spawn = fn(Command) -> io::Result<Child>;

/// Spawns from the calling thread.
fn spawn_here(mut command: Command) -> io::Result<Child> {
    command.spawn()
}

/// [`launch`] on a fresh reservation from `reserve` (a guard and the port it
/// holds) until one is not taken by another process. Panics on any other
/// failure, or after [`START_ATTEMPTS`] taken ports; `what` names the server
/// in the message.
fn launch_on_fresh_port<R>(
    what: &str,
    mut reserve: impl FnMut() -> (R, u16),
    dir: &Path,
    args: &[String],
    password: Option<&str>,
    spawn: Spawn,
) -> (R, Process) {
    let mut conflicts = String::new();
    for attempt in 1..=START_ATTEMPTS {
        let (reservation, port) = reserve();
        match launch(port, dir, args, password, spawn) {
            Ok(process) => return (reservation, process),
            Err(Failure::PortTaken(report)) => {
                let _ = writeln!(conflicts, "attempt {attempt}: {report}");
            }
            Err(Failure::Fatal(report)) => panic!("could not start {what}: {report}"),
        }
    }
    panic!(
        "could not start {what}: the chosen port was taken by another process \
         {START_ATTEMPTS} times in a row\n{conflicts}"
    );
}

/// [`launch`] on the same port again, retrying for a bounded time while
/// another process holds it; panics after that, or on any other failure.
fn relaunch(
    what: &str,
    port: u16,
    dir: &Path,
    args: &[String],
    password: Option<&str>,
    spawn: Spawn,
) -> Process {
    let started = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        match launch(port, dir, args, password, spawn) {
            Ok(process) => return process,
            Err(Failure::PortTaken(_)) if started.elapsed() < RESTART_PORT_TIMEOUT => {
                thread::sleep(RESTART_RETRY_PAUSE);
            }
            Err(Failure::PortTaken(report)) => panic!(
                "could not restart {what}: port {port} stayed taken for {:?} \
                 ({attempts} attempts); last attempt: {report}",
                RESTART_PORT_TIMEOUT
            ),
            Err(Failure::Fatal(report)) => panic!("could not restart {what}: {report}"),
        }
    }
}

/// Spawns `redis-server` on `port` through `spawn` and waits until it
/// answers. On failure the child is killed and reaped before returning.
fn launch(
    port: u16,
    dir: &Path,
    args: &[String],
    password: Option<&str>,
    spawn: Spawn,
) -> Result<Process, Failure> {
    let log_path = dir.join(LOG_FILE);
    let stderr_path = dir.join(STDERR_FILE);
    // The log and stderr files are shared by all launches of one server; only
    // what this launch appends is quoted.
    let log_start = file_len(&log_path);
    let stderr_start = file_len(&stderr_path);
    let stderr = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&stderr_path)
        .unwrap_or_else(|error| panic!("could not open {}: {error}", stderr_path.display()));

    let mut command = Command::new("redis-server");
    command
        .arg("--port")
        .arg(port.to_string())
        .args(["--bind", "127.0.0.1"])
        .args(["--save", ""])
        .args(["--appendonly", "no"])
        .args(["--daemonize", "no"])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(&log_path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        // Not null: errors in the arguments are printed here, before the log
        // file is opened.
        .stderr(stderr);
    let child = match spawn(command) {
        Ok(child) => child,
        Err(error) if error.kind() == io::ErrorKind::NotFound => panic!("{REDIS_SERVER_NOT_FOUND}"),
        Err(error) => panic!("could not spawn redis-server: {error}"),
    };
    let mut process = Process {
        child,
        frozen: AtomicBool::new(false),
        reaped: false,
    };
    let pid = process.pid();

    let report = |what: String| -> String {
        let log = tail(&read_from(&log_path, log_start));
        let stderr = read_from(&stderr_path, stderr_start);
        let mut report = format!("redis-server pid {pid} on 127.0.0.1:{port}: {what}\n");
        let _ = write!(report, "--- {} (tail) ---\n{log}", log_path.display());
        if !stderr.trim().is_empty() {
            let _ = write!(report, "\n--- stderr ---\n{}", stderr.trim_end());
        }
        report
    };

    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let last = match probe(port, password) {
            Probe::Identified(answering) if answering == pid => return Ok(process),
            // Someone else's server holds the port; ours is about to exit.
            Probe::Identified(other) => {
                format!("the port is answered by another redis-server, pid {other}")
            }
            Probe::Answered(reply) => {
                // An error reply (e.g. NOAUTH: a password set otherwise than
                // by `--requirepass`) does not say whose server answered:
                // another process may hold the port while ours is still
                // starting, and ours is then about to fail. Trust it once our
                // own log says our server is listening (logged at the
                // default loglevel, "notice").
                if matches!(process.child.try_wait(), Ok(None))
                    && read_from(&log_path, log_start).contains(READY_LOG_LINE)
                {
                    return Ok(process);
                }
                format!(
                    "answered with an error reply ({reply}) that does not identify the \
                     server, and the log does not say \"{READY_LOG_LINE}\""
                )
            }
            Probe::Down(error) => error,
        };
        match process.child.try_wait() {
            Ok(None) => {}
            Ok(Some(status)) => {
                process.reaped = true;
                return Err(exited(status, &report));
            }
            Err(error) => {
                let _ = process.kill_and_reap();
                return Err(Failure::Fatal(report(format!(
                    "waiting for the process: {error}"
                ))));
            }
        }
        if Instant::now() >= deadline {
            let _ = process.kill_and_reap();
            return Err(Failure::Fatal(report(format!(
                "did not answer PING within {READY_TIMEOUT:?}; last probe: {last}"
            ))));
        }
        thread::sleep(READY_POLL);
    }
}

/// Classifies an exit during startup.
fn exited(status: ExitStatus, report: &dyn Fn(String) -> String) -> Failure {
    let text = report(format!("exited during startup ({status})"));
    if text.contains("Address already in use") {
        Failure::PortTaken(text)
    } else {
        Failure::Fatal(text)
    }
}

/// Outcome of one readiness probe.
enum Probe {
    /// PONG, and `INFO server` named this process id.
    Identified(u32),
    /// The server answered, with an error reply.
    Answered(String),
    /// No answer (refused, timed out, closed).
    Down(String),
}

fn probe(port: u16, password: Option<&str>) -> Probe {
    let client = client(port, password);
    let mut con = match client.get_connection_with_timeout(PROBE_TIMEOUT) {
        Ok(con) => con,
        Err(error) if error.kind() == redis::ErrorKind::AuthenticationFailed => {
            return Probe::Answered(error.to_string());
        }
        Err(error) => return Probe::Down(error.to_string()),
    };
    if let Err(error) = con
        .set_read_timeout(Some(PROBE_TIMEOUT))
        .and_then(|()| con.set_write_timeout(Some(PROBE_TIMEOUT)))
    {
        return Probe::Down(error.to_string());
    }
    match redis::cmd("PING").query::<String>(&mut con) {
        Ok(reply) if reply == "PONG" => {}
        Ok(reply) => return Probe::Down(format!("PING answered {reply:?}")),
        Err(error) if error.code().is_some() => return Probe::Answered(error.to_string()),
        Err(error) => return Probe::Down(error.to_string()),
    }
    match redis::cmd("INFO").arg("server").query::<String>(&mut con) {
        Ok(info) => match info
            .lines()
            .find_map(|line| line.strip_prefix("process_id:"))
            .and_then(|pid| pid.trim().parse().ok())
        {
            Some(pid) => Probe::Identified(pid),
            None => Probe::Answered("INFO server has no process_id".to_owned()),
        },
        Err(error) if error.code().is_some() => Probe::Answered(error.to_string()),
        Err(error) => Probe::Down(error.to_string()),
    }
}

/// A client for `127.0.0.1:port` that sends nothing on connect except
/// `AUTH` when a password is given (no `CLIENT SETINFO`).
fn client(port: u16, password: Option<&str>) -> redis::Client {
    let info = redis::ConnectionAddr::Tcp(Ipv4Addr::LOCALHOST.to_string(), port)
        .into_connection_info()
        .expect("build redis ConnectionInfo for 127.0.0.1");
    let mut settings = info.redis_settings().clone().set_skip_set_lib_name();
    if let Some(password) = password {
        settings = settings.set_password(password);
    }
    redis::Client::open(info.set_redis_settings(settings))
        .expect("build redis::Client for 127.0.0.1")
}

/// The value following the last `--requirepass` argument.
fn requirepass(args: &[String]) -> Option<String> {
    args.windows(2)
        .filter(|pair| pair[0] == "--requirepass")
        .map(|pair| pair[1].clone())
        .next_back()
        .filter(|password| !password.is_empty())
}

/// A port that was free a moment ago (bind 127.0.0.1:0, then release), not
/// 6379 and not used by another server of this process, until dropped.
/// Another process can still take it before redis-server binds it: `launch`
/// detects that.
struct ReservedPort(u16);

impl ReservedPort {
    fn reserve() -> ReservedPort {
        ReservedPort(reserve_port())
    }

    /// A port and its `port + offset` (a cluster node's bus port), both free a
    /// moment ago and both reserved.
    ///
    /// Both lie below the kernel's ephemeral range: outgoing connections (the
    /// cluster's own bus links, every client) take their source ports from
    /// that range, and one could take a killed node's port before the node
    /// is restarted on it.
    fn reserve_with_offset(offset: u16) -> (ReservedPort, ReservedPort) {
        let (low, high) = ports_below_ephemeral(offset);
        let hasher = std::collections::hash_map::RandomState::new();
        for attempt in 0..1000_u32 {
            let span = u64::from(high - low) + 1;
            let pick = std::hash::BuildHasher::hash_one(&hasher, attempt) % span;
            let port = low + u16::try_from(pick).expect("pick < span <= u16::MAX");
            let pair = [port, port + offset];
            let mut in_use = PORTS_IN_USE
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if pair.iter().any(|p| *p == 6379 || in_use.contains(p)) {
                continue;
            }
            // Both bound at once: each must be free while the other is held.
            let free = pair
                .iter()
                .map(|&p| TcpListener::bind((Ipv4Addr::LOCALHOST, p)))
                .collect::<io::Result<Vec<_>>>()
                .is_ok();
            if free {
                in_use.extend(pair);
                return (ReservedPort(pair[0]), ReservedPort(pair[1]));
            }
        }
        panic!(
            "could not find a free loopback port pair {offset} apart in [{low}, {high}] in 1000 tries"
        );
    }
}

/// The ports `p` with `p` and `p + offset` both from 10000 (clear of the
/// usual services) to below the ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`), as an inclusive range; the
/// whole unprivileged range if that leaves too few.
fn ports_below_ephemeral(offset: u16) -> (u16, u16) {
    const LOW: u16 = 10000;
    let ephemeral_start = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    match ephemeral_start.checked_sub(offset + 1) {
        Some(high) if high >= LOW + 1000 => (LOW, high),
        _ => (1024, u16::MAX - offset),
    }
}

impl Drop for ReservedPort {
    fn drop(&mut self) {
        let mut in_use = PORTS_IN_USE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        in_use.retain(|&port| port != self.0);
    }
}

fn reserve_port() -> u16 {
    for _ in 0..100 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .expect("bind 127.0.0.1:0 to find a free port");
        let port = listener
            .local_addr()
            .expect("local address of a bound listener")
            .port();
        drop(listener);
        let mut in_use = PORTS_IN_USE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if port != 6379 && !in_use.contains(&port) {
            in_use.push(port);
            return port;
        }
    }
    panic!("could not find a free loopback port in 100 tries");
}

/// A new, empty directory under the system temp dir, unique to this server;
/// removed with its content when dropped.
struct PrivateDir(PathBuf);

impl PrivateDir {
    fn create() -> PrivateDir {
        PrivateDir(create_private_dir())
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn create_private_dir() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    for _ in 0..100 {
        let n = DIR_COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("redis-test-{}-{n}-{nanos:09}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => return dir,
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => panic!("could not create {}: {error}", dir.display()),
        }
    }
    panic!(
        "could not create a fresh directory under {}",
        std::env::temp_dir().display()
    );
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map_or(0, |metadata| metadata.len())
}

/// The file's content from byte `start` on, lossily decoded ("" if unreadable).
fn read_from(path: &Path, start: u64) -> String {
    let mut bytes = Vec::new();
    if let Ok(mut file) = File::open(path)
        && file.seek(SeekFrom::Start(start)).is_ok()
    {
        let _ = file.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return "(empty)".to_owned();
    }
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}
