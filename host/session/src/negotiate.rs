//! Checking the peer's OPEN and working out what both sides agreed on.

use std::net::Ipv4Addr;

use bgplet_wire::{
    AddPathMode, AfiSafi, Capability, GracefulRestart, Notification, Open,
};

use crate::config::SessionConfig;
use crate::notify;

/// The session parameters both ends agreed on, handed to the rest of the
/// host when the session reaches Established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The peer's real AS (from the 4-octet AS capability if present).
    pub peer_as: u32,
    /// The peer's BGP Identifier.
    pub peer_bgp_id: Ipv4Addr,
    /// Negotiated hold time in seconds; 0 means no hold timer and no
    /// keepalives.
    pub hold_time: u16,
    /// Keepalive interval in seconds (0 when `hold_time` is 0).
    pub keepalive_time: u16,
    /// Both sides sent the 4-octet AS capability (RFC 6793).
    pub four_octet_as: bool,
    /// Families both sides offered, in our configured order.
    pub families: Vec<AfiSafi>,
    /// ADD-PATH per family, only for families with a direction on.
    pub add_path: Vec<AddPathFamily>,
    /// Both sides offered route refresh (RFC 2918).
    pub route_refresh: bool,
    /// Both sides offered enhanced route refresh (RFC 7313).
    pub enhanced_route_refresh: bool,
    /// Both sides offered extended messages (RFC 8654).
    pub extended_message: bool,
    /// The peer's graceful-restart capability as received (restart time,
    /// R bit, N bit and per-family F bit), if it sent one.
    pub peer_graceful_restart: Option<GracefulRestart>,
    /// The peer is in our AS.
    pub ibgp: bool,
}

/// The ADD-PATH directions in effect for one family (RFC 7911 section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddPathFamily {
    /// The family.
    pub family: AfiSafi,
    /// We may send path identifiers: we offered Send and the peer
    /// offered Receive.
    pub send: bool,
    /// The peer's NLRI carry path identifiers: we offered Receive and
    /// the peer offered Send.
    pub receive: bool,
}

/// The pieces the wire codec needs to decode and encode on this session,
/// as plain data (the daemon builds the codec's context from them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireParams {
    /// AS numbers in AS_PATH and AGGREGATOR are 4 octets.
    pub four_octet_as: bool,
    /// Families whose received NLRI carry a path identifier.
    pub add_path_receive: Vec<AfiSafi>,
    /// Families whose sent NLRI carry a path identifier.
    pub add_path_send: Vec<AfiSafi>,
    /// Messages may be up to 65535 octets.
    pub extended_message: bool,
    /// The peer is internal (LOCAL_PREF, ORIGINATOR_ID rules).
    pub ibgp: bool,
}

/// Why we refuse a peer's OPEN; each maps to a NOTIFICATION (RFC 4271
/// section 6.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Subcode 1: the peer bid a version other than 4.
    #[error("unsupported BGP version {0}")]
    UnsupportedVersion(u8),
    /// Subcode 2: the peer's AS is not the one configured.
    #[error("peer AS {got} does not match the configured {expected}")]
    BadPeerAs {
        /// The configured remote AS.
        expected: u32,
        /// The AS the peer presented.
        got: u32,
    },
    /// Subcode 3: the identifier is 0, or equals ours on an iBGP session
    /// (RFC 6286 section 2.2).
    #[error("unacceptable BGP identifier {0}")]
    BadBgpId(Ipv4Addr),
    /// Subcode 6: hold time 1 or 2 (RFC 4271 section 4.2).
    #[error("unacceptable hold time {0} s")]
    UnacceptableHoldTime(u16),
}

impl Negotiated {
    /// Whether we may send path identifiers for `family`.
    pub fn add_path_send(&self, family: AfiSafi) -> bool {
        self.add_path.iter().any(|a| a.family == family && a.send)
    }

    /// Whether the peer's NLRI for `family` carry path identifiers.
    pub fn add_path_receive(&self, family: AfiSafi) -> bool {
        self.add_path
            .iter()
            .any(|a| a.family == family && a.receive)
    }

    /// The codec parameters of this session.
    pub fn wire_params(&self) -> WireParams {
        let pick = |f: fn(&AddPathFamily) -> bool| {
            self.add_path
                .iter()
                .filter(|a| f(a))
                .map(|a| a.family)
                .collect()
        };
        WireParams {
            four_octet_as: self.four_octet_as,
            add_path_receive: pick(|a| a.receive),
            add_path_send: pick(|a| a.send),
            extended_message: self.extended_message,
            ibgp: self.ibgp,
        }
    }
}

impl WireParams {
    /// The largest message allowed on this session (RFC 8654).
    pub fn max_message_len(&self) -> usize {
        if self.extended_message { 65535 } else { 4096 }
    }
}

