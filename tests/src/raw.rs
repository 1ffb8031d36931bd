//! A hand-driven BGP peer over a blocking `TcpStream`, for bad-input
//! tests. Messages are built byte by byte here, independently of
//! bgplet-wire, so the two encoders check each other.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::netns::Netns;

/// BGP message types (RFC 4271 §4.1, RFC 2918 for ROUTE-REFRESH).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageType {
    /// 1
    Open,
    /// 2
    Update,
    /// 3
    Notification,
    /// 4
    Keepalive,
    /// 5
    RouteRefresh,
    /// Anything else.
    Other(u8),
}

impl MessageType {
    /// The type for a wire code.
    pub fn from_code(code: u8) -> MessageType {
        match code {
            1 => MessageType::Open,
            2 => MessageType::Update,
            3 => MessageType::Notification,
            4 => MessageType::Keepalive,
            5 => MessageType::RouteRefresh,
            other => MessageType::Other(other),
        }
    }

    /// The wire code.
    pub fn code(self) -> u8 {
        match self {
            MessageType::Open => 1,
            MessageType::Update => 2,
            MessageType::Notification => 3,
            MessageType::Keepalive => 4,
            MessageType::RouteRefresh => 5,
            MessageType::Other(c) => c,
        }
    }
}

/// A received message: type and body (header stripped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Message type.
    pub kind: MessageType,
    /// Bytes after the 19-byte header.
    pub body: Vec<u8>,
}

impl Message {
    /// `(error code, subcode, data)` if this is a NOTIFICATION.
    pub fn notification(&self) -> Option<(u8, u8, &[u8])> {
        if self.kind != MessageType::Notification || self.body.len() < 2 {
            return None;
        }
        Some((self.body[0], self.body[1], &self.body[2..]))
    }

    /// For an OPEN: `(version, my AS field, hold time, router id)`.
    pub fn open_fields(&self) -> Option<(u8, u16, u16, Ipv4Addr)> {
        let b = &self.body;
        if self.kind != MessageType::Open || b.len() < 10 {
            return None;
        }
        Some((
            b[0],
            u16::from_be_bytes([b[1], b[2]]),
            u16::from_be_bytes([b[3], b[4]]),
            Ipv4Addr::new(b[5], b[6], b[7], b[8]),
        ))
    }
}

/// A whole message: marker, length, type, body (RFC 4271 §4.1). The
/// length field is computed; use [`RawPeer::send`] with hand-made bytes
/// to lie about it.
pub fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(19 + body.len()).unwrap_or(u16::MAX);
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&len.to_be_bytes());
    m.push(kind);
    m.extend_from_slice(body);
    m
}

/// Builds an OPEN (RFC 4271 §4.2) with capabilities (RFC 5492).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenBuilder {
    /// BGP version (4).
    pub version: u8,
    /// Our AS; above 65535 the 2-octet field carries AS_TRANS.
    pub my_as: u32,
    /// Hold time.
    pub hold_time: u16,
    /// BGP identifier.
    pub router_id: Ipv4Addr,
    /// Capabilities as (code, value), in order.
    pub capabilities: Vec<(u8, Vec<u8>)>,
}

impl OpenBuilder {
    /// An OPEN with multiprotocol IPv4 and IPv6 unicast (RFC 4760),
    /// route refresh (RFC 2918) and 4-octet AS (RFC 6793).
    pub fn standard(
        my_as: u32,
        hold_time: u16,
        router_id: Ipv4Addr,
    ) -> OpenBuilder {
        OpenBuilder::bare(my_as, hold_time, router_id)
            .capability(1, &[0, 1, 0, 1])
            .capability(1, &[0, 2, 0, 1])
            .capability(2, &[])
            .capability(65, &my_as.to_be_bytes())
    }

    /// An OPEN without capabilities.
    pub fn bare(
        my_as: u32,
        hold_time: u16,
        router_id: Ipv4Addr,
    ) -> OpenBuilder {
        OpenBuilder {
            version: 4,
            my_as,
            hold_time,
            router_id,
            capabilities: Vec::new(),
        }
    }

    /// Appends a capability.
    pub fn capability(mut self, code: u8, value: &[u8]) -> OpenBuilder {
        self.capabilities.push((code, value.to_vec()));
        self
    }

