//! IP prefixes with the host-bits-zero invariant.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::afi::AfiSafi;

/// Why a prefix could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// The length exceeds 32 (IPv4) or 128 (IPv6).
    #[error("prefix length {0} is too long")]
    BadLength(u8),
    /// Bits beyond the prefix length are set.
    #[error("host bits are set beyond the prefix length")]
    HostBits,
    /// The text is not `address/length`.
    #[error("cannot parse {0:?} as a prefix")]
    Syntax(String),
}

/// An IPv4 prefix whose host bits are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Prefix {
    addr: u32,
    len: u8,
}

impl Ipv4Prefix {
    /// A prefix; fails if `len > 32` or host bits are set.
    pub fn new(addr: Ipv4Addr, len: u8) -> Result<Self, PrefixError> {
        if len > 32 {
            return Err(PrefixError::BadLength(len));
        }
        let bits = u32::from(addr);
        if bits & !mask_v4(len) != 0 {
            return Err(PrefixError::HostBits);
        }
        Ok(Self { addr: bits, len })
    }

    /// A prefix with host bits cleared instead of rejected (the NLRI
    /// decoder's rule: trailing bits are irrelevant, RFC 4271 4.3).
    /// `len` must be at most 32.
    #[inline]
    pub(crate) fn new_masked(addr: u32, len: u8) -> Self {
        Self {
            addr: addr & mask_v4(len),
            len,
        }
    }

    /// The network address.
    pub fn addr(self) -> Ipv4Addr {
        Ipv4Addr::from(self.addr)
    }

    /// The address as a big-endian integer.
    pub fn bits(self) -> u32 {
        self.addr
    }

    /// The prefix length.
    pub fn len(self) -> u8 {
        self.len
    }

    /// Whether this is the default route 0.0.0.0/0.
    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    /// Whether `other` lies within this prefix.
    pub fn contains(self, other: Self) -> bool {
        other.len >= self.len && other.addr & mask_v4(self.len) == self.addr
    }
}

/// An IPv6 prefix whose host bits are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv6Prefix {
    addr: [u8; 16],
    len: u8,
}

impl Ipv6Prefix {
    /// A prefix; fails if `len > 128` or host bits are set.
    pub fn new(addr: Ipv6Addr, len: u8) -> Result<Self, PrefixError> {
        if len > 128 {
            return Err(PrefixError::BadLength(len));
        }
        let bits = u128::from(addr);
        if bits & !mask_v6(len) != 0 {
            return Err(PrefixError::HostBits);
        }
        Ok(Self {
            addr: addr.octets(),
            len,
        })
    }

    /// A prefix with host bits cleared; `len` must be at most 128.
    pub(crate) fn new_masked(addr: [u8; 16], len: u8) -> Self {
        let bits = u128::from_be_bytes(addr) & mask_v6(len);
        Self {
            addr: bits.to_be_bytes(),
            len,
        }
    }

    /// The network address.
    pub fn addr(self) -> Ipv6Addr {
        Ipv6Addr::from(self.addr)
    }

    /// The address octets.
    pub fn octets(&self) -> &[u8; 16] {
        &self.addr
    }

    /// The prefix length.
    pub fn len(self) -> u8 {
        self.len
    }

    /// Whether this is the default route ::/0.
    pub fn is_empty(self) -> bool {
        self.len == 0
    }
}

/// An IPv4 or IPv6 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Prefix {
    /// IPv4.
    V4(Ipv4Prefix),
    /// IPv6.
    V6(Ipv6Prefix),
}

/// One write per prefix (the RIB's tables hash every prefix many times;
/// the derived impl writes discriminant, address and length apart).
/// Equal prefixes write equal values, as `Eq` requires.
impl Hash for Prefix {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Self::V4(p) => {
                state.write_u64(u64::from(p.addr) << 8 | u64::from(p.len));
            }
            Self::V6(p) => {
                state.write_u128(u128::from_be_bytes(p.addr));
                state.write_u8(p.len);
            }
        }
    }
}

impl Prefix {
    /// A prefix; fails if the length is too long or host bits are set.
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, PrefixError> {
        match addr {
            IpAddr::V4(a) => Ipv4Prefix::new(a, len).map(Self::V4),
            IpAddr::V6(a) => Ipv6Prefix::new(a, len).map(Self::V6),
        }
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        match self {
            Self::V4(p) => IpAddr::V4(p.addr()),
            Self::V6(p) => IpAddr::V6(p.addr()),
        }
    }

    /// The prefix length.
    pub fn len(&self) -> u8 {
        match self {
            Self::V4(p) => p.len(),
            Self::V6(p) => p.len(),
        }
    }

    /// Whether this is a default route.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The unicast family of the prefix.
    pub fn family(&self) -> AfiSafi {
        match self {
            Self::V4(_) => AfiSafi::IPV4_UNICAST,
            Self::V6(_) => AfiSafi::IPV6_UNICAST,
        }
    }
}

impl From<Ipv4Prefix> for Prefix {
    fn from(p: Ipv4Prefix) -> Self {
        Self::V4(p)
    }
}

impl From<Ipv6Prefix> for Prefix {
    fn from(p: Ipv6Prefix) -> Self {
        Self::V6(p)
    }
}

impl fmt::Display for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.len)
    }
}

impl fmt::Display for Ipv6Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.len)
    }
}

impl fmt::Display for Prefix {
    /// Formats as "10.0.0.0/24" or "2001:db8::/32".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4(p) => p.fmt(f),
            Self::V6(p) => p.fmt(f),
        }
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;

    /// Parses "address/length"; host bits must be zero.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || PrefixError::Syntax(s.to_owned());
        let (addr, len) = s.split_once('/').ok_or_else(syntax)?;
        let addr: IpAddr = addr.parse().map_err(|_| syntax())?;
        let len: u8 = len.parse().map_err(|_| syntax())?;
        Self::new(addr, len)
    }
}

impl FromStr for Ipv4Prefix {
    type Err = PrefixError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.parse()? {
            Prefix::V4(p) => Ok(p),
            Prefix::V6(_) => Err(PrefixError::Syntax(s.to_owned())),
        }
    }
}

impl FromStr for Ipv6Prefix {
    type Err = PrefixError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.parse()? {
            Prefix::V6(p) => Ok(p),
            Prefix::V4(_) => Err(PrefixError::Syntax(s.to_owned())),
        }
    }
}

/// The network mask of an IPv4 prefix length (at most 32).
#[inline]
fn mask_v4(len: u8) -> u32 {
    // Branch-free: for len 0 the ones are shifted entirely out of the
    // low 32 bits.
    (u64::MAX << (32 - u32::from(len).min(32))) as u32
}

/// The network mask of an IPv6 prefix length (at most 128).
#[inline]
fn mask_v6(len: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(len).min(128))
        .unwrap_or(0)
}
