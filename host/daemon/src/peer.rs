//! One BGP session: the tokio driver around the sans-IO FSM.
//!
//! How it works, in order:
//!
//! 1. The agent spawns [`run`] per planned session. The task owns the
//!    session's FSM ([`bgplet_session::Fsm`]), its timers and up to two
//!    TCP connections (two only during a connection collision, RFC 4271
//!    section 6.8).
//! 2. Everything that happens becomes an FSM [`Event`]: a connect
//!    attempt finishing, a connection accepted by the listener (handed to
//!    us through `inbound`), a message read by the connection's reader
//!    task, a timer firing. The FSM answers with [`Action`]s, which
//!    [`Session::perform`] carries out: connect, send, close, arm timers.
//! 3. When a connection reaches Established, the session tells the route
//!    store ([`store::StoreEvent::PeerUp`]) and from then on forwards
//!    decoded UPDATEs to it and writes the UPDATEs it sends back.
//!
//! Writes go through a per-connection writer task so that a slow peer
//! never stalls reading (and so the hold timer) on this side.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bgplet_session::{
    Action, DownReason, Event, Fsm, Initiator, OtherConnection, Resolution,
    SessionConfig, State, Timer,
};
use bgplet_wire::{Open, SessionContext};
use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::codec::{self, Received, UpdateIn};
use crate::routing::{self, Event as StoreEvent, SessionPolicy};
use crate::transport::{self, FrameReader, SocketSettings};

/// Calico's `error wait time 5,30` lower bound: how long a session whose
/// connections all failed waits before trying again.
const RESTART_DELAY: Duration = Duration::from_secs(5);

/// How many queued bytes the writer gathers into one write.
const WRITE_COALESCE: usize = 256 * 1024;

/// The most messages one read hands to the session task at once.
const MAX_FRAMES_PER_READ: usize = 64;

/// The longest a single write may take before the connection is
/// abandoned.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// What the agent knows about one session, enough to run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSpec {
    /// Calico's session name, e.g. `Global_10_0_0_1`.
    pub name: String,
    /// calicoctl's label for the kind of peer.
    pub type_label: String,
    /// The peer's address.
    pub address: IpAddr,
    /// The peer's BGP port.
    pub port: u16,
    /// Source address for outbound connections (`sourceAddress:
    /// UseNodeIP`).
    pub source: Option<IpAddr>,
    /// TCP-MD5 and TTL settings.
    pub socket: SocketSettings,
    /// FSM settings: ASes, timers, capabilities, passive.
    pub session: SessionConfig,
    /// What routing needs to know about the session.
    pub policy: SessionPolicy,
}

/// The status row the session keeps up to date for `bgplet status`.
#[derive(Debug, Clone)]
pub struct PeerRow {
    /// Current FSM state.
    pub state: State,
    /// When the state last changed.
    pub since: SystemTime,
    /// The last error, or extra detail.
    pub info: String,
}

/// Shared handle on a session's status row.
pub type SharedRow = Arc<Mutex<PeerRow>>;

/// Creates the status row of a session that has not started.
pub fn new_row() -> SharedRow {
    Arc::new(Mutex::new(PeerRow {
        state: State::Idle,
        since: SystemTime::now(),
        info: String::new(),
    }))
}

/// Runs one session until `stop` is dropped or signalled.
pub async fn run(
    spec: PeerSpec,
    inbound: mpsc::Receiver<TcpStream>,
    store: mpsc::Sender<StoreEvent>,
    row: SharedRow,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let span = info_span!("peer", name = %spec.name, addr = %spec.address);
    async move {
        let fsm = match Fsm::new(spec.session.clone()) {
            Ok(fsm) => fsm,
            Err(e) => {
                warn!(error = %e, "session configuration is unusable");
                set_row(&row, State::Idle, format!("bad configuration: {e}"));
                return;
            }
        };
        let (to_store, from_store) = mpsc::unbounded_channel();
        let (conn_tx, conn_rx) = mpsc::channel(256);
        let (connect_tx, connect_rx) = mpsc::channel(4);
        let mut session = Session {
            spec,
            primary: Conn::idle(fsm, 0),
            secondary: None,
            next_conn_id: 1,
            connect_generation: 0,
            store,
            to_store,
            row,
            conn_tx,
            connect_tx,
            restart_at: None,
            stopping: false,
            peer_restart: None,
        };
        session
            .main(inbound, conn_rx, connect_rx, from_store, stop)
            .await;
    }
    .instrument(span)
    .await
}

