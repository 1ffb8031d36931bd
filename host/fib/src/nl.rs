//! The netlink transport: dumps, batched requests with in-order acks, and
//! the notification socket.

use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream;
use rtnetlink::packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::packet_route::route::RouteMessage;
use rtnetlink::proto::ConnectionHandle;
use rtnetlink::sys::protocols::NETLINK_ROUTE;
use rtnetlink::sys::{AsyncSocket, SocketAddr};
use rtnetlink::{MulticastGroup, new_multicast_connection};
use tokio::sync::mpsc;

use crate::FibError;

/// Receive buffer asked for both sockets; the kernel caps it at
/// `net.core.rmem_max`. Acks of a whole window of batches and bursts of
/// route notifications must fit.
const RCVBUF: i32 = 4 << 20;

/// Receive-buffer bytes one ack takes (its skb's true size, rounded up),
/// to bound how many requests may await their ack at once: an ack that
/// does not fit is dropped by the kernel.
const ACK_TRUESIZE: usize = 1024;

/// How long a batch may wait for its acks before it is declared lost.
const ACK_TIMEOUT: Duration = Duration::from_secs(60);

/// A kernel notification the FIB reacts to.
pub(crate) type Event = NetlinkMessage<RouteNetlinkMessage>;

/// The request socket.
#[derive(Clone)]
pub(crate) struct Conn {
    handle: ConnectionHandle<RouteNetlinkMessage>,
    /// Requests that may await their ack at once.
    max_outstanding: usize,
}

impl Conn {
    /// Opens a route socket in the current network namespace and spawns its
    /// driver on the current tokio runtime.
    pub fn open() -> Result<Conn, FibError> {
        let (mut conn, handle, _unsolicited) =
            rtnetlink::proto::new_connection::<RouteNetlinkMessage>(
                NETLINK_ROUTE,
            )
            .map_err(FibError::Socket)?;
        // Every request's ack comes back, in order, so results map to
        // requests by position.
        conn.set_forward_ack(true);
        conn.set_forward_done(true);
        let sock = conn.socket_mut().socket_mut();
        sock.set_rx_buf_sz(RCVBUF).map_err(FibError::Socket)?;
        // Acks carry only the request header, not the whole request.
        sock.set_cap_ack(true).map_err(FibError::Socket)?;
        let rcvbuf = sock.get_rx_buf_sz().map_err(FibError::Socket)?;
        let max_outstanding = (rcvbuf / ACK_TRUESIZE).max(16);
        tokio::spawn(conn);
        Ok(Conn {
            handle,
            max_outstanding,
        })
    }

    async fn dump(
        &self,
        body: RouteNetlinkMessage,
    ) -> Result<Vec<RouteNetlinkMessage>, FibError> {
        let mut req = NetlinkMessage::from(body);
        req.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        let mut answers = self
            .handle
            .request(req, SocketAddr::new(0, 0))
            .map_err(|_| FibError::Closed)?;
        let mut out = Vec::new();
        while let Some(msg) = answers.next().await {
            match msg.payload {
                NetlinkPayload::InnerMessage(m) => out.push(m),
                NetlinkPayload::Done(_) => return Ok(out),
                NetlinkPayload::Error(e) => {
                    return Err(FibError::Kernel(-e.raw_code()));
                }
                other => {
                    return Err(FibError::Dump(format!("{other:?}")));
                }
            }
        }
        // The stream also ends right after Done on some versions.
        Ok(out)
    }

