//! The validated resource model: what the planner reads. Every field is
//! already parsed (CIDRs, AS numbers, selectors, durations), so nothing
//! downstream re-checks text.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::selector::Selector;
use crate::types::{Asn, Cidr, PeerAddr};

/// Labels of a resource (node labels are what selectors match).
pub type Labels = BTreeMap<String, String>;

/// A reference to one key of a Kubernetes Secret in calico-node's
/// namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretKeyRef {
    /// The Secret's name.
    pub name: String,
    /// The key inside `data` / `stringData`.
    pub key: String,
}

/// `bindMode` of BGPConfiguration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BindMode {
    /// Listen on every address (Calico's default).
    #[default]
    None,
    /// Listen only on the node's address in the family.
    NodeIp,
}

/// `programClusterRoutes` (v3.32+): which pool kinds BIRD programs into
/// the kernel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProgramClusterRoutes {
    /// BIRD programs no pool routes.
    Disabled,
    /// Only no-encapsulation pools (the v3.33 default).
    #[default]
    EnabledNoEncapOnly,
    /// Only IPIP pools.
    EnabledIpipOnly,
    /// No-encap and IPIP pools (the v3.32 / classic behaviour).
    Enabled,
}

/// A named community from BGPConfiguration `communities`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedCommunity {
    /// The name prefix advertisements refer to.
    pub name: String,
    /// `aa:nn` (RFC 1997) or `aa:nn:mm` (RFC 8092).
    pub value: String,
}

/// A `prefixAdvertisements` entry as written (names unresolved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixAdvertisement {
    /// Routes within this CIDR get the communities.
    pub cidr: Cidr,
    /// Community names or literal values.
    pub communities: Vec<String>,
}

/// A BGPConfiguration (`default` or `node.<name>`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BgpConfiguration {
    /// `default` or `node.<nodename>`.
    pub name: String,
    /// `asNumber`.
    pub as_number: Option<Asn>,
    /// `nodeToNodeMeshEnabled`.
    pub node_to_node_mesh_enabled: Option<bool>,
    /// `listenPort`.
    pub listen_port: Option<u16>,
    /// `bindMode`.
    pub bind_mode: BindMode,
    /// `logSeverityScreen` as written.
    pub log_severity_screen: Option<String>,
    /// `nodeMeshPassword.secretKeyRef`.
    pub node_mesh_password: Option<SecretKeyRef>,
    /// `nodeMeshMaxRestartTime`.
    pub node_mesh_max_restart_time: Option<Duration>,
    /// `serviceClusterIPs[].cidr`.
    pub service_cluster_ips: Vec<Cidr>,
    /// `serviceExternalIPs[].cidr`.
    pub service_external_ips: Vec<Cidr>,
    /// `serviceLoadBalancerIPs[].cidr`.
    pub service_load_balancer_ips: Vec<Cidr>,
    /// `serviceLoadBalancerAggregation` (`Enabled` unless `Disabled`).
    pub service_load_balancer_aggregation: Option<bool>,
    /// `communities`.
    pub communities: Vec<NamedCommunity>,
    /// `prefixAdvertisements`.
    pub prefix_advertisements: Vec<PrefixAdvertisement>,
    /// `ignoredInterfaces` (globs).
    pub ignored_interfaces: Vec<String>,
    /// `localWorkloadPeeringIPV4`.
    pub local_workload_peering_ipv4: Option<IpAddr>,
    /// `localWorkloadPeeringIPV6`.
    pub local_workload_peering_ipv6: Option<IpAddr>,
    /// `programClusterRoutes`.
    pub program_cluster_routes: Option<ProgramClusterRoutes>,
    /// `ipv4NormalRoutePriority`.
    pub ipv4_normal_route_priority: Option<u32>,
    /// `ipv6NormalRoutePriority`.
    pub ipv6_normal_route_priority: Option<u32>,
}

/// `sourceAddress` of a BGPPeer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SourceAddress {
    /// Bind the TCP source to the node's address (default).
    #[default]
    UseNodeIp,
    /// Let the kernel choose.
    None,
}

