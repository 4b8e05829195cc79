//! One connection to Redis (a redis-rs `MultiplexedConnection`) and what its socket has
//! seen: whether it is dead, and how many bytes were ever written to it.
//!
//! redis-rs reports every failure of a multiplexed connection the same way ("broken pipe"),
//! whether the command never left the process (the driver had already gone, or dropped it
//! from its queue on finding the socket closed) or was written and its reply lost. Only the
//! second kind may have run. To tell them apart the socket is wrapped: a command submitted
//! while `written` was `n`, failing once the socket is dead with `written` still `n`, was
//! never written, by anyone, so it did not run and is sent again on a fresh connection
//! whatever it is. Anything else may have run and is sent again only if that is harmless.
//!
//! A command that is not sent twice is checked first: if the server closed the socket a
//! moment ago and the driver has not seen it yet, a peek at the socket tells, and the
//! command goes out on a new connection before anything is written.
//!
//! Plain TCP and Unix sockets are opened here, so that they can be wrapped; `rediss://`
//! connections are opened by redis-rs (its TLS set-up is not public), without the wrapper:
//! their failures count as "may have run".

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ConnectionAddr, RedisError};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::runtime::Handle;

use super::tier::Tier;
use super::wired::Wired;

/// What the socket of one connection has seen.
#[derive(Default)]
pub(super) struct Wire {
    dead: AtomicBool,
    written: AtomicU64,
    /// The same socket (a duplicate descriptor), to ask it whether the server closed it.
    probe: Option<socket2::Socket>,
    /// The first tier, whose invalidations this socket carries: cleared when it dies.
    tier: Option<Arc<Tier>>,
}

impl Wire {
    pub(super) fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    /// Bytes the system accepted on this socket so far.
    pub(super) fn written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    fn die(&self) {
        // Clears the first tier the moment the socket's end is seen, from the task that
        // saw it: before anything is served that a missed push should have dropped.
        if !self.dead.swap(true, Ordering::AcqRel)
            && let Some(tier) = &self.tier
        {
            tier.clear();
        }
    }

    /// Whether the server has closed the socket, asked of the socket itself (a non-blocking
    /// one-byte peek): the runtime that drives the connection may not have seen the close
    /// yet, when it came a moment ago. Marks it dead if so.
    fn closed_by_peer(&self) -> bool {
        let Some(probe) = &self.probe else {
            return false;
        };
        let closed = match probe.peek(&mut [std::mem::MaybeUninit::uninit(); 1]) {
            // The end of the stream: nothing more will come.
            Ok(0) => true,
            // A reply waiting to be read, or nothing yet: open as far as can be told.
            Ok(_) => false,
            Err(error) => !matches!(
                error.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ),
        };
        if closed {
            self.die();
        }
        closed
    }
}

/// An open connection; clones share it.
#[derive(Clone)]
pub(super) struct Link {
    pub(super) connection: Wired,
    /// `None` for connections opened by redis-rs (TLS, and a cluster's).
    pub(super) wire: Option<Arc<Wire>>,
    /// Tells links apart, so that a failing call discards only the one it used.
    pub(super) id: u64,
    /// A cluster's link: closed once the runtime that drives redis-rs's cluster task has
    /// ended (see [`open_cluster`]). `None` for one server's.
    pub(super) driver: Option<tokio::sync::watch::Receiver<()>>,
}

impl Link {
    /// Known dead: the next call opens another.
    pub(super) fn is_dead(&self) -> bool {
        self.wire.as_ref().is_some_and(|wire| wire.is_dead())
            || self
                .driver
                .as_ref()
                .is_some_and(|driver| driver.has_changed().is_err())
    }

    /// Whether a failure on it leaves it usable: a cluster's reconnects to its nodes by
    /// itself (redis-rs), so only its end (its runtime's) discards it; one server's is not
    /// used again after connection trouble.
    pub(super) fn outlives_failures(&self) -> bool {
        self.driver.is_some()
    }

    /// Known dead, or closed by the server a moment ago (one system call: for commands
    /// that are not sent twice, before they are sent).
    pub(super) fn is_closed(&self) -> bool {
        self.is_dead() || self.wire.as_ref().is_some_and(|wire| wire.closed_by_peer())
    }

    /// The connection to send on, the socket's byte count now (what a failure can then
    /// tell: see [`Mark::never_written`]), and the link's id.
    pub(super) fn into_parts(self) -> (Wired, Mark, u64) {
        let mark = Mark(self.wire.map(|wire| {
            let written = wire.written();
            (wire, written)
        }));
        (self.connection, mark, self.id)
    }
}

/// The socket's byte count when a command was submitted.
pub(super) struct Mark(Option<(Arc<Wire>, u64)>);

impl Mark {
    /// Whether the connection is dead and nothing at all was written to it since the mark:
    /// a command submitted at the mark did not reach the server.
    pub(super) fn never_written(&self) -> bool {
        match &self.0 {
            Some((wire, before)) => wire.is_dead() && wire.written() == *before,
            None => false,
        }
    }
}

/// Opens a connection: the socket, redis-rs's handshake (`HELLO`/`AUTH`, `SELECT`), and its
/// driver spawned on `runtime`. Must run on `runtime`, so that what redis-rs spawns itself
/// lands there too.
pub(super) async fn open(
    client: &redis::Client,
    config: &AsyncConnectionConfig,
    connect_timeout: Duration,
    id: u64,
    tier: Option<Arc<Tier>>,
) -> Result<Link, RedisError> {
    let link = connect(client, config, connect_timeout, id, tier.clone()).await?;
    if let Some(tier) = tier {
        track(&link, &tier, connect_timeout).await?;
    }
    Ok(link)
}