/// A TCP connection and the FSM driving it.
struct Conn {
    id: u64,
    fsm: Fsm,
    initiator: Initiator,
    writer: Option<mpsc::UnboundedSender<Vec<Bytes>>>,
    max_len: Arc<AtomicUsize>,
    timers: [Option<Instant>; 4],
    ctx: SessionContext,
    local_addr: Option<IpAddr>,
    /// The store was told this connection's session is up.
    up: bool,
    /// The reader task of the current TCP connection.
    reader: Option<tokio::task::AbortHandle>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.close();
    }
}

impl Conn {
    fn idle(fsm: Fsm, id: u64) -> Self {
        Self {
            id,
            fsm,
            initiator: Initiator::Local,
            writer: None,
            max_len: Arc::new(AtomicUsize::new(
                bgplet_wire::context::MAX_MESSAGE_LEN,
            )),
            timers: [None; 4],
            ctx: SessionContext::default(),
            local_addr: None,
            up: false,
            reader: None,
        }
    }

    fn next_deadline(&self) -> Option<(Instant, Timer)> {
        Timer::ALL
            .iter()
            .enumerate()
            .filter_map(|(i, t)| self.timers[i].map(|d| (d, *t)))
            .min_by_key(|(d, _)| *d)
    }

    /// Closes the TCP connection: the reader stops at once, the writer
    /// flushes what is queued (a NOTIFICATION) and then closes.
    fn close(&mut self) {
        if let Some(reader) = self.reader.take() {
            reader.abort();
        }
        self.writer = None;
    }

    fn send(&self, bytes: Bytes) {
        self.send_all(vec![bytes]);
    }

    /// Queues messages for the writer in one hand-off.
    fn send_all(&self, messages: Vec<Bytes>) {
        if let Some(w) = &self.writer {
            let _ = w.send(messages);
        }
    }
}

/// Something a connection's reader task saw.
struct ConnInput {
    conn: u64,
    /// The messages of one read (see [`FrameReader::next_batch`]).
    what: Result<Option<Vec<bytes::BytesMut>>, transport::FrameError>,
}

/// The outcome of an outbound connect attempt.
struct ConnectResult {
    generation: u64,
    result: std::io::Result<TcpStream>,
}

/// Which connection an event is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Primary,
    Secondary,
}

struct Session {
    spec: PeerSpec,
    primary: Conn,
    secondary: Option<Conn>,
    next_conn_id: u64,
    connect_generation: u64,
    store: mpsc::Sender<StoreEvent>,
    to_store: mpsc::UnboundedSender<Vec<Bytes>>,
    row: SharedRow,
    conn_tx: mpsc::Sender<ConnInput>,
    connect_tx: mpsc::Sender<ConnectResult>,
    /// When to start the session again after every connection failed
    /// and no FSM timer will do it.
    restart_at: Option<Instant>,
    /// The operator (or a reconfiguration) stopped the session.
    stopping: bool,
    /// The peer's graceful-restart time, when it advertised the
    /// capability on the current session (RFC 4724).
    peer_restart: Option<Duration>,
}