    /// Adds ADD-PATH (RFC 7911) for (afi, safi, send/receive 1..3).
    pub fn add_path(self, afi: u16, safi: u8, mode: u8) -> OpenBuilder {
        let [a, b] = afi.to_be_bytes();
        self.capability(69, &[a, b, safi, mode])
    }

    /// Sets the version field.
    pub fn version(mut self, v: u8) -> OpenBuilder {
        self.version = v;
        self
    }

    /// The OPEN body.
    pub fn body(&self) -> Vec<u8> {
        // RFC 6793 §4.1: AS_TRANS (23456) in the 2-octet field.
        let my_as16 = u16::try_from(self.my_as).unwrap_or(23456);
        let mut b = vec![self.version];
        b.extend_from_slice(&my_as16.to_be_bytes());
        b.extend_from_slice(&self.hold_time.to_be_bytes());
        b.extend_from_slice(&self.router_id.octets());
        // All capabilities in one Capabilities parameter (type 2).
        let mut caps = Vec::new();
        for (code, value) in &self.capabilities {
            caps.push(*code);
            caps.push(u8::try_from(value.len()).unwrap_or(u8::MAX));
            caps.extend_from_slice(value);
        }
        if caps.is_empty() {
            b.push(0);
        } else {
            b.push(u8::try_from(caps.len() + 2).unwrap_or(u8::MAX));
            b.push(2);
            b.push(u8::try_from(caps.len()).unwrap_or(u8::MAX));
            b.extend_from_slice(&caps);
        }
        b
    }

    /// The whole OPEN message.
    pub fn build(&self) -> Vec<u8> {
        message(1, &self.body())
    }
}

fn parse_v4(prefix: &str) -> Result<(Ipv4Addr, u8)> {
    let (a, l) = prefix.split_once('/').context("prefix without /")?;
    Ok((a.parse()?, l.parse()?))
}

fn parse_v6(prefix: &str) -> Result<(Ipv6Addr, u8)> {
    let (a, l) = prefix.split_once('/').context("prefix without /")?;
    Ok((a.parse()?, l.parse()?))
}

/// NLRI encoding: length in bits, then the minimum number of octets.
fn push_prefix(out: &mut Vec<u8>, octets: &[u8], len: u8) {
    out.push(len);
    out.extend_from_slice(
        &octets[..usize::from(len).div_ceil(8).min(octets.len())],
    );
}

/// Builds an UPDATE (RFC 4271 §4.3) with 4-octet AS numbers (the session
/// must have negotiated RFC 6793). Attributes are emitted in call order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateBuilder {
    withdrawn: Vec<u8>,
    attrs: Vec<u8>,
    nlri: Vec<u8>,
}

impl UpdateBuilder {
    /// An empty UPDATE (an End-of-RIB marker for IPv4, RFC 4724 §2).
    pub fn new() -> UpdateBuilder {
        UpdateBuilder::default()
    }

    /// Appends a raw path attribute; the extended-length flag is set when
    /// the value needs it.
    pub fn attribute(
        mut self,
        flags: u8,
        code: u8,
        value: &[u8],
    ) -> UpdateBuilder {
        if value.len() > 255 || flags & 0x10 != 0 {
            self.attrs.push(flags | 0x10);
            self.attrs.push(code);
            let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
            self.attrs.extend_from_slice(&len.to_be_bytes());
        } else {
            self.attrs.push(flags);
            self.attrs.push(code);
            self.attrs
                .push(u8::try_from(value.len()).unwrap_or(u8::MAX));
        }
        self.attrs.extend_from_slice(value);
        self
    }

    /// ORIGIN (0 IGP, 1 EGP, 2 INCOMPLETE).
    pub fn origin(self, origin: u8) -> UpdateBuilder {
        self.attribute(0x40, 1, &[origin])
    }

    /// AS_PATH with one AS_SEQUENCE of 4-octet ASNs (empty path if none).
    pub fn as_path(self, asns: &[u32]) -> UpdateBuilder {
        let mut v = Vec::new();
        if !asns.is_empty() {
            v.push(2);
            v.push(u8::try_from(asns.len()).unwrap_or(u8::MAX));
            for a in asns {
                v.extend_from_slice(&a.to_be_bytes());
            }
        }
        self.attribute(0x40, 2, &v)
    }

