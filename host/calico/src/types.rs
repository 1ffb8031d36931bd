//! Small value types shared by the resource model and the planner: AS
//! numbers, CIDRs, peer addresses and Go-style durations.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// The address family of a session, pool or block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// IPv4 (BIRD's `bird.cfg`).
    V4,
    /// IPv6 (BIRD's `bird6.cfg`).
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(ip: &IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self::V4,
            IpAddr::V6(_) => Self::V6,
        }
    }

    /// The longest prefix length of the family (32 or 128).
    pub fn max_len(self) -> u8 {
        match self {
            Self::V4 => 32,
            Self::V6 => 128,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        })
    }
}

/// A 4-octet AS number (RFC 6793), never 0.
///
/// Calico accepts plain integers and "asdot" strings (`"1.10"` is
/// 1 * 65536 + 10, RFC 5396).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Asn(u32);

impl Asn {
    /// Calico's default AS when neither the node nor `default`
    /// BGPConfiguration sets one.
    pub const DEFAULT: Asn = Asn(64512);

    /// An AS number from its value; `None` for the reserved 0.
    pub fn new(value: u32) -> Option<Self> {
        (value != 0).then_some(Self(value))
    }

    /// The numeric value.
    pub fn value(self) -> u32 {
        self.0
    }

    /// Parses `"64512"` or asdot `"1.10"`; the error is a message.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let value = if let Some((hi, lo)) = text.split_once('.') {
            let hi: u16 = hi
                .parse()
                .map_err(|_| format!("{text:?} is not a valid asdot AS"))?;
            let lo: u16 = lo
                .parse()
                .map_err(|_| format!("{text:?} is not a valid asdot AS"))?;
            (u32::from(hi) << 16) | u32::from(lo)
        } else {
            let n: u64 = text
                .parse()
                .map_err(|_| format!("{text:?} is not an AS number"))?;
            return Self::from_integer(i128::from(n));
        };
        Self::new(value).ok_or_else(|| "AS number 0 is reserved".to_string())
    }

    /// Checks an integer from YAML against the 4-octet AS range.
    pub fn from_integer(n: i128) -> Result<Self, String> {
        if n == 0 {
            return Err("AS number 0 is reserved".to_string());
        }
        u32::try_from(n)
            .ok()
            .and_then(Self::new)
            .ok_or_else(|| format!("AS number {n} is outside 1..=4294967295"))
    }
}

impl fmt::Display for Asn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An address with a prefix length, e.g. a pool (`10.244.0.0/16`) or a
/// node's interface address (`10.0.0.11/24`, host bits kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    addr: IpAddr,
    len: u8,
}

impl Cidr {
    /// A CIDR from parts; `None` when the length is too long.
    pub fn new(addr: IpAddr, len: u8) -> Option<Self> {
        (len <= Family::of(&addr).max_len()).then_some(Self { addr, len })
    }

    /// Parses `a.b.c.d/n` or `v6/n`. With `allow_bare_ip` a plain
    /// address is taken as a host route (/32 or /128).
    pub fn parse(text: &str, allow_bare_ip: bool) -> Result<Self, String> {
        let bad = || format!("{text:?} is not a valid CIDR");
        let (ip, len) = match text.split_once('/') {
            Some((ip, len)) => (ip, Some(len)),
            None if allow_bare_ip => (text, None),
            None => return Err(bad()),
        };
        let addr: IpAddr = ip.parse().map_err(|_| bad())?;
        let len = match len {
            Some(len) => len.parse::<u8>().map_err(|_| bad())?,
            None => Family::of(&addr).max_len(),
        };
        Self::new(addr, len).ok_or_else(bad)
    }

    /// The address as written (host bits kept).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn len(&self) -> u8 {
        self.len
    }

    /// Whether this is a /0.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The family of the address.
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }

    /// The same prefix with the host bits cleared.
    pub fn network(&self) -> Self {
        let addr = match self.addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len));
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask.unwrap_or(0)))
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.len));
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask.unwrap_or(0)))
            }
        };
        Self {
            addr,
            len: self.len,
        }
    }

    /// Whether `other` lies inside this prefix (or equals it).
    pub fn contains(&self, other: &Cidr) -> bool {
        other.family() == self.family()
            && other.len >= self.len
            && Cidr {
                addr: other.addr,
                len: self.len,
            }
            .network()
                == self.network()
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// A BGPPeer `peerIP`: `ip`, `ip:port` or `[v6]:port`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerAddr {
    /// The peer's address.
    pub ip: IpAddr,
    /// The port when one was written.
    pub port: Option<u16>,
}

