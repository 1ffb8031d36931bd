//! The route store: what every peer sent us, what we originate, and
//! what we send each peer.
//!
//! This is deliberately simple: it keeps every received path (an
//! Adj-RIB-In per peer, flattened by prefix), interns attribute sets, and
//! advertises this node's own routes to every established peer. Best-path
//! selection, re-advertisement and the plugin pipeline replace its
//! internals with the RIB crate; the [`StoreEvent`] interface the
//! sessions and the control API use stays.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use bgplet_session::Negotiated;
use bgplet_wire::attribute::{
    AsPath, Community, LargeCommunity, Origin, PathAttributes,
};
use bgplet_wire::update::{NextHop, encode_announcements};
use bgplet_wire::{AfiSafi, Nlri, Prefix, SessionContext, Update};
use bytes::Bytes;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::codec::UpdateIn;
use crate::control::{
    PathEntry, PeerStatus, Query, RouteEntry, RoutesReply, StatusReply,
    UnknownAttribute,
};
use crate::peer::SharedRow;

/// LOCAL_PREF Calico (v3.32+) puts on its own routes toward iBGP peers:
/// 2147483647 minus Felix's normal route priority of 1024.
pub const CALICO_LOCAL_PREF: u32 = 2_147_482_623;

/// A route this node originates (its IPAM blocks, service ranges).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRoute {
    /// The prefix.
    pub prefix: Prefix,
    /// Standard communities from `prefixAdvertisements`.
    pub communities: Vec<Community>,
    /// Large communities from `prefixAdvertisements`.
    pub large_communities: Vec<LargeCommunity>,
}

/// A session that reached Established.
pub struct PeerUp {
    /// Session name.
    pub name: String,
    /// The peer's address.
    pub address: IpAddr,
    /// Our end of the TCP connection: the next hop we advertise.
    pub local_address: Option<IpAddr>,
    /// The AS we speak as on this session.
    pub local_as: u32,
    /// What the OPENs agreed.
    pub negotiated: Negotiated,
    /// How to encode for this peer.
    pub ctx: SessionContext,
    /// Encoded messages to write to the peer.
    pub sender: mpsc::UnboundedSender<Bytes>,
}

