//! The policy context: the JSON the daemon hands every plugin's `init`.
//!
//! Field names are snake_case, except the BGPFilter spec, which mirrors
//! the `projectcalico.org/v3` resource (camelCase) so a filter's spec can
//! be copied in as is. Every field has a default, so `{}` is a valid
//! (empty) context.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Priority of a normal workload route (calico-bgp.md 4.7).
pub const NORMAL_ROUTE_PRIORITY: u32 = 1024;

/// LOCAL_PREF = `PRIORITY_BASE` - priority (calico-bgp.md 4.7).
pub const PRIORITY_BASE: u32 = 2_147_483_647;

/// Everything a policy plugin may know about this node's Calico state.
/// `P` is the plugin's own config (the `plugin` key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyContext<P = IgnoredConfig> {
    /// This node.
    pub node: NodeContext,
    /// The node is a route reflector (has a cluster id).
    pub is_route_reflector: bool,
    /// IP pools.
    pub pools: Vec<PoolContext>,
    /// This node's IPAM blocks (confirmed or pending deletion).
    pub local_blocks: Vec<LocalBlock>,
    /// Service advertisement (BGPConfiguration).
    pub services: ServiceContext,
    /// Service CIDRs originated as static routes ("/staticroutes").
    pub static_routes: Vec<String>,
    /// CIDRs never installed in the kernel (service ranges).
    pub reject_cidrs: Vec<String>,
    /// Communities to add on export (calico-bgp.md 4.6).
    pub prefix_advertisements: Vec<PrefixAdvertisement>,
    /// BGPFilter specs by name.
    pub bgp_filters: BTreeMap<String, BgpFilterSpec>,
    /// Who programs pool routes (calico-bgp.md 4.8).
    pub program_cluster_routes: ProgramClusterRoutes,
    /// Normal IPv4 route priority.
    pub ipv4_normal_route_priority: u32,
    /// Normal IPv6 route priority.
    pub ipv6_normal_route_priority: u32,
    /// Pre-v3.32 LOCAL_PREF handling (no priority encoding).
    pub classic_local_pref: bool,
    /// The plugin's own config from its manifest.
    pub plugin: P,
}

impl<P: Default> Default for PolicyContext<P> {
    fn default() -> Self {
        Self {
            node: NodeContext::default(),
            is_route_reflector: false,
            pools: Vec::new(),
            local_blocks: Vec::new(),
            services: ServiceContext::default(),
            static_routes: Vec::new(),
            reject_cidrs: Vec::new(),
            prefix_advertisements: Vec::new(),
            bgp_filters: BTreeMap::new(),
            program_cluster_routes: ProgramClusterRoutes::default(),
            ipv4_normal_route_priority: NORMAL_ROUTE_PRIORITY,
            ipv6_normal_route_priority: NORMAL_ROUTE_PRIORITY,
            classic_local_pref: false,
            plugin: P::default(),
        }
    }
}

/// A plugin config that accepts and discards any JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IgnoredConfig;

impl Serialize for IgnoredConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

impl<'de> Deserialize<'de> for IgnoredConfig {
    fn deserialize<D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Self)
    }
}

/// This node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeContext {
    /// Node name.
    pub name: String,
    /// Node AS.
    #[serde(rename = "as")]
    pub as_number: u32,
    /// Router id, dotted quad.
    pub router_id: String,
    /// IPv4 address ("" when none).
    pub ipv4_address: String,
    /// IPv4 subnet CIDR, e.g. "10.0.0.0/24" ("" when unknown).
    pub ipv4_subnet: String,
    /// IPv6 address ("" when none).
    pub ipv6_address: String,
    /// IPv6 subnet CIDR ("" when unknown).
    pub ipv6_subnet: String,
    /// Route-reflector cluster id ("" unless an RR).
    pub rr_cluster_id: String,
}

/// `ipipMode` / `vxlanMode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum EncapMode {
    /// Always encapsulate.
    Always,
    /// Encapsulate across subnets only.
    CrossSubnet,
    /// No encapsulation.
    #[default]
    Never,
}

impl EncapMode {
    /// `Always` or `CrossSubnet`.
    pub fn enabled(self) -> bool {
        self != Self::Never
    }
}

/// An IPPool (calico-bgp.md 2.6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolContext {
    /// Pool CIDR.
    pub cidr: String,
    /// Block size (prefix length of its blocks); 0 means the default.
    pub block_size: u8,
    /// IPIP mode.
    pub ipip_mode: EncapMode,
    /// VXLAN mode.
    pub vxlan_mode: EncapMode,
    /// Never export anything inside the pool.
    pub disable_bgp_export: bool,
    /// Pool disabled for allocation (still exported).
    pub disabled: bool,
}

/// One of this node's IPAM blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LocalBlock {
    /// Block CIDR.
    pub cidr: String,
    /// Affinity in `pendingDeletion`: blackhole, but no aggregation.
    pub pending_deletion: bool,
}