/// Asks the server to track the keys this connection reads, and to push their
/// invalidations on it (RESP3: the handshake said `HELLO 3`).
async fn track(link: &Link, tier: &Tier, connect_timeout: Duration) -> Result<(), RedisError> {
    let mut connection = link.connection.clone();
    let mut command = redis::cmd("CLIENT");
    command.arg("TRACKING").arg("ON");
    let tracking = command.query_async::<()>(&mut connection);
    match within(connect_timeout, tracking).await? {
        Ok(()) => Ok(()),
        Err(error) if super::op::is_connection_trouble(&error) || error.is_timeout() => Err(error),
        // Refused for good (an ACL without `CLIENT`, a server without tracking): the cache
        // works on without its first tier rather than not at all.
        Err(error) => {
            tier.disable(&error);
            Ok(())
        }
    }
}

async fn connect(
    client: &redis::Client,
    config: &AsyncConnectionConfig,
    connect_timeout: Duration,
    id: u64,
    tier: Option<Arc<Tier>>,
) -> Result<Link, RedisError> {
    let info = client.get_connection_info();
    let stream = match info.addr() {
        ConnectionAddr::Tcp(host, port) => {
            let socket = within(
                connect_timeout,
                tokio::net::TcpStream::connect((host.as_str(), *port)),
            )
            .await??;
            socket.set_nodelay(info.tcp_settings().nodelay())?;
            Stream::Tcp(socket)
        }
        #[cfg(unix)]
        ConnectionAddr::Unix(path) => {
            Stream::Unix(within(connect_timeout, tokio::net::UnixStream::connect(path)).await??)
        }
        _ => {
            let connection = client
                .get_multiplexed_async_connection_with_config(config)
                .await?;
            return Ok(Link {
                connection: Wired::Server(connection),
                wire: None,
                id,
                driver: None,
            });
        }
    };
    // Without a duplicate descriptor (out of descriptors), the peek is skipped.
    let wire = Arc::new(Wire {
        probe: stream.duplicate().ok(),
        tier,
        ..Wire::default()
    });
    let counted = Counted {
        inner: stream,
        wire: wire.clone(),
    };
    let handshake =
        MultiplexedConnection::new_with_config(info.redis_settings(), counted, config.clone());
    let (connection, driver) = within(connect_timeout, handshake).await??;
    let ended = wire.clone();
    // Ends when the socket fails or every clone of `connection` is gone.
    drop(Handle::current().spawn(async move {
        driver.await;
        ended.die();
    }));
    Ok(Link {
        connection: Wired::Server(connection),
        wire: Some(wire),
        id,
        driver: None,
    })
}

async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> Result<T, RedisError> {
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_| RedisError::from(io::Error::from(io::ErrorKind::TimedOut)))
}

enum Stream {
    Tcp(tokio::net::TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

impl Stream {
    /// The same socket under a second descriptor (non-blocking like the first: they share
    /// the open file).
    fn duplicate(&self) -> io::Result<socket2::Socket> {
        use std::os::fd::AsFd;
        let fd = match self {
            Stream::Tcp(socket) => socket.as_fd().try_clone_to_owned()?,
            #[cfg(unix)]
            Stream::Unix(socket) => socket.as_fd().try_clone_to_owned()?,
        };
        Ok(socket2::Socket::from(fd))
    }
}

/// A socket that reports to its [`Wire`].
struct Counted {
    inner: Stream,
    wire: Arc<Wire>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.wire.die();
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let result = ready!(match &mut this.inner {
            Stream::Tcp(socket) => Pin::new(socket).poll_read(cx, buf),
            #[cfg(unix)]
            Stream::Unix(socket) => Pin::new(socket).poll_read(cx, buf),
        });
        // An error, or the end of the stream (nothing read into a buffer with room).
        if result.is_err() || (buf.filled().len() == before && buf.remaining() > 0) {
            this.wire.die();
        }
        Poll::Ready(result)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = ready!(match &mut this.inner {
            Stream::Tcp(socket) => Pin::new(socket).poll_write(cx, data),
            #[cfg(unix)]
            Stream::Unix(socket) => Pin::new(socket).poll_write(cx, data),
        });
        match &result {
            Ok(written) => {
                this.wire
                    .written
                    .fetch_add(*written as u64, Ordering::AcqRel);
            }
            Err(_) => this.wire.die(),
        }
        Poll::Ready(result)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.inner {
            Stream::Tcp(socket) => Pin::new(socket).poll_flush(cx),
            #[cfg(unix)]
            Stream::Unix(socket) => Pin::new(socket).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.wire.die();
        match &mut self.inner {
            Stream::Tcp(socket) => Pin::new(socket).poll_shutdown(cx),
            #[cfg(unix)]
            Stream::Unix(socket) => Pin::new(socket).poll_shutdown(cx),
        }
    }
}

/// Opens a cluster connection (see `cluster.rs`) within `connect_timeout`: its seeds, its
/// slot map, and redis-rs's task, spawned on the current runtime.
///
/// redis-rs's task ends with that runtime, and nothing of the connection says so; a task of
/// ours on the same runtime does, by dropping its end of `driver` when the runtime drops it
/// (it ends by itself once every clone of the link is gone).
#[cfg(feature = "cluster")]
pub(super) async fn open_cluster(
    client: &redis::cluster::ClusterClient,
    connect_timeout: Duration,
    id: u64,
) -> Result<Link, RedisError> {
    let connection = within(connect_timeout, super::cluster::open(client)).await??;
    let (running, driver) = tokio::sync::watch::channel(());
    drop(Handle::current().spawn(async move { running.closed().await }));
    Ok(Link {
        connection: Wired::Cluster(connection),
        wire: None,
        id,
        driver: Some(driver),
    })
}
