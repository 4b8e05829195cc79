//! A TCP proxy between a client and a `redis-server`, for fault tests: it passes traffic,
//! black-holes it, delays it or resets connections, as the test switches it.
//!
//! It listens on `127.0.0.1:0` and runs on the test's Tokio runtime. The mode is shared by
//! every connection, the open ones included, and can be switched at any time.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

/// What the proxy does with traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forwards both ways.
    Pass,
    /// Accepts connections and reads what clients send, but forwards nothing and answers
    /// nothing. Connections open when it is switched on stop forwarding too, and stay dead
    /// when the proxy is switched back: only a new connection passes traffic again, as after
    /// a network partition that left the client with a half-open socket.
    BlackHole,
    /// Forwards each chunk, both ways, this long after it arrived. What a client sent
    /// before closing its connection is still delivered, as TCP would.
    Latency(Duration),
    /// Closes connections with a TCP reset: the open ones when it is switched on, and every
    /// new one as soon as it is accepted.
    Reset,
}

/// A running proxy; dropping it closes the listener and every connection.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: AbortHandle,
}

struct Shared {
    upstream: SocketAddr,
    mode: watch::Sender<Mode>,
    /// Connections accepted from clients.
    accepted: AtomicU64,
    /// Bytes clients sent to the proxy, forwarded or not.
    received: AtomicU64,
    /// The tasks serving connections, so that dropping the proxy ends them.
    connections: Mutex<Vec<AbortHandle>>,
}

impl Proxy {
    /// A proxy to `127.0.0.1:upstream_port`, in [`Mode::Pass`].
    pub async fn start(upstream_port: u16) -> Proxy {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind the proxy on 127.0.0.1:0");
        let addr = listener.local_addr().expect("the proxy's address");
        let shared = Arc::new(Shared {
            upstream: SocketAddr::from((Ipv4Addr::LOCALHOST, upstream_port)),
            mode: watch::Sender::new(Mode::Pass),
            accepted: AtomicU64::new(0),
            received: AtomicU64::new(0),
            connections: Mutex::new(Vec::new()),
        });
        let acceptor = tokio::spawn(accept(listener, Arc::clone(&shared))).abort_handle();
        Proxy {
            addr,
            shared,
            acceptor,
        }
    }

    /// `redis://127.0.0.1:PORT` of the proxy.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Switches every connection, open or new, to `mode`.
    pub fn set_mode(&self, mode: Mode) {
        self.shared.mode.send_replace(mode);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Bytes clients have sent so far, whether forwarded or not.
    pub fn received(&self) -> u64 {
        self.shared.received.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        let connections = self
            .shared
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for connection in connections.iter() {
            connection.abort();
        }
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            // Out of file descriptors, say: try again shortly rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        let _ = client.set_nodelay(true);
        let task = tokio::spawn(serve(client, Arc::clone(&shared))).abort_handle();
        let mut connections = shared
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        connections.retain(|connection| !connection.is_finished());
        connections.push(task);
    }
}

/// One client connection, from accept to close.
async fn serve(client: TcpStream, shared: Arc<Shared>) {
    let mut mode = shared.mode.subscribe();
    let first = *mode.borrow_and_update();
    match first {
        Mode::Reset => return reset(client),
        Mode::BlackHole => return black_hole(client, &shared, mode).await,
        Mode::Pass | Mode::Latency(_) => {}
    }
    let Ok(server) = TcpStream::connect(shared.upstream).await else {
        // The server is down: the client sees its connection refused, as it would directly.
        return reset(client);
    };
    let _ = server.set_nodelay(true);
    // Shared by the pumps and this task, which resets the client when told to: reads and
    // writes take `&TcpStream`, and no write half sends a FIN when it is dropped.
    let client = Arc::new(client);
    let server = Arc::new(server);
    let (to_server, to_server_queue) = mpsc::unbounded_channel();
    let (to_client, to_client_queue) = mpsc::unbounded_channel();
    // Each pump returns whether it was a write side.
    let mut pumps = JoinSet::new();
    pumps.spawn(read_side(
        Arc::clone(&client),
        to_server,
        Arc::clone(&shared),
        true,
    ));
    pumps.spawn(write_side(Arc::clone(&server), to_server_queue));
    pumps.spawn(read_side(
        Arc::clone(&server),
        to_client,
        Arc::clone(&shared),
        false,
    ));
    pumps.spawn(write_side(Arc::clone(&client), to_client_queue));
    loop {
        tokio::select! {
            // A read side that ends closes its queue; the write side then delivers what is
            // queued, as TCP delivers what was sent before a close, and ends. Then both
            // streams are closed (dropped).
            ended = pumps.join_next() => match ended {
                Some(Ok(false)) => {}
                _ => return,
            },
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
                let now = *mode.borrow_and_update();
                if matches!(now, Mode::Reset | Mode::BlackHole) {
                    // The pumps hold the other references; after this, ours are the last.
                    pumps.shutdown().await;
                    drop(server);
                    let Some(client) = Arc::into_inner(client) else {
                        return;
                    };
                    return match now {
                        Mode::Reset => reset(client),
                        _ => black_hole(client, &shared, mode).await,
                    };
                }
            }
        }
    }
}

/// Reads from `from` and queues each chunk for the other side, due now or after the
/// latency; under [`Mode::BlackHole`] the chunk is dropped.
async fn read_side(
    from: Arc<TcpStream>,
    queue: mpsc::UnboundedSender<(Instant, Vec<u8>)>,
    shared: Arc<Shared>,
    from_client: bool,
) -> bool {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = match read_some(&from, &mut buffer).await {
            Ok(0) | Err(_) => return false,
            Ok(read) => read,
        };
        if from_client {
            shared.received.fetch_add(read as u64, Ordering::SeqCst);
        }
        let due = match *shared.mode.borrow() {
            Mode::Pass => Instant::now(),
            Mode::Latency(delay) => Instant::now() + delay,
            Mode::BlackHole | Mode::Reset => continue,
        };
        if queue.send((due, buffer[..read].to_vec())).is_err() {
            return false;
        }
    }
}

/// Writes each queued chunk to `to` once it is due. The latency does not add up: chunks
/// queued together are written together.
async fn write_side(
    to: Arc<TcpStream>,
    mut queue: mpsc::UnboundedReceiver<(Instant, Vec<u8>)>,
) -> bool {
    while let Some((due, chunk)) = queue.recv().await {
        tokio::time::sleep_until(due).await;
        if write_all(&to, &chunk).await.is_err() {
            break;
        }
    }
    true
}

/// Reads and discards what the client sends, answering nothing, until the client closes
/// the connection or the proxy switches to [`Mode::Reset`].
async fn black_hole(client: TcpStream, shared: &Shared, mut mode: watch::Receiver<Mode>) {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        tokio::select! {
            read = read_some(&client, &mut buffer) => match read {
                Ok(0) | Err(_) => return,
                Ok(read) => {
                    shared.received.fetch_add(read as u64, Ordering::SeqCst);
                }
            },
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
                if *mode.borrow_and_update() == Mode::Reset {
                    return reset(client);
                }
            }
        }
    }
}

/// Closes `stream` with a TCP reset (RST) instead of an orderly FIN.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

async fn read_some(stream: &TcpStream, buffer: &mut [u8]) -> io::Result<usize> {
    loop {
        stream.readable().await?;
        match stream.try_read(buffer) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            result => return result,
        }
    }
}

async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(written) => bytes = &bytes[written..],
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
