//! Session planning for one node, following calico-bgp.md §3 (itself a
//! paraphrase of confd's `updatePeersV1` and `buildPeerFromData`).
//!
//! Per family: the mesh (§3.2), then explicit peers in three passes
//! (§3.3): global BGPPeers, node-scoped BGPPeers (a global entry with
//! the same (ip, port) wins), and automatic reverse peerings (never
//! overwriting). Entries for our own address are dropped and the list is
//! sorted by name.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::encoding::sha256;
use crate::error::{PlanError, Warning};
use crate::load::Resources;
use crate::model::*;
use crate::types::{Asn, Cidr, Family, whole_seconds};

/// BGP's well-known port (RFC 4271 §8.2.1), used when nothing else is
/// configured.
pub const DEFAULT_BGP_PORT: u16 = 179;

/// BIRD's graceful-restart time when none is configured (RFC 4724
/// restart time, seconds).
pub const DEFAULT_RESTART_TIME_SECS: u32 = 120;

/// Felix's normal route metric, BGPConfiguration's default for
/// `ipv4/6NormalRoutePriority`.
pub const DEFAULT_NORMAL_ROUTE_PRIORITY: u32 = 1024;

/// Inputs that calico-node takes from its environment rather than from
/// resources.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// `CALICO_ROUTER_ID`: `None` uses the node's IPv4 address, `"hash"`
    /// derives one from the node name, anything else must be an IPv4
    /// address.
    pub router_id: Option<String>,
    /// calico-node's namespace. When set, only Secrets in it (or
    /// written without a namespace) supply passwords.
    pub secret_namespace: Option<String>,
}

/// The local node's BGP parameters (calico-bgp.md §3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalNode {
    /// The node name (`NODENAME`).
    pub name: String,
    /// `spec.bgp.ipv4Address` without its mask.
    pub ipv4: Option<Ipv4Addr>,
    /// The IPv4 subnet (for IPIP CrossSubnet).
    pub ipv4_subnet: Option<Cidr>,
    /// `spec.bgp.ipv6Address` without its mask.
    pub ipv6: Option<Ipv6Addr>,
    /// The IPv6 subnet.
    pub ipv6_subnet: Option<Cidr>,
    /// The node's AS, else the cluster AS, else 64512.
    pub as_number: Asn,
    /// The BGP identifier (RFC 4271 §4.2), also used by the v6 daemon.
    pub router_id: Ipv4Addr,
    /// The RR cluster id; `Some` means this node is a route reflector.
    pub rr_cluster_id: Option<Ipv4Addr>,
    /// The port to listen on: per-node, then default, then 179.
    pub listen_port: u16,
    /// Whether to listen on the node address only.
    pub bind_mode: BindMode,
    /// `logSeverityScreen`: per-node, then default, then `Info`.
    pub log_severity: String,
}

impl LocalNode {
    /// The node's address in a family.
    pub fn address(&self, family: Family) -> Option<IpAddr> {
        match family {
            Family::V4 => self.ipv4.map(IpAddr::V4),
            Family::V6 => self.ipv6.map(IpAddr::V6),
        }
    }
}

/// Where a session came from; decides its name prefix and the label
/// `calicoctl node status` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeerKind {
    /// Node-to-node mesh (`Mesh_`).
    Mesh,
    /// A node-scoped BGPPeer or a reverse peering (`Node_`).
    Node,
    /// A global BGPPeer (`Global_`).
    Global,
}

impl PeerKind {
    /// The protocol name prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Mesh => "Mesh",
            Self::Node => "Node",
            Self::Global => "Global",
        }
    }

    /// The peer type column of `calicoctl node status`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Mesh => "node-to-node mesh",
            Self::Node => "node specific",
            Self::Global => "global",
        }
    }
}

