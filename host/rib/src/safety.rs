//! Host-enforced checks on received routes, run before the import
//! hook. No plugin can turn them off: they keep loops and unusable next
//! hops out of the RIB whatever the policy says (calico-bgp.md 5.2).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgplet_wire::PathAttributes;

/// Why a received route was dropped by the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SafetyDrop {
    /// Our AS appears in AS_PATH more than `allow_local_as` times.
    AsLoop,
    /// ORIGINATOR_ID is our router id (RFC 4456 section 8).
    OriginatorId,
    /// CLUSTER_LIST holds our cluster id (RFC 4456 section 8).
    ClusterList,
    /// The next hop can never be used (martian or one of ours).
    MartianNextHop,
}

/// How many prefixes each check dropped (treated as withdrawn).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SafetyCounters {
    /// AS_PATH loops.
    pub as_loop: u64,
    /// ORIGINATOR_ID equal to our router id.
    pub originator_id: u64,
    /// CLUSTER_LIST holding our cluster id.
    pub cluster_list: u64,
    /// Martian next hops, or next hops that are our own addresses.
    pub martian_next_hop: u64,
}

impl SafetyCounters {
    /// Adds `n` drops for `why`.
    pub(crate) fn add(&mut self, why: SafetyDrop, n: u64) {
        let slot = match why {
            SafetyDrop::AsLoop => &mut self.as_loop,
            SafetyDrop::OriginatorId => &mut self.originator_id,
            SafetyDrop::ClusterList => &mut self.cluster_list,
            SafetyDrop::MartianNextHop => &mut self.martian_next_hop,
        };
        *slot += n;
    }

    /// Every drop together.
    pub fn total(&self) -> u64 {
        self.as_loop
            + self.originator_id
            + self.cluster_list
            + self.martian_next_hop
    }
}

/// What the attribute checks compare with, per session.
pub(crate) struct Checks {
    pub local_as: u32,
    pub allow_local_as: u8,
    pub router_id: Ipv4Addr,
    /// `Some` when this session checks CLUSTER_LIST.
    pub cluster_id: Option<Ipv4Addr>,
}

impl Checks {
    /// The attribute-level checks, shared by every prefix of an UPDATE.
    pub fn attributes(&self, attrs: &PathAttributes) -> Option<SafetyDrop> {
        if let Some(path) = &attrs.as_path {
            // BIRD's `as_path_contains(path, as, allow + 1)`: a loop is
            // our AS seen more often than allowed, in any segment.
            let seen = path
                .segments
                .iter()
                .flat_map(|s| s.asns.iter())
                .filter(|&&a| a == self.local_as)
                .count();
            if seen > usize::from(self.allow_local_as) {
                return Some(SafetyDrop::AsLoop);
            }
        }
        if attrs.originator_id == Some(self.router_id) {
            return Some(SafetyDrop::OriginatorId);
        }
        if let (Some(id), Some(list)) = (self.cluster_id, &attrs.cluster_list)
            && list.contains(&id)
        {
            return Some(SafetyDrop::ClusterList);
        }
        None
    }
}

/// Whether a next hop can never be used: unspecified, loopback,
/// multicast or reserved space, or one of our own addresses.
pub(crate) fn martian(next_hop: IpAddr, own: &[IpAddr]) -> bool {
    if own.contains(&next_hop) {
        return true;
    }
    match next_hop {
        IpAddr::V4(ip) => martian_v4(ip),
        IpAddr::V6(ip) => martian_v6(ip),
    }
}

/// 0.0.0.0/8, 127.0.0.0/8, 224.0.0.0/4 and 240.0.0.0/4.
fn martian_v4(ip: Ipv4Addr) -> bool {
    let first = ip.octets()[0];
    first == 0 || first == 127 || first >= 224
}

/// ::, ::1 and ff00::/8.
fn martian_v6(ip: Ipv6Addr) -> bool {
    ip.is_unspecified() || ip.is_loopback() || ip.octets()[0] == 0xff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn martian_ranges_are_recognised_and_ordinary_hops_are_not() {
        let own: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap()];
        for bad in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "224.0.0.5",
            "239.255.255.255",
            "240.0.0.1",
            "255.255.255.255",
            "10.0.0.1",
            "::",
            "::1",
            "ff02::1",
        ] {
            assert!(martian(bad.parse().unwrap(), &own), "{bad}");
        }
        for good in ["10.0.0.2", "192.0.2.1", "223.255.255.255", "2001:db8::1"]
        {
            assert!(!martian(good.parse().unwrap(), &own), "{good}");
        }
    }
}
