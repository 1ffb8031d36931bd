//! The route model the FIB programs, independent of the RIB.

use std::net::IpAddr;
use std::time::Duration;

/// A destination prefix: network address and prefix length. Host bits must
/// be zero (the kernel rejects them).
pub type Prefix = (IpAddr, u8);

/// `RTPROT_BIRD`: the protocol number Calico's BIRD installs with, which
/// Felix and operators' tools treat as BGP routes.
pub const PROTO_BIRD: u8 = 12;

/// `RT_TABLE_MAIN`.
pub const TABLE_MAIN: u32 = 254;

/// The kernel metric Calico v3.32+ gives a BGP route (calico-bgp.md
/// section 4.7): 2147483647 - LOCAL_PREF, and 1024 (Felix's normal
/// priority) when the route has no LOCAL_PREF. A normal Calico route
/// (LOCAL_PREF 2147482623) gets 1024; a ToR's LOCAL_PREF 100 gets
/// 2147483547. The classic behaviour installs no metric: pass 0 instead.
pub fn metric_from_local_pref(local_pref: Option<u32>) -> u32 {
    const TOP: u32 = 2_147_483_647;
    match local_pref {
        None => 1024,
        Some(lp) => TOP.saturating_sub(lp),
    }
}

/// One route the FIB should hold for a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FibRoute {
    /// The destination.
    pub prefix: Prefix,
    /// What the kernel does with matching packets.
    pub action: FibAction,
    /// The route priority (`metric`); 0 is the kernel default (0 for IPv4,
    /// 1024 for IPv6). Part of the kernel's route key: a change of metric
    /// is an add of the new route and a delete of the old one.
    pub metric: u32,
}

/// What a route does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FibAction {
    /// Forward to one next hop, or to several (ECMP, `RTA_MULTIPATH`).
    Unicast(Vec<FibNextHop>),
    /// Drop silently (`RTN_BLACKHOLE`), used for the node's own blocks.
    Blackhole,
}

/// One next hop of a unicast route.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FibNextHop {
    /// The gateway; same family as the prefix.
    pub gateway: IpAddr,
    /// The output device, by name; `None` lets the kernel resolve it from
    /// the gateway. Required when `onlink` is set.
    pub device: Option<String>,
    /// `RTNH_F_ONLINK`: the gateway is on the device's link even without a
    /// covering connected route (IPIP via `tunl0`).
    pub onlink: bool,
    /// The ECMP weight as `ip route` shows it (1..=255); 0 is read as 1.
    pub weight: u8,
}

impl FibNextHop {
    /// A next hop via `gateway`, device resolved by the kernel, weight 1.
    pub fn via(gateway: IpAddr) -> Self {
        FibNextHop {
            gateway,
            device: None,
            onlink: false,
            weight: 1,
        }
    }

    /// A next hop via `gateway` on `device`, marked `onlink` (the tunnel
    /// routes of BIRD-owned IPIP pools).
    pub fn onlink(gateway: IpAddr, device: &str) -> Self {
        FibNextHop {
            gateway,
            device: Some(device.to_owned()),
            onlink: true,
            weight: 1,
        }
    }

    /// The weight with 0 read as 1.
    pub(crate) fn effective_weight(&self) -> u8 {
        self.weight.max(1)
    }
}

/// One incremental change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FibChange {
    /// Install the route, or replace ours for the same prefix.
    Upsert(FibRoute),
    /// Remove our route for the prefix, if any.
    Remove(Prefix),
}

/// How the FIB is opened.
#[derive(Debug, Clone)]
pub struct FibConfig {
    /// The protocol number our routes carry; only routes with it are ever
    /// changed. Default [`PROTO_BIRD`].
    pub protocol: u8,
    /// The routing table; default [`TABLE_MAIN`].
    pub table: u32,
    /// Requests sent in one `sendmsg` (the kernel acks each).
    pub batch_size: usize,
    /// Batches in flight before waiting for acks.
    pub in_flight: usize,
    /// How long [`crate::Fib::next_event`] waits before returning anyway,
    /// so pending routes are retried even without a kernel event.
    pub retry_interval: Duration,
    /// Subscribe to link, address and route notifications to retry pending
    /// routes when reachability changes. Off, pending routes are retried
    /// only on the timer.
    pub watch: bool,
}

impl Default for FibConfig {
    fn default() -> Self {
        FibConfig {
            protocol: PROTO_BIRD,
            table: TABLE_MAIN,
            batch_size: 128,
            in_flight: 4,
            retry_interval: Duration::from_secs(10),
            watch: true,
        }
    }
}

/// Cumulative counters, plus the current number of pending routes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FibCounters {
    /// Routes newly added to the kernel.
    pub installed: u64,
    /// Routes of ours replaced in place (next hops changed).
    pub replaced: u64,
    /// Routes of ours deleted.
    pub removed: u64,
    /// Requests the kernel refused for reasons other than reachability.
    pub failed: u64,
    /// Routes waiting for a reachable next hop or a free key (gauge).
    pub pending: u64,
}

/// Why a route is pending rather than installed as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingReason {
    /// No next hop is reachable; nothing is installed.
    Unreachable,
    /// Some next hops are unreachable; the reachable subset is installed.
    Partial,
    /// A route of another protocol holds the same prefix and metric.
    Occupied,
}

/// A route the kernel refused.
#[derive(Debug)]
pub struct FibFailure {
    /// The route's prefix.
    pub prefix: Prefix,
    /// Why.
    pub error: crate::FibError,
}