/// A TCP-MD5 password (RFC 2385); `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The password text, for the socket option.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// One BGP session this node should run. Two plans' sessions with the
/// same name and unequal fields need a reset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedSession {
    /// `Mesh_10_0_0_12`, `Global_172_20_0_1_port_150`, `Node_fd00__3`.
    pub name: String,
    /// The session's family.
    pub family: Family,
    /// Mesh, node-specific or global.
    pub kind: PeerKind,
    /// The neighbor address.
    pub peer_ip: IpAddr,
    /// The neighbor's port.
    pub port: u16,
    /// Our AS on this session (`localASNumber`, else the node AS).
    pub local_as: Asn,
    /// The peer's AS.
    pub remote_as: Asn,
    /// `remote_as == local_as`.
    pub ibgp: bool,
    /// The TCP source address (`sourceAddress: UseNodeIP`).
    pub source_address: Option<IpAddr>,
    /// GTSM hop count (RFC 5082); `None` means TTL security off and
    /// multihop with TTL 64. Sessions are always multihop.
    pub ttl_security: Option<u8>,
    /// TCP-MD5 password, resolved from its Secret.
    pub password: Option<Password>,
    /// Graceful-restart time to advertise (RFC 4724 §3), seconds.
    pub restart_time_secs: u32,
    /// Keepalive timer (seconds); `None` means hold time / 3.
    pub keepalive_secs: Option<u32>,
    /// How often our AS may appear in received paths (`allow local as`).
    pub allow_local_as: u32,
    /// BGPFilter names, in order (existing filters only; none on mesh).
    pub filters: Vec<String>,
    /// Next-hop handling on export.
    pub next_hop: NextHopMode,
    /// Whether the peer is our route-reflector client (RFC 4456).
    pub rr_client: bool,
    /// Our cluster id on client sessions.
    pub rr_cluster_id: Option<Ipv4Addr>,
    /// Wait for the peer to connect (calico-bgp.md §3.6).
    pub passive: bool,
    /// `reachableBy`: a static host route to the peer via this gateway.
    pub reachable_by: Option<IpAddr>,
}

/// A block this node originates (calico-bgp.md §2.7).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalBlock {
    /// The block.
    pub cidr: Cidr,
    /// `pendingDeletion`: blackhole it but do not aggregate.
    pub pending_deletion: bool,
}

/// Service ranges from the `default` BGPConfiguration (§4.9).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceRanges {
    /// `serviceClusterIPs`.
    pub cluster_ips: Vec<Cidr>,
    /// `serviceExternalIPs`.
    pub external_ips: Vec<Cidr>,
    /// `serviceLoadBalancerIPs`.
    pub load_balancer_ips: Vec<Cidr>,
    /// `serviceLoadBalancerAggregation` (default enabled).
    pub load_balancer_aggregation: bool,
}

/// A prefix advertisement with community names resolved to values,
/// deduplicated and sorted (§4.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommunityRule {
    /// Exported routes within this CIDR get the communities.
    pub cidr: Cidr,
    /// Community values (`aa:nn` or `aa:nn:mm`).
    pub communities: Vec<String>,
}

/// Everything one node needs to run BGP like calico-node would.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodePlan {
    /// Local parameters.
    pub local: LocalNode,
    /// Sessions: IPv4 ones sorted by name, then IPv6 ones.
    pub sessions: Vec<PlannedSession>,
    /// This node's affine blocks, sorted.
    pub local_blocks: Vec<LocalBlock>,
    /// Every IP pool, sorted by CIDR.
    pub pools: Vec<IpPool>,
    /// Service ranges to advertise.
    pub services: ServiceRanges,
    /// Communities per prefix.
    pub prefix_advertisements: Vec<CommunityRule>,
    /// Extra interfaces left out of `direct` routes.
    pub ignored_interfaces: Vec<String>,
    /// Which pool kinds this daemon programs into the kernel.
    pub program_cluster_routes: ProgramClusterRoutes,
    /// Felix's normal IPv4 route metric.
    pub ipv4_normal_route_priority: u32,
    /// Felix's normal IPv6 route metric.
    pub ipv6_normal_route_priority: u32,
    /// Things planning noticed (missing secrets, skipped peers).
    pub warnings: Vec<Warning>,
}

impl NodePlan {
    /// The sessions of one family.
    pub fn sessions_of(
        &self,
        family: Family,
    ) -> impl Iterator<Item = &PlannedSession> {
        self.sessions.iter().filter(move |s| s.family == family)
    }

    /// A session by name.
    pub fn session(&self, name: &str) -> Option<&PlannedSession> {
        self.sessions.iter().find(|s| s.name == name)
    }
}

