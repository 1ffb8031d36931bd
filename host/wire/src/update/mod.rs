//! UPDATE message (RFC 4271 section 4.3) and its multiprotocol parts
//! (RFC 4760).
//!
//! ```text
//! +-----------------------------------------------------+
//! |   Withdrawn Routes Length (2 octets)                |
//! +-----------------------------------------------------+
//! |   Withdrawn Routes (variable)                       |
//! +-----------------------------------------------------+
//! |   Total Path Attribute Length (2 octets)            |
//! +-----------------------------------------------------+
//! |   Path Attributes (variable)                        |
//! +-----------------------------------------------------+
//! |   Network Layer Reachability Information (variable) |
//! +-----------------------------------------------------+
//! ```

mod encode;
mod packer;
mod received;

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::afi::AfiSafi;
use crate::attribute::PathAttributes;
use crate::context::SessionContext;
use crate::error::UpdateError;
use crate::nlri::Nlri;
use crate::rfc7606::UpdateOutcome;

pub use packer::{encode_announcements, encode_withdrawals};
pub use received::{RawAttribute, ReceivedUpdate};

/// A next hop as carried by NEXT_HOP or MP_REACH_NLRI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NextHop {
    /// An IPv4 next hop.
    V4(Ipv4Addr),
    /// An IPv6 next hop with an optional link-local address (RFC 2545
    /// section 3: a 32-octet next hop is global then link-local).
    V6 {
        /// The global address.
        global: Ipv6Addr,
        /// The link-local address, when the peer shares a link.
        link_local: Option<Ipv6Addr>,
    },
}

impl NextHop {
    /// Octets in the MP_REACH_NLRI next-hop field.
    pub fn wire_len(&self) -> usize {
        match self {
            Self::V4(_) => 4,
            Self::V6 {
                link_local: None, ..
            } => 16,
            Self::V6 {
                link_local: Some(_),
                ..
            } => 32,
        }
    }
}

impl std::fmt::Display for NextHop {
    /// Formats as "192.0.2.1", "2001:db8::1" or "2001:db8::1 fe80::1".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::V4(ip) => write!(f, "{ip}"),
            Self::V6 {
                global,
                link_local: None,
            } => write!(f, "{global}"),
            Self::V6 {
                global,
                link_local: Some(ll),
            } => {
                write!(f, "{global} {ll}")
            }
        }
    }
}

/// MP_REACH_NLRI (RFC 4760 section 3).
///
/// ```text
/// +---------------------------------------------------------+
/// | Address Family Identifier (2 octets)                    |
/// | Subsequent Address Family Identifier (1 octet)          |
/// | Length of Next Hop Network Address (1 octet)            |
/// | Network Address of Next Hop (variable)                  |
/// | Reserved (1 octet)                                      |
/// | Network Layer Reachability Information (variable)       |
/// +---------------------------------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpReach {
    /// The family of the NLRI.
    pub family: AfiSafi,
    /// The next hop for all the NLRI.
    pub next_hop: NextHop,
    /// The reachable prefixes.
    pub nlri: Vec<Nlri>,
}

/// MP_UNREACH_NLRI (RFC 4760 section 4).
///
/// ```text
/// +---------------------------------------------------------+
/// | Address Family Identifier (2 octets)                    |
/// | Subsequent Address Family Identifier (1 octet)          |
/// | Withdrawn Routes (variable)                             |
/// +---------------------------------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpUnreach {
    /// The family of the withdrawn prefixes.
    pub family: AfiSafi,
    /// The withdrawn prefixes.
    pub withdrawn: Vec<Nlri>,
}

/// A decoded UPDATE.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Update {
    /// Classic withdrawn routes (IPv4 unicast).
    pub withdrawn: Vec<Nlri>,
    /// The attributes shared by all announced prefixes.
    pub attributes: PathAttributes,
    /// MP_REACH_NLRI, if present.
    pub mp_reach: Option<MpReach>,
    /// MP_UNREACH_NLRI, if present.
    pub mp_unreach: Option<MpUnreach>,
    /// Classic NLRI (IPv4 unicast), next hop in `attributes.next_hop`.
    pub nlri: Vec<Nlri>,
}

/// The prefixes of one family announced by an UPDATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announcement<'a> {
    /// The family.
    pub family: AfiSafi,
    /// Their next hop.
    pub next_hop: NextHop,
    /// The prefixes.
    pub nlri: &'a [Nlri],
}

impl Update {
    /// The End-of-RIB marker for a family (RFC 4724 section 2): the empty
    /// UPDATE for IPv4 unicast, otherwise an MP_UNREACH_NLRI without
    /// prefixes.
    pub fn end_of_rib(family: AfiSafi) -> Self {
        if family == AfiSafi::IPV4_UNICAST {
            return Self::default();
        }
        Self {
            mp_unreach: Some(MpUnreach {
                family,
                withdrawn: Vec::new(),
            }),
            ..Self::default()
        }
    }

    /// The family this UPDATE marks End-of-RIB for, if it is one.
    pub fn end_of_rib_family(&self) -> Option<AfiSafi> {
        if !self.withdrawn.is_empty()
            || !self.nlri.is_empty()
            || self.mp_reach.is_some()
            || !self.attributes.is_empty()
        {
            return None;
        }
        match &self.mp_unreach {
            None => Some(AfiSafi::IPV4_UNICAST),
            Some(u) if u.withdrawn.is_empty() => Some(u.family),
            Some(_) => None,
        }
    }

    /// Withdrawn prefixes per family: classic withdrawals count as IPv4
    /// unicast. Empty groups are skipped.
    pub fn withdrawals(&self) -> impl Iterator<Item = (AfiSafi, &[Nlri])> {
        let classic = (AfiSafi::IPV4_UNICAST, self.withdrawn.as_slice());
        let mp = self
            .mp_unreach
            .as_ref()
            .map(|u| (u.family, u.withdrawn.as_slice()));
        std::iter::once(classic)
            .chain(mp)
            .filter(|(_, n)| !n.is_empty())
    }

    /// Announced prefixes per family with their next hop: classic NLRI
    /// with NEXT_HOP, then MP_REACH_NLRI. Empty groups are skipped.
    pub fn announcements(&self) -> impl Iterator<Item = Announcement<'_>> {
        let classic = Announcement {
            family: AfiSafi::IPV4_UNICAST,
            next_hop: NextHop::V4(
                self.attributes.next_hop.unwrap_or(Ipv4Addr::UNSPECIFIED),
            ),
            nlri: &self.nlri,
        };
        let mp = self.mp_reach.as_ref().map(|r| Announcement {
            family: r.family,
            next_hop: r.next_hop,
            nlri: &r.nlri,
        });
        std::iter::once(classic)
            .chain(mp)
            .filter(|a| !a.nlri.is_empty())
    }

    /// Whether the UPDATE announces any prefix.
    pub fn has_announcements(&self) -> bool {
        !self.nlri.is_empty()
            || self.mp_reach.as_ref().is_some_and(|r| !r.nlri.is_empty())
    }
}

impl Update {
    /// Decodes an UPDATE body (after the header) and applies RFC 7606:
    /// [`ReceivedUpdate::parse`] then [`ReceivedUpdate::validate`].
    pub fn decode(
        body: &[u8],
        ctx: &SessionContext,
    ) -> Result<UpdateOutcome, UpdateError> {
        ReceivedUpdate::parse(body, ctx)?.validate(ctx)
    }
}
