//! Path attributes (RFC 4271 4.3 and 5, and the RFCs of each attribute).
//!
//! ```text
//! 0                   1
//! 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Attr. Flags  |Attr. Type Code|  then a 1- or 2-octet length
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

mod aspath;
mod community;
pub(crate) mod decode;
pub(crate) mod encode;

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use bytes::Bytes;

pub use aspath::{AsPath, AsSegment, SegmentKind};
pub use community::{Community, ExtCommunity, LargeCommunity};

/// Attribute flag bits (RFC 4271 section 4.3).
pub mod flags {
    /// Optional (set) or well-known (clear).
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial: some speaker on the path did not recognise it.
    pub const PARTIAL: u8 = 0x20;
    /// The length field is two octets.
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

/// Attribute type codes (IANA "BGP Path Attributes").
pub mod code {
    /// ORIGIN (RFC 4271).
    pub const ORIGIN: u8 = 1;
    /// AS_PATH (RFC 4271).
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP (RFC 4271).
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC (RFC 4271).
    pub const MED: u8 = 4;
    /// LOCAL_PREF (RFC 4271).
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE (RFC 4271).
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR (RFC 4271, RFC 6793).
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES (RFC 1997).
    pub const COMMUNITIES: u8 = 8;
    /// ORIGINATOR_ID (RFC 4456).
    pub const ORIGINATOR_ID: u8 = 9;
    /// CLUSTER_LIST (RFC 4456).
    pub const CLUSTER_LIST: u8 = 10;
    /// MP_REACH_NLRI (RFC 4760).
    pub const MP_REACH_NLRI: u8 = 14;
    /// MP_UNREACH_NLRI (RFC 4760).
    pub const MP_UNREACH_NLRI: u8 = 15;
    /// EXTENDED COMMUNITIES (RFC 4360).
    pub const EXTENDED_COMMUNITIES: u8 = 16;
    /// AS4_PATH (RFC 6793).
    pub const AS4_PATH: u8 = 17;
    /// AS4_AGGREGATOR (RFC 6793).
    pub const AS4_AGGREGATOR: u8 = 18;
    /// LARGE_COMMUNITY (RFC 8092).
    pub const LARGE_COMMUNITY: u8 = 32;
}

/// The attributes shared by every prefix of an UPDATE, decoded once.
///
/// MP_REACH_NLRI and MP_UNREACH_NLRI are not here: they carry prefixes
/// and live on [`crate::Update`]. AS4_PATH and AS4_AGGREGATOR are not
/// here either: on a 2-octet session they are merged into `as_path` and
/// `aggregator` on decode and regenerated on encode (RFC 6793), so these
/// fields always hold real 4-octet values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PathAttributes {
    /// ORIGIN.
    pub origin: Option<Origin>,
    /// AS_PATH.
    pub as_path: Option<AsPath>,
    /// NEXT_HOP, for classic IPv4 NLRI.
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE is present.
    pub atomic_aggregate: bool,
    /// AGGREGATOR.
    pub aggregator: Option<Aggregator>,
    /// COMMUNITIES, in received order.
    pub communities: Option<Vec<Community>>,
    /// ORIGINATOR_ID.
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST.
    pub cluster_list: Option<Vec<Ipv4Addr>>,
    /// EXTENDED COMMUNITIES.
    pub ext_communities: Option<Vec<ExtCommunity>>,
    /// LARGE_COMMUNITY.
    pub large_communities: Option<Vec<LargeCommunity>>,
    /// Attributes we do not recognise, with their flags and value.
    pub unknown: Vec<UnknownAttribute>,
}

impl PathAttributes {
    /// The attributes to send when re-advertising a route (RFC 4271
    /// 5 and 9.1.3): unrecognised optional transitive attributes get the
    /// Partial bit, unrecognised optional non-transitive ones are dropped.
    pub fn for_readvertisement(&self) -> Self {
        let mut out = self.clone();
        out.unknown.retain(|u| u.flags & flags::TRANSITIVE != 0);
        for u in &mut out.unknown {
            u.flags |= flags::PARTIAL;
        }
        out
    }

    /// Whether no attribute is present.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// ORIGIN values (RFC 4271 section 5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// 0: IGP.
    Igp,
    /// 1: EGP.
    Egp,
    /// 2: INCOMPLETE.
    Incomplete,
}

impl Origin {
    /// The wire value.
    pub fn to_wire(self) -> u8 {
        match self {
            Self::Igp => 0,
            Self::Egp => 1,
            Self::Incomplete => 2,
        }
    }

    /// Parses the wire value; 3 and above are undefined.
    pub fn from_wire(value: u8) -> Option<Self> {
        match value {
            0 => Some(Self::Igp),
            1 => Some(Self::Egp),
            2 => Some(Self::Incomplete),
            _ => None,
        }
    }
}

impl fmt::Display for Origin {
    /// Formats as "igp", "egp" or "incomplete".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Igp => "igp",
            Self::Egp => "egp",
            Self::Incomplete => "incomplete",
        })
    }
}

impl FromStr for Origin {
    type Err = String;

    /// Parses "igp"/"i", "egp"/"e", "incomplete"/"?".
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "igp" | "i" => Ok(Self::Igp),
            "egp" | "e" => Ok(Self::Egp),
            "incomplete" | "?" => Ok(Self::Incomplete),
            _ => Err(format!("unknown origin {s:?}")),
        }
    }
}

/// AGGREGATOR (RFC 4271 5.1.7), always with a 4-octet AS here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Aggregator {
    /// The AS that formed the aggregate.
    pub asn: u32,
    /// The BGP Identifier of the speaker that formed it.
    pub address: Ipv4Addr,
}

/// An attribute we do not recognise, kept so it can be passed on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnknownAttribute {
    /// Flags, without the Extended Length bit (chosen on encode).
    pub flags: u8,
    /// Type code.
    pub code: u8,
    /// Value.
    pub value: Bytes,
}
