//! Spawning nodes so that they die with the test binary.
//!
//! Each node is spawned with `PR_SET_PDEATHSIG = SIGKILL`: the kernel kills
//! it when its parent exits. "Parent" is the spawning *thread*, not the
//! process, so the nodes are spawned from one thread that lives until the
//! test binary exits; spawned from a test's own thread, a node of the shared
//! cluster would die with the first test that happened to start it.

use std::io;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Sender};
use std::thread;

/// A command to spawn, and where to send the result.
type Request = (Command, Sender<io::Result<Child>>);

/// The queue of the spawning thread; never dropped, so the thread never ends.
static SPAWNER: OnceLock<Sender<Request>> = OnceLock::new();

/// Spawns `command` from the spawning thread, the child to be SIGKILLed by
/// the kernel when the test binary exits.
pub(super) fn spawn_tied_to_binary(mut command: Command) -> io::Result<Child> {
    let binary = std::process::id();
    #[allow(unsafe_code)] // `pre_exec` is the only way to set the child's death signal
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed: it makes two system calls and
    // builds errors without allocating.
    unsafe {
        command.pre_exec(move || die_with(binary));
    }
    let (reply, answer) = mpsc::channel();
    spawner()
        .send((command, reply))
        .map_err(|_| io::Error::other("the node-spawning thread is gone"))?;
    answer
        .recv()
        .map_err(|_| io::Error::other("the node-spawning thread dropped the request"))?
}

/// In the child: asks for SIGKILL when the spawning thread exits, and exits
/// at once if the test binary (`binary`, the parent) already has.
#[allow(unsafe_code)] // prctl(2) and getppid(2) through libc
fn die_with(binary: u32) -> io::Result<()> {
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes integers and touches no memory of ours.
    let set = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    if set != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: getppid(2) takes nothing and cannot fail.
    let parent = unsafe { libc::getppid() };
    // The parent died between fork and prctl: no signal will come.
    if u32::try_from(parent) != Ok(binary) {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    Ok(())
}

fn spawner() -> &'static Sender<Request> {
    SPAWNER.get_or_init(|| {
        let (requests, queue) = mpsc::channel::<Request>();
        thread::Builder::new()
            .name("redis-cluster-spawner".to_owned())
            .spawn(move || {
                for (mut command, reply) in queue {
                    let _ = reply.send(command.spawn());
                }
            })
            .unwrap_or_else(|error| panic!("could not start the node-spawning thread: {error}"));
        requests
    })
}
