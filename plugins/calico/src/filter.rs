//! BGPFilter evaluation (calico-bgp.md 2.5): rules in the order of the
//! peer's filters, first match decides.

use bgplet_sdk::context::{MatchOperator, PeerType};
use bgplet_sdk::{Edit, PeerInfo, PeerKind, Prefix, RouteRef};

use crate::config::{Config, Rule};

/// Which rule list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `importV4` / `importV6`.
    Import,
    /// `exportV4` / `exportV6`.
    Export,
}

/// The first matching rule's decision: `Some(Ok(edits))` accept with
/// the operations' edits, `Some(Err(()))` reject, `None` no match.
pub fn evaluate<'c>(
    cfg: &'c Config,
    dir: Direction,
    peer: &PeerInfo,
    route: &RouteRef<'_>,
    priority: u32,
) -> Option<Result<&'c [Edit], ()>> {
    // Mesh sessions never get BGPFilters.
    if peer.kind == PeerKind::Mesh {
        return None;
    }
    let v4 = route.prefix().is_ipv4();
    for name in &peer.filters {
        // A filter the peer names but that does not exist is skipped.
        let Some(f) = cfg.filters.get(name) else {
            continue;
        };
        let rules = match (dir, v4) {
            (Direction::Import, true) => &f.import_v4,
            (Direction::Import, false) => &f.import_v6,
            (Direction::Export, true) => &f.export_v4,
            (Direction::Export, false) => &f.export_v6,
        };
        for rule in rules {
            if matches(rule, peer, route, priority) {
                return Some(if rule.accept {
                    Ok(&rule.edits)
                } else {
                    Err(())
                });
            }
        }
    }
    None
}

fn matches(
    rule: &Rule,
    peer: &PeerInfo,
    route: &RouteRef<'_>,
    priority: u32,
) -> bool {
    if rule.has_interface {
        return false;
    }
    if let Some((cidr, op, lo, hi)) = rule.cidr
        && !cidr_matches(&route.prefix().network(), &cidr, op, lo, hi)
    {
        return false;
    }
    if rule.remote_only && !route.from_bgp() {
        return false;
    }
    match rule.peer_type {
        Some(PeerType::Ibgp) if !peer.ibgp => return false,
        Some(PeerType::Ebgp) if peer.ibgp => return false,
        _ => {}
    }
    if let Some(c) = rule.community
        && !route.has_community(c)
    {
        return false;
    }
    if !rule.as_path_prefix.is_empty()
        && !route.as_path().starts_with(&rule.as_path_prefix)
    {
        return false;
    }
    rule.priority.is_none_or(|p| p == priority)
}

/// `In`: inside `cidr` with a length in `lo..=hi` (BIRD's `cidr{lo,hi}`
/// pattern); `Equal`: exactly `cidr` (and its length in range).
fn cidr_matches(
    p: &Prefix,
    cidr: &Prefix,
    op: MatchOperator,
    lo: u8,
    hi: u8,
) -> bool {
    let in_range = (lo..=hi).contains(&p.len);
    match op {
        MatchOperator::Equal => p == cidr && in_range,
        MatchOperator::NotEqual => !(p == cidr && in_range),
        MatchOperator::In => cidr.contains(p) && in_range,
        MatchOperator::NotIn => !(cidr.contains(p) && in_range),
    }
}
