//! Shared pieces of the bgplet-wire fuzz targets.
//!
//! Every decoder takes a negotiated [`SessionContext`]; the targets
//! derive it from the fuzz input with `Arbitrary` (style habit 4) so
//! that the same bytes are tried on every kind of session.

use arbitrary::Arbitrary;
use bgplet_wire::{AfiSafi, FamilySet, SessionContext};

/// The session parameters that change how bytes are read.
#[derive(Debug, Clone, Copy)]
#[derive(Arbitrary)]
pub struct FuzzCtx {
    /// RFC 6793 4-octet AS numbers.
    pub four_octet_as: bool,
    /// RFC 7911 path identifiers on IPv4 unicast NLRI.
    pub add_path_v4: bool,
    /// RFC 7911 path identifiers on IPv6 unicast NLRI.
    pub add_path_v6: bool,
    /// RFC 8654 messages up to 65535 octets.
    pub extended_message: bool,
    /// An internal peer (LOCAL_PREF mandatory, reflection attributes
    /// accepted).
    pub ibgp: bool,
}

impl FuzzCtx {
    /// The session context, with path identifiers in both directions on
    /// the same families so that what is decoded can be re-encoded.
    pub fn session(self) -> SessionContext {
        let mut add_path = FamilySet::EMPTY;
        if self.add_path_v4 {
            add_path.insert(AfiSafi::IPV4_UNICAST);
        }
        if self.add_path_v6 {
            add_path.insert(AfiSafi::IPV6_UNICAST);
        }
        SessionContext {
            four_octet_as: self.four_octet_as,
            add_path_rx: add_path,
            add_path_tx: add_path,
            extended_message: self.extended_message,
            ibgp: self.ibgp,
        }
    }
}
