//! Plain types for plugin authors.

use core::fmt;
use core::str::FromStr;
use std::net::IpAddr;

use bgplet_plugin_abi::{
    AttrView, Edit, PolicyContext, RawAttributes, Route, SegmentIter,
    SegmentKind, SourceFlags,
};
use serde::de::DeserializeOwned;

/// An IP prefix, e.g. `10.244.0.0/26`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    /// The address (host bits as given).
    pub addr: IpAddr,
    /// Prefix length.
    pub len: u8,
}

impl Prefix {
    /// `addr/len`; `None` when `len` is too long for the family.
    pub fn new(addr: IpAddr, len: u8) -> Option<Self> {
        (len <= max_len(addr)).then_some(Self { addr, len })
    }

    /// True for IPv4.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// True when `other` lies inside this prefix or equals it (same
    /// family, at least as long, same leading bits).
    pub fn contains(&self, other: &Prefix) -> bool {
        other.len >= self.len
            && self.addr.is_ipv4() == other.addr.is_ipv4()
            && bits(self.addr) & mask(self.addr, self.len)
                == bits(other.addr) & mask(self.addr, self.len)
    }

    /// True when `addr` lies inside this prefix.
    pub fn contains_addr(&self, addr: IpAddr) -> bool {
        self.contains(&Prefix {
            addr,
            len: max_len(addr),
        })
    }

    /// The prefix with its host bits cleared.
    pub fn network(&self) -> Self {
        let v = bits(self.addr) & mask(self.addr, self.len);
        let addr = match self.addr {
            IpAddr::V4(_) => IpAddr::from((v as u32).to_be_bytes()),
            IpAddr::V6(_) => IpAddr::from(v.to_be_bytes()),
        };
        Self {
            addr,
            len: self.len,
        }
    }
}

fn max_len(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

fn bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn mask(addr: IpAddr, len: u8) -> u128 {
    let width = u32::from(max_len(addr));
    let len = u32::from(len).min(width);
    let all = if width == 32 {
        u128::from(u32::MAX)
    } else {
        u128::MAX
    };
    // Shifting by the full width is undefined for the type, so handle
    // /0 separately.
    if len == 0 { 0 } else { all & !(all >> len) }
}

impl FromStr for Prefix {
    type Err = String;

    /// `addr/len`, or a bare address as a host prefix.
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| format!("bad address in {s:?}"))?;
        let len = match l {
            Some(l) => l
                .trim()
                .parse::<u8>()
                .map_err(|_| format!("bad prefix length in {s:?}"))?,
            None => max_len(addr),
        };
        Prefix::new(addr, len).ok_or_else(|| format!("prefix {s:?} too long"))
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl From<&Route> for Prefix {
    fn from(r: &Route) -> Self {
        Self {
            addr: r.prefix,
            len: r.len,
        }
    }
}

/// A standard (RFC 1997) or large (RFC 8092) community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Community {
    /// `asn:value`, packed `asn << 16 | value`.
    Standard(u32),
    /// `global:local1:local2`.
    Large([u32; 3]),
}

impl Community {
    /// GRACEFUL_SHUTDOWN, 65535:0 (RFC 8326).
    pub const GRACEFUL_SHUTDOWN: Self = Self::Standard(0xffff_0000);
    /// NO_EXPORT, 65535:65281 (RFC 1997).
    pub const NO_EXPORT: Self = Self::Standard(0xffff_ff01);
    /// NO_ADVERTISE, 65535:65282 (RFC 1997).
    pub const NO_ADVERTISE: Self = Self::Standard(0xffff_ff02);

    /// `asn:value`.
    pub fn standard(asn: u16, value: u16) -> Self {
        Self::Standard((u32::from(asn) << 16) | u32::from(value))
    }

    /// The edit that adds this community.
    pub fn add(self) -> Edit {
        match self {
            Self::Standard(c) => Edit::AddCommunity(c),
            Self::Large(c) => Edit::AddLargeCommunity(c),
        }
    }

    /// The edit that removes this community.
    pub fn remove(self) -> Edit {
        match self {
            Self::Standard(c) => Edit::RemoveCommunity(c),
            Self::Large(c) => Edit::RemoveLargeCommunity(c),
        }
    }
}

impl FromStr for Community {
    type Err = String;

    /// "a:b" (16-bit parts) or "a:b:c" (32-bit parts).
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.trim().split(':').collect();
        let bad = || format!("bad community {s:?} (a:b or a:b:c)");
        match parts[..] {
            [a, b] => {
                let a = a.parse::<u16>().map_err(|_| bad())?;
                let b = b.parse::<u16>().map_err(|_| bad())?;
                Ok(Self::standard(a, b))
            }
            [a, b, c] => {
                let p = |x: &str| x.parse::<u32>().map_err(|_| bad());
                Ok(Self::Large([p(a)?, p(b)?, p(c)?]))
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Standard(c) => write!(f, "{}:{}", c >> 16, c & 0xffff),
            Self::Large([a, b, c]) => write!(f, "{a}:{b}:{c}"),
        }
    }
}