/// `nextHopMode` of a BGPPeer (v3.31+).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NextHopMode {
    /// BGP's defaults (RFC 4271 §5.1.3).
    #[default]
    Auto,
    /// `Self`: always set ourselves as next hop.
    SetSelf,
    /// Never change the next hop.
    Keep,
}

/// `reversePeering` of a BGPPeer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReversePeering {
    /// Generate the reverse half between Calico nodes.
    #[default]
    Auto,
    /// The user writes the reverse BGPPeer.
    Manual,
}

/// A BGPPeer.
#[derive(Clone, Debug, PartialEq)]
pub struct BgpPeer {
    /// metadata.name.
    pub name: String,
    /// `node`: the one local node.
    pub node: Option<String>,
    /// `nodeSelector`: the local nodes.
    pub node_selector: Option<Selector>,
    /// `peerIP`.
    pub peer_ip: Option<PeerAddr>,
    /// `peerSelector`: remote Calico nodes.
    pub peer_selector: Option<Selector>,
    /// `asNumber` (remote AS of `peerIP` peers).
    pub as_number: Option<Asn>,
    /// `localASNumber`.
    pub local_as_number: Option<Asn>,
    /// `keepOriginalNextHop` (deprecated).
    pub keep_original_next_hop: bool,
    /// `nextHopMode`; `None` when unset.
    pub next_hop_mode: Option<NextHopMode>,
    /// `password.secretKeyRef`.
    pub password: Option<SecretKeyRef>,
    /// `sourceAddress`.
    pub source_address: SourceAddress,
    /// `maxRestartTime`.
    pub max_restart_time: Option<Duration>,
    /// `keepaliveTime`.
    pub keepalive_time: Option<Duration>,
    /// `numAllowedLocalASNumbers`.
    pub num_allowed_local_as_numbers: u32,
    /// `ttlSecurity` (hops, GTSM per RFC 5082); `None` = off.
    pub ttl_security: Option<u8>,
    /// `reachableBy`.
    pub reachable_by: Option<IpAddr>,
    /// `filters` (BGPFilter names, in order).
    pub filters: Vec<String>,
    /// `reversePeering`.
    pub reverse_peering: ReversePeering,
    /// `localWorkloadSelector` (workload peers; not planned yet).
    pub local_workload_selector: Option<Selector>,
}

impl BgpPeer {
    /// Whether the peer applies to every node (no `node`, no
    /// `nodeSelector`).
    pub fn is_global(&self) -> bool {
        self.node.is_none() && self.node_selector.is_none()
    }
}

/// `matchOperator` of a filter rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOperator {
    /// Prefix equals the CIDR.
    Equal,
    /// Prefix does not equal the CIDR.
    NotEqual,
    /// Prefix is inside the CIDR (or equal).
    In,
    /// Negation of `In`.
    NotIn,
}

/// `action` of a filter rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterAction {
    /// Accept the route.
    Accept,
    /// Reject the route.
    Reject,
}

/// `peerType` match of a filter rule (v3.32+).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerType {
    /// Same AS as the effective local AS.
    Ibgp,
    /// Different AS.
    Ebgp,
}

/// One operation of an Accept rule (v3.32+).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterOperation {
    /// Add a standard or large community.
    AddCommunity(String),
    /// Prepend these ASNs (they lead the path in this order).
    PrependAsPath(Vec<Asn>),
    /// Set the Calico priority (LOCAL_PREF = 2147483647 - value).
    SetPriority(u32),
}

/// One BGPFilter rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterRule {
    /// `cidr` with its `matchOperator`.
    pub cidr: Option<(Cidr, MatchOperator)>,
    /// `prefixLength` {min, max}.
    pub prefix_length: Option<(Option<u8>, Option<u8>)>,
    /// `source: RemotePeers`.
    pub source_remote_peers: bool,
    /// `interface` glob.
    pub interface: Option<String>,
    /// `peerType`.
    pub peer_type: Option<PeerType>,
    /// `communities.values[0]`.
    pub community: Option<String>,
    /// `asPathPrefix`.
    pub as_path_prefix: Vec<Asn>,
    /// `priority`.
    pub priority: Option<u32>,
    /// `action`.
    pub action: FilterAction,
    /// `operations`.
    pub operations: Vec<FilterOperation>,
}

