//! TCP for BGP: the listener, outbound connects with a source address,
//! TCP-MD5 and TTL settings, and framing of the byte stream into
//! messages.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;

use crate::sockopt;

/// Socket settings for one session, applied to both the connections we
/// open and those we accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketSettings {
    /// TCP-MD5 password (RFC 2385).
    pub password: Option<String>,
    /// GTSM hop count (`ttlSecurity`); `None` means multihop with TTL 64.
    pub ttl_security: Option<u8>,
}

/// Opens a TCP connection to `peer`, from `source` when given, with the
/// session's socket settings applied before the SYN leaves.
pub async fn connect(
    peer: SocketAddr,
    source: Option<IpAddr>,
    settings: &SocketSettings,
) -> io::Result<TcpStream> {
    let v6 = peer.is_ipv6();
    let socket = if v6 {
        TcpSocket::new_v6()?
    } else {
        TcpSocket::new_v4()?
    };
    if let Some(src) = source {
        socket.bind(SocketAddr::new(src, 0))?;
    }
    apply(&socket, peer.ip(), v6, settings)?;
    let stream = socket.connect(peer).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Applies TTL handling and the MD5 key to a socket.
pub fn apply(
    socket: &impl std::os::fd::AsRawFd,
    peer: IpAddr,
    v6: bool,
    settings: &SocketSettings,
) -> io::Result<()> {
    match settings.ttl_security {
        Some(hops) => sockopt::set_ttl_security(socket, v6, hops)?,
        None => sockopt::set_ttl(socket, v6, 64)?,
    }
    if let Some(password) = &settings.password {
        sockopt::set_tcp_md5(socket, peer, password.as_bytes())?;
    }
    Ok(())
}

/// Where accepted connections go: one channel per configured peer
/// address. Connections from unknown addresses are closed at once, as
/// BIRD does.
#[derive(Clone, Default)]
pub struct AcceptRoutes {
    inner: Arc<Mutex<HashMap<IpAddr, Route>>>,
}

#[derive(Clone)]
struct Route {
    sender: mpsc::Sender<TcpStream>,
    settings: SocketSettings,
}

impl AcceptRoutes {
    /// Routes connections from `peer` to `sender`.
    pub fn insert(
        &self,
        peer: IpAddr,
        sender: mpsc::Sender<TcpStream>,
        settings: SocketSettings,
    ) {
        if let Ok(mut map) = self.inner.lock() {
            map.insert(canonical(peer), Route { sender, settings });
        }
    }

    /// Stops routing connections from `peer`.
    pub fn remove(&self, peer: IpAddr) {
        if let Ok(mut map) = self.inner.lock() {
            map.remove(&canonical(peer));
        }
    }

    fn get(&self, peer: IpAddr) -> Option<Route> {
        self.inner.lock().ok()?.get(&canonical(peer)).cloned()
    }
}

/// A v4-mapped IPv6 address (from a dual-stack listener) as plain IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Binds the BGP listeners: one dual-stack socket on all addresses, or
/// one per node address with `bindMode: NodeIP`.
pub fn bind_listeners(
    addresses: &[IpAddr],
    port: u16,
) -> io::Result<Vec<TcpListener>> {
    let mut out = Vec::new();
    if addresses.is_empty() {
        let any = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
        match listen(any, true) {
            Ok(l) => out.push(l),
            // No IPv6 in this namespace or kernel: fall back to IPv4.
            Err(_) => out.push(listen(
                SocketAddr::new(
                    IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                    port,
                ),
                false,
            )?),
        }
    } else {
        for ip in addresses {
            out.push(listen(SocketAddr::new(*ip, port), false)?);
        }
    }
    Ok(out)
}

fn listen(addr: SocketAddr, dual_stack: bool) -> io::Result<TcpListener> {
    let v6 = addr.is_ipv6();
    let socket = if v6 {
        TcpSocket::new_v6()?
    } else {
        TcpSocket::new_v4()?
    };
    socket.set_reuseaddr(true)?;
    if v6 && dual_stack {
        // tokio has no knob for IPV6_V6ONLY; Linux defaults it to off
        // (net.ipv6.bindv6only=0), which is what we want.
    }
    if !addr.ip().is_unspecified() {
        sockopt::set_freebind(&socket, v6)?;
    }
    socket.bind(addr)?;
    socket.listen(128)
}

/// Accepts connections forever and hands each to the session of its
/// source address, after setting that session's socket options.
pub async fn accept_loop(listener: Arc<TcpListener>, routes: AcceptRoutes) {
    let local = listener.local_addr().ok();
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, ?local, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let ip = canonical(remote.ip());
        let Some(route) = routes.get(ip) else {
            tracing::info!(%remote, "closing connection from an address that is not a configured peer");
            continue;
        };
        let v6 = matches!(ip, IpAddr::V6(_));
        if let Some(hops) = route.settings.ttl_security
            && let Err(e) = sockopt::set_ttl_security(&stream, v6, hops)
        {
            tracing::warn!(%remote, error = %e, "cannot set TTL security on accepted connection");
            continue;
        }
        let _ = stream.set_nodelay(true);
        if route.sender.try_send(stream).is_err() {
            tracing::debug!(%remote, "session busy; dropping extra connection");
        }
    }
}