impl PeerAddr {
    /// Parses the `peerIP` forms Calico accepts.
    pub fn parse(text: &str) -> Result<Self, String> {
        let not_ip = || format!("{text:?} is not an IP address");
        let bad_port = || format!("{text:?} has an invalid port");
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Self { ip, port: None });
        }
        let (ip, port) = if let Some(rest) = text.strip_prefix('[') {
            let (ip, port) = rest.split_once("]:").ok_or_else(not_ip)?;
            let ip: Ipv6Addr = ip.parse().map_err(|_| not_ip())?;
            (IpAddr::V6(ip), port)
        } else {
            let (ip, port) = text.rsplit_once(':').ok_or_else(not_ip)?;
            let ip: Ipv4Addr = ip.parse().map_err(|_| not_ip())?;
            (IpAddr::V4(ip), port)
        };
        let port: u16 = port.parse().map_err(|_| bad_port())?;
        if port == 0 {
            return Err(bad_port());
        }
        Ok(Self {
            ip,
            port: Some(port),
        })
    }
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.ip, self.port) {
            (ip, None) => write!(f, "{ip}"),
            (IpAddr::V4(ip), Some(p)) => write!(f, "{ip}:{p}"),
            (IpAddr::V6(ip), Some(p)) => write!(f, "[{ip}]:{p}"),
        }
    }
}

/// Parses a Go `time.Duration` string as Kubernetes `metav1.Duration`
/// writes it: `"120s"`, `"2m30s"`, `"1.5h"`, `"500ms"`, or `"0"`.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration like \"120s\"");
    let s = text.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() || s.starts_with('-') {
        return Err(bad());
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * scale;
        rest = &rest[unit_end..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

/// Rounds a duration to whole seconds the way BIRD's config takes them.
pub(crate) fn whole_seconds(d: Duration) -> u32 {
    let secs = d.as_secs_f64().round();
    if secs >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        // In range and non-negative by the check above.
        secs as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asdot_and_plain_as_numbers_parse() {
        assert_eq!(Asn::parse("64512").unwrap().value(), 64512);
        assert_eq!(Asn::parse("1.10").unwrap().value(), 65546);
        assert_eq!(Asn::parse("4294967295").unwrap().value(), u32::MAX);
        assert!(Asn::parse("0").is_err());
        assert!(Asn::parse("0.0").is_err());
        assert!(Asn::parse("4294967296").is_err());
        assert!(Asn::parse("1.70000").is_err());
        assert!(Asn::parse("a.b").is_err());
    }

    #[test]
    fn cidr_network_and_containment_work() {
        let node = Cidr::parse("10.0.0.11/24", false).unwrap();
        assert_eq!(node.network().to_string(), "10.0.0.0/24");
        let pool = Cidr::parse("10.244.0.0/16", false).unwrap();
        let block = Cidr::parse("10.244.0.64/26", false).unwrap();
        assert!(pool.contains(&block));
        assert!(!block.contains(&pool));
        assert!(Cidr::parse("10.0.0.0/33", false).is_err());
        assert!(Cidr::parse("10.0.0.1", false).is_err());
        assert_eq!(Cidr::parse("fd00::1", true).unwrap().len(), 128);
        let v6 = Cidr::parse("fd00:1::5/64", false).unwrap();
        assert_eq!(v6.network().to_string(), "fd00:1::/64");
    }

    #[test]
    fn peer_ip_forms_parse() {
        let p = PeerAddr::parse("10.0.0.1").unwrap();
        assert_eq!(p.port, None);
        let p = PeerAddr::parse("10.0.0.1:166").unwrap();
        assert_eq!(p.port, Some(166));
        let p = PeerAddr::parse("[fd00::1]:50").unwrap();
        assert_eq!(p.to_string(), "[fd00::1]:50");
        assert!(PeerAddr::parse("fd00::1").unwrap().ip.is_ipv6());
        assert!(PeerAddr::parse("10.0.0.300").is_err());
        assert!(PeerAddr::parse("10.0.0.1:0").is_err());
        assert!(PeerAddr::parse("10.0.0.1:70000").is_err());
    }

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_go_duration("120s").unwrap().as_secs(), 120);
        assert_eq!(parse_go_duration("2m30s").unwrap().as_secs(), 150);
        assert_eq!(parse_go_duration("1.5h").unwrap().as_secs(), 5400);
        assert_eq!(parse_go_duration("500ms").unwrap().as_millis(), 500);
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_go_duration("120").is_err());
        assert!(parse_go_duration("-5s").is_err());
        assert!(parse_go_duration("5x").is_err());
        assert_eq!(whole_seconds(Duration::from_millis(1500)), 2);
    }
}