    /// All links.
    pub async fn links(&self) -> Result<Vec<LinkMessage>, FibError> {
        let out = self
            .dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))
            .await?;
        Ok(out
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(l),
                _ => None,
            })
            .collect())
    }

    /// All routes of all tables and both families.
    pub async fn routes(&self) -> Result<Vec<RouteMessage>, FibError> {
        let out = self
            .dump(RouteNetlinkMessage::GetRoute(RouteMessage::default()))
            .await?;
        Ok(out
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRoute(r) => Some(r),
                _ => None,
            })
            .collect())
    }

    /// Queues one batch, to go out as a single datagram, and returns a
    /// future with each request's result in order (the kernel handles and
    /// acks a datagram's messages one after the other). Queuing happens
    /// here, not when the future is first polled, so batches leave in the
    /// order this is called.
    fn submit(
        &self,
        msgs: Vec<NetlinkMessage<RouteNetlinkMessage>>,
    ) -> impl Future<Output = Vec<Result<(), FibError>>> + use<> {
        let n = msgs.len();
        let answers = self.handle.request_batch(msgs, SocketAddr::new(0, 0));
        async move {
            let Ok(answers) = answers else {
                return (0..n).map(|_| Err(FibError::Closed)).collect();
            };
            let collect = answers
                .map(|m| match m.payload {
                    NetlinkPayload::Error(e) => match e.code {
                        None => Ok(()),
                        Some(code) => Err(FibError::Kernel(-code.get())),
                    },
                    other => Err(FibError::Unexpected(format!("{other:?}"))),
                })
                .collect::<Vec<_>>();
            // A lost ack (receive buffer overrun) must not hang the batch.
            let mut results = tokio::time::timeout(ACK_TIMEOUT, collect)
                .await
                .unwrap_or_default();
            while results.len() < n {
                results.push(Err(FibError::Unexpected("ack lost".into())));
            }
            results.truncate(n);
            results
        }
    }

    /// Sends `requests` (each with its netlink flags) in batches of
    /// `batch_size`, at most `in_flight` batches outstanding, and returns
    /// the results in request order. Order of execution is the order
    /// given: one socket, datagrams handled in turn.
    pub async fn send_all(
        &self,
        requests: Vec<(RouteNetlinkMessage, u16)>,
        batch_size: usize,
        in_flight: usize,
    ) -> Vec<Result<(), FibError>> {
        // Keep the acks of everything in flight within the receive buffer
        // (it may be capped far below what we asked for).
        let batch_size = batch_size.clamp(1, self.max_outstanding);
        let in_flight =
            in_flight.clamp(1, (self.max_outstanding / batch_size).max(1));
        let mut batches = Vec::new();
        let mut current = Vec::with_capacity(batch_size);
        for (body, flags) in requests {
            let mut msg = NetlinkMessage::from(body);
            msg.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
            current.push(msg);
            if current.len() >= batch_size {
                batches.push(std::mem::take(&mut current));
            }
        }
        if !current.is_empty() {
            batches.push(current);
        }
        stream::iter(batches.into_iter().map(|b| self.submit(b)))
            .buffered(in_flight)
            .flat_map(stream::iter)
            .collect()
            .await
    }
}

/// Link and parsed state of a link message: (index, name, up).
pub(crate) fn link_info(link: &LinkMessage) -> Option<(u32, String, bool)> {
    let name = link.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.clone()),
        _ => None,
    })?;
    Some((
        link.header.index,
        name,
        link.header.flags.contains(LinkFlags::Up),
    ))
}

/// Subscribes to link, address and route notifications of both families
/// and forwards them on a channel (so the receiver is cancel-safe). New
/// routes of our own `protocol` are echoes of our requests and are dropped
/// here, so a burst of installs does not pile up in the channel.
pub(crate) fn watch(
    protocol: u8,
) -> Result<mpsc::UnboundedReceiver<Event>, FibError> {
    let groups = [
        MulticastGroup::Link,
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Ipv6Ifaddr,
        MulticastGroup::Ipv4Route,
        MulticastGroup::Ipv6Route,
    ];
    let (mut conn, _handle, mut messages) =
        new_multicast_connection(&groups).map_err(FibError::Socket)?;
    conn.socket_mut()
        .socket_mut()
        .set_rx_buf_sz(RCVBUF)
        .map_err(FibError::Socket)?;
    tokio::spawn(conn);
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some((msg, _)) = messages.next().await {
            if let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(
                r,
            )) = &msg.payload
                && u8::from(r.header.protocol) == protocol
            {
                continue;
            }
            if tx.send(msg).is_err() {
                break;
            }
        }
    });
    Ok(rx)
}