impl OpenError {
    /// The NOTIFICATION that reports this error to the peer.
    pub fn notification(&self) -> Notification {
        match self {
            // Data: the largest version we support (RFC 4271 section 6.2).
            Self::UnsupportedVersion(_) => {
                notify::with_data(notify::OPEN_ERROR, 1, vec![0, 4])
            }
            Self::BadPeerAs { .. } => notify::bare(notify::OPEN_ERROR, 2),
            Self::BadBgpId(_) => notify::bare(notify::OPEN_ERROR, 3),
            Self::UnacceptableHoldTime(_) => {
                notify::bare(notify::OPEN_ERROR, 6)
            }
        }
    }
}

/// Checks the peer's OPEN against our config and computes the session
/// parameters (RFC 4271 section 6.2, RFC 5492 capability intersection).
pub fn negotiate(
    config: &SessionConfig,
    open: &Open,
) -> Result<Negotiated, OpenError> {
    if open.version != 4 {
        return Err(OpenError::UnsupportedVersion(open.version));
    }
    let four_octet = open.capabilities.iter().find_map(|c| match c {
        Capability::FourOctetAs(asn) => Some(*asn),
        _ => None,
    });
    // RFC 6793 section 4.2.1: the capability carries the real AS.
    let peer_as = four_octet.unwrap_or(u32::from(open.my_as));
    if peer_as != config.remote_as {
        return Err(OpenError::BadPeerAs {
            expected: config.remote_as,
            got: peer_as,
        });
    }
    let ibgp = peer_as == config.local_as;
    if open.bgp_id.is_unspecified() || (ibgp && open.bgp_id == config.bgp_id) {
        return Err(OpenError::BadBgpId(open.bgp_id));
    }
    if matches!(open.hold_time, 1 | 2) {
        return Err(OpenError::UnacceptableHoldTime(open.hold_time));
    }

    let hold_time = config.hold_time.min(open.hold_time);
    let families = common_families(config, open);
    let add_path = add_path(config, open, &families);
    let has = |wanted: &Capability| open.capabilities.contains(wanted);
    Ok(Negotiated {
        peer_as,
        peer_bgp_id: open.bgp_id,
        hold_time,
        keepalive_time: keepalive(config, hold_time),
        four_octet_as: four_octet.is_some(),
        families,
        add_path,
        route_refresh: config.route_refresh && has(&Capability::RouteRefresh),
        enhanced_route_refresh: config.enhanced_route_refresh
            && has(&Capability::EnhancedRouteRefresh),
        extended_message: config.extended_message
            && has(&Capability::ExtendedMessage),
        peer_graceful_restart: open.capabilities.iter().find_map(|c| match c {
            Capability::GracefulRestart(gr) => Some(gr.clone()),
            _ => None,
        }),
        ibgp,
    })
}

/// The keepalive interval for a negotiated hold time. A configured
/// keepalive shrinks in proportion when the peer forces a shorter hold
/// time, as BIRD does, so it always stays below the hold time.
fn keepalive(config: &SessionConfig, hold: u16) -> u16 {
    if hold == 0 {
        return 0;
    }
    match config.keepalive_time {
        None => hold / 3,
        Some(ka) if hold >= config.hold_time => ka,
        Some(ka) => {
            let scaled = u32::from(ka) * u32::from(hold)
                / u32::from(config.hold_time.max(1));
            u16::try_from(scaled).unwrap_or(hold / 3).max(1)
        }
    }
}

/// Our families the peer also offered. A peer without any multiprotocol
/// capability speaks IPv4 unicast only (RFC 4760 section 8).
fn common_families(config: &SessionConfig, open: &Open) -> Vec<AfiSafi> {
    let peer: Vec<AfiSafi> = open
        .capabilities
        .iter()
        .filter_map(|c| match c {
            Capability::Multiprotocol(family) => Some(*family),
            _ => None,
        })
        .collect();
    let peer = if peer.is_empty() {
        vec![AfiSafi::IPV4_UNICAST]
    } else {
        peer
    };
    let mut common = Vec::new();
    for family in &config.families {
        if peer.contains(family) && !common.contains(family) {
            common.push(*family);
        }
    }
    common
}

/// ADD-PATH directions per negotiated family (RFC 7911 section 5): a
/// direction is on when one side offered to send and the other to receive.
fn add_path(
    config: &SessionConfig,
    open: &Open,
    families: &[AfiSafi],
) -> Vec<AddPathFamily> {
    let Some(ours) = config.add_path else {
        return Vec::new();
    };
    let peer_mode = |family: AfiSafi| -> Option<AddPathMode> {
        // A later entry for the same family wins.
        open.capabilities
            .iter()
            .filter_map(|c| match c {
                Capability::AddPath(entries) => Some(entries),
                _ => None,
            })
            .flatten()
            .filter(|e| e.family == family)
            .map(|e| e.mode)
            .last()
    };
    families
        .iter()
        .filter_map(|&family| {
            let theirs = peer_mode(family)?;
            let entry = AddPathFamily {
                family,
                send: ours.sends() && theirs.receives(),
                receive: ours.receives() && theirs.sends(),
            };
            (entry.send || entry.receive).then_some(entry)
        })
        .collect()
}