/// Reads whole BGP messages from a stream.
pub struct FrameReader {
    buf: BytesMut,
}

impl FrameReader {
    /// A reader with room for a few maximal messages.
    pub fn new() -> Self {
        Self {
            buf: BytesMut::with_capacity(64 * 1024),
        }
    }

    /// Returns the next complete message (header included), reading more
    /// from `stream` as needed. `Ok(None)` means the peer closed.
    pub async fn next<R: AsyncReadExt + Unpin>(
        &mut self,
        stream: &mut R,
        max_len: usize,
    ) -> Result<Option<BytesMut>, FrameError> {
        loop {
            match bgplet_wire::message_len(&self.buf, max_len) {
                Ok(Some(len)) => return Ok(Some(self.buf.split_to(len))),
                Ok(None) => {}
                Err(e) => return Err(FrameError::Header(e)),
            }
            if self.buf.capacity() - self.buf.len() < 4096 {
                self.buf.reserve(64 * 1024);
            }
            let n = stream
                .read_buf(&mut self.buf)
                .await
                .map_err(FrameError::Io)?;
            if n == 0 {
                return Ok(None);
            }
        }
    }
}

impl FrameReader {
    /// Like [`FrameReader::next`], then also every further complete
    /// UPDATE already buffered, up to `limit` messages in all, without
    /// reading again. A burst of UPDATEs thus crosses to the session task
    /// (and on to the routing thread) as one hand-off instead of one per
    /// message. The run stops after any message that is not an UPDATE:
    /// an OPEN or KEEPALIVE may change the session's limits (extended
    /// messages) before the next message is framed.
    pub async fn next_batch<R: AsyncReadExt + Unpin>(
        &mut self,
        stream: &mut R,
        max_len: usize,
        limit: usize,
    ) -> Result<Option<Vec<BytesMut>>, FrameError> {
        let Some(first) = self.next(stream, max_len).await? else {
            return Ok(None);
        };
        let mut frames = Vec::with_capacity(16);
        let mut more = is_update(&first);
        frames.push(first);
        while more && frames.len() < limit {
            match bgplet_wire::message_len(&self.buf, max_len) {
                Ok(Some(len)) => {
                    let frame = self.buf.split_to(len);
                    more = is_update(&frame);
                    frames.push(frame);
                }
                // A bad header is reported by the next call, after the
                // good messages before it were handled.
                Ok(None) | Err(_) => break,
            }
        }
        Ok(Some(frames))
    }
}

/// The message type octet says UPDATE (RFC 4271 section 4.1).
fn is_update(frame: &[u8]) -> bool {
    frame.get(18) == Some(&2)
}

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The socket failed.
    #[error("read failed: {0}")]
    Io(io::Error),
    /// The header is invalid; the session must be reset.
    #[error("bad message header: {0}")]
    Header(bgplet_wire::HeaderError),
}