impl Session {
    async fn main(
        &mut self,
        mut inbound: mpsc::Receiver<TcpStream>,
        mut conn_rx: mpsc::Receiver<ConnInput>,
        mut connect_rx: mpsc::Receiver<ConnectResult>,
        mut from_store: mpsc::UnboundedReceiver<Vec<Bytes>>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        self.handle(Slot::Primary, Event::ManualStart).await;
        loop {
            let deadline = self.next_deadline();
            let sleep = async {
                match deadline {
                    Some((at, _, _)) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let restart_at = self.restart_at;
            let restart = async {
                match restart_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stop.changed() => {
                    self.stopping = true;
                    self.handle(Slot::Primary, Event::ManualStop).await;
                    if self.secondary.is_some() {
                        self.handle(Slot::Secondary, Event::ManualStop).await;
                    }
                    // Let writer tasks flush the Cease.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    return;
                }
                Some(stream) = inbound.recv() => self.accept(stream).await,
                Some(result) = connect_rx.recv() => self.connected(result).await,
                Some(input) = conn_rx.recv() => self.input(input).await,
                Some(messages) = from_store.recv() => {
                    // The buffers stay shared with the other members of
                    // the update group; the writer coalesces them.
                    if let Some(conn) = self.established() {
                        conn.send_all(messages);
                    }
                }
                () = restart => {
                    self.restart_at = None;
                    self.handle(Slot::Primary, Event::ManualStart).await;
                }
                () = sleep => {
                    if let Some((_, slot, timer)) = deadline {
                        self.conn_mut(slot).timers[timer_index(timer)] = None;
                        self.handle(slot, timer_event(timer)).await;
                    }
                }
            }
        }
    }

    fn next_deadline(&self) -> Option<(Instant, Slot, Timer)> {
        let p = self
            .primary
            .next_deadline()
            .map(|(d, t)| (d, Slot::Primary, t));
        let s = self
            .secondary
            .as_ref()
            .and_then(Conn::next_deadline)
            .map(|(d, t)| (d, Slot::Secondary, t));
        match (p, s) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    fn conn_mut(&mut self, slot: Slot) -> &mut Conn {
        match slot {
            Slot::Primary => &mut self.primary,
            Slot::Secondary => match self.secondary.as_mut() {
                Some(c) => c,
                None => &mut self.primary,
            },
        }
    }

    fn established(&self) -> Option<&Conn> {
        if self.primary.fsm.state() == State::Established {
            return Some(&self.primary);
        }
        self.secondary
            .as_ref()
            .filter(|c| c.fsm.state() == State::Established)
    }

    fn slot_of(&self, conn_id: u64) -> Option<Slot> {
        if self.primary.id == conn_id {
            Some(Slot::Primary)
        } else if self.secondary.as_ref().is_some_and(|c| c.id == conn_id) {
            Some(Slot::Secondary)
        } else {
            None
        }
    }

    /// A connection from the peer reached us through the listener.
    async fn accept(&mut self, stream: TcpStream) {
        let primary_state = self.primary.fsm.state();
        match primary_state {
            State::Idle => {
                debug!("refusing inbound connection while idle");
            }
            State::Connect | State::Active => {
                // Our own attempt (if any) is abandoned: the peer won the
                // race to connect (RFC 4271 8.2.2, Connect state, event 17).
                self.connect_generation += 1;
                self.attach(Slot::Primary, stream, Initiator::Remote);
                self.handle(Slot::Primary, Event::TcpConnectionConfirmed)
                    .await;
            }
            State::OpenSent | State::OpenConfirm | State::Established => {
                if self.secondary.is_some() {
                    debug!("third connection from the peer; dropping it");
                    return;
                }
                let fsm = match Fsm::new(self.spec.session.clone()) {
                    Ok(f) => f,
                    Err(_) => return,
                };
                let id = self.next_id();
                self.secondary = Some(Conn::idle(fsm, id));
                self.attach(Slot::Secondary, stream, Initiator::Remote);
                self.handle(Slot::Secondary, Event::AutomaticStartPassive)
                    .await;
                self.handle(Slot::Secondary, Event::TcpConnectionConfirmed)
                    .await;
            }
        }
    }

    async fn connected(&mut self, result: ConnectResult) {
        if result.generation != self.connect_generation
            || self.primary.fsm.state() != State::Connect
        {
            // A stale attempt: the FSM moved on (or accepted the peer's
            // connection meanwhile). Dropping the stream closes it, but
            // an error still says why the session is not up (a wrong
            // TCP-MD5 password shows only as a timeout).
            if let Err(e) = result.result
                && self.established().is_none()
            {
                set_info(&self.row, format!("Socket: {e}"));
            }
            return;
        }
        match result.result {
            Ok(stream) => {
                self.attach(Slot::Primary, stream, Initiator::Local);
                self.handle(Slot::Primary, Event::TcpCrAcked).await;
            }
            Err(e) => {
                debug!(error = %e, "connect failed");
                set_info(&self.row, format!("Socket: {e}"));
                self.handle(Slot::Primary, Event::TcpConnectionFails).await;
            }
        }
    }

    /// Records a connection problem for `status`, unless another
    /// connection carries the session (a lost collision is not news).
    fn note_socket_error(&self, text: String) {
        if self.established().is_none() {
            set_info(&self.row, text);
        }
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_conn_id;
        self.next_conn_id += 1;
        id
    }

    /// Gives a TCP stream to a connection slot: starts its reader and
    /// writer tasks.
    fn attach(&mut self, slot: Slot, stream: TcpStream, initiator: Initiator) {
        let id = self.next_id();
        let local_addr = stream
            .local_addr()
            .ok()
            .map(|a| transport::canonical(a.ip()));
        let (read, write) = stream.into_split();
        let (wtx, wrx) = mpsc::unbounded_channel();
        tokio::spawn(writer(write, wrx).in_current_span());
        let conn_tx = self.conn_tx.clone();
        let conn = self.conn_mut(slot);
        conn.close();
        conn.id = id;
        conn.initiator = initiator;
        conn.writer = Some(wtx);
        conn.local_addr = local_addr;
        conn.ctx = SessionContext::default();
        conn.max_len
            .store(bgplet_wire::context::MAX_MESSAGE_LEN, Ordering::Relaxed);
        let max_len = conn.max_len.clone();
        let task =
            tokio::spawn(reader(id, read, max_len, conn_tx).in_current_span());
        conn.reader = Some(task.abort_handle());
    }

    async fn input(&mut self, input: ConnInput) {
        let frames = match input.what {
            Ok(Some(frames)) => frames,
            Ok(None) => {
                let Some(slot) = self.slot_of(input.conn) else {
                    return;
                };
                debug!("peer closed the connection");
                self.note_socket_error("Socket: Connection closed".into());
                self.handle(slot, Event::TcpConnectionFails).await;
                return;
            }
            Err(transport::FrameError::Io(e)) => {
                let Some(slot) = self.slot_of(input.conn) else {
                    return;
                };
                self.note_socket_error(format!("Socket: {e}"));
                self.handle(slot, Event::TcpConnectionFails).await;
                return;
            }
            Err(transport::FrameError::Header(e)) => {
                let Some(slot) = self.slot_of(input.conn) else {
                    return;
                };
                warn!(error = %e, "bad message header from peer");
                set_info(&self.row, format!("BGP Error: {e}"));
                self.handle(slot, Event::BgpHeaderErr(e.notification()))
                    .await;
                return;
            }
        };
        // UPDATEs of one read go to the routing thread together; anything
        // else first flushes them, so the store sees events in order.
        let mut updates = Vec::new();
        for frame in frames {
            // An earlier message of this batch may have ended or replaced
            // the connection (a collision moves it between slots).
            let Some(slot) = self.slot_of(input.conn) else {
                break;
            };
            self.message(slot, &frame, &mut updates).await;
        }
        self.flush_updates(&mut updates).await;
    }

    /// Hands the UPDATEs gathered from one read to the routing thread.
    async fn flush_updates(&mut self, updates: &mut Vec<UpdateIn>) {
        if updates.is_empty() {
            return;
        }
        let _ = self
            .store
            .send(StoreEvent::Updates {
                name: self.spec.name.clone(),
                updates: std::mem::take(updates),
            })
            .await;
    }

    /// One framed message from the connection in `slot`; UPDATEs are
    /// gathered into `updates`.
    async fn message(
        &mut self,
        slot: Slot,
        frame: &[u8],
        updates: &mut Vec<UpdateIn>,
    ) {
        let ctx = self.conn_mut(slot).ctx;
        let received = codec::decode(frame, &ctx);
        if !matches!(received, Received::Update(_)) {
            self.flush_updates(updates).await;
        }
        match received {
            Received::Open(open) => self.open_received(slot, open).await,
            Received::Keepalive => self.handle(slot, Event::KeepAliveMsg).await,
            Received::Notification(n) => {
                info!(notification = %n, "peer sent NOTIFICATION");
                set_info(&self.row, format!("Received: {n}"));
                let event = if n.code
                    == bgplet_wire::notification::code::OPEN_MESSAGE
                    && n.subcode
                        == bgplet_wire::notification::open::UNSUPPORTED_VERSION
                {
                    Event::NotifMsgVerErr(n)
                } else {
                    Event::NotifMsg(n)
                };
                self.handle(slot, event).await;
            }
            Received::RouteRefresh(family) => {
                if self.conn_mut(slot).fsm.state() == State::Established {
                    let _ = self
                        .store
                        .send(StoreEvent::RouteRefresh {
                            name: self.spec.name.clone(),
                            family,
                        })
                        .await;
                }
            }
            Received::Update(update) => {
                if self.conn_mut(slot).fsm.state() != State::Established {
                    // The FSM answers an UPDATE outside Established with
                    // an FSM error (RFC 6608).
                    self.flush_updates(updates).await;
                    self.handle(slot, Event::UpdateMsg).await;
                    return;
                }
                for err in &update.errors {
                    warn!(
                        outcome = update.outcome,
                        field = err.attr,
                        reason = %err.reason,
                        "malformed UPDATE handled per RFC 7606"
                    );
                }
                if !update.errors.is_empty() {
                    set_info(
                        &self.row,
                        format!(
                            "Last UPDATE error ({}): {}",
                            update.outcome, update.errors[0]
                        ),
                    );
                }
                self.handle(slot, Event::UpdateMsg).await;
                updates.push(*update);
            }
            Received::Error(err) => {
                warn!(error = %err.reason, notification = %err.notification, "message from peer rejected");
                set_info(&self.row, format!("BGP Error: {}", err.reason));
                let event = match err.kind {
                    codec::ErrorKind::Header => {
                        Event::BgpHeaderErr(err.notification)
                    }
                    codec::ErrorKind::Open => {
                        Event::BgpOpenMsgErr(err.notification)
                    }
                    codec::ErrorKind::Update => {
                        Event::UpdateMsgErr(err.notification)
                    }
                };
                self.handle(slot, event).await;
            }
        }
    }

    /// An OPEN arrived: settle a collision first (RFC 4271 6.8).
    async fn open_received(&mut self, slot: Slot, open: Open) {
        let other_slot = match slot {
            Slot::Primary => Slot::Secondary,
            Slot::Secondary => Slot::Primary,
        };
        let this = self.conn_mut(slot).initiator;
        let other = match other_slot {
            Slot::Primary => Some(&self.primary),
            Slot::Secondary => self.secondary.as_ref(),
        };
        let resolution = match other {
            Some(o) => bgplet_session::collision::resolve(
                &self.spec.session,
                &open,
                this,
                OtherConnection {
                    state: o.fsm.state(),
                    initiator: o.initiator,
                },
            ),
            None => Resolution::NoCollision,
        };
        match resolution {
            Resolution::NoCollision => {}
            Resolution::DumpThis => {
                info!("connection collision: closing the new connection");
                if let Some(ev) = resolution.dump_event() {
                    self.handle(slot, ev).await;
                }
                return;
            }
            Resolution::DumpOther | Resolution::PeerRestarted => {
                info!(
                    ?resolution,
                    "connection collision: closing the other connection"
                );
                if let Some(ev) = resolution.dump_event() {
                    self.handle(other_slot, ev).await;
                }
            }
        }
        self.handle(slot, Event::BgpOpen(open)).await;
    }

    /// Feeds one event to a connection's FSM and performs its actions.
    async fn handle(&mut self, slot: Slot, event: Event) {
        let before = self.conn_mut(slot).fsm.state();
        let name = event.name();
        let actions = self.conn_mut(slot).fsm.handle(event);
        let after = self.conn_mut(slot).fsm.state();
        if before != after {
            debug!(event = name, from = ?before, to = ?after, "state change");
        }
        for action in actions {
            self.perform(slot, action).await;
        }
        self.after_events(slot);
        self.update_row();
    }

    async fn perform(&mut self, slot: Slot, action: Action) {
        match action {
            Action::Connect => {
                self.connect_generation += 1;
                let generation = self.connect_generation;
                let peer = SocketAddr::new(self.spec.address, self.spec.port);
                let source = self.spec.source;
                let settings = self.spec.socket.clone();
                let tx = self.connect_tx.clone();
                tokio::spawn(async move {
                    let result = tokio::time::timeout(
                        Duration::from_secs(5),
                        transport::connect(peer, source, &settings),
                    )
                    .await
                    .unwrap_or_else(|_| {
                        Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "connect timed out",
                        ))
                    });
                    let _ = tx.send(ConnectResult { generation, result }).await;
                });
            }
            Action::DropConnection => {
                if slot == Slot::Primary {
                    self.connect_generation += 1;
                }
                let fresh = self.next_id();
                let conn = self.conn_mut(slot);
                // Dropping the writer ends the writer task, which closes
                // the socket after flushing what was queued (a
                // NOTIFICATION is queued before this action). A fresh id
                // makes anything the old reader still delivers stale.
                conn.close();
                conn.id = fresh;
            }
            Action::SendOpen(open) => {
                let conn = self.conn_mut(slot);
                match codec::encode_open(&open) {
                    Ok(b) => conn.send(b),
                    Err(e) => warn!(error = %e, "cannot encode our OPEN"),
                }
            }
            Action::SendKeepalive => {
                self.conn_mut(slot).send(codec::keepalive());
            }
            Action::SendNotification(n) => {
                info!(notification = %n, "sending NOTIFICATION");
                self.conn_mut(slot).send(codec::encode_notification(&n));
            }
            Action::StartTimer(timer, duration) => {
                self.conn_mut(slot).timers[timer_index(timer)] =
                    Some(Instant::now() + duration);
            }
            Action::StopTimer(timer) => {
                self.conn_mut(slot).timers[timer_index(timer)] = None;
            }
            Action::Established(negotiated) => {
                let conn = self.conn_mut(slot);
                let params = negotiated.wire_params();
                conn.ctx = codec::context(&params);
                conn.max_len
                    .store(params.max_message_len(), Ordering::Relaxed);
                conn.up = true;
                let ctx = conn.ctx;
                let local_addr = conn.local_addr;
                info!(
                    peer_as = negotiated.peer_as,
                    hold = negotiated.hold_time,
                    families = ?negotiated.families,
                    "session established"
                );
                set_info(&self.row, String::new());
                self.peer_restart = negotiated
                    .peer_graceful_restart
                    .as_ref()
                    .filter(|gr| gr.restart_time > 0)
                    .map(|gr| Duration::from_secs(u64::from(gr.restart_time)));
                let _ = self
                    .store
                    .send(StoreEvent::PeerUp(Box::new(routing::PeerUp {
                        name: self.spec.name.clone(),
                        address: self.spec.address,
                        local_address: local_addr.or(self.spec.source),
                        local_as: self.spec.session.local_as,
                        negotiated: *negotiated,
                        ctx,
                        policy: self.spec.policy.clone(),
                        sender: self.to_store.clone(),
                    })))
                    .await;
            }
            Action::Down(reason) => {
                self.down(slot, reason).await;
            }
        }
    }

    async fn down(&mut self, slot: Slot, reason: DownReason) {
        let conn = self.conn_mut(slot);
        let was_up = std::mem::replace(&mut conn.up, false);
        if was_up {
            // RFC 4724 section 4.2: when the TCP session of a peer that
            // advertised graceful restart ends without a NOTIFICATION,
            // keep its routes (stale) for its restart time, as BIRD does
            // for calico-node (calico-bgp.md 5.6).
            let graceful = match reason {
                DownReason::ConnectionLost => self.peer_restart,
                _ => None,
            };
            info!(%reason, graceful = graceful.is_some(), "session down");
            let _ = self
                .store
                .send(StoreEvent::PeerDown {
                    name: self.spec.name.clone(),
                    graceful,
                })
                .await;
        } else {
            debug!(%reason, "connection closed before Established");
        }
        if !matches!(reason, DownReason::Stopped) {
            let text = match &reason {
                DownReason::NotificationReceived(n) => format!("Received: {n}"),
                DownReason::NotificationSent(n) => format!("Sent: {n}"),
                other => other.to_string(),
            };
            set_info(&self.row, text);
        }
    }

    /// Drops a finished secondary FSM, promotes a secondary whose
    /// primary died (the peer's connection won the collision), and
    /// schedules a restart when no FSM timer will wake the session.
    fn after_events(&mut self, _slot: Slot) {
        let secondary_idle = self
            .secondary
            .as_ref()
            .is_some_and(|c| c.fsm.state() == State::Idle);
        if secondary_idle {
            self.secondary = None;
        }
        if self.primary.fsm.state() == State::Idle
            && let Some(sec) = self.secondary.take()
        {
            self.primary = sec;
        }
        let asleep = self.primary.fsm.state() == State::Idle
            && self.primary.timers.iter().all(Option::is_none);
        if asleep && !self.stopping && self.restart_at.is_none() {
            self.restart_at = Some(Instant::now() + RESTART_DELAY);
        }
    }

    fn update_row(&self) {
        let state = self
            .established()
            .map(|c| c.fsm.state())
            .unwrap_or_else(|| self.primary.fsm.state());
        if let Ok(mut row) = self.row.lock()
            && row.state != state
        {
            row.state = state;
            row.since = SystemTime::now();
        }
    }
}

fn timer_index(timer: Timer) -> usize {
    Timer::ALL.iter().position(|t| *t == timer).unwrap_or(0)
}

fn timer_event(timer: Timer) -> Event {
    match timer {
        Timer::ConnectRetry => Event::ConnectRetryTimerExpires,
        Timer::Hold => Event::HoldTimerExpires,
        Timer::Keepalive => Event::KeepaliveTimerExpires,
        Timer::IdleHold => Event::IdleHoldTimerExpires,
    }
}

fn set_row(row: &SharedRow, state: State, info: String) {
    if let Ok(mut r) = row.lock() {
        r.state = state;
        r.since = SystemTime::now();
        r.info = info;
    }
}

fn set_info(row: &SharedRow, info: String) {
    if let Ok(mut r) = row.lock() {
        r.info = info;
    }
}

async fn reader(
    id: u64,
    mut read: OwnedReadHalf,
    max_len: Arc<AtomicUsize>,
    tx: mpsc::Sender<ConnInput>,
) {
    let mut frames = FrameReader::new();
    loop {
        let what = frames
            .next_batch(
                &mut read,
                max_len.load(Ordering::Relaxed),
                MAX_FRAMES_PER_READ,
            )
            .await;
        let done = !matches!(what, Ok(Some(_)));
        if tx.send(ConnInput { conn: id, what }).await.is_err() || done {
            return;
        }
    }
}

async fn writer(
    mut write: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Vec<Bytes>>,
) {
    // Messages stay the shared buffers they were queued as until their
    // write gathers them; a write takes up to WRITE_COALESCE bytes, so a
    // burst costs one syscall per chunk rather than one per message.
    let mut queue: std::collections::VecDeque<Bytes> =
        std::collections::VecDeque::new();
    let mut batch = bytes::BytesMut::new();
    loop {
        if queue.is_empty() {
            match rx.recv().await {
                Some(messages) => queue.extend(messages),
                None => break,
            }
        }
        while let Ok(messages) = rx.try_recv() {
            queue.extend(messages);
        }
        let bytes = match queue.pop_front() {
            Some(first)
                if first.len() >= WRITE_COALESCE
                    || queue.front().is_none_or(|next| {
                        first.len() + next.len() > WRITE_COALESCE
                    }) =>
            {
                first
            }
            Some(first) => {
                // Sized once: growing the buffer message by message
                // reallocates it several times per write.
                let mut len = first.len();
                let mut take = 0;
                for next in &queue {
                    if len + next.len() > WRITE_COALESCE {
                        break;
                    }
                    len += next.len();
                    take += 1;
                }
                batch.reserve(len);
                batch.extend_from_slice(&first);
                for next in queue.drain(..take) {
                    batch.extend_from_slice(&next);
                }
                batch.split().freeze()
            }
            None => continue,
        };
        // A peer that stops reading (frozen, or its window full forever)
        // must not pin this task and the socket: the hold timer ends the
        // session, and this bound ends the write.
        match tokio::time::timeout(WRITE_TIMEOUT, write.write_all(&bytes)).await
        {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                debug!(error = %e, "write failed");
                return;
            }
            Err(_) => {
                debug!("write timed out");
                return;
            }
        }
    }
    let _ = tokio::time::timeout(WRITE_TIMEOUT, write.shutdown()).await;
}

/// A placeholder router id for a node without IPv4 (Calico requires
/// CALICO_ROUTER_ID there; we fall back to a hash of the name).
#[allow(dead_code)]
pub const UNSET_ROUTER_ID: Ipv4Addr = Ipv4Addr::UNSPECIFIED;
