//! The route shape all adapters report, so tests compare alike.

use std::fmt;

/// Address family of a unicast route table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4 unicast (AFI 1, SAFI 1).
    Ipv4,
    /// IPv6 unicast (AFI 2, SAFI 1).
    Ipv6,
}

impl Family {
    /// The family of a prefix such as `10.0.0.0/24` or `fd00::/64`.
    pub fn of(prefix: &str) -> Family {
        if prefix.contains(':') {
            Family::Ipv6
        } else {
            Family::Ipv4
        }
    }

    /// `"ipv4"` or `"ipv6"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One BGP path as a daemon's CLI shows it, normalised across daemons.
///
/// Communities are `"65000:1"`, large communities `"4200000001:1:2"`,
/// both sorted numerically so lists compare equal whatever order a daemon
/// prints. `next_hop` is the global next hop (link-local ones dropped);
/// locally originated routes show what the daemon shows (`0.0.0.0`, `::`
/// or empty).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Route {
    /// Prefix in CIDR form, as the daemon prints it.
    pub prefix: String,
    /// Global next hop address.
    pub next_hop: String,
    /// AS path flattened (sets included in order), leftmost first.
    pub as_path: Vec<u32>,
    /// Standard communities, `"asn:value"`.
    pub communities: Vec<String>,
    /// Large communities, `"global:local1:local2"`.
    pub large_communities: Vec<String>,
    /// LOCAL_PREF if the daemon shows one.
    pub local_pref: Option<u32>,
    /// MULTI_EXIT_DISC if the daemon shows one.
    pub med: Option<u32>,
}

impl Route {
    /// Sorts community lists numerically (see the type docs).
    pub fn normalize(mut self) -> Route {
        sort_numeric(&mut self.communities);
        sort_numeric(&mut self.large_communities);
        self
    }

    /// The family of the prefix.
    pub fn family(&self) -> Family {
        Family::of(&self.prefix)
    }
}

fn sort_numeric(list: &mut [String]) {
    list.sort_by_key(|c| {
        c.split(':')
            .map(|p| p.parse::<u64>().unwrap_or(u64::MAX))
            .collect::<Vec<_>>()
    });
}

/// Formats a standard community given as one 32-bit number (RFC 1997).
pub(crate) fn community_from_u32(v: u64) -> String {
    format!("{}:{}", v >> 16, v & 0xffff)
}