    /// NEXT_HOP.
    pub fn next_hop(self, nh: Ipv4Addr) -> UpdateBuilder {
        self.attribute(0x40, 3, &nh.octets())
    }

    /// MULTI_EXIT_DISC.
    pub fn med(self, med: u32) -> UpdateBuilder {
        self.attribute(0x80, 4, &med.to_be_bytes())
    }

    /// LOCAL_PREF.
    pub fn local_pref(self, lp: u32) -> UpdateBuilder {
        self.attribute(0x40, 5, &lp.to_be_bytes())
    }

    /// COMMUNITIES (RFC 1997) from `(asn, value)` pairs.
    pub fn communities(self, list: &[(u16, u16)]) -> UpdateBuilder {
        let mut v = Vec::new();
        for (a, b) in list {
            v.extend_from_slice(&a.to_be_bytes());
            v.extend_from_slice(&b.to_be_bytes());
        }
        self.attribute(0xc0, 8, &v)
    }

    /// LARGE_COMMUNITY (RFC 8092) from `(global, local1, local2)`.
    pub fn large_communities(self, list: &[(u32, u32, u32)]) -> UpdateBuilder {
        let mut v = Vec::new();
        for (a, b, c) in list {
            v.extend_from_slice(&a.to_be_bytes());
            v.extend_from_slice(&b.to_be_bytes());
            v.extend_from_slice(&c.to_be_bytes());
        }
        self.attribute(0xc0, 32, &v)
    }

    /// MP_REACH_NLRI (RFC 4760) for IPv6 unicast.
    pub fn mp_reach_ipv6(
        self,
        next_hop: Ipv6Addr,
        prefixes: &[&str],
    ) -> Result<UpdateBuilder> {
        let mut v = vec![0, 2, 1, 16];
        v.extend_from_slice(&next_hop.octets());
        v.push(0);
        for p in prefixes {
            let (a, l) = parse_v6(p)?;
            push_prefix(&mut v, &a.octets(), l);
        }
        Ok(self.attribute(0x80, 14, &v))
    }

    /// MP_UNREACH_NLRI (RFC 4760) for IPv6 unicast.
    pub fn mp_unreach_ipv6(self, prefixes: &[&str]) -> Result<UpdateBuilder> {
        let mut v = vec![0, 2, 1];
        for p in prefixes {
            let (a, l) = parse_v6(p)?;
            push_prefix(&mut v, &a.octets(), l);
        }
        Ok(self.attribute(0x80, 15, &v))
    }

    /// Adds an IPv4 NLRI such as `10.1.0.0/24`.
    pub fn nlri(mut self, prefix: &str) -> Result<UpdateBuilder> {
        let (a, l) = parse_v4(prefix)?;
        push_prefix(&mut self.nlri, &a.octets(), l);
        Ok(self)
    }

    /// Adds an IPv4 withdrawn route.
    pub fn withdraw(mut self, prefix: &str) -> Result<UpdateBuilder> {
        let (a, l) = parse_v4(prefix)?;
        push_prefix(&mut self.withdrawn, &a.octets(), l);
        Ok(self)
    }

    /// The UPDATE body.
    pub fn body(&self) -> Vec<u8> {
        let mut b = Vec::new();
        let wl = u16::try_from(self.withdrawn.len()).unwrap_or(u16::MAX);
        b.extend_from_slice(&wl.to_be_bytes());
        b.extend_from_slice(&self.withdrawn);
        let al = u16::try_from(self.attrs.len()).unwrap_or(u16::MAX);
        b.extend_from_slice(&al.to_be_bytes());
        b.extend_from_slice(&self.attrs);
        b.extend_from_slice(&self.nlri);
        b
    }

    /// The whole UPDATE message.
    pub fn build(&self) -> Vec<u8> {
        message(2, &self.body())
    }
}