/// Plans BGP for `node_name` from the cluster's resources.
pub fn plan_node(
    res: &Resources,
    node_name: &str,
    opts: &PlanOptions,
) -> Result<NodePlan, PlanError> {
    let me = res
        .nodes
        .get(node_name)
        .ok_or_else(|| PlanError::UnknownNode(node_name.to_string()))?;
    let local = local_node(res, me, opts)?;
    let mut planner = Planner {
        res,
        me,
        local: &local,
        opts,
        warnings: Vec::new(),
    };
    let mut sessions = Vec::new();
    for family in [Family::V4, Family::V6] {
        sessions.extend(planner.family(family));
    }
    let defaults = res.default_config();
    let node_cfg = res.node_config(node_name);
    let prefix_advertisements = planner.communities(node_cfg, defaults);
    let mut local_blocks: Vec<LocalBlock> = res
        .block_affinities
        .values()
        .filter(|a| a.node == node_name && !a.deleted)
        .filter(|a| a.state != AffinityState::Pending)
        .map(|a| LocalBlock {
            cidr: a.cidr,
            pending_deletion: a.state == AffinityState::PendingDeletion,
        })
        .collect();
    local_blocks.sort();
    local_blocks.dedup();
    let mut pools: Vec<IpPool> = res.pools.values().cloned().collect();
    pools.sort_by_key(|p| p.cidr);
    let d = defaults.cloned().unwrap_or_default();
    let services = ServiceRanges {
        cluster_ips: d.service_cluster_ips.clone(),
        external_ips: d.service_external_ips.clone(),
        load_balancer_ips: d.service_load_balancer_ips.clone(),
        load_balancer_aggregation: d
            .service_load_balancer_aggregation
            .unwrap_or(true),
    };
    Ok(NodePlan {
        sessions,
        local_blocks,
        pools,
        services,
        prefix_advertisements,
        ignored_interfaces: d.ignored_interfaces.clone(),
        program_cluster_routes: d.program_cluster_routes.unwrap_or_default(),
        ipv4_normal_route_priority: d
            .ipv4_normal_route_priority
            .unwrap_or(DEFAULT_NORMAL_ROUTE_PRIORITY),
        ipv6_normal_route_priority: d
            .ipv6_normal_route_priority
            .unwrap_or(DEFAULT_NORMAL_ROUTE_PRIORITY),
        warnings: planner.warnings,
        local,
    })
}

/// `CALICO_ROUTER_ID=hash`: the first four bytes of SHA-256(node name),
/// with 32 taken off a first octet above 223 to stay out of class D/E
/// (calico#5146).
pub fn hashed_router_id(node_name: &str) -> Ipv4Addr {
    let d = sha256(node_name.as_bytes());
    let first = if d[0] > 223 { d[0] - 32 } else { d[0] };
    Ipv4Addr::new(first, d[1], d[2], d[3])
}

fn local_node(
    res: &Resources,
    me: &Node,
    opts: &PlanOptions,
) -> Result<LocalNode, PlanError> {
    let v4 = me.bgp.ipv4_address;
    let v6 = me.bgp.ipv6_address;
    let ipv4 = v4.and_then(|c| match c.addr() {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    });
    let ipv6 = v6.and_then(|c| match c.addr() {
        IpAddr::V6(a) => Some(a),
        IpAddr::V4(_) => None,
    });
    let router_id = match opts.router_id.as_deref() {
        None | Some("") => {
            ipv4.ok_or_else(|| PlanError::NoRouterId(me.name.clone()))?
        }
        Some("hash") => hashed_router_id(&me.name),
        Some(other) => other
            .parse()
            .map_err(|_| PlanError::BadRouterId(other.to_string()))?,
    };
    let node_cfg = res.node_config(&me.name);
    let defaults = res.default_config();
    let log_severity = node_cfg
        .and_then(|c| c.log_severity_screen.clone())
        .or_else(|| defaults.and_then(|c| c.log_severity_screen.clone()))
        .unwrap_or_else(|| "Info".to_string());
    Ok(LocalNode {
        name: me.name.clone(),
        ipv4,
        ipv4_subnet: v4.map(|c| c.network()),
        ipv6,
        ipv6_subnet: v6.map(|c| c.network()),
        as_number: res.node_as(me),
        router_id,
        rr_cluster_id: me.bgp.route_reflector_cluster_id,
        listen_port: res.listen_port(&me.name).unwrap_or(DEFAULT_BGP_PORT),
        bind_mode: defaults.map(|c| c.bind_mode).unwrap_or_default(),
        log_severity,
    })
}

/// A node's address in a family, without its mask.
fn address(node: &Node, family: Family) -> Option<IpAddr> {
    let c = match family {
        Family::V4 => node.bgp.ipv4_address,
        Family::V6 => node.bgp.ipv6_address,
    };
    c.map(|c| c.addr())
}

