//! The routing thread: owns the RIB (and through it the plugin chain),
//! feeds it what the sessions deliver, and carries out what it decides:
//! encoded UPDATEs to the sessions, kernel changes to the FIB task.
//!
//! The RIB is sans-IO and its plugin calls are CPU work, so it runs on
//! a thread of its own and never stalls the sessions' async tasks. Events
//! are drained in bursts so that many UPDATEs become one batch for the
//! plugins (`Rib::update_many`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bgplet_rib::{
    KernelChange, LocalRoute, Output, PeerConfig, PeerKind, Rib, RibConfig,
    RouteUpdate,
};
use bgplet_session::Negotiated;
use bgplet_wire::update::NextHop;
use bgplet_wire::{AfiSafi, FamilySet, SessionContext};
use bytes::Bytes;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::codec::UpdateIn;
use crate::control::{
    PathEntry, PeerStatus, Query, RouteEntry, RoutesReply, StatusReply,
    UnknownAttribute,
};
use crate::native::RibPolicy;
use crate::peer::SharedRow;

/// Calico's knobs of a session that matter to routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Mesh, node-specific or global.
    pub kind: PeerKind,
    /// The peer is our route-reflector client.
    pub rr_client: bool,
    /// `numAllowedLocalASNumbers`.
    pub allow_local_as: u8,
    /// `nextHopMode` / `keepOriginalNextHop`.
    pub next_hop_mode: bgplet_rib::NextHopMode,
    /// BGPFilter names, in order.
    pub filters: Vec<String>,
}

/// A session that reached Established.
pub struct PeerUp {
    /// Session name.
    pub name: String,
    /// Peer address.
    pub address: IpAddr,
    /// Our end of the TCP connection: the next hop we advertise.
    pub local_address: Option<IpAddr>,
    /// The AS we speak as on this session.
    pub local_as: u32,
    /// What the OPENs agreed.
    pub negotiated: Negotiated,
    /// How to encode for this peer.
    pub ctx: SessionContext,
    /// Calico's routing knobs of the session.
    pub policy: SessionPolicy,
    /// Encoded messages to write to the peer.
    pub sender: mpsc::UnboundedSender<Vec<Bytes>>,
}

/// Everything the routing thread reacts to.
pub enum Event {
    /// A session came up.
    PeerUp(Box<PeerUp>),
    /// A session went down: forget its routes, or with `graceful`, keep
    /// them stale for that long (RFC 4724 receiving speaker).
    PeerDown {
        /// Session name.
        name: String,
        /// The peer's restart time, when its routes are to be kept.
        graceful: Option<std::time::Duration>,
    },
    /// A peer's restart time ran out: drop its routes still stale.
    SweepStale {
        /// Session name.
        name: String,
    },
    /// Decoded UPDATEs of one session, in the order received.
    Updates {
        /// Session name.
        name: String,
        /// Their contents after RFC 7606.
        updates: Vec<UpdateIn>,
    },
    /// The peer asked for our routes again (RFC 2918).
    RouteRefresh {
        /// Session name.
        name: String,
        /// Which family.
        family: AfiSafi,
    },
    /// The configured sessions changed (for the status table).
    SetPeers(Vec<PeerInfo>),
    /// What this node originates changed.
    SetLocal(Vec<LocalRoute>),
    /// The plugins changed: decide every route again.
    Reevaluate,
    /// A control-API question.
    Query(Query),
}

/// A configured session, as the status table shows it.
#[derive(Clone)]
pub struct PeerInfo {
    /// Session name.
    pub name: String,
    /// Peer address.
    pub address: IpAddr,
    /// Peer port.
    pub port: u16,
    /// calicoctl's label.
    pub type_label: String,
    /// Peer AS.
    pub peer_as: u32,
    /// Live status row kept by the session task.
    pub row: SharedRow,
}

/// Facts about this node for the status header and the RIB.
#[derive(Clone)]
pub struct NodeInfo {
    /// Node name.
    pub node: String,
    /// Router id.
    pub router_id: Ipv4Addr,
    /// Node AS.
    pub as_number: u32,
    /// RR cluster id, when this node is a reflector.
    pub cluster_id: Option<Ipv4Addr>,
    /// The node's own addresses (next hops equal to them are martians).
    pub addresses: Vec<IpAddr>,
    /// Start time, RFC 3339.
    pub started: String,
}