/// A BGPFilter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BgpFilter {
    /// metadata.name.
    pub name: String,
    /// `exportV4`.
    pub export_v4: Vec<FilterRule>,
    /// `importV4`.
    pub import_v4: Vec<FilterRule>,
    /// `exportV6`.
    pub export_v6: Vec<FilterRule>,
    /// `importV6`.
    pub import_v6: Vec<FilterRule>,
}

/// `ipipMode` / `vxlanMode` of a pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EncapMode {
    /// No encapsulation (default).
    #[default]
    Never,
    /// Always encapsulate.
    Always,
    /// Encapsulate only to nodes in another subnet.
    CrossSubnet,
}

/// An IPPool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpPool {
    /// metadata.name.
    pub name: String,
    /// `cidr` (network form).
    pub cidr: Cidr,
    /// `blockSize` (defaulted to 26 / 122).
    pub block_size: u8,
    /// `ipipMode`.
    pub ipip_mode: EncapMode,
    /// `vxlanMode`.
    pub vxlan_mode: EncapMode,
    /// `disableBGPExport`.
    pub disable_bgp_export: bool,
    /// `disabled` (still exported).
    pub disabled: bool,
    /// `natOutgoing`.
    pub nat_outgoing: bool,
    /// `nodeSelector`.
    pub node_selector: Option<Selector>,
    /// `allowedUses`.
    pub allowed_uses: Vec<String>,
}

/// `spec.bgp` of a Calico Node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeBgp {
    /// `ipv4Address` (CIDR form, host bits kept).
    pub ipv4_address: Option<Cidr>,
    /// `ipv6Address`.
    pub ipv6_address: Option<Cidr>,
    /// `asNumber`.
    pub as_number: Option<Asn>,
    /// `routeReflectorClusterID`; set means the node is an RR.
    pub route_reflector_cluster_id: Option<Ipv4Addr>,
    /// `ipv4IPIPTunnelAddr`.
    pub ipv4_ipip_tunnel_addr: Option<IpAddr>,
}

/// A Calico Node (`projectcalico.org/v3` or built from a Kubernetes
/// Node's annotations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// metadata.name (the node name).
    pub name: String,
    /// metadata.labels.
    pub labels: Labels,
    /// `spec.bgp`.
    pub bgp: NodeBgp,
    /// The pod CIDRs Kubernetes gave the node (`spec.podCIDRs` of a
    /// Kubernetes Node, `status.podCIDRs` of a Calico Node): its blocks
    /// under host-local IPAM (calico-bgp.md 2.7).
    pub pod_cidrs: Vec<Cidr>,
}

/// `spec.state` of a BlockAffinity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AffinityState {
    /// Confirmed (also when no state is written).
    #[default]
    Confirmed,
    /// Not yet claimed: treated as absent.
    Pending,
    /// Being released: blackhole, no aggregation.
    PendingDeletion,
}

/// A BlockAffinity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockAffinity {
    /// metadata.name.
    pub name: String,
    /// `spec.node`.
    pub node: String,
    /// `spec.cidr` (network form).
    pub cidr: Cidr,
    /// `spec.state`.
    pub state: AffinityState,
    /// `spec.deleted`.
    pub deleted: bool,
}

/// A Kubernetes Secret (decoded).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    /// metadata.name.
    pub name: String,
    /// metadata.namespace, if written.
    pub namespace: Option<String>,
    /// `data` (decoded) merged with `stringData` (which wins).
    pub data: BTreeMap<String, String>,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print secret values in logs.
        f.debug_struct("Secret")
            .field("name", &self.name)
            .field("namespace", &self.namespace)
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .finish()
    }
}