/// Service advertisement settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceContext {
    /// `serviceClusterIPs` CIDRs.
    pub cluster_ips: Vec<String>,
    /// `serviceExternalIPs` CIDRs.
    pub external_ips: Vec<String>,
    /// `serviceLoadBalancerIPs` CIDRs.
    pub load_balancer_ips: Vec<String>,
    /// `serviceLoadBalancerAggregation` is Enabled.
    pub lb_aggregation: bool,
}

impl Default for ServiceContext {
    fn default() -> Self {
        Self {
            cluster_ips: Vec::new(),
            external_ips: Vec::new(),
            load_balancer_ips: Vec::new(),
            lb_aggregation: true,
        }
    }
}

/// A `prefixAdvertisements` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PrefixAdvertisement {
    /// CIDR the communities apply to (routes inside it).
    pub cidr: String,
    /// "a:b" standard or "a:b:c" large communities.
    pub communities: Vec<String>,
}

/// `programClusterRoutes` (v3.33).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProgramClusterRoutes {
    /// Felix programs every pool route.
    Disabled,
    /// The BGP daemon programs no-encap pools (v3.33 default).
    #[default]
    EnabledNoEncapOnly,
    /// The BGP daemon programs IPIP pools.
    #[serde(rename = "EnabledIPIPOnly")]
    EnabledIpipOnly,
    /// The BGP daemon programs IPIP and no-encap pools (classic).
    Enabled,
}

impl ProgramClusterRoutes {
    /// The BGP daemon owns IPIP pool routes.
    pub fn owns_ipip(self) -> bool {
        matches!(self, Self::Enabled | Self::EnabledIpipOnly)
    }

    /// The BGP daemon owns no-encap pool routes.
    pub fn owns_no_encap(self) -> bool {
        matches!(self, Self::Enabled | Self::EnabledNoEncapOnly)
    }
}

/// A BGPFilter spec (calico-bgp.md 2.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BgpFilterSpec {
    /// `exportV4` rules.
    #[serde(rename = "exportV4")]
    pub export_v4: Vec<BgpFilterRule>,
    /// `importV4` rules.
    #[serde(rename = "importV4")]
    pub import_v4: Vec<BgpFilterRule>,
    /// `exportV6` rules.
    #[serde(rename = "exportV6")]
    pub export_v6: Vec<BgpFilterRule>,
    /// `importV6` rules.
    #[serde(rename = "importV6")]
    pub import_v6: Vec<BgpFilterRule>,
}

/// One BGPFilter rule; every present condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BgpFilterRule {
    /// Prefix to compare with (`matchOperator` required with it).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cidr: String,
    /// How `cidr` matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_operator: Option<MatchOperator>,
    /// Prefix length range (requires `cidr`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix_length: Option<PrefixLength>,
    /// `RemotePeers`: learned from BGP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<RuleSource>,
    /// Outgoing interface glob.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// iBGP or eBGP peer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_type: Option<PeerType>,
    /// The route carries this community.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub communities: Option<CommunityMatch>,
    /// The AS_PATH begins with these ASNs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub as_path_prefix: Vec<u32>,
    /// Calico priority equals this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    /// Accept or Reject.
    pub action: FilterAction,
    /// Operations run on Accept.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<FilterOperation>,
}

/// `matchOperator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MatchOperator {
    /// The prefix equals `cidr`.
    Equal,
    /// The prefix differs from `cidr`.
    NotEqual,
    /// The prefix lies inside `cidr` or equals it.
    In,
    /// The negation of `In`.
    NotIn,
}

/// `prefixLength`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PrefixLength {
    /// Lowest length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<u8>,
    /// Highest length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<u8>,
}

/// `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleSource {
    /// Learned from BGP.
    RemotePeers,
}

/// `peerType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerType {
    /// Same AS.
    #[serde(rename = "iBGP")]
    Ibgp,
    /// Different AS.
    #[serde(rename = "eBGP")]
    Ebgp,
}

/// `communities`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommunityMatch {
    /// Exactly one "a:b" or "a:b:c".
    pub values: Vec<String>,
}

/// `action`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FilterAction {
    /// Accept (after the operations).
    #[default]
    Accept,
    /// Reject.
    Reject,
}

/// One `operations[]` entry; exactly one field is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FilterOperation {
    /// Add a community.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_community: Option<CommunityValue>,
    /// Prepend ASNs so the path begins with them in the given order.
    #[serde(rename = "prependASPath", skip_serializing_if = "Option::is_none")]
    pub prepend_as_path: Option<AsPathPrepend>,
    /// Set LOCAL_PREF = 2147483647 - value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_priority: Option<PriorityValue>,
}

/// `addCommunity`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommunityValue {
    /// "a:b" or "a:b:c".
    pub value: String,
}

/// `prependASPath`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AsPathPrepend {
    /// ASNs, first one first in the resulting path.
    pub prefix: Vec<u32>,
}

/// `setPriority`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PriorityValue {
    /// The priority.
    pub value: u32,
}