/// Starts the routing thread. Kernel changes go to `kernel`; with
/// `fib` false none are made (`--no-fib`: no kernel hook calls, no FIB
/// state in the RIB).
pub fn spawn(
    node: NodeInfo,
    policy: RibPolicy,
    kernel: mpsc::UnboundedSender<Vec<KernelChange>>,
    fib: bool,
) -> mpsc::Sender<Event> {
    // Small on purpose: an event carries up to a read's worth of decoded
    // UPDATEs, which take more memory than their wire form; when the
    // routing thread falls behind, the rest waits in the sockets.
    let (tx, rx) = mpsc::channel(EVENT_QUEUE);
    let timers = (tokio::runtime::Handle::current(), tx.downgrade());
    let mut rib = Rib::new(
        RibConfig {
            router_id: node.router_id,
            local_as: node.as_number,
            cluster_id: node.cluster_id,
            own_addresses: node.addresses.clone(),
        },
        policy,
    );
    rib.set_kernel(fib);
    let mut routing = Routing {
        node,
        rib,
        senders: HashMap::new(),
        configured: Vec::new(),
        kernel,
        sessions: HashMap::new(),
        counters: HashMap::new(),
        started: std::time::SystemTime::now(),
        last_change: std::time::SystemTime::now(),
        timers,
    };
    let spawned = std::thread::Builder::new()
        .name("bgplet-routing".into())
        .spawn(move || routing.run(rx));
    if let Err(e) = spawned {
        warn!(error = %e, "cannot start the routing thread");
    }
    tx
}

struct Routing {
    node: NodeInfo,
    rib: Rib<RibPolicy>,
    senders: HashMap<Arc<str>, mpsc::UnboundedSender<Vec<Bytes>>>,
    configured: Vec<PeerInfo>,
    kernel: mpsc::UnboundedSender<Vec<KernelChange>>,
    /// Per session: what its OPENs agreed and our end of it.
    sessions: HashMap<Arc<str>, SessionFacts>,
    /// Per session: UPDATEs received and messages sent.
    counters: HashMap<Arc<str>, (u64, u64)>,
    started: std::time::SystemTime,
    last_change: std::time::SystemTime,
    /// For timers the thread sets on itself (graceful-restart windows);
    /// weak, so the thread still ends when the agent drops its sender.
    timers: (tokio::runtime::Handle, mpsc::WeakSender<Event>),
}

/// What the status interfaces show about an established session.
struct SessionFacts {
    hold_time: u16,
    keepalive_time: u16,
    peer_id: Ipv4Addr,
    local_as: u32,
    source: Option<IpAddr>,
}

/// Events the routing thread's queue holds before senders wait.
const EVENT_QUEUE: usize = 64;

/// How many queued UPDATEs are handed to the RIB in one batch.
const MAX_BATCH: usize = 512;

impl Routing {
    fn run(&mut self, mut rx: mpsc::Receiver<Event>) {
        let mut pending: Option<Event> = None;
        loop {
            let event = match pending.take() {
                Some(e) => e,
                None => match rx.blocking_recv() {
                    Some(e) => e,
                    None => return,
                },
            };
            match event {
                Event::Updates { name, updates } => {
                    // Gather the UPDATEs already queued behind these so
                    // the plugins see them as one batch.
                    let mut batch = Vec::new();
                    self.gather(name, updates, &mut batch);
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(Event::Updates { name, updates }) => {
                                self.gather(name, updates, &mut batch);
                            }
                            Ok(other) => {
                                pending = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    let outputs = self.rib.update_many(
                        batch
                            .iter_mut()
                            .map(|(n, u)| (&**n, std::mem::take(u))),
                    );
                    self.carry_out(outputs);
                }
                other => self.handle(other),
            }
        }
    }

    /// Counts `updates` and appends them to `batch` as RIB input.
    fn gather(
        &mut self,
        name: String,
        updates: Vec<UpdateIn>,
        batch: &mut Vec<(Arc<str>, RouteUpdate)>,
    ) {
        let name: Arc<str> = Arc::from(name);
        self.count_received(&name, updates.len() as u64);
        batch.extend(
            updates
                .into_iter()
                .map(|u| (name.clone(), to_route_update(u))),
        );
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::PeerUp(up) => self.peer_up(*up),
            Event::PeerDown { name, graceful } => {
                self.senders.remove(name.as_str());
                self.sessions.remove(name.as_str());
                let out = match graceful {
                    Some(window) => {
                        info!(peer = %name, ?window, "keeping the peer's routes stale during its restart");
                        self.sweep_after(name.clone(), window);
                        self.rib.peer_down_graceful(&name)
                    }
                    None => self.rib.peer_down(&name),
                };
                match out {
                    Ok(out) => self.carry_out(out),
                    Err(e) => debug!(peer = %name, error = %e, "peer down"),
                }
            }
            Event::SweepStale { name } => {
                let out = self.rib.sweep_stale(&name);
                if !out.is_empty() {
                    info!(peer = %name, "restart time over: dropping its stale routes");
                }
                self.carry_out(out);
            }
            Event::Updates { name, updates } => {
                let mut batch = Vec::new();
                self.gather(name, updates, &mut batch);
                let out = self.rib.update_many(
                    batch.iter_mut().map(|(n, u)| (&**n, std::mem::take(u))),
                );
                self.carry_out(out);
            }
            Event::RouteRefresh { name, family } => {
                match self.rib.route_refresh(&name, family) {
                    Ok(out) => self.carry_out(out),
                    Err(e) => debug!(peer = %name, error = %e, "route refresh"),
                }
            }
            Event::SetPeers(peers) => {
                self.configured = peers;
                self.last_change = std::time::SystemTime::now();
            }
            Event::SetLocal(routes) => {
                let out = self.rib.set_local(routes);
                self.carry_out(out);
            }
            Event::Reevaluate => {
                info!("re-evaluating every route under the new policy");
                let out = self.rib.reevaluate();
                self.carry_out(out);
            }
            Event::Query(Query::Status(tx)) => {
                let _ = tx.send(self.status());
            }
            Event::Query(Query::Routes(tx)) => {
                let _ = tx.send(self.routes());
            }
            Event::Query(Query::Bird(tx)) => {
                let _ = tx.send(self.bird_view());
            }
            Event::Query(Query::Metrics(tx)) => {
                let _ = tx.send(self.metrics_view());
            }
            Event::Query(Query::Chains(tx)) => {
                let _ = tx.send(self.rib.policy_mut().active_spec());
            }
            Event::Query(Query::WhatIf(mut policy, tx)) => {
                let t = std::time::Instant::now();
                let what = self.rib.what_if(&mut *policy);
                let took = t.elapsed();
                info!(
                    ?took,
                    changed = what.changes.len(),
                    "plugin diff evaluated"
                );
                let _ = tx.send((what, took));
            }
        }
    }