/// An expanded peer before it becomes a session (confd's v1 peer).
struct Entry<'a> {
    ip: IpAddr,
    /// The port in the key and name; 0 when none is known.
    port: u16,
    remote_as: Asn,
    peer: &'a BgpPeer,
    /// The remote node's cluster id (selector and reverse peers only).
    peer_cluster: Option<Ipv4Addr>,
    /// A `peerIP` that is a Calico node's address.
    calico_node: bool,
    /// Generated by pass 3.
    reverse: bool,
}

struct Planner<'a> {
    res: &'a Resources,
    me: &'a Node,
    local: &'a LocalNode,
    opts: &'a PlanOptions,
    warnings: Vec<Warning>,
}

impl<'a> Planner<'a> {
    fn warn(&mut self, kind: &str, name: &str, message: String) {
        self.warnings.push(Warning {
            kind: kind.to_string(),
            name: name.to_string(),
            message,
        });
    }

    fn family(&mut self, family: Family) -> Vec<PlannedSession> {
        let Some(my_ip) = self.local.address(family) else {
            // No address in the family: BGP is off for it (§3).
            return Vec::new();
        };
        let mut out = self.mesh(family, my_ip);
        let (global, node) = self.explicit_entries(family);
        for (kind, entries) in
            [(PeerKind::Global, global), (PeerKind::Node, node)]
        {
            for e in entries.into_values() {
                if e.ip == my_ip {
                    continue;
                }
                out.push(self.explicit(kind, &e, my_ip));
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// §3.2: the mesh, only when enabled and we are not an RR.
    fn mesh(&mut self, family: Family, my_ip: IpAddr) -> Vec<PlannedSession> {
        let res = self.res;
        if !res.mesh_enabled() || self.local.rr_cluster_id.is_some() {
            return Vec::new();
        }
        let defaults = res.default_config();
        let password = defaults
            .and_then(|c| c.node_mesh_password.clone())
            .and_then(|r| self.password("BGPConfiguration", "default", &r));
        let restart = defaults
            .and_then(|c| c.node_mesh_max_restart_time)
            .map_or(DEFAULT_RESTART_TIME_SECS, whole_seconds);
        let my_as = self.local.as_number;
        let mut out = Vec::new();
        for h in res.nodes.values() {
            let Some(ip) = address(h, family) else {
                continue;
            };
            if ip == my_ip || h.bgp.route_reflector_cluster_id.is_some() {
                continue;
            }
            let remote_as = res.node_as(h);
            out.push(PlannedSession {
                name: session_name(PeerKind::Mesh, ip, 0),
                family,
                kind: PeerKind::Mesh,
                peer_ip: ip,
                port: res.listen_port(&h.name).unwrap_or(DEFAULT_BGP_PORT),
                local_as: my_as,
                remote_as,
                ibgp: remote_as == my_as,
                source_address: Some(my_ip),
                ttl_security: None,
                password: password.clone(),
                restart_time_secs: restart,
                keepalive_secs: None,
                allow_local_as: 0,
                filters: Vec::new(),
                next_hop: NextHopMode::Auto,
                rr_client: false,
                rr_cluster_id: None,
                passive: passive_by_order(ip, my_ip),
                reachable_by: None,
            });
        }
        out
    }

    /// §3.3 passes 1–3 for this node and family, keyed by (ip, port).
    #[allow(clippy::type_complexity)]
    fn explicit_entries(
        &mut self,
        family: Family,
    ) -> (
        BTreeMap<(IpAddr, u16), Entry<'a>>,
        BTreeMap<(IpAddr, u16), Entry<'a>>,
    ) {
        let res = self.res;
        let mut global = BTreeMap::new();
        let mut node = BTreeMap::new();
        let active = res
            .peers
            .values()
            .filter(|p| p.local_workload_selector.is_none());
        // Pass 1: global peers; the first written wins.
        for p in active.clone().filter(|p| p.is_global()) {
            for e in self.forward(p, family) {
                global.entry((e.ip, e.port)).or_insert(e);
            }
        }
        // Pass 2: peers scoped to this node, unless a global one exists.
        for p in active.clone().filter(|p| !p.is_global()) {
            if !self.scoped_to(p, self.me) {
                continue;
            }
            for e in self.forward(p, family) {
                let key = (e.ip, e.port);
                if !global.contains_key(&key) {
                    node.entry(key).or_insert(e);
                }
            }
        }
        // Pass 3: reverse peerings never overwrite an existing entry.
        for p in active.filter(|p| p.reverse_peering == ReversePeering::Auto) {
            for e in self.reverse(p, family) {
                let key = (e.ip, e.port);
                if !global.contains_key(&key) {
                    node.entry(key).or_insert(e);
                }
            }
        }
        for p in res.peers.values() {
            if p.local_workload_selector.is_some() {
                let m = "localWorkloadSelector peers are not planned yet";
                self.warn("BGPPeer", &p.name, m.to_string());
            }
        }
        (global, node)
    }

    /// Whether a BGPPeer's `node` / `nodeSelector` picks `n` (a global
    /// peer picks every node).
    fn scoped_to(&self, p: &BgpPeer, n: &Node) -> bool {
        match (&p.node, &p.node_selector) {
            (Some(name), _) => *name == n.name,
            (None, Some(sel)) => sel.matches(&n.labels),
            (None, None) => true,
        }
    }

    /// The remotes a BGPPeer names, in one family.
    fn forward(&self, p: &'a BgpPeer, family: Family) -> Vec<Entry<'a>> {
        let res = self.res;
        if let Some(sel) = &p.peer_selector {
            return res
                .nodes
                .values()
                .filter(|n| sel.matches(&n.labels))
                .filter_map(|n| self.node_entry(p, n, family, false))
                .collect();
        }
        let Some(addr) = p.peer_ip else {
            return Vec::new();
        };
        if Family::of(&addr.ip) != family {
            return Vec::new();
        }
        let remote_as = p.as_number.unwrap_or_else(|| res.global_as());
        let calico = self.calico_node_at(addr.ip, addr.port, remote_as);
        let port = addr
            .port
            .or_else(|| calico.and_then(|n| res.listen_port(&n.name)))
            .unwrap_or(0);
        vec![Entry {
            ip: addr.ip,
            port,
            remote_as,
            peer: p,
            peer_cluster: None,
            calico_node: calico.is_some(),
            reverse: false,
        }]
    }

    /// The Calico node a `peerIP` points at: same address, same AS, and
    /// the same listen port when one was written.
    fn calico_node_at(
        &self,
        ip: IpAddr,
        port: Option<u16>,
        asn: Asn,
    ) -> Option<&'a Node> {
        let res = self.res;
        res.nodes.values().find(|n| {
            address(n, Family::of(&ip)) == Some(ip)
                && res.node_as(n) == asn
                && port.is_none_or(|p| {
                    p == res.listen_port(&n.name).unwrap_or(DEFAULT_BGP_PORT)
                })
        })
    }

    fn node_entry(
        &self,
        p: &'a BgpPeer,
        n: &Node,
        family: Family,
        reverse: bool,
    ) -> Option<Entry<'a>> {
        Some(Entry {
            ip: address(n, family)?,
            port: self.res.listen_port(&n.name).unwrap_or(0),
            remote_as: self.res.node_as(n),
            peer: p,
            peer_cluster: n.bgp.route_reflector_cluster_id,
            calico_node: false,
            reverse,
        })
    }

    /// Pass 3: when this node is the remote side of a BGPPeer, peer
    /// back with the nodes that BGPPeer is scoped to.
    fn reverse(&self, p: &'a BgpPeer, family: Family) -> Vec<Entry<'a>> {
        let res = self.res;
        let me = self.me;
        let we_are_remote = if let Some(sel) = &p.peer_selector {
            sel.matches(&me.labels)
        } else if let Some(addr) = p.peer_ip {
            let asn = p.as_number.unwrap_or_else(|| res.global_as());
            Family::of(&addr.ip) == family
                && self
                    .calico_node_at(addr.ip, addr.port, asn)
                    .is_some_and(|n| n.name == me.name)
        } else {
            false
        };
        if !we_are_remote {
            return Vec::new();
        }
        res.nodes
            .values()
            .filter(|n| n.name != me.name && self.scoped_to(p, n))
            .filter_map(|n| self.node_entry(p, n, family, true))
            .collect()
    }

    /// `buildPeerFromData`: an entry's session attributes.
    fn explicit(
        &mut self,
        kind: PeerKind,
        e: &Entry<'_>,
        my_ip: IpAddr,
    ) -> PlannedSession {
        let p = e.peer;
        let local_as = (!e.reverse)
            .then_some(p.local_as_number)
            .flatten()
            .unwrap_or(self.local.as_number);
        let ibgp = e.remote_as == local_as;
        let next_hop = match p.next_hop_mode {
            Some(mode) => mode,
            // The legacy flag only ever applied to eBGP sessions.
            None if p.keep_original_next_hop && !ibgp => NextHopMode::Keep,
            None => NextHopMode::Auto,
        };
        // RFC 4456: an RR treats iBGP peers outside its cluster as
        // clients; an unknown peer cluster counts as different.
        let my_cluster = self.local.rr_cluster_id;
        let rr_client =
            my_cluster.is_some() && ibgp && e.peer_cluster != my_cluster;
        let password = p
            .password
            .as_ref()
            .and_then(|r| self.password("BGPPeer", &p.name, r));
        let filters = p
            .filters
            .iter()
            .filter(|f| self.res.filters.contains_key(*f))
            .cloned()
            .collect();
        PlannedSession {
            name: session_name(kind, e.ip, e.port),
            family: Family::of(&e.ip),
            kind,
            peer_ip: e.ip,
            port: if e.port == 0 {
                DEFAULT_BGP_PORT
            } else {
                e.port
            },
            local_as,
            remote_as: e.remote_as,
            ibgp,
            source_address: match p.source_address {
                SourceAddress::UseNodeIp => Some(my_ip),
                SourceAddress::None => None,
            },
            ttl_security: p.ttl_security,
            password,
            restart_time_secs: p
                .max_restart_time
                .map_or(DEFAULT_RESTART_TIME_SECS, whole_seconds),
            keepalive_secs: p.keepalive_time.map(whole_seconds),
            allow_local_as: p.num_allowed_local_as_numbers,
            filters,
            next_hop,
            rr_client,
            rr_cluster_id: if rr_client { my_cluster } else { None },
            passive: kind == PeerKind::Global
                && e.calico_node
                && passive_by_order(e.ip, my_ip),
            reachable_by: p.reachable_by,
        }
    }

    fn password(
        &mut self,
        kind: &str,
        name: &str,
        r: &SecretKeyRef,
    ) -> Option<Password> {
        let ns = self.opts.secret_namespace.as_deref();
        match self.res.secret_value(r, ns) {
            Some(v) => Some(Password::new(v)),
            None => {
                // BIRD's behaviour: run without a password, and say so.
                let m = format!(
                    "password secret {:?} key {:?} not found; no password \
                     is configured",
                    r.name, r.key
                );
                self.warn(kind, name, m);
                None
            }
        }
    }

    /// §4.6: per-node advertisements win over `default`'s; names resolve
    /// against the node's then the default's communities.
    fn communities(
        &mut self,
        node_cfg: Option<&BgpConfiguration>,
        defaults: Option<&BgpConfiguration>,
    ) -> Vec<CommunityRule> {
        let list = node_cfg
            .map(|c| &c.prefix_advertisements)
            .filter(|l| !l.is_empty())
            .or(defaults.map(|c| &c.prefix_advertisements))
            .cloned()
            .unwrap_or_default();
        let named: Vec<&NamedCommunity> = node_cfg
            .into_iter()
            .chain(defaults)
            .flat_map(|c| &c.communities)
            .collect();
        let mut out = Vec::new();
        for adv in list {
            let mut values = Vec::new();
            for c in &adv.communities {
                if let Some(n) = named.iter().find(|n| &n.name == c) {
                    values.push(n.value.clone());
                } else if c.contains(':') {
                    values.push(c.clone());
                } else {
                    let m = format!("community {c:?} is not defined");
                    self.warn("BGPConfiguration", "default", m);
                }
            }
            values.sort();
            values.dedup();
            out.push(CommunityRule {
                cidr: adv.cidr,
                communities: values,
            });
        }
        out
    }
}

/// §3.6: the side whose address sorts later as a string waits. This is
/// byte-wise text order, so "10.0.0.10" < "10.0.0.9", as BIRD-based
/// calico-node does it; numeric order would deadlock mixed pairs.
fn passive_by_order(peer: IpAddr, me: IpAddr) -> bool {
    peer.to_string() > me.to_string()
}

/// `<Prefix>_<ip with . and : as _>[_port_<p>]`.
pub fn session_name(kind: PeerKind, ip: IpAddr, port: u16) -> String {
    let ip = ip.to_string().replace(['.', ':'], "_");
    if port == 0 {
        format!("{}_{ip}", kind.prefix())
    } else {
        format!("{}_{ip}_port_{port}", kind.prefix())
    }
}
