//! Per-service host routes (calico-bgp.md 4.9), following the rules of
//! confd's route generator (`advertiseThisService` and
//! `getAllRoutesForService` in `routes.go`).
//!
//! confd keeps a reference count per route as Services and Endpoints
//! come and go. A plan is computed from a complete snapshot, so the
//! count is the number of Services that want an address now: the
//! address is advertised while that number is above zero, once.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::k8s::{EndpointSlice, Service, ServiceType, TrafficPolicy};
use crate::load::Resources;
use crate::plan::output::{ServiceRanges, is_host};
use crate::types::Cidr;

/// The host routes `node` advertises for the Services in `res`.
pub(crate) fn service_addresses(
    res: &Resources,
    node: &str,
    ranges: &ServiceRanges,
) -> Vec<Cidr> {
    if ranges.node_excluded || !ranges.configured() {
        return Vec::new();
    }
    let mut slices: BTreeMap<String, Vec<&EndpointSlice>> = BTreeMap::new();
    for slice in res.endpoint_slices.values() {
        if let Some(key) = slice.service_key() {
            slices.entry(key).or_default().push(slice);
        }
    }
    let mut wanted = BTreeSet::new();
    for svc in res.services.values() {
        let eps = slices.get(&svc.key()).map(Vec::as_slice).unwrap_or(&[]);
        if advertise(svc, eps, node, ranges) {
            wanted.extend(routes(svc, ranges));
        }
    }
    wanted.into_iter().collect()
}

/// `advertiseThisService`: whether this node advertises `svc` now.
fn advertise(
    svc: &Service,
    slices: &[&EndpointSlice],
    node: &str,
    ranges: &ServiceRanges,
) -> bool {
    // ExternalName Services have no cluster IP to route; headless ones
    // neither.
    if svc.service_type == ServiceType::ExternalName
        || svc.headless
        || svc.cluster_ips.is_empty()
    {
        return false;
    }
    let policy = svc.external_traffic_policy;
    if policy == Some(TrafficPolicy::Cluster) {
        // An address allow-listed as a single /32 (/128) is advertised
        // by every node: nothing else would carry it.
        let lb = svc.service_type == ServiceType::LoadBalancer
            && svc
                .load_balancer_ip
                .iter()
                .chain(&svc.load_balancer_ingress)
                .any(|ip| single(&ranges.load_balancer_ips, ip));
        if lb
            || svc
                .external_ips
                .iter()
                .any(|ip| single(&ranges.external_ips, ip))
        {
            return true;
        }
    }
    let local = policy == Some(TrafficPolicy::Local);
    // Otherwise a Cluster Service rides on the aggregated ranges, unless
    // aggregation is off: then it is advertised while it has endpoints.
    if !local && ranges.load_balancer_aggregation {
        return false;
    }
    slices
        .iter()
        .filter(|s| {
            s.address_type
                .family()
                .is_some_and(|f| svc.ip_families.contains(&f))
        })
        .flat_map(|s| &s.endpoints)
        // Not-ready endpoints count as absent.
        .filter(|e| e.ready)
        .any(|e| !local || e.node_name.as_deref() == Some(node))
}

/// `getAllRoutesForService`: the cluster IPs (when cluster IPs are
/// advertised at all), and the external and load-balancer ingress IPs
/// inside their allow-lists.
fn routes(svc: &Service, ranges: &ServiceRanges) -> Vec<Cidr> {
    let mut ips: Vec<IpAddr> = Vec::new();
    if !ranges.cluster_ips.is_empty() {
        ips.extend(&svc.cluster_ips);
    }
    ips.extend(
        svc.external_ips
            .iter()
            .filter(|ip| allowed(&ranges.external_ips, ip)),
    );
    ips.extend(
        svc.load_balancer_ingress
            .iter()
            .filter(|ip| allowed(&ranges.load_balancer_ips, ip)),
    );
    ips.into_iter().filter_map(host).collect()
}

fn host(ip: IpAddr) -> Option<Cidr> {
    Cidr::new(ip, crate::types::Family::of(&ip).max_len())
}

fn allowed(list: &[Cidr], ip: &IpAddr) -> bool {
    host(*ip).is_some_and(|h| list.iter().any(|c| c.contains(&h)))
}

fn single(list: &[Cidr], ip: &IpAddr) -> bool {
    host(*ip).is_some_and(|h| list.iter().any(|c| is_host(c) && c.contains(&h)))
}
