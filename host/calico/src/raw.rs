//! The resources exactly as users write them (serde shapes). Every spec
//! struct denies unknown fields, as Calico's API server does; the
//! conversion in `load` turns these into the validated model.

use serde::Deserialize;

/// An AS number as YAML gives it: an integer, or a string that is an
/// integer or asdot. An unquoted `1.10` arrives as a float.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawAsn {
    Int(i64),
    UInt(u64),
    Str(String),
    Float(f64),
}

/// `deleted` on a BlockAffinity is a string in the storage shape and a
/// bool in some tools' output.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum BoolOrString {
    Bool(bool),
    Str(String),
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CidrEntry {
    pub cidr: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCommunity {
    pub name: String,
    pub value: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrefixAdvertisement {
    pub cidr: String,
    #[serde(default)]
    pub communities: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawPassword {
    pub secret_key_ref: Option<RawSecretKeyRef>,
}

/// Kubernetes `SecretKeySelector`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSecretKeyRef {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub key: String,
    /// Accepted for compatibility; a missing Secret only warns anyway.
    #[serde(default, rename = "optional")]
    pub _optional: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct BgpConfigurationSpec {
    pub log_severity_screen: Option<String>,
    pub node_to_node_mesh_enabled: Option<bool>,
    pub as_number: Option<RawAsn>,
    #[serde(rename = "serviceClusterIPs")]
    pub service_cluster_ips: Vec<CidrEntry>,
    #[serde(rename = "serviceExternalIPs")]
    pub service_external_ips: Vec<CidrEntry>,
    #[serde(rename = "serviceLoadBalancerIPs")]
    pub service_load_balancer_ips: Vec<CidrEntry>,
    pub service_load_balancer_aggregation: Option<String>,
    pub listen_port: Option<i64>,
    pub communities: Vec<RawCommunity>,
    pub prefix_advertisements: Vec<RawPrefixAdvertisement>,
    pub node_mesh_password: Option<RawPassword>,
    pub node_mesh_max_restart_time: Option<String>,
    pub bind_mode: Option<String>,
    pub ignored_interfaces: Vec<String>,
    #[serde(rename = "localWorkloadPeeringIPV4")]
    pub local_workload_peering_ipv4: Option<String>,
    #[serde(rename = "localWorkloadPeeringIPV6")]
    pub local_workload_peering_ipv6: Option<String>,
    pub program_cluster_routes: Option<String>,
    pub ipv4_normal_route_priority: Option<i64>,
    pub ipv6_normal_route_priority: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct BgpPeerSpec {
    pub node: Option<String>,
    pub node_selector: Option<String>,
    #[serde(rename = "peerIP")]
    pub peer_ip: Option<String>,
    pub peer_selector: Option<String>,
    pub as_number: Option<RawAsn>,
    #[serde(rename = "localASNumber")]
    pub local_as_number: Option<RawAsn>,
    pub keep_original_next_hop: Option<bool>,
    pub next_hop_mode: Option<String>,
    pub password: Option<RawPassword>,
    pub source_address: Option<String>,
    pub max_restart_time: Option<String>,
    pub keepalive_time: Option<String>,
    #[serde(rename = "numAllowedLocalASNumbers")]
    pub num_allowed_local_as_numbers: Option<i64>,
    pub ttl_security: Option<i64>,
    pub reachable_by: Option<String>,
    pub filters: Vec<String>,
    pub reverse_peering: Option<String>,
    pub local_workload_selector: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct BgpFilterSpec {
    #[serde(rename = "exportV4")]
    pub export_v4: Vec<RawFilterRule>,
    #[serde(rename = "importV4")]
    pub import_v4: Vec<RawFilterRule>,
    #[serde(rename = "exportV6")]
    pub export_v6: Vec<RawFilterRule>,
    #[serde(rename = "importV6")]
    pub import_v6: Vec<RawFilterRule>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawFilterRule {
    pub cidr: Option<String>,
    pub prefix_length: Option<RawPrefixLength>,
    pub match_operator: Option<String>,
    pub source: Option<String>,
    pub interface: Option<String>,
    pub peer_type: Option<String>,
    pub communities: Option<RawCommunityMatch>,
    #[serde(rename = "asPathPrefix")]
    pub as_path_prefix: Vec<RawAsn>,
    pub priority: Option<i64>,
    pub action: Option<String>,
    pub operations: Vec<RawOperation>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawPrefixLength {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawCommunityMatch {
    pub values: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawOperation {
    pub add_community: Option<RawValue<String>>,
    #[serde(rename = "prependASPath")]
    pub prepend_as_path: Option<RawPrepend>,
    pub set_priority: Option<RawValue<i64>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawValue<T> {
    pub value: T,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawPrepend {
    pub prefix: Vec<RawAsn>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct IpPoolSpec {
    pub cidr: Option<String>,
    pub vxlan_mode: Option<String>,
    pub ipip_mode: Option<String>,
    pub nat_outgoing: Option<bool>,
    pub disabled: Option<bool>,
    #[serde(rename = "disableBGPExport")]
    pub disable_bgp_export: Option<bool>,
    pub block_size: Option<i64>,
    pub node_selector: Option<String>,
    pub namespace_selector: Option<String>,
    pub allowed_uses: Vec<String>,
    pub assignment_mode: Option<String>,
    /// APIv1 leftovers: accepted but must be unset, as Calico says.
    pub ipip: Option<serde_yaml::Value>,
    #[serde(rename = "nat-outgoing")]
    pub nat_outgoing_v1: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct NodeSpec {
    pub bgp: Option<RawNodeBgp>,
    /// Fields of Calico's NodeSpec that BGP does not use.
    #[serde(rename = "ipv4VXLANTunnelAddr")]
    pub ipv4_vxlan_tunnel_addr: Option<serde_yaml::Value>,
    #[serde(rename = "vxlanTunnelMACAddr")]
    pub vxlan_tunnel_mac_addr: Option<serde_yaml::Value>,
    #[serde(rename = "ipv6VXLANTunnelAddr")]
    pub ipv6_vxlan_tunnel_addr: Option<serde_yaml::Value>,
    #[serde(rename = "vxlanTunnelMACAddrV6")]
    pub vxlan_tunnel_mac_addr_v6: Option<serde_yaml::Value>,
    pub orch_refs: Option<serde_yaml::Value>,
    pub wireguard: Option<serde_yaml::Value>,
    pub addresses: Option<serde_yaml::Value>,
    pub interface_name: Option<serde_yaml::Value>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawNodeBgp {
    pub ipv4_address: Option<String>,
    pub ipv6_address: Option<String>,
    pub as_number: Option<RawAsn>,
    #[serde(rename = "routeReflectorClusterID")]
    pub route_reflector_cluster_id: Option<String>,
    #[serde(rename = "ipv4IPIPTunnelAddr")]
    pub ipv4_ipip_tunnel_addr: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct BlockAffinitySpec {
    pub state: Option<String>,
    pub node: Option<String>,
    pub cidr: Option<String>,
    pub deleted: Option<BoolOrString>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}
