//! The negotiated session parameters that change how bytes are read.

use crate::afi::AfiSafi;
use crate::capability::Capability;
use crate::message::Open;

/// Largest message before RFC 8654 extended messages (RFC 4271 4.1).
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Largest message once extended messages are negotiated (RFC 8654).
pub const EXTENDED_MAX_MESSAGE_LEN: usize = 65535;

/// A small set of the families bgplet carries (IPv4 and IPv6 unicast).
///
/// Other families never carry path identifiers for us, so a bitset is
/// enough and keeps the per-prefix check branch-cheap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FamilySet(u8);

impl FamilySet {
    /// The empty set.
    pub const EMPTY: Self = Self(0);
    /// Both IPv4 and IPv6 unicast.
    pub const ALL: Self = Self(0b11);

    /// Adds a family; families other than IPv4/IPv6 unicast are ignored.
    pub fn insert(&mut self, family: AfiSafi) {
        self.0 |= Self::bit(family);
    }

    /// Whether the family is in the set.
    pub fn contains(self, family: AfiSafi) -> bool {
        self.0 & Self::bit(family) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn bit(family: AfiSafi) -> u8 {
        match family {
            AfiSafi::IPV4_UNICAST => 0b01,
            AfiSafi::IPV6_UNICAST => 0b10,
            _ => 0,
        }
    }
}

impl FromIterator<AfiSafi> for FamilySet {
    fn from_iter<T: IntoIterator<Item = AfiSafi>>(iter: T) -> Self {
        let mut set = Self::EMPTY;
        for family in iter {
            set.insert(family);
        }
        set
    }
}

/// What both sides agreed in their OPEN messages, plus the peer type.
///
/// `Default` is the state before OPENs are exchanged: 2-octet AS, no
/// ADD-PATH, 4096-octet messages, eBGP.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SessionContext {
    /// Both sides advertised the 4-octet AS capability (RFC 6793).
    pub four_octet_as: bool,
    /// Families whose received NLRI carry path identifiers (RFC 7911).
    pub add_path_rx: FamilySet,
    /// Families whose sent NLRI carry path identifiers (RFC 7911).
    pub add_path_tx: FamilySet,
    /// Both sides advertised extended messages (RFC 8654).
    pub extended_message: bool,
    /// The peer is in our AS (LOCAL_PREF is mandatory, RFC 4271 5.1.5).
    pub ibgp: bool,
}

impl SessionContext {
    /// Derives the context from the OPEN we sent and the one we received.
    ///
    /// ADD-PATH is per direction (RFC 7911 section 4): we receive path ids
    /// for a family when we said "receive" and the peer said "send".
    pub fn negotiate(local: &Open, remote: &Open, ibgp: bool) -> Self {
        let both = |pred: fn(&Capability) -> bool| {
            local.capabilities.iter().any(pred)
                && remote.capabilities.iter().any(pred)
        };
        let mut ctx = Self {
            four_octet_as: both(|c| matches!(c, Capability::FourOctetAs(_))),
            extended_message: both(|c| {
                matches!(c, Capability::ExtendedMessage)
            }),
            ibgp,
            ..Self::default()
        };
        for ours in local.add_path() {
            let Some(theirs) =
                remote.add_path().find(|e| e.family == ours.family)
            else {
                continue;
            };
            if ours.mode.receives() && theirs.mode.sends() {
                ctx.add_path_rx.insert(ours.family);
            }
            if ours.mode.sends() && theirs.mode.receives() {
                ctx.add_path_tx.insert(ours.family);
            }
        }
        ctx
    }

    /// The largest message either side may send on this session.
    pub fn max_message_len(&self) -> usize {
        if self.extended_message {
            EXTENDED_MAX_MESSAGE_LEN
        } else {
            MAX_MESSAGE_LEN
        }
    }

    /// Whether received NLRI of this family carry path identifiers.
    pub fn rx_path_id(&self, family: AfiSafi) -> bool {
        self.add_path_rx.contains(family)
    }

    /// Whether sent NLRI of this family carry path identifiers.
    pub fn tx_path_id(&self, family: AfiSafi) -> bool {
        self.add_path_tx.contains(family)
    }
}
