//! The plan's data: plain values a daemon can compare and act on.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::Warning;
use crate::model::*;
use crate::types::{Asn, Cidr, Family};

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
    /// The node is labelled
    /// `node.kubernetes.io/exclude-from-external-load-balancers=true`:
    /// it advertises no service route, but the ranges stay out of its
    /// kernel.
    pub node_excluded: bool,
}

impl ServiceRanges {
    /// Whether any range is configured (Calico then watches Services
    /// and EndpointSlices).
    pub fn configured(&self) -> bool {
        !self.cluster_ips.is_empty()
            || !self.external_ips.is_empty()
            || !self.load_balancer_ips.is_empty()
    }

    /// The ranges this node originates (§4.9): every cluster-IP range,
    /// every external-IP range that is not a single address, and every
    /// load-balancer range that is not a single address while
    /// aggregation is on; none on an excluded node. In configuration
    /// order, without repeats.
    pub fn advertised(&self) -> Vec<Cidr> {
        if self.node_excluded {
            return Vec::new();
        }
        let mut out: Vec<Cidr> = self.cluster_ips.clone();
        out.extend(self.external_ips.iter().filter(|c| !is_host(c)));
        if self.load_balancer_aggregation {
            out.extend(self.load_balancer_ips.iter().filter(|c| !is_host(c)));
        }
        let mut seen = Vec::with_capacity(out.len());
        out.retain(|c| {
            if seen.contains(c) {
                return false;
            }
            seen.push(*c);
            true
        });
        out
    }

    /// Every configured range, single addresses included: what the
    /// kernel never gets (BIRD's `rejectcidrs`, §4.8 step 1).
    pub fn rejected(&self) -> Vec<Cidr> {
        self.cluster_ips
            .iter()
            .chain(&self.external_ips)
            .chain(&self.load_balancer_ips)
            .copied()
            .collect()
    }
}

/// A /32 or /128.
pub(crate) fn is_host(c: &Cidr) -> bool {
    c.len() == c.family().max_len()
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
    /// Per-service host routes (/32, /128) this node advertises now,
    /// from Kubernetes Services and EndpointSlices (§4.9), sorted and
    /// without repeats: an address that several Services (or one Service
    /// twice) want is one route, kept while any of them wants it.
    pub service_addresses: Vec<Cidr>,
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