    fn peer_up(&mut self, up: PeerUp) {
        let (local_v4, local_v6) = split(up.local_address);
        let n = &up.negotiated;
        let families: FamilySet = n
            .families
            .iter()
            .copied()
            .filter(|f| f.is_supported())
            .collect();
        let config = PeerConfig {
            name: up.name.clone(),
            kind: up.policy.kind,
            address: up.address,
            local_v4,
            local_v6,
            router_id: n.peer_bgp_id,
            local_as: up.local_as,
            peer_as: n.peer_as,
            ibgp: n.ibgp,
            rr_client: up.policy.rr_client,
            // BIRD 1.x checks CLUSTER_LIST only on client sessions
            // (calico-bgp.md 5.2).
            check_cluster_list: up.policy.rr_client,
            allow_local_as: up.policy.allow_local_as,
            next_hop_mode: up.policy.next_hop_mode,
            filters: up.policy.filters.clone(),
            ctx: up.ctx,
            families,
            enhanced_route_refresh: n.enhanced_route_refresh,
        };
        // A session that flapped faster than its PeerDown arrived.
        if self.senders.contains_key(up.name.as_str()) {
            let out = self.rib.peer_down(&up.name).unwrap_or_default();
            self.carry_out(out);
        }
        self.senders.insert(Arc::from(up.name.as_str()), up.sender);
        self.sessions.insert(
            Arc::from(up.name.as_str()),
            SessionFacts {
                hold_time: n.hold_time,
                keepalive_time: n.keepalive_time,
                peer_id: n.peer_bgp_id,
                local_as: up.local_as,
                source: up.local_address,
            },
        );
        match self.rib.peer_up(config) {
            Ok(out) => self.carry_out(out),
            Err(e) => {
                warn!(peer = %up.name, error = %e, "RIB refused the session")
            }
        }
    }

