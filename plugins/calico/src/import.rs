//! Import (calico-bgp.md 4.3, v3.32+ form).

use bgplet_sdk::{PeerInfo, RouteRef, Verdict};

use crate::config::Config;
use crate::filter::{self, Direction};
use crate::priority;

/// Decides a route received from `from`: the peer's BGPFilter import
/// rules in order (first match decides), else accept. Step 2 (an
/// elevated priority raises the preference to 200) is a selection
/// concern here: the selection hook reads it from LOCAL_PREF, so the
/// import answer does not change.
pub fn import(cfg: &Config, from: &PeerInfo, route: &RouteRef<'_>) -> Verdict {
    let prio = priority::priority(cfg, route);
    match filter::evaluate(cfg, Direction::Import, from, route, prio) {
        Some(Err(())) => Verdict::Reject,
        Some(Ok([])) | None => Verdict::Accept,
        Some(Ok(ops)) => Verdict::AcceptWith(ops.to_vec()),
    }
}