/// A raw BGP connection. Reads block with explicit timeouts.
#[derive(Debug)]
pub struct RawPeer {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawPeer {
    /// Connects to `addr` from inside `ns`.
    pub fn connect(
        ns: &Netns,
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<RawPeer> {
        let stream = ns.in_ns(|| {
            TcpStream::connect_timeout(&addr, timeout)
                .with_context(|| format!("connecting to {addr}"))
        })?;
        RawPeer::from_stream(stream)
    }

    /// Connects to `addr` from inside `ns`, retrying until `timeout`
    /// (for a daemon that is still starting).
    pub fn connect_retry(
        ns: &Netns,
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<RawPeer> {
        let start = Instant::now();
        loop {
            match RawPeer::connect(ns, addr, Duration::from_secs(1)) {
                Ok(p) => return Ok(p),
                Err(e) if start.elapsed() >= timeout => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Wraps an existing stream.
    pub fn from_stream(stream: TcpStream) -> Result<RawPeer> {
        stream.set_nodelay(true)?;
        Ok(RawPeer {
            stream,
            buf: Vec::new(),
        })
    }

    /// The underlying stream.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream.write_all(bytes).context("sending")
    }

    /// Sends an OPEN.
    pub fn send_open(&mut self, open: &OpenBuilder) -> Result<()> {
        self.send(&open.build())
    }

    /// Sends a KEEPALIVE.
    pub fn send_keepalive(&mut self) -> Result<()> {
        self.send(&message(4, &[]))
    }

    /// Sends an UPDATE.
    pub fn send_update(&mut self, update: &UpdateBuilder) -> Result<()> {
        self.send(&update.build())
    }

    /// Sends a NOTIFICATION.
    pub fn send_notification(
        &mut self,
        code: u8,
        subcode: u8,
        data: &[u8],
    ) -> Result<()> {
        let mut body = vec![code, subcode];
        body.extend_from_slice(data);
        self.send(&message(3, &body))
    }

    /// The next message; `Ok(None)` if the peer closed the connection
    /// (EOF or reset), an error on timeout or a malformed header.
    pub fn recv(&mut self, timeout: Duration) -> Result<Option<Message>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.take_message()? {
                return Ok(Some(m));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!(
                    "no complete BGP message within {timeout:?} ({} bytes buffered)",
                    self.buf.len()
                );
            }
            self.stream.set_read_timeout(Some(left))?;
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(None),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut
                    ) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionReset
                            | ErrorKind::ConnectionAborted
                    ) =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(e).context("reading"),
            }
        }
    }

    fn take_message(&mut self) -> Result<Option<Message>> {
        if self.buf.len() < 19 {
            return Ok(None);
        }
        if self.buf[..16].iter().any(|b| *b != 0xff) {
            bail!("bad marker in {:02x?}", &self.buf[..19]);
        }
        let len = usize::from(u16::from_be_bytes([self.buf[16], self.buf[17]]));
        if len < 19 {
            bail!("bad message length {len}");
        }
        if self.buf.len() < len {
            return Ok(None);
        }
        let kind = MessageType::from_code(self.buf[18]);
        let body = self.buf[19..len].to_vec();
        self.buf.drain(..len);
        Ok(Some(Message { kind, body }))
    }