/// Everything the store reacts to.
pub enum StoreEvent {
    /// A session came up.
    PeerUp(Box<PeerUp>),
    /// A session went down: forget its routes.
    PeerDown {
        /// Session name.
        name: String,
    },
    /// A decoded UPDATE.
    Update {
        /// Session name.
        name: String,
        /// Its contents after RFC 7606.
        update: Box<UpdateIn>,
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

/// Facts about this node for the status header.
#[derive(Clone, Default)]
pub struct NodeInfo {
    /// Node name.
    pub node: String,
    /// Router id.
    pub router_id: String,
    /// Node AS.
    pub as_number: u32,
    /// Start time, RFC 3339.
    pub started: String,
}

/// One received path.
struct StoredPath {
    peer: Arc<str>,
    peer_address: IpAddr,
    path_id: u32,
    next_hop: NextHop,
    attrs: Arc<PathAttributes>,
}

struct EstablishedPeer {
    address: IpAddr,
    local_address: Option<IpAddr>,
    local_as: u32,
    ibgp: bool,
    families: Vec<AfiSafi>,
    ctx: SessionContext,
    sender: mpsc::UnboundedSender<Bytes>,
    advertised: u64,
}

/// The store's state; owned by one task.
pub struct Store {
    node: NodeInfo,
    paths: BTreeMap<Prefix, Vec<StoredPath>>,
    interned: HashSet<Arc<PathAttributes>>,
    received: HashMap<Arc<str>, u64>,
    peers: HashMap<String, EstablishedPeer>,
    configured: Vec<PeerInfo>,
    local: Vec<LocalRoute>,
}

impl Store {
    /// An empty store for this node.
    pub fn new(node: NodeInfo) -> Self {
        Self {
            node,
            paths: BTreeMap::new(),
            interned: HashSet::new(),
            received: HashMap::new(),
            peers: HashMap::new(),
            configured: Vec::new(),
            local: Vec::new(),
        }
    }

    /// Handles events until every sender is gone.
    pub async fn run(mut self, mut events: mpsc::Receiver<StoreEvent>) {
        while let Some(event) = events.recv().await {
            self.handle(event);
        }
    }

    fn handle(&mut self, event: StoreEvent) {
        match event {
            StoreEvent::PeerUp(up) => self.peer_up(*up),
            StoreEvent::PeerDown { name } => self.peer_down(&name),
            StoreEvent::Update { name, update } => self.update(&name, *update),
            StoreEvent::RouteRefresh { name, family } => {
                debug!(peer = %name, %family, "route refresh requested");
                self.advertise_local(&name, Some(family));
            }
            StoreEvent::SetPeers(peers) => {
                let names: HashSet<&str> =
                    peers.iter().map(|p| p.name.as_str()).collect();
                let gone: Vec<String> = self
                    .peers
                    .keys()
                    .filter(|n| !names.contains(n.as_str()))
                    .cloned()
                    .collect();
                for name in gone {
                    self.peer_down(&name);
                }
                self.configured = peers;
            }
            StoreEvent::SetLocal(routes) => self.set_local(routes),
            StoreEvent::Query(Query::Status(tx)) => {
                let _ = tx.send(self.status());
            }
            StoreEvent::Query(Query::Routes(tx)) => {
                let _ = tx.send(self.routes());
            }
        }
    }

    fn peer_up(&mut self, up: PeerUp) {
        let families: Vec<AfiSafi> = up
            .negotiated
            .families
            .iter()
            .copied()
            .filter(|f| f.is_supported())
            .collect();
        info!(peer = %up.name, ?families, "advertising local routes");
        self.peers.insert(
            up.name.clone(),
            EstablishedPeer {
                address: up.address,
                local_address: up.local_address,
                local_as: up.local_as,
                ibgp: up.negotiated.ibgp,
                families,
                ctx: up.ctx,
                sender: up.sender,
                advertised: 0,
            },
        );
        self.advertise_local(&up.name, None);
    }

    fn peer_down(&mut self, name: &str) {
        self.peers.remove(name);
        self.paths.retain(|_, paths| {
            paths.retain(|p| &*p.peer != name);
            !paths.is_empty()
        });
        self.received.remove(name);
        self.collect_interned();
    }

    fn update(&mut self, name: &str, update: UpdateIn) {
        let peer: Arc<str> = match self.received.get_key_value(name) {
            Some((k, _)) => k.clone(),
            None => Arc::from(name),
        };
        // The session's PeerUp came first on this channel, so this does
        // not depend on the agent's SetPeers, which a fast peer's first
        // UPDATE can overtake.
        let Some(address) = self.peers.get(name).map(|p| p.address) else {
            return;
        };
        let mut removed = 0u64;
        for nlri in &update.withdrawn {
            if let Some(paths) = self.paths.get_mut(&nlri.prefix) {
                let before = paths.len();
                paths.retain(|p| {
                    !(*p.peer == *name && p.path_id == nlri.path_id)
                });
                removed += (before - paths.len()) as u64;
                if paths.is_empty() {
                    self.paths.remove(&nlri.prefix);
                }
            }
        }
        let mut added = 0u64;
        if !update.announced.is_empty() {
            let attrs = self.intern(update.attributes);
            for (next_hop, nlris) in update.announced {
                for nlri in nlris {
                    let paths = self.paths.entry(nlri.prefix).or_default();
                    let new = StoredPath {
                        peer: peer.clone(),
                        peer_address: address,
                        path_id: nlri.path_id,
                        next_hop,
                        attrs: attrs.clone(),
                    };
                    match paths
                        .iter_mut()
                        .find(|p| *p.peer == *name && p.path_id == nlri.path_id)
                    {
                        Some(old) => *old = new,
                        None => {
                            paths.push(new);
                            added += 1;
                        }
                    }
                }
            }
        }
        let count = self.received.entry(peer).or_insert(0);
        *count = (*count + added).saturating_sub(removed);
        if let Some(family) = update.end_of_rib {
            info!(peer = %name, %family, "End-of-RIB received");
        }
        if removed > 0 {
            self.collect_interned();
        }
    }

    /// Shares one allocation between every path with equal attributes.
    fn intern(&mut self, attrs: PathAttributes) -> Arc<PathAttributes> {
        if let Some(found) = self.interned.get(&attrs) {
            return found.clone();
        }
        let arc = Arc::new(attrs);
        self.interned.insert(arc.clone());
        arc
    }

    fn collect_interned(&mut self) {
        self.interned.retain(|a| Arc::strong_count(a) > 1);
    }

    fn set_local(&mut self, routes: Vec<LocalRoute>) {
        if routes == self.local {
            return;
        }
        let withdrawn: Vec<Prefix> = self
            .local
            .iter()
            .filter(|old| !routes.iter().any(|r| r.prefix == old.prefix))
            .map(|r| r.prefix)
            .collect();
        self.local = routes;
        let names: Vec<String> = self.peers.keys().cloned().collect();
        for name in names {
            self.withdraw_local(&name, &withdrawn);
            self.advertise_local_routes(&name, None, false);
        }
    }

    fn advertise_local(&mut self, name: &str, family: Option<AfiSafi>) {
        self.advertise_local_routes(name, family, true);
    }

    /// Sends this node's routes to one peer, grouped by attribute set,
    /// then End-of-RIB per family when `eor` (RFC 4724 section 2).
    fn advertise_local_routes(
        &mut self,
        name: &str,
        only: Option<AfiSafi>,
        eor: bool,
    ) {
        let Some(peer) = self.peers.get_mut(name) else {
            return;
        };
        let mut out = Vec::new();
        let mut sent = 0u64;
        for &family in &peer.families {
            if only.is_some_and(|f| f != family) {
                continue;
            }
            let Some(next_hop) = next_hop_for(family, peer.local_address)
            else {
                warn!(peer = %name, %family, "no local address of this family to use as next hop; not advertising");
                continue;
            };
            // Routes with the same communities share one attribute set,
            // so they pack into the same UPDATEs.
            let mut groups: Vec<(PathAttributes, Vec<Nlri>)> = Vec::new();
            for route in
                self.local.iter().filter(|r| r.prefix.family() == family)
            {
                let attrs = export_attributes(route, peer.ibgp, peer.local_as);
                match groups.iter_mut().find(|(a, _)| *a == attrs) {
                    Some((_, list)) => list.push(Nlri::new(route.prefix)),
                    None => groups.push((attrs, vec![Nlri::new(route.prefix)])),
                }
            }
            for (attrs, nlri) in &groups {
                if let Err(e) = encode_announcements(
                    attrs, family, next_hop, nlri, &peer.ctx, &mut out,
                ) {
                    warn!(peer = %name, error = %e, "cannot encode UPDATE");
                    continue;
                }
                sent += nlri.len() as u64;
            }
            if eor
                && let Some(bytes) =
                    encode_update(&Update::end_of_rib(family), &peer.ctx)
            {
                out.push(bytes);
            }
        }
        peer.advertised = sent;
        for bytes in out {
            let _ = peer.sender.send(bytes);
        }
    }

    fn withdraw_local(&mut self, name: &str, prefixes: &[Prefix]) {
        let Some(peer) = self.peers.get(name) else {
            return;
        };
        let mut out = Vec::new();
        for &family in &peer.families {
            let nlri: Vec<Nlri> = prefixes
                .iter()
                .filter(|p| p.family() == family)
                .map(|p| Nlri::new(*p))
                .collect();
            if let Err(e) = bgplet_wire::update::encode_withdrawals(
                family, &nlri, &peer.ctx, &mut out,
            ) {
                warn!(peer = %name, error = %e, "cannot encode withdrawal");
            }
        }
        for bytes in out {
            let _ = peer.sender.send(bytes);
        }
    }

    fn status(&self) -> StatusReply {
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
                PeerStatus {
                    name: p.name.clone(),
                    peer_address: p.address.to_string(),
                    peer_port: p.port,
                    peer_type: p.type_label.clone(),
                    peer_as: p.peer_as,
                    state,
                    since,
                    info,
                    prefixes_received: self
                        .received
                        .get(p.name.as_str())
                        .copied()
                        .unwrap_or(0),
                    prefixes_advertised: self
                        .peers
                        .get(&p.name)
                        .map_or(0, |e| e.advertised),
                }
            })
            .collect();
        StatusReply {
            node: self.node.node.clone(),
            router_id: self.node.router_id.clone(),
            as_number: self.node.as_number,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started: self.node.started.clone(),
            peers,
        }
    }

