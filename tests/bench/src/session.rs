//! A minimal BGP speaker for the load generator: connect, exchange
//! OPENs (4-octet AS, IPv4 unicast), keep the session alive, write raw
//! bytes and read decoded messages. No FSM beyond that: the generator
//! only needs a session that comes up and stays up.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bgplet_wire::{
    AfiSafi, Capability, Incoming, Message, Open, SessionContext, message_len,
};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// Hold time we offer; the DUT's smaller value wins (RFC 4271 4.2).
const HOLD_TIME: u16 = 240;
/// Keepalives every 20 s stay well inside any hold time of 60 s or more.
const KEEPALIVE_EVERY: Duration = Duration::from_secs(20);

/// The write side, shared by the keepalive task and the blaster.
pub type Writer = Arc<Mutex<OwnedWriteHalf>>;

/// An established session.
pub struct Session {
    /// Reads and decodes messages.
    pub reader: Reader,
    /// Writes raw bytes.
    pub writer: Writer,
    keepalive: JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.keepalive.abort();
    }
}

/// The read side with its framing buffer.
pub struct Reader {
    rd: OwnedReadHalf,
    buf: BytesMut,
    ctx: SessionContext,
}

impl Reader {
    /// The next message, or `None` at end of stream.
    pub async fn next(&mut self) -> Result<Option<Incoming>> {
        loop {
            if let Some(len) =
                message_len(&self.buf, self.ctx.max_message_len())?
            {
                let frame = self.buf.split_to(len);
                return Ok(Some(Message::decode(&frame, &self.ctx)?));
            }
            self.buf.reserve(256 * 1024);
            if self.rd.read_buf(&mut self.buf).await? == 0 {
                return Ok(None);
            }
        }
    }
}

/// Connects from `local` to `remote:179` and brings the session up,
/// retrying until `deadline`: the DUT may still be starting, and GoBGP
/// closes sessions from neighbors it has not loaded yet.
pub async fn establish(
    local: Ipv4Addr,
    remote: Ipv4Addr,
    asn: u32,
    ibgp: bool,
    deadline: Instant,
) -> Result<Session> {
    loop {
        match establish_once(local, remote, asn, ibgp, deadline).await {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

async fn establish_once(
    local: Ipv4Addr,
    remote: Ipv4Addr,
    asn: u32,
    ibgp: bool,
    deadline: Instant,
) -> Result<Session> {
    let stream = loop {
        let sock = TcpSocket::new_v4()?;
        sock.set_nodelay(true)?;
        sock.bind(SocketAddr::from((local, 0)))?;
        match sock.connect(SocketAddr::from((remote, 179))).await {
            Ok(s) => break s,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                return Err(e).with_context(|| format!("{local} -> {remote}"));
            }
        }
    };
    let (rd, mut wr) = stream.into_split();
    let open = Open::new(
        asn,
        HOLD_TIME,
        local,
        vec![
            Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
            Capability::FourOctetAs(asn),
        ],
    );
    let plain = SessionContext::default();
    wr.write_all(&Message::Open(open).to_bytes(&plain)?).await?;
    let mut reader = Reader {
        rd,
        buf: BytesMut::with_capacity(64 * 1024),
        ctx: plain,
    };
    let timeout = deadline.saturating_duration_since(Instant::now());
    tokio::time::timeout(timeout, handshake(&mut reader, &mut wr, ibgp))
        .await
        .with_context(|| format!("{local}: no OPEN/KEEPALIVE in time"))??;
    let writer = Arc::new(Mutex::new(wr));
    let w = writer.clone();
    let keepalive = tokio::spawn(async move {
        let ka = [
            0xFFu8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 19, 4,
        ];
        loop {
            tokio::time::sleep(KEEPALIVE_EVERY).await;
            if w.lock().await.write_all(&ka).await.is_err() {
                return;
            }
        }
    });
    Ok(Session {
        reader,
        writer,
        keepalive,
    })
}

async fn handshake(
    reader: &mut Reader,
    wr: &mut OwnedWriteHalf,
    ibgp: bool,
) -> Result<()> {
    loop {
        match reader.next().await? {
            Some(Incoming::Open(o)) => {
                reader.ctx = SessionContext {
                    four_octet_as: o.four_octet_as().is_some(),
                    ibgp,
                    ..SessionContext::default()
                };
                let ka = Message::Keepalive.to_bytes(&reader.ctx)?;
                wr.write_all(&ka).await?;
            }
            Some(Incoming::Keepalive) => return Ok(()),
            Some(Incoming::Notification(n)) => bail!("NOTIFICATION {n:?}"),
            Some(_) => {}
            None => bail!("closed during OPEN exchange"),
        }
    }
}

/// Writes `bytes` in chunks, taking the lock per chunk so keepalives
/// still get through during a long blast.
pub async fn blast(writer: &Writer, bytes: &[u8]) -> Result<()> {
    for chunk in bytes.chunks(256 * 1024) {
        writer.lock().await.write_all(chunk).await?;
    }
    Ok(())
}
