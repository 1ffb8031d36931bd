//! Communities (RFC 1997), extended (RFC 4360) and large (RFC 8092).

use std::fmt;
use std::str::FromStr;

/// A standard community: 16-bit AS, 16-bit value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl Community {
    /// GRACEFUL_SHUTDOWN (RFC 8326).
    pub const GRACEFUL_SHUTDOWN: Self = Self(0xFFFF_0000);
    /// ACCEPT_OWN (RFC 7611).
    pub const ACCEPT_OWN: Self = Self(0xFFFF_0001);
    /// LLGR_STALE (RFC 9494).
    pub const LLGR_STALE: Self = Self(0xFFFF_0006);
    /// NO_LLGR (RFC 9494).
    pub const NO_LLGR: Self = Self(0xFFFF_0007);
    /// BLACKHOLE (RFC 7999).
    pub const BLACKHOLE: Self = Self(0xFFFF_029A);
    /// NO_EXPORT (RFC 1997).
    pub const NO_EXPORT: Self = Self(0xFFFF_FF01);
    /// NO_ADVERTISE (RFC 1997).
    pub const NO_ADVERTISE: Self = Self(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED (RFC 1997).
    pub const NO_EXPORT_SUBCONFED: Self = Self(0xFFFF_FF03);
    /// NOPEER (RFC 3765).
    pub const NO_PEER: Self = Self(0xFFFF_FF04);

    const NAMES: [(Self, &'static str); 9] = [
        (Self::GRACEFUL_SHUTDOWN, "graceful-shutdown"),
        (Self::ACCEPT_OWN, "accept-own"),
        (Self::LLGR_STALE, "llgr-stale"),
        (Self::NO_LLGR, "no-llgr"),
        (Self::BLACKHOLE, "blackhole"),
        (Self::NO_EXPORT, "no-export"),
        (Self::NO_ADVERTISE, "no-advertise"),
        (Self::NO_EXPORT_SUBCONFED, "no-export-subconfed"),
        (Self::NO_PEER, "no-peer"),
    ];

    /// A community from its two halves.
    pub fn new(asn: u16, value: u16) -> Self {
        Self(u32::from(asn) << 16 | u32::from(value))
    }

    /// The well-known name, if this is a well-known community.
    pub fn name(self) -> Option<&'static str> {
        Self::NAMES
            .iter()
            .find(|(c, _)| *c == self)
            .map(|(_, n)| *n)
    }
}

impl fmt::Display for Community {
    /// Formats as "65000:100", or the well-known name ("no-export").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}:{}", self.0 >> 16, self.0 & 0xffff),
        }
    }
}

impl FromStr for Community {
    type Err = String;

    /// Parses "65000:100" or a well-known name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some((c, _)) = Self::NAMES.iter().find(|(_, n)| *n == s) {
            return Ok(*c);
        }
        let bad = || format!("cannot parse {s:?} as a community");
        let (a, v) = s.split_once(':').ok_or_else(bad)?;
        Ok(Self::new(
            a.parse().map_err(|_| bad())?,
            v.parse().map_err(|_| bad())?,
        ))
    }
}

/// A large community (RFC 8092): three 32-bit fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    /// Global Administrator (an AS number).
    pub global_admin: u32,
    /// Local Data Part 1.
    pub local_data_1: u32,
    /// Local Data Part 2.
    pub local_data_2: u32,
}

impl fmt::Display for LargeCommunity {
    /// Formats as "a:b:c".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.global_admin, self.local_data_1, self.local_data_2
        )
    }
}

impl FromStr for LargeCommunity {
    type Err = String;

    /// Parses "a:b:c".
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("cannot parse {s:?} as a large community");
        let mut parts = s.split(':').map(|p| p.parse::<u32>());
        let (Some(Ok(a)), Some(Ok(b)), Some(Ok(c)), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        Ok(Self {
            global_admin: a,
            local_data_1: b,
            local_data_2: c,
        })
    }
}

/// An extended community (RFC 4360), kept as its eight octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExtCommunity(pub [u8; 8]);

impl ExtCommunity {
    /// A 2-octet-AS route target (type 0x00, subtype 0x02).
    pub fn route_target(asn: u16, value: u32) -> Self {
        let mut b = [0x00, 0x02, 0, 0, 0, 0, 0, 0];
        b[2..4].copy_from_slice(&asn.to_be_bytes());
        b[4..].copy_from_slice(&value.to_be_bytes());
        Self(b)
    }

    /// The type octet.
    pub fn kind(&self) -> u8 {
        self.0[0]
    }

    /// The subtype octet.
    pub fn subtype(&self) -> u8 {
        self.0[1]
    }
}

impl fmt::Display for ExtCommunity {
    /// Formats 2- and 4-octet-AS route targets and origins as
    /// "rt:65000:100" / "soo:65000:100", anything else as 16 hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        let name = match b[1] {
            0x02 => "rt",
            0x03 => "soo",
            _ => "",
        };
        match b[0] {
            0x00 if !name.is_empty() => write!(
                f,
                "{name}:{}:{}",
                u16::from_be_bytes([b[2], b[3]]),
                u32::from_be_bytes([b[4], b[5], b[6], b[7]])
            ),
            0x02 if !name.is_empty() => write!(
                f,
                "{name}:{}:{}",
                u32::from_be_bytes([b[2], b[3], b[4], b[5]]),
                u16::from_be_bytes([b[6], b[7]])
            ),
            _ => {
                f.write_str("0x")?;
                b.iter().try_for_each(|x| write!(f, "{x:02x}"))
            }
        }
    }
}

impl FromStr for ExtCommunity {
    type Err = String;

    /// Parses "rt:ASN:N" / "soo:ASN:N" (2-octet AS form when ASN fits,
    /// else 4-octet AS form) or "0x" and 16 hex digits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("cannot parse {s:?} as an extended community");
        if let Some(hex) = s.strip_prefix("0x") {
            if hex.len() != 16 {
                return Err(bad());
            }
            let v = u64::from_str_radix(hex, 16).map_err(|_| bad())?;
            return Ok(Self(v.to_be_bytes()));
        }
        let mut parts = s.split(':');
        let (Some(kind), Some(a), Some(v), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let subtype = match kind {
            "rt" => 0x02,
            "soo" => 0x03,
            _ => return Err(bad()),
        };
        let a: u32 = a.parse().map_err(|_| bad())?;
        let v: u32 = v.parse().map_err(|_| bad())?;
        let mut b = [0u8; 8];
        b[1] = subtype;
        if let Ok(a16) = u16::try_from(a) {
            b[2..4].copy_from_slice(&a16.to_be_bytes());
            b[4..].copy_from_slice(&v.to_be_bytes());
        } else {
            let v16 = u16::try_from(v).map_err(|_| bad())?;
            b[0] = 0x02;
            b[2..6].copy_from_slice(&a.to_be_bytes());
            b[6..].copy_from_slice(&v16.to_be_bytes());
        }
        Ok(Self(b))
    }
}
