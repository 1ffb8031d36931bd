//! What the kernel table looks like apart from our routes: links,
//! connected prefixes (for next-hop reachability) and routes of other
//! protocols (whose keys we must not take).

use std::collections::HashMap;
use std::net::IpAddr;

use crate::codec::KernelRoute;
use crate::types::{contains, effective_metric};
use crate::{FibNextHop, Prefix};

/// Interfaces by index and by name.
#[derive(Debug, Default)]
pub(crate) struct Links {
    by_index: HashMap<u32, (String, bool)>,
    by_name: HashMap<String, u32>,
}

impl Links {
    /// Records (or renames) a link and whether it is administratively up.
    pub fn upsert(&mut self, index: u32, name: String, up: bool) {
        if let Some((old, _)) = self.by_index.get(&index)
            && old != &name
        {
            self.by_name.remove(old);
        }
        self.by_name.insert(name.clone(), index);
        self.by_index.insert(index, (name, up));
    }

    /// Forgets a link.
    pub fn remove(&mut self, index: u32) {
        if let Some((name, _)) = self.by_index.remove(&index) {
            self.by_name.remove(&name);
        }
    }

    /// The index of a named link.
    pub fn index(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }

    /// The name of a link.
    pub fn name(&self, index: u32) -> Option<String> {
        self.by_index.get(&index).map(|(n, _)| n.clone())
    }

    /// Whether the link exists and is up.
    pub fn is_up(&self, index: u32) -> bool {
        self.by_index.get(&index).is_some_and(|(_, up)| *up)
    }

    /// Drops everything (before a full re-read).
    pub fn clear(&mut self) {
        self.by_index.clear();
        self.by_name.clear();
    }
}

/// Key of a kernel route: prefix and effective metric.
type RouteKey = (Prefix, u32);

/// The kernel table as far as reachability and ownership go.
#[derive(Debug, Default)]
pub(crate) struct KernelView {
    pub links: Links,
    /// Connected routes: (prefix, oif) with a multiplicity, since the same
    /// pair can exist at several metrics.
    connected: HashMap<(Prefix, u32), u32>,
    /// Routes of other protocols, by key, with their count.
    aliens: HashMap<RouteKey, u32>,
}

impl KernelView {
    /// Drops all routes and links (before a full re-read).
    pub fn clear(&mut self) {
        self.links.clear();
        self.connected.clear();
        self.aliens.clear();
    }

    /// Accounts for a route of another protocol appearing (`add`) or going.
    pub fn route_event(&mut self, route: &KernelRoute, add: bool) {
        let key = (route.prefix, effective_metric(&route.prefix, route.metric));
        bump(&mut self.aliens, key, add);
        if route.is_connected()
            && let Some(oif) = route.oif
        {
            bump(&mut self.connected, (route.prefix, oif), add);
        }
    }

    /// Whether a route of another protocol holds this prefix and metric.
    pub fn occupied(&self, prefix: &Prefix, metric: u32) -> bool {
        self.aliens
            .contains_key(&(*prefix, effective_metric(prefix, metric)))
    }

    /// Whether the kernel would accept `hop` now: an onlink or IPv6
    /// link-local gateway needs its device up; any other gateway needs a
    /// connected route covering it on an up device (the given one, if
    /// any).
    pub fn reachable(&self, hop: &FibNextHop) -> bool {
        let device = match &hop.device {
            Some(name) => match self.links.index(name) {
                Some(i) => Some(i),
                None => return false,
            },
            None => None,
        };
        if hop.onlink || is_link_local(&hop.gateway) {
            return device.is_some_and(|i| self.links.is_up(i));
        }
        self.connected.keys().any(|(prefix, oif)| {
            device.is_none_or(|d| d == *oif)
                && self.links.is_up(*oif)
                && contains(prefix, hop.gateway)
        })
    }
}

fn bump<K: std::hash::Hash + Eq>(map: &mut HashMap<K, u32>, key: K, add: bool) {
    if add {
        *map.entry(key).or_insert(0) += 1;
    } else if let Some(n) = map.get_mut(&key) {
        *n -= 1;
        if *n == 0 {
            map.remove(&key);
        }
    }
}

fn is_link_local(a: &IpAddr) -> bool {
    match a {
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
        IpAddr::V4(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtnetlink::packet_route::route::RouteType;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn connected(prefix: &str, len: u8, oif: u32) -> KernelRoute {
        KernelRoute {
            prefix: (ip(prefix), len),
            table: 254,
            protocol: 2,
            kind: RouteType::Unicast,
            metric: 0,
            gateway: None,
            oif: Some(oif),
            onlink: false,
            multipath: Vec::new(),
        }
    }

    #[test]
    fn a_gateway_is_reachable_only_through_an_up_connected_route() {
        let mut view = KernelView::default();
        view.links.upsert(2, "eth0".into(), true);
        let hop = FibNextHop::via(ip("10.0.0.12"));
        assert!(!view.reachable(&hop));
        view.route_event(&connected("10.0.0.0", 24, 2), true);
        assert!(view.reachable(&hop));
        view.links.upsert(2, "eth0".into(), false);
        assert!(!view.reachable(&hop));
        view.links.upsert(2, "eth0".into(), true);
        view.route_event(&connected("10.0.0.0", 24, 2), false);
        assert!(!view.reachable(&hop));
    }

    #[test]
    fn onlink_needs_only_an_up_device() {
        let mut view = KernelView::default();
        let hop = FibNextHop::onlink(ip("192.168.9.9"), "tunl0");
        assert!(!view.reachable(&hop));
        view.links.upsert(7, "tunl0".into(), true);
        assert!(view.reachable(&hop));
    }

    #[test]
    fn alien_keys_count_per_metric() {
        let mut view = KernelView::default();
        let r = connected("10.0.0.0", 24, 2);
        view.route_event(&r, true);
        assert!(view.occupied(&(ip("10.0.0.0"), 24), 0));
        assert!(!view.occupied(&(ip("10.0.0.0"), 24), 5));
        view.route_event(&r, false);
        assert!(!view.occupied(&(ip("10.0.0.0"), 24), 0));
    }
}
