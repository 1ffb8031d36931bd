//! Calico route priority (calico-bgp.md 4.7): LOCAL_PREF = 2147483647 -
//! priority, normal 1024, elevated below that.

use bgplet_sdk::{Prefix, RouteRef, SourceFlags};

use crate::config::{Config, local_pref_to_priority};

/// BIRD's default LOCAL_PREF, added to eBGP routes on import.
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// LOCAL_PREF as BIRD sees it: eBGP-learned routes without one get 100
/// on import (BIRD 1.x); anything else keeps what it carries.
pub fn bgp_local_pref(route: &RouteRef<'_>) -> Option<u32> {
    route.local_pref().or_else(|| {
        route
            .source()
            .contains(SourceFlags::EBGP)
            .then_some(DEFAULT_LOCAL_PREF)
    })
}

/// The route's priority (BIRD's `krt_metric` in the export pre-step):
/// from LOCAL_PREF for BGP routes, the normal priority when it has none.
/// Locally originated routes have the normal priority unless the host
/// gave them a LOCAL_PREF, which then encodes their priority (an
/// elevated live-migration /32 carries 2147483647 - 512).
pub fn priority(cfg: &Config, route: &RouteRef<'_>) -> u32 {
    let lp = if route.from_bgp() {
        bgp_local_pref(route)
    } else {
        route.local_pref()
    };
    lp.map_or_else(
        || cfg.normal_priority(&route.prefix()),
        local_pref_to_priority,
    )
}

/// True when `priority` is elevated (below normal) for `prefix`.
pub fn elevated(cfg: &Config, prefix: &Prefix, priority: u32) -> bool {
    priority < cfg.normal_priority(prefix)
}
