//! Kernel programming (`calico_kernel_programming`, calico-bgp.md 4.8).

use bgplet_sdk::context::EncapMode;
use bgplet_sdk::{KernelAction, RouteAction, RouteRef, SourceFlags};

use crate::config::{Config, local_pref_to_priority};
use crate::priority;

/// Decides best route `route`.
pub fn kernel(cfg: &Config, route: &RouteRef<'_>) -> KernelAction {
    let prefix = route.prefix().network();
    let skip = KernelAction {
        action: RouteAction::Skip,
        metric: 0,
    };
    // Step 1: service ranges are never installed.
    if cfg.reject_cidrs.iter().any(|c| c.contains(&prefix)) {
        return skip;
    }
    // Step 2 (v3.32+): BGP routes get metric 2147483647 - LOCAL_PREF
    // (1024 when absent); other routes keep the kernel default.
    let metric = if !cfg.classic && route.from_bgp() {
        priority::bgp_local_pref(route)
            .map_or(cfg.normal_priority(&prefix), local_pref_to_priority)
    } else {
        0
    };
    // Step 3 (WireGuard) needs peer WireGuard addresses, which the
    // context does not carry yet.
    // Step 4: the first pool containing the route, in sorted CIDR order.
    // IPv4 pool statements exist only when the node's IPv4 subnet is
    // known; the IPv6 filter has only the reject statements.
    let v4 = prefix.is_ipv4();
    let pools_apply = !v4 || cfg.ipv4_subnet.is_some();
    let pool = cfg
        .pools
        .iter()
        .find(|p| pools_apply && p.cidr.contains(&prefix));
    let action = match pool {
        None => RouteAction::Install,
        Some(p) if p.vxlan.enabled() => return skip,
        Some(p) if p.ipip.enabled() => {
            if !cfg.cluster_routes.owns_ipip() {
                return skip;
            }
            // CrossSubnet: no tunnel when the next hop is on this node's
            // subnet. (IPIP is IPv4 only; an IPv6 route is plain.)
            if !v4
                || (p.ipip == EncapMode::CrossSubnet && same_subnet(cfg, route))
            {
                RouteAction::Install
            } else {
                RouteAction::Onlink
            }
        }
        Some(_) if !cfg.cluster_routes.owns_no_encap() => return skip,
        Some(_) => RouteAction::Install,
    };
    // This node's blocks and service statics are blackholes in BIRD's
    // static protocol; they pass the same filter (4.4, 4.8).
    let blackhole = route.source().contains(SourceFlags::OWN_BLOCK)
        || (route.is_local()
            && cfg.static_routes.iter().any(|s| s.contains(&prefix)));
    KernelAction {
        action: if blackhole {
            RouteAction::Blackhole
        } else {
            action
        },
        metric,
    }
}

/// The BGP next hop lies inside this node's IPv4 subnet.
fn same_subnet(cfg: &Config, route: &RouteRef<'_>) -> bool {
    match (cfg.ipv4_subnet, route.next_hop()) {
        (Some(s), Some(nh)) => s.contains_addr(nh),
        _ => false,
    }
}
