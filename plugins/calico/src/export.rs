//! Export: BIRD's per-session rules (calico-bgp.md 5.2, 5.3) around
//! `calico_export_to_bgp_peers` (4.5).

use bgplet_sdk::{
    Community, Edit, NextHopMode, PeerInfo, RouteRef, SourceFlags, Verdict,
};

use crate::config::{Config, priority_to_local_pref};
use crate::filter::{self, Direction};
use crate::priority;

/// Decides `route` for the update group `to`.
pub fn export(cfg: &Config, to: &PeerInfo, route: &RouteRef<'_>) -> Verdict {
    if !reflection_allowed(to, route)
        || cluster_loop(cfg, route)
        || well_known_blocks(to, route)
    {
        return Verdict::Reject;
    }
    let prefix = route.prefix().network();
    // Step 0 (v3.32+): locally originated routes carry their priority as
    // LOCAL_PREF on iBGP sessions (LOCAL_PREF is not sent on eBGP, RFC
    // 4271 5.1.5).
    let prio = priority::priority(cfg, route);
    let mut edits = Vec::new();
    if !cfg.classic && !route.from_bgp() && to.ibgp {
        edits.push(Edit::SetLocalPref(priority_to_local_pref(prio)));
    }
    // Step 1: BGPFilter export rules; the first match is final and an
    // Accept skips every default rule.
    match filter::evaluate(cfg, Direction::Export, to, route, prio) {
        Some(Err(())) => return Verdict::Reject,
        Some(Ok(ops)) => {
            edits.extend_from_slice(ops);
            return accept(to, route, edits);
        }
        None => {}
    }
    // Step 2: pools with disableBGPExport.
    if cfg
        .pools
        .iter()
        .any(|p| p.disable_export && p.cidr.contains(&prefix))
    {
        return Verdict::Reject;
    }
    // Steps 3-4 (tunnel and eBPF interface routes) need the route's
    // interface, which ABI v0.1 does not carry: bgplet does not learn
    // Felix's kernel routes, so they never reach export.
    // Step 5: communities of every prefixAdvertisement containing it.
    for (cidr, communities) in &cfg.advertisements {
        if cidr.contains(&prefix) {
            for c in communities {
                let e = c.add();
                if !edits.contains(&e) {
                    edits.push(e);
                }
            }
        }
    }
    // Step 6: aggregation over this node's confirmed blocks.
    for block in &cfg.confirmed_blocks {
        if *block == prefix {
            return accept(to, route, edits);
        }
        if block.contains(&prefix) {
            if priority::elevated(cfg, &prefix, prio) {
                return accept(to, route, edits);
            }
            return Verdict::Reject;
        }
    }
    // Step 7: static (service) routes.
    if cfg.static_routes.iter().any(|s| s.contains(&prefix)) {
        return accept(to, route, edits);
    }
    // Step 8: an RR reflects LB and external service IPs.
    if cfg.is_rr && cfg.rr_service_ranges.iter().any(|s| s.contains(&prefix)) {
        return accept(to, route, edits);
    }
    // Step 9: pools (a `disabled` pool is still exported, 2.6).
    if cfg.pools.iter().any(|p| p.cidr.contains(&prefix)) {
        return accept(to, route, edits);
    }
    // Step 10.
    Verdict::Reject
}

/// RFC 4456 8 / BIRD 1.x: a route learned over iBGP goes to another
/// iBGP session only if it came from an RR client or goes to one.
/// eBGP-learned and local routes go everywhere.
fn reflection_allowed(to: &PeerInfo, route: &RouteRef<'_>) -> bool {
    let s = route.source();
    !s.contains(SourceFlags::IBGP)
        || !to.ibgp
        || s.contains(SourceFlags::RR_CLIENT)
        || to.rr_client
}

/// BIRD 1.x does not pass on a route from an RR client whose
/// CLUSTER_LIST already holds our cluster id (calico-bgp.md 5.2).
fn cluster_loop(cfg: &Config, route: &RouteRef<'_>) -> bool {
    route.source().contains(SourceFlags::RR_CLIENT)
        && cfg
            .cluster_id
            .is_some_and(|id| route.attrs().cluster_list().contains(&id))
}

/// RFC 1997: NO_ADVERTISE goes to no peer, NO_EXPORT to no eBGP peer.
fn well_known_blocks(to: &PeerInfo, route: &RouteRef<'_>) -> bool {
    route.has_community(Community::NO_ADVERTISE)
        || (!to.ibgp && route.has_community(Community::NO_EXPORT))
}

/// Accept with `edits` plus the next hop rules of calico-bgp.md 5.3.
fn accept(
    to: &PeerInfo,
    route: &RouteRef<'_>,
    mut edits: Vec<Edit>,
) -> Verdict {
    let self_nh = match to.next_hop_mode {
        NextHopMode::SelfAddr => true,
        // A local route has no next hop to keep: it always goes out with
        // the session's source address.
        NextHopMode::Keep => !route.from_bgp(),
        // Local routes: self. Re-advertised: iBGP keeps the received next
        // hop; eBGP (always multihop in Calico) uses self.
        NextHopMode::Auto => !route.from_bgp() || !to.ibgp,
    };
    if self_nh {
        edits.push(Edit::NextHopSelf);
    }
    if edits.is_empty() {
        Verdict::Accept
    } else {
        Verdict::AcceptWith(edits)
    }
}
