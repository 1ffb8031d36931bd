//! Session planning for one node, following calico-bgp.md §3 (itself a
//! paraphrase of confd's `updatePeersV1` and `buildPeerFromData`).
//!
//! Per family: the mesh (§3.2), then explicit peers in three passes
//! (§3.3): global BGPPeers, node-scoped BGPPeers (a global entry with
//! the same (ip, port) wins), and automatic reverse peerings (never
//! overwriting). Entries for our own address are dropped and the list is
//! sorted by name.

mod output;
mod peers;
mod services;

use std::net::{IpAddr, Ipv4Addr};

use crate::encoding::sha256;
use crate::error::{PlanError, Warning};
use crate::load::Resources;
use crate::model::*;
use crate::types::Family;

pub use output::*;
use peers::Planner;

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
    for p in res.peers.values() {
        if p.local_workload_selector.is_some() {
            let m = "localWorkloadSelector peers are not planned yet";
            planner.warn("BGPPeer", &p.name, m.to_string());
        }
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
        node_excluded: me
            .labels
            .get(crate::k8s::EXCLUDE_FROM_LB_LABEL)
            .is_some_and(|v| v == "true"),
    };
    let service_addresses =
        services::service_addresses(res, node_name, &services);
    Ok(NodePlan {
        sessions,
        local_blocks,
        pools,
        services,
        service_addresses,
        prefix_advertisements,
        ignored_interfaces: d.ignored_interfaces.clone(),
        program_cluster_routes: d.program_cluster_routes.unwrap_or_default(),
        ipv4_normal_route_priority: d
            .ipv4_normal_route_priority
            .unwrap_or(DEFAULT_NORMAL_ROUTE_PRIORITY),
        ipv6_normal_route_priority: d
            .ipv6_normal_route_priority
            .unwrap_or(DEFAULT_NORMAL_ROUTE_PRIORITY),
        warnings: dedup(planner.warnings),
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
pub(crate) fn address(node: &Node, family: Family) -> Option<IpAddr> {
    let c = match family {
        Family::V4 => node.bgp.ipv4_address,
        Family::V6 => node.bgp.ipv6_address,
    };
    c.map(|c| c.addr())
}

/// §3.6: the side whose address sorts later as a string waits. This is
/// byte-wise text order, so "10.0.0.10" < "10.0.0.9", as BIRD-based
/// calico-node does it; numeric order would deadlock mixed pairs.
pub(crate) fn passive_by_order(peer: IpAddr, me: IpAddr) -> bool {
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

/// Drops repeats (a missing secret is noticed once per family) while
/// keeping first-seen order.
fn dedup(warnings: Vec<Warning>) -> Vec<Warning> {
    let mut out: Vec<Warning> = Vec::with_capacity(warnings.len());
    for w in warnings {
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}