    fn routes(&self) -> RoutesReply {
        let mut by_prefix: BTreeMap<Prefix, Vec<PathEntry>> = BTreeMap::new();
        for route in &self.local {
            by_prefix
                .entry(route.prefix)
                .or_default()
                .push(local_entry(route));
        }
        for (prefix, paths) in &self.paths {
            let list = by_prefix.entry(*prefix).or_default();
            let has_best = !list.is_empty();
            for (i, p) in paths.iter().enumerate() {
                list.push(path_entry(p, i == 0 && !has_best));
            }
        }
        RoutesReply {
            routes: by_prefix
                .into_iter()
                .map(|(prefix, paths)| RouteEntry {
                    prefix: prefix.to_string(),
                    paths,
                })
                .collect(),
        }
    }
}

/// The next hop we put on routes we originate: our end of the session
/// (BIRD's "source address" rule for local routes, calico-bgp.md 5.3).
fn next_hop_for(family: AfiSafi, local: Option<IpAddr>) -> Option<NextHop> {
    match (family, local?) {
        (AfiSafi::IPV4_UNICAST, IpAddr::V4(v4)) => Some(NextHop::V4(v4)),
        (AfiSafi::IPV6_UNICAST, IpAddr::V6(v6)) => Some(NextHop::V6 {
            global: v6,
            link_local: None,
        }),
        _ => None,
    }
}