/// An AS_PATH, read in place.
#[derive(Debug, Clone)]
pub struct AsPath<'a> {
    segments: SegmentIter<'a>,
}

impl<'a> AsPath<'a> {
    /// The segments in order.
    pub fn segments(&self) -> SegmentIter<'a> {
        self.segments.clone()
    }

    /// Length for route selection (AS_SET 1, confederation segments 0).
    pub fn len(&self) -> u32 {
        self.segments()
            .map(|(k, a)| match k {
                SegmentKind::Sequence => a.len() as u32,
                SegmentKind::Set => 1,
                _ => 0,
            })
            .sum()
    }

    /// True when the path has no segment.
    pub fn is_empty(&self) -> bool {
        self.segments().next().is_none()
    }

    /// Every ASN of every segment, in order.
    pub fn asns(&self) -> impl Iterator<Item = u32> + 'a {
        self.segments().flat_map(|(_, a)| a.iter().copied())
    }

    /// The neighbor AS: the first AS of the first AS_SEQUENCE/AS_SET.
    pub fn first_as(&self) -> Option<u32> {
        self.segments()
            .find(|(k, _)| {
                matches!(k, SegmentKind::Sequence | SegmentKind::Set)
            })
            .and_then(|(_, a)| a.first().copied())
    }

    /// True when the path begins with `prefix` (BGPFilter `asPathPrefix`).
    pub fn starts_with(&self, prefix: &[u32]) -> bool {
        let mut it = self.asns();
        prefix.iter().all(|&asn| it.next() == Some(asn))
    }

    /// True when `asn` appears anywhere in the path.
    pub fn contains(&self, asn: u32) -> bool {
        self.asns().any(|a| a == asn)
    }
}

/// One route of a batch as a hook sees it.
#[derive(Clone, Copy)]
pub struct RouteRef<'a> {
    index: usize,
    route: Route,
    attrs: AttrView<'a>,
    raw: &'a dyn RawAttributes,
}

impl fmt::Debug for RouteRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteRef")
            .field("index", &self.index)
            .field("route", &self.route)
            .field("attrs", &self.attrs.to_attr_set())
            .finish()
    }
}

impl<'a> RouteRef<'a> {
    /// Route `index` of a batch, with its attribute set and raw access.
    pub fn new(
        index: usize,
        route: Route,
        attrs: AttrView<'a>,
        raw: &'a dyn RawAttributes,
    ) -> Self {
        Self {
            index,
            route,
            attrs,
            raw,
        }
    }

    /// Position in the batch.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The packed route.
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// The prefix.
    pub fn prefix(&self) -> Prefix {
        Prefix::from(&self.route)
    }

    /// Where the route came from.
    pub fn source(&self) -> SourceFlags {
        self.route.source
    }

    /// Learned from BGP (not originated by this node).
    pub fn from_bgp(&self) -> bool {
        self.route.source.from_bgp()
    }

    /// Originated by this node.
    pub fn is_local(&self) -> bool {
        self.route.source.contains(SourceFlags::LOCAL)
    }

    /// The attribute set.
    pub fn attrs(&self) -> &AttrView<'a> {
        &self.attrs
    }

    /// The AS_PATH.
    pub fn as_path(&self) -> AsPath<'a> {
        AsPath {
            segments: self.attrs.segments(),
        }
    }

    /// LOCAL_PREF.
    pub fn local_pref(&self) -> Option<u32> {
        self.attrs.local_pref()
    }

    /// MED.
    pub fn med(&self) -> Option<u32> {
        self.attrs.med()
    }

    /// Next hop.
    pub fn next_hop(&self) -> Option<IpAddr> {
        self.attrs.next_hop()
    }

    /// True when the route carries `c`.
    pub fn has_community(&self, c: Community) -> bool {
        match c {
            Community::Standard(v) => self.attrs.communities().contains(&v),
            Community::Large(v) => {
                self.attrs.large_communities().any(|x| x == v)
            }
        }
    }

    /// The raw value of attribute `type_code` (for attributes the packed
    /// table does not carry).
    pub fn raw_attribute(&self, type_code: u8) -> Option<Vec<u8>> {
        self.raw.attribute(self.route.attr, type_code)
    }
}

/// Parses the `init` config: the policy context with the plugin's own
/// config `P` under `plugin`. An empty string is the default context.
pub fn parse_config<P>(config: &str) -> Result<PolicyContext<P>, String>
where
    P: DeserializeOwned + Default,
{
    if config.trim().is_empty() {
        return Ok(PolicyContext::default());
    }
    serde_json::from_str(config).map_err(|e| format!("bad config: {e}"))
}