/// The outcome of one call that programs the kernel.
#[derive(Debug, Default)]
pub struct FibReport {
    /// Routes added.
    pub installed: usize,
    /// Routes replaced.
    pub replaced: usize,
    /// Routes deleted.
    pub removed: usize,
    /// Routes left pending by this call.
    pub pending: usize,
    /// Per-route failures; the rest of the batch went through.
    pub failures: Vec<FibFailure>,
}

/// Canonical key of a route in the kernel: IPv6 reads metric 0 as 1024.
pub(crate) fn effective_metric(prefix: &Prefix, metric: u32) -> u32 {
    match (prefix.0, metric) {
        (IpAddr::V6(_), 0) => 1024,
        _ => metric,
    }
}

/// Whether `installed` already does what `wanted` asks: same kind, same
/// metric, same next-hop set; a next hop without a device matches one with
/// any device (the kernel fills it in).
pub(crate) fn satisfies(installed: &FibRoute, wanted: &FibRoute) -> bool {
    if effective_metric(&installed.prefix, installed.metric)
        != effective_metric(&wanted.prefix, wanted.metric)
    {
        return false;
    }
    match (&installed.action, &wanted.action) {
        (FibAction::Blackhole, FibAction::Blackhole) => true,
        (FibAction::Unicast(have), FibAction::Unicast(want)) => {
            if have.len() != want.len() {
                return false;
            }
            let mut have: Vec<&FibNextHop> = have.iter().collect();
            have.sort_by_key(|h| h.gateway);
            let mut want: Vec<&FibNextHop> = want.iter().collect();
            want.sort_by_key(|h| h.gateway);
            // ECMP weights only exist on multipath routes.
            let multi = want.len() > 1;
            have.iter().zip(&want).all(|(h, w)| {
                h.gateway == w.gateway
                    && h.onlink == w.onlink
                    && (w.device.is_none() || h.device == w.device)
                    && (!multi || h.effective_weight() == w.effective_weight())
            })
        }
        _ => false,
    }
}

/// Checks a prefix: length within the family, host bits zero.
pub(crate) fn valid_prefix(prefix: &Prefix) -> bool {
    match prefix.0 {
        IpAddr::V4(a) => {
            let len = u32::from(prefix.1);
            len <= 32
                && (len == 32
                    || u32::from(a).checked_shl(len).unwrap_or(0) == 0)
        }
        IpAddr::V6(a) => {
            let len = u32::from(prefix.1);
            len <= 128
                && (len == 128
                    || u128::from(a).checked_shl(len).unwrap_or(0) == 0)
        }
    }
}

/// Whether `addr` lies inside `prefix`.
pub(crate) fn contains(prefix: &Prefix, addr: IpAddr) -> bool {
    match (prefix.0, addr) {
        (IpAddr::V4(net), IpAddr::V4(a)) => {
            let len = u32::from(prefix.1.min(32));
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            u32::from(net) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(net), IpAddr::V6(a)) => {
            let len = u32::from(prefix.1.min(128));
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            u128::from(net) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn prefixes_with_host_bits_are_invalid() {
        assert!(valid_prefix(&(v4("10.0.0.0"), 24)));
        assert!(!valid_prefix(&(v4("10.0.0.1"), 24)));
        assert!(valid_prefix(&(v4("0.0.0.0"), 0)));
        assert!(valid_prefix(&(v4("10.0.0.1"), 32)));
        assert!(!valid_prefix(&(v4("10.0.0.0"), 33)));
        assert!(valid_prefix(&(v4("fd00::"), 64)));
        assert!(!valid_prefix(&(v4("fd00::1"), 64)));
    }

    #[test]
    fn containment_respects_the_prefix_length() {
        assert!(contains(&(v4("10.0.0.0"), 24), v4("10.0.0.77")));
        assert!(!contains(&(v4("10.0.0.0"), 24), v4("10.0.1.1")));
        assert!(contains(&(v4("0.0.0.0"), 0), v4("1.2.3.4")));
        assert!(!contains(&(v4("0.0.0.0"), 0), v4("fd00::1")));
        assert!(contains(&(v4("fd00::"), 64), v4("fd00::9")));
    }

    #[test]
    fn a_next_hop_without_device_matches_the_kernel_filled_one() {
        let want = FibRoute {
            prefix: (v4("10.1.0.0"), 24),
            action: FibAction::Unicast(vec![FibNextHop::via(v4("10.0.0.2"))]),
            metric: 0,
        };
        let mut have = want.clone();
        have.action = FibAction::Unicast(vec![FibNextHop {
            device: Some("eth0".into()),
            ..FibNextHop::via(v4("10.0.0.2"))
        }]);
        assert!(satisfies(&have, &want));
        assert!(!satisfies(&want, &have));
        let mut other_metric = have.clone();
        other_metric.metric = 1024;
        assert!(!satisfies(&other_metric, &want));
    }

    #[test]
    fn metrics_follow_calico_priority_encoding() {
        assert_eq!(metric_from_local_pref(Some(2_147_482_623)), 1024);
        assert_eq!(metric_from_local_pref(Some(2_147_483_135)), 512);
        assert_eq!(metric_from_local_pref(Some(100)), 2_147_483_547);
        assert_eq!(metric_from_local_pref(None), 1024);
        assert_eq!(metric_from_local_pref(Some(u32::MAX)), 0);
    }

    #[test]
    fn ipv6_metric_zero_is_the_kernel_default_1024() {
        let p = (v4("fd00::"), 64);
        assert_eq!(effective_metric(&p, 0), 1024);
        assert_eq!(effective_metric(&(v4("10.0.0.0"), 8), 0), 0);
    }
}
