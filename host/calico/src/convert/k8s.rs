//! Kubernetes Services, EndpointSlices and Node podCIDRs. These are not
//! our resources: unknown fields (ports, selectors, conditions we do not
//! read) are accepted, and only the fields service advertisement reads
//! are checked.

use std::net::IpAddr;

use serde::Deserialize;
use serde_yaml::Value;

use super::Ctx;
use crate::k8s::*;
use crate::types::{Cidr, Family};

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawServiceSpec {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "clusterIP")]
    cluster_ip: Option<String>,
    #[serde(rename = "clusterIPs")]
    cluster_ips: Vec<String>,
    #[serde(rename = "externalIPs")]
    external_ips: Vec<String>,
    #[serde(rename = "loadBalancerIP")]
    load_balancer_ip: Option<String>,
    external_traffic_policy: Option<String>,
    ip_families: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawServiceStatus {
    load_balancer: RawLoadBalancerStatus,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawLoadBalancerStatus {
    ingress: Vec<RawIngress>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawIngress {
    ip: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawEndpointSlice {
    address_type: Option<String>,
    endpoints: Vec<RawEndpoint>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawEndpoint {
    node_name: Option<String>,
    conditions: RawConditions,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawConditions {
    ready: Option<bool>,
}

fn family_of(ip: &IpAddr) -> Family {
    Family::of(ip)
}

/// A `v1` Service from its `spec` and `status`.
pub(crate) fn service(
    ctx: &mut Ctx<'_>,
    namespace: &str,
    name: &str,
    spec: &Value,
    status: &Value,
) -> Option<Service> {
    let s: RawServiceSpec = ctx.section(spec, "spec");
    let st: RawServiceStatus = ctx.section(status, "status");
    let service_type = ctx
        .choice(
            "spec.type",
            s.kind.as_ref(),
            &[
                ("ClusterIP", ServiceType::ClusterIp),
                ("NodePort", ServiceType::NodePort),
                ("LoadBalancer", ServiceType::LoadBalancer),
                ("ExternalName", ServiceType::ExternalName),
            ],
        )
        .unwrap_or_default();
    let primary = s.cluster_ip.as_deref().filter(|c| !c.is_empty());
    let headless = primary == Some("None")
        || s.cluster_ips.first().map(String::as_str) == Some("None");
    let mut cluster_ips = Vec::new();
    if !headless {
        if s.cluster_ips.is_empty() {
            cluster_ips
                .extend(primary.and_then(|c| ctx.ip("spec.clusterIP", c)));
        } else {
            for (i, c) in s.cluster_ips.iter().enumerate() {
                cluster_ips.extend(ctx.ip(&format!("spec.clusterIPs[{i}]"), c));
            }
            // The API server keeps clusterIP == clusterIPs[0].
            if let (Some(p), Some(first)) = (primary, s.cluster_ips.first())
                && p != first
            {
                let msg = format!("{first:?} is not spec.clusterIP {p:?}");
                ctx.err("spec.clusterIPs[0]", msg);
            }
        }
    }
    let external_ips = s
        .external_ips
        .iter()
        .enumerate()
        .filter_map(|(i, a)| ctx.ip(&format!("spec.externalIPs[{i}]"), a))
        .collect();
    let load_balancer_ip = s
        .load_balancer_ip
        .as_deref()
        .filter(|a| !a.is_empty())
        .and_then(|a| ctx.ip("spec.loadBalancerIP", a));
    let load_balancer_ingress = st
        .load_balancer
        .ingress
        .iter()
        .enumerate()
        .filter_map(|(i, g)| {
            let ip = g.ip.as_deref().filter(|a| !a.is_empty())?;
            ctx.ip(&format!("status.loadBalancer.ingress[{i}].ip"), ip)
        })
        .collect();
    let external_traffic_policy = ctx.choice(
        "spec.externalTrafficPolicy",
        s.external_traffic_policy.as_ref(),
        &[
            ("Cluster", TrafficPolicy::Cluster),
            ("Local", TrafficPolicy::Local),
        ],
    );
    let families = [("IPv4", Family::V4), ("IPv6", Family::V6)];
    let mut ip_families: Vec<Family> = s
        .ip_families
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            ctx.choice(&format!("spec.ipFamilies[{i}]"), Some(f), &families)
        })
        .collect();
    if ip_families.is_empty() {
        ip_families = cluster_ips.iter().map(family_of).collect();
        ip_families.dedup();
    }
    let svc = Service {
        namespace: namespace.to_string(),
        name: name.to_string(),
        service_type,
        headless,
        cluster_ips,
        external_ips,
        load_balancer_ip,
        load_balancer_ingress,
        external_traffic_policy,
        ip_families,
    };
    ctx.ok().then_some(svc)
}

/// A `discovery.k8s.io/v1` EndpointSlice from the whole object (its
/// fields are top-level; it has no `spec`).
pub(crate) fn endpoint_slice(
    ctx: &mut Ctx<'_>,
    namespace: &str,
    name: &str,
    service_name: Option<String>,
    object: &Value,
) -> Option<EndpointSlice> {
    let raw: RawEndpointSlice = ctx.section(object, "");
    let address_type = match &raw.address_type {
        None => {
            ctx.err("addressType", "is required");
            None
        }
        Some(t) => ctx.choice(
            "addressType",
            Some(t),
            &[
                ("IPv4", AddressType::Ipv4),
                ("IPv6", AddressType::Ipv6),
                ("FQDN", AddressType::Fqdn),
            ],
        ),
    };
    let endpoints = raw
        .endpoints
        .into_iter()
        .map(|e| Endpoint {
            node_name: e.node_name.filter(|n| !n.is_empty()),
            // "A nil value should be interpreted as ready" (the
            // EndpointConditions API).
            ready: e.conditions.ready.unwrap_or(true),
        })
        .collect();
    let slice = EndpointSlice {
        namespace: namespace.to_string(),
        name: name.to_string(),
        service_name,
        address_type: address_type?,
        endpoints,
    };
    ctx.ok().then_some(slice)
}

/// A Node's pod CIDRs: `podCIDRs` (dual stack), else the older single
/// `podCIDR`, under `section` (`spec` of a Kubernetes Node, `status` of
/// a Calico Node).
pub(crate) fn pod_cidrs(
    ctx: &mut Ctx<'_>,
    section: Option<&Value>,
    path: &str,
) -> Vec<Cidr> {
    let Some(section) = section else {
        return Vec::new();
    };
    let list = section.get("podCIDRs");
    let single = section.get("podCIDR").and_then(Value::as_str);
    let texts: Vec<(String, String)> = match list {
        Some(Value::Sequence(items)) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let text = v.as_str().unwrap_or_default().to_string();
                (format!("{path}.podCIDRs[{i}]"), text)
            })
            .collect(),
        None | Some(Value::Null) | Some(Value::Sequence(_)) => single
            .filter(|s| !s.is_empty())
            .map(|s| vec![(format!("{path}.podCIDR"), s.to_string())])
            .unwrap_or_default(),
        Some(_) => {
            ctx.err(&format!("{path}.podCIDRs"), "must be a list of CIDRs");
            Vec::new()
        }
    };
    texts
        .iter()
        .filter_map(|(field, text)| ctx.cidr(field, text, false))
        .map(|c| c.network())
        .collect()
}
