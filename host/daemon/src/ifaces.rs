//! Which interface a next hop is reached through, read from the kernel's
//! own tables in /proc (no netlink, no unsafe): `show route` names the
//! interface the way BIRD does.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The interface of the most specific route covering `addr`, if any.
pub fn interface_for(addr: IpAddr) -> Option<String> {
    match addr {
        IpAddr::V4(v4) => v4_interface(v4),
        IpAddr::V6(v6) => v6_interface(v6),
    }
}

fn v4_interface(addr: Ipv4Addr) -> Option<String> {
    let text = std::fs::read_to_string("/proc/net/route").ok()?;
    best_v4(&text, addr)
}

/// Parses /proc/net/route: `Iface Destination Gateway Flags RefCnt Use
/// Metric Mask ...`, addresses as little-endian hex.
fn best_v4(text: &str, addr: Ipv4Addr) -> Option<String> {
    let target = u32::from(addr);
    let mut best: Option<(u32, String)> = None;
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 8 {
            continue;
        }
        let (Ok(dst), Ok(mask)) = (
            u32::from_str_radix(cols[1], 16),
            u32::from_str_radix(cols[7], 16),
        ) else {
            continue;
        };
        let (dst, mask) = (u32::from_be(dst), u32::from_be(mask));
        if target & mask == dst & mask
            && best
                .as_ref()
                .is_none_or(|(m, _)| mask.count_ones() > m.count_ones())
        {
            best = Some((mask, cols[0].to_owned()));
        }
    }
    best.map(|(_, name)| name)
}

fn v6_interface(addr: Ipv6Addr) -> Option<String> {
    let text = std::fs::read_to_string("/proc/net/ipv6_route").ok()?;
    best_v6(&text, addr)
}

/// Parses /proc/net/ipv6_route: destination (32 hex), prefix length
/// (hex), ..., interface name last.
fn best_v6(text: &str, addr: Ipv6Addr) -> Option<String> {
    let target = u128::from(addr);
    let mut best: Option<(u32, String)> = None;
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 10 {
            continue;
        }
        let (Ok(dst), Ok(len)) = (
            u128::from_str_radix(cols[0], 16),
            u32::from_str_radix(cols[1], 16),
        ) else {
            continue;
        };
        if len > 128 || cols[9] == "lo" {
            continue;
        }
        let mask = if len == 0 {
            0
        } else {
            u128::MAX << (128 - len)
        };
        if target & mask == dst & mask
            && best.as_ref().is_none_or(|(l, _)| len > *l)
        {
            best = Some((len, cols[9].to_owned()));
        }
    }
    best.map(|(_, name)| name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_ipv4_route_names_the_interface() {
        let table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                     eth1\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                     eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        assert_eq!(
            best_v4(table, "10.0.0.12".parse().unwrap()).as_deref(),
            Some("eth0")
        );
        assert_eq!(
            best_v4(table, "192.0.2.1".parse().unwrap()).as_deref(),
            Some("eth1")
        );
    }

    #[test]
    fn the_most_specific_ipv6_route_names_the_interface() {
        let table = "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n\
                     00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000001 00000000 00000003     eth9\n";
        assert_eq!(
            best_v6(table, "fd00::12".parse().unwrap()).as_deref(),
            Some("eth0")
        );
        assert_eq!(
            best_v6(table, "2001:db8::1".parse().unwrap()).as_deref(),
            Some("eth9")
        );
    }
}