    fn carry_out(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Send { peer, messages } => {
                    if let Some(sender) = self.senders.get(&peer) {
                        self.counters.entry(peer.clone()).or_default().1 +=
                            messages.len() as u64;
                        // One hand-off per batch (a message each would
                        // wake the session task once per message); the
                        // buffers stay shared with the group's other
                        // members, not copied per session.
                        let _ = sender.send(messages);
                    }
                }
                Output::Kernel(changes) => {
                    let _ = self.kernel.send(changes);
                }
            }
        }
    }

    /// Sends this thread a [`Event::SweepStale`] after `window`.
    fn sweep_after(&self, name: String, window: std::time::Duration) {
        let (handle, tx) = &self.timers;
        let tx = tx.clone();
        handle.spawn(async move {
            tokio::time::sleep(window).await;
            if let Some(tx) = tx.upgrade() {
                let _ = tx.send(Event::SweepStale { name }).await;
            }
        });
    }

    fn count_received(&mut self, name: &Arc<str>, n: u64) {
        self.counters.entry(name.clone()).or_default().0 += n;
    }

    fn bird_view(&self) -> crate::birdctl::BirdView {
        crate::observe::bird_view(
            &self.node,
            &self.configured,
            &self.rib,
            |name| {
                self.sessions.get(name).map(|f| crate::observe::Facts {
                    hold_time: f.hold_time,
                    keepalive_time: f.keepalive_time,
                    peer_id: f.peer_id,
                    local_as: f.local_as,
                    source: f.source,
                })
            },
            self.started,
            self.last_change,
        )
    }

    fn metrics_view(&self) -> crate::metrics::MetricsView {
        crate::observe::metrics_view(&self.configured, &self.rib, |name| {
            self.counters.get(name).copied().unwrap_or_default()
        })
    }

    fn status(&self) -> StatusReply {
        let counters: HashMap<Arc<str>, (u64, u64)> = self
            .rib
            .peers()
            .into_iter()
            .map(|p| (p.name.clone(), (p.accepted, p.advertised)))
            .collect();
        let peers = self
            .configured
            .iter()
            .map(|p| {
                let (state, since, info) = match p.row.lock() {
                    Ok(row) => (
                        format!("{:?}", row.state),
                        crate::time::rfc3339(row.since),
                        row.info.clone(),
                    ),
                    Err(_) => ("Idle".into(), String::new(), String::new()),
                };
                let (received, advertised) =
                    counters.get(p.name.as_str()).copied().unwrap_or_default();
                PeerStatus {
                    name: p.name.clone(),
                    peer_address: p.address.to_string(),
                    peer_port: p.port,
                    peer_type: p.type_label.clone(),
                    peer_as: p.peer_as,
                    state,
                    since,
                    info,
                    prefixes_received: received,
                    prefixes_advertised: advertised,
                }
            })
            .collect();
        StatusReply {
            node: self.node.node.clone(),
            router_id: self.node.router_id.to_string(),
            as_number: self.node.as_number,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started: self.node.started.clone(),
            peers,
            plugins: None,
        }
    }

    fn routes(&self) -> RoutesReply {
        RoutesReply {
            routes: self
                .rib
                .routes()
                .into_iter()
                .map(|r| RouteEntry {
                    prefix: r.prefix.to_string(),
                    paths: r.paths.iter().map(path_entry).collect(),
                })
                .collect(),
        }
    }
}

fn split(addr: Option<IpAddr>) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
    match addr {
        Some(IpAddr::V4(v4)) => (Some(v4), None),
        Some(IpAddr::V6(v6)) => (None, Some(v6)),
        None => (None, None),
    }
}

fn to_route_update(u: UpdateIn) -> RouteUpdate {
    RouteUpdate {
        withdrawn: u.withdrawn,
        announced: u.announced,
        attributes: u.attributes,
        end_of_rib: u.end_of_rib,
    }
}

/// A path's next hop: the MP_REACH one or NEXT_HOP; `None` for routes
/// this node originates.
pub fn next_hop_of(p: &bgplet_rib::PathView) -> Option<IpAddr> {
    match p.attrs.next_hop {
        Some(NextHop::V4(v4)) => Some(IpAddr::V4(v4)),
        Some(NextHop::V6 { global, .. }) => Some(IpAddr::V6(global)),
        None => p.attrs.attrs.next_hop.map(IpAddr::V4),
    }
}

fn path_entry(p: &bgplet_rib::PathView) -> PathEntry {
    let a = &p.attrs.attrs;
    let as_path: Vec<u32> = a
        .as_path
        .as_ref()
        .map(|path| {
            path.segments
                .iter()
                .flat_map(|s| s.asns.iter().copied())
                .collect()
        })
        .unwrap_or_default();
    let next_hop =
        next_hop_of(p).map_or_else(|| "self".into(), |ip| ip.to_string());
    PathEntry {
        peer: p.source.to_string(),
        peer_address: p.peer_address.map(|a| a.to_string()).unwrap_or_default(),
        path_id: p.path_id,
        best: p.best,
        origin: a.origin.map(|o| o.to_string()).unwrap_or_default(),
        as_path,
        as_path_text: a
            .as_path
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        next_hop,
        med: a.med,
        local_pref: a.local_pref,
        atomic_aggregate: a.atomic_aggregate,
        aggregator: a.aggregator.map(|g| format!("{} {}", g.asn, g.address)),
        communities: list(&a.communities),
        large_communities: list(&a.large_communities),
        ext_communities: list(&a.ext_communities),
        originator_id: a.originator_id.map(|id| id.to_string()),
        cluster_list: list(&a.cluster_list),
        unknown: a
            .unknown
            .iter()
            .map(|u| UnknownAttribute {
                type_code: u.code,
                flags: format!("0x{:02x}", u.flags),
                value: u.value.iter().map(|b| format!("{b:02x}")).collect(),
            })
            .collect(),
    }
}

fn list<T: ToString>(items: &Option<Vec<T>>) -> Vec<String> {
    items
        .as_ref()
        .map(|v| v.iter().map(ToString::to_string).collect())
        .unwrap_or_default()
}