    /// The next message that is not a KEEPALIVE.
    pub fn recv_skip_keepalives(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<Message>> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(left)? {
                Some(m) if m.kind == MessageType::Keepalive => continue,
                other => return Ok(other),
            }
        }
    }

    /// Waits for a NOTIFICATION (skipping other messages) and returns
    /// `(code, subcode, data)`.
    pub fn expect_notification(
        &mut self,
        timeout: Duration,
    ) -> Result<(u8, u8, Vec<u8>)> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(left)? {
                Some(m) => {
                    if let Some((c, s, d)) = m.notification() {
                        return Ok((c, s, d.to_vec()));
                    }
                }
                None => bail!("connection closed without a NOTIFICATION"),
            }
        }
    }

    /// Sends our OPEN, expects the peer's OPEN, then exchanges KEEPALIVEs
    /// (RFC 4271 §8: OpenSent → OpenConfirm → Established). Returns the
    /// peer's OPEN.
    pub fn handshake(
        &mut self,
        open: &OpenBuilder,
        timeout: Duration,
    ) -> Result<Message> {
        self.send_open(open)?;
        let peer_open = match self.recv(timeout)? {
            Some(m) if m.kind == MessageType::Open => m,
            Some(m) => bail!("expected OPEN, got {m:?}"),
            None => bail!("closed before OPEN"),
        };
        self.send_keepalive()?;
        match self.recv(timeout)? {
            Some(m) if m.kind == MessageType::Keepalive => Ok(peer_open),
            Some(m) => bail!("expected KEEPALIVE, got {m:?}"),
            None => bail!("closed after OPEN"),
        }
    }

    /// Keeps the connection for `period`, sending a KEEPALIVE every
    /// second, and fails if the peer closes it or sends a NOTIFICATION.
    /// Returns the other messages received.
    pub fn assert_stays_open(
        &mut self,
        period: Duration,
    ) -> Result<Vec<Message>> {
        let end = Instant::now() + period;
        let mut seen = Vec::new();
        let mut next_ka = Instant::now();
        while Instant::now() < end {
            if Instant::now() >= next_ka {
                self.send_keepalive().map_err(|e| {
                    anyhow!("connection failed while expected open: {e:#}")
                })?;
                next_ka = Instant::now() + Duration::from_secs(1);
            }
            let slice =
                next_ka.min(end).saturating_duration_since(Instant::now());
            match self.recv(slice.max(Duration::from_millis(10))) {
                Ok(Some(m)) => {
                    if let Some((c, s, _)) = m.notification() {
                        bail!(
                            "peer sent NOTIFICATION {c}/{s} while expected open"
                        );
                    }
                    seen.push(m);
                }
                Ok(None) => {
                    bail!("peer closed the connection while expected open")
                }
                Err(_) => {} // timeout slice: loop on
            }
        }
        Ok(seen)
    }

    /// Waits until the peer closes the connection; returns the messages
    /// received before (e.g. the NOTIFICATION).
    pub fn wait_closed(&mut self, timeout: Duration) -> Result<Vec<Message>> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("connection still open after {timeout:?}; got {seen:?}");
            }
            match self.recv(left) {
                Ok(Some(m)) => seen.push(m),
                Ok(None) => return Ok(seen),
                Err(e) if left.is_zero() => return Err(e),
                Err(_) => {}
            }
        }
    }
}

/// A listening socket inside a namespace, for daemons that connect out.
#[derive(Debug)]
pub struct RawListener {
    listener: TcpListener,
}

impl RawListener {
    /// Binds `addr` inside `ns` (e.g. `10.0.0.2:179`).
    pub fn bind(ns: &Netns, addr: SocketAddr) -> Result<RawListener> {
        let listener = ns.in_ns(|| {
            TcpListener::bind(addr).with_context(|| format!("binding {addr}"))
        })?;
        listener.set_nonblocking(true)?;
        Ok(RawListener { listener })
    }

    /// The bound address.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Accepts one connection within `timeout`.
    pub fn accept(&self, timeout: Duration) -> Result<RawPeer> {
        let start = Instant::now();
        loop {
            match self.listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false)?;
                    return RawPeer::from_stream(s);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if start.elapsed() >= timeout {
                        bail!("no connection within {timeout:?}");
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(e).context("accept"),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn standard_open_uses_as_trans_and_carries_four_capabilities() {
        let m =
            OpenBuilder::standard(4200000001, 9, Ipv4Addr::new(10, 0, 0, 9))
                .build();
        assert_eq!(&m[..16], &[0xff; 16]);
        assert_eq!(usize::from(u16::from_be_bytes([m[16], m[17]])), m.len());
        assert_eq!(m[18], 1);
        // version, AS_TRANS, hold 9, router id
        assert_eq!(&m[19..28], &[4, 0x5b, 0xa0, 0, 9, 10, 0, 0, 9]);
        // opt len 22 = param hdr 2 + caps (6 + 6 + 2 + 6)
        assert_eq!(&m[28..31], &[22, 2, 20]);
        assert_eq!(&m[m.len() - 6..], &[65, 4, 0xfa, 0x56, 0xea, 0x01]);
    }

    #[test]
    fn update_encodes_prefixes_with_minimal_octets() {
        let u = UpdateBuilder::new()
            .origin(0)
            .as_path(&[65001])
            .next_hop(Ipv4Addr::new(10, 0, 0, 2))
            .nlri("10.1.0.0/23")
            .unwrap()
            .body();
        // withdrawn len 0, attrs len 4 + 9 + 7 = 20, nlri 23 10 1 0
        assert_eq!(&u[..4], &[0, 0, 0, 20]);
        assert_eq!(&u[u.len() - 4..], &[23, 10, 1, 0]);
    }
}
