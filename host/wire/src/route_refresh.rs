//! ROUTE-REFRESH (RFC 2918) with the RFC 7313 message subtypes.
//!
//! ```text
//!  0       7      15      23      31
//! +-------+-------+-------+-------+
//! |      AFI      | Subtype | SAFI |
//! +-------+-------+-------+-------+
//! ```

use bytes::{BufMut, BytesMut};

use crate::afi::AfiSafi;

/// The RFC 7313 subtype (the octet that was "Reserved" in RFC 2918).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteRefreshSubtype {
    /// 0: a normal route refresh request.
    Normal,
    /// 1: Beginning of Route Refresh (BoRR).
    BeginningOfRefresh,
    /// 2: End of Route Refresh (EoRR).
    EndOfRefresh,
    /// Any other value: the message is to be ignored (RFC 7313 5).
    Reserved(u8),
}

impl RouteRefreshSubtype {
    /// The wire value.
    pub fn to_wire(self) -> u8 {
        match self {
            Self::Normal => 0,
            Self::BeginningOfRefresh => 1,
            Self::EndOfRefresh => 2,
            Self::Reserved(x) => x,
        }
    }

    /// Parses the wire value.
    pub fn from_wire(value: u8) -> Self {
        match value {
            0 => Self::Normal,
            1 => Self::BeginningOfRefresh,
            2 => Self::EndOfRefresh,
            x => Self::Reserved(x),
        }
    }
}

/// A ROUTE-REFRESH message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteRefresh {
    /// The family to refresh.
    pub family: AfiSafi,
    /// Request, BoRR or EoRR.
    pub subtype: RouteRefreshSubtype,
}

impl RouteRefresh {
    /// A normal refresh request for `family`.
    pub fn request(family: AfiSafi) -> Self {
        Self {
            family,
            subtype: RouteRefreshSubtype::Normal,
        }
    }

    /// Decodes the 4-octet body; `None` if the length is wrong.
    pub fn decode(body: &[u8]) -> Option<Self> {
        let [a0, a1, subtype, safi] = *body else {
            return None;
        };
        Some(Self {
            family: AfiSafi {
                afi: u16::from_be_bytes([a0, a1]),
                safi,
            },
            subtype: RouteRefreshSubtype::from_wire(subtype),
        })
    }

    /// Appends the body.
    pub fn encode_body(&self, out: &mut BytesMut) {
        out.put_u16(self.family.afi);
        out.put_u8(self.subtype.to_wire());
        out.put_u8(self.family.safi);
    }
}