/// ORIGIN IGP, our AS on eBGP and an empty AS_PATH on iBGP, Calico's
/// LOCAL_PREF on iBGP, and the configured communities (sorted, as confd
/// does).
fn export_attributes(
    route: &LocalRoute,
    ibgp: bool,
    local_as: u32,
) -> PathAttributes {
    let mut communities = route.communities.clone();
    communities.sort();
    communities.dedup();
    let mut large = route.large_communities.clone();
    large.sort();
    large.dedup();
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(if ibgp {
            AsPath::default()
        } else {
            AsPath::sequence([local_as])
        }),
        local_pref: ibgp.then_some(CALICO_LOCAL_PREF),
        communities: (!communities.is_empty()).then_some(communities),
        large_communities: (!large.is_empty()).then_some(large),
        ..PathAttributes::default()
    }
}

fn encode_update(update: &Update, ctx: &SessionContext) -> Option<Bytes> {
    crate::codec::encode_update(update, ctx)
        .map_err(|e| warn!(error = %e, "cannot encode UPDATE"))
        .ok()
}

fn local_entry(route: &LocalRoute) -> PathEntry {
    PathEntry {
        peer: "local".into(),
        peer_address: String::new(),
        path_id: 0,
        best: true,
        origin: Origin::Igp.to_string(),
        as_path: Vec::new(),
        as_path_text: String::new(),
        next_hop: "self".into(),
        med: None,
        local_pref: None,
        atomic_aggregate: false,
        aggregator: None,
        communities: route
            .communities
            .iter()
            .map(ToString::to_string)
            .collect(),
        large_communities: route
            .large_communities
            .iter()
            .map(ToString::to_string)
            .collect(),
        ext_communities: Vec::new(),
        originator_id: None,
        cluster_list: Vec::new(),
        unknown: Vec::new(),
    }
}

fn path_entry(p: &StoredPath, best: bool) -> PathEntry {
    let a = &p.attrs;
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
    PathEntry {
        peer: p.peer.to_string(),
        peer_address: p.peer_address.to_string(),
        path_id: p.path_id,
        best,
        origin: a.origin.map(|o| o.to_string()).unwrap_or_default(),
        as_path,
        as_path_text: a
            .as_path
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        next_hop: match p.next_hop {
            NextHop::V4(v4) => v4.to_string(),
            NextHop::V6 { global, .. } => global.to_string(),
        },
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn peer_up(name: &str, address: Ipv4Addr) -> StoreEvent {
        let (sender, _rx) = mpsc::unbounded_channel();
        StoreEvent::PeerUp(Box::new(PeerUp {
            name: name.into(),
            address: address.into(),
            local_address: Some(Ipv4Addr::new(10, 0, 0, 1).into()),
            local_as: 64512,
            negotiated: Negotiated {
                peer_as: 65000,
                peer_bgp_id: address,
                hold_time: 90,
                keepalive_time: 30,
                four_octet_as: true,
                families: vec![AfiSafi::IPV4_UNICAST],
                add_path: Vec::new(),
                route_refresh: true,
                enhanced_route_refresh: false,
                extended_message: false,
                peer_graceful_restart: None,
                ibgp: false,
            },
            ctx: SessionContext::default(),
            sender,
        }))
    }

    #[test]
    fn first_update_of_a_peer_not_yet_in_set_peers_is_kept() {
        let mut store = Store::new(NodeInfo::default());
        let peer = Ipv4Addr::new(10, 0, 0, 2);
        store.handle(peer_up("Global_10_0_0_2", peer));
        let prefix =
            Prefix::new(Ipv4Addr::new(10, 20, 0, 0).into(), 24).unwrap();
        store.handle(StoreEvent::Update {
            name: "Global_10_0_0_2".into(),
            update: Box::new(UpdateIn {
                withdrawn: Vec::new(),
                announced: vec![(NextHop::V4(peer), vec![Nlri::new(prefix)])],
                attributes: PathAttributes {
                    origin: Some(Origin::Igp),
                    as_path: Some(AsPath::sequence([65000])),
                    ..PathAttributes::default()
                },
                end_of_rib: None,
                errors: Vec::new(),
                outcome: "clean",
            }),
        });
        let routes = store.routes().routes;
        assert_eq!(routes.len(), 1);
        assert_eq!(routes[0].prefix, "10.20.0.0/24");
        assert_eq!(routes[0].paths[0].peer_address, "10.0.0.2");
    }
}
