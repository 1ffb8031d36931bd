//! The Kubernetes objects that service advertisement reads (calico-bgp.md
//! 4.9): `v1` Services and `discovery.k8s.io/v1` EndpointSlices, reduced
//! to the fields confd's route generator looks at.

use std::net::IpAddr;

use crate::types::Family;

/// The label an EndpointSlice names its Service with.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The node label that opts a node out of service advertisement.
pub const EXCLUDE_FROM_LB_LABEL: &str =
    "node.kubernetes.io/exclude-from-external-load-balancers";

/// `spec.type` of a Service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ServiceType {
    /// `ClusterIP` (the default).
    #[default]
    ClusterIp,
    /// `NodePort`.
    NodePort,
    /// `LoadBalancer`.
    LoadBalancer,
    /// `ExternalName`: a DNS alias, never advertised.
    ExternalName,
}

/// `spec.externalTrafficPolicy` of a Service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrafficPolicy {
    /// Any node may forward to any endpoint.
    Cluster,
    /// Only nodes with a local endpoint take traffic (source IP kept).
    Local,
}

/// A `v1` Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// metadata.namespace (`default` when not written).
    pub namespace: String,
    /// metadata.name.
    pub name: String,
    /// `spec.type`.
    pub service_type: ServiceType,
    /// `spec.clusterIP` is `None`: a headless Service.
    pub headless: bool,
    /// `spec.clusterIPs` (else `spec.clusterIP`), primary first.
    pub cluster_ips: Vec<IpAddr>,
    /// `spec.externalIPs`.
    pub external_ips: Vec<IpAddr>,
    /// `spec.loadBalancerIP` (deprecated, still read by Calico).
    pub load_balancer_ip: Option<IpAddr>,
    /// `status.loadBalancer.ingress[].ip` (hostname-only entries skipped).
    pub load_balancer_ingress: Vec<IpAddr>,
    /// `spec.externalTrafficPolicy`; `None` when unset (ClusterIP
    /// Services have none).
    pub external_traffic_policy: Option<TrafficPolicy>,
    /// `spec.ipFamilies`, else the families of the cluster IPs.
    pub ip_families: Vec<Family>,
}

impl Service {
    /// `namespace/name`, the key EndpointSlices are matched by.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// `addressType` of an EndpointSlice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressType {
    /// `IPv4`.
    Ipv4,
    /// `IPv6`.
    Ipv6,
    /// `FQDN` (deprecated): matches no IP family.
    Fqdn,
}

impl AddressType {
    /// The IP family, if the slice holds IP addresses.
    pub fn family(self) -> Option<Family> {
        match self {
            Self::Ipv4 => Some(Family::V4),
            Self::Ipv6 => Some(Family::V6),
            Self::Fqdn => None,
        }
    }
}

/// One endpoint of an EndpointSlice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `nodeName`: where the endpoint runs.
    pub node_name: Option<String>,
    /// `conditions.ready`; unset counts as ready, as the API says.
    pub ready: bool,
}

/// A `discovery.k8s.io/v1` EndpointSlice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointSlice {
    /// metadata.namespace (`default` when not written).
    pub namespace: String,
    /// metadata.name.
    pub name: String,
    /// The `kubernetes.io/service-name` label.
    pub service_name: Option<String>,
    /// `addressType`.
    pub address_type: AddressType,
    /// `endpoints`.
    pub endpoints: Vec<Endpoint>,
}

impl EndpointSlice {
    /// The `namespace/name` key of the Service it belongs to.
    pub fn service_key(&self) -> Option<String> {
        self.service_name
            .as_ref()
            .map(|s| format!("{}/{s}", self.namespace))
    }
}
