//! Connection collision detection (RFC 4271 section 6.8).
//!
//! Both ends may connect at once. The driver runs one [`crate::Fsm`] per
//! TCP connection while two exist for a peer: the second one, for an
//! inbound connection, starts with [`crate::Event::AutomaticStartPassive`]
//! then [`crate::Event::TcpConnectionConfirmed`]. When an OPEN arrives
//! on either connection, the driver calls [`resolve`] before feeding the
//! OPEN, and carries out the answer; the FSM it closes goes to Idle
//! without restarting by itself, and the driver drops it.

use std::net::Ipv4Addr;

use bgplet_wire::{Capability, Open};

use crate::config::SessionConfig;
use crate::event::Event;
use crate::state::State;

/// Which end opened a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initiator {
    /// We connected out.
    Local,
    /// The peer connected to us.
    Remote,
}

/// The other connection to the same peer, as the driver sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtherConnection {
    /// The state of its FSM.
    pub state: State,
    /// Who opened it.
    pub initiator: Initiator,
}

/// What the driver does when an OPEN arrives on one connection while
/// another one to the same peer exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The other connection has no BGP exchange going: feed the OPEN to
    /// this connection's FSM as usual.
    NoCollision,
    /// Close this connection: feed [`Resolution::dump_event`] to its FSM
    /// instead of the OPEN.
    DumpThis,
    /// Close the other connection with [`Resolution::dump_event`], then
    /// feed the OPEN to this connection's FSM.
    DumpOther,
    /// The other connection is Established and the peer now opens a new
    /// session announcing graceful restart: the peer restarted (RFC 4724
    /// section 4.2). Close the other connection silently with
    /// [`Event::TcpConnectionFails`] (keeping its routes stale), then feed
    /// the OPEN to this connection's FSM.
    PeerRestarted,
}

impl Resolution {
    /// The event for the FSM being closed: Cease 6/7 for a collision, a
    /// silent close for a restarted peer. `None` when nothing is closed.
    pub fn dump_event(self) -> Option<Event> {
        match self {
            Self::NoCollision => None,
            Self::DumpThis | Self::DumpOther => Some(Event::OpenCollisionDump),
            Self::PeerRestarted => Some(Event::TcpConnectionFails),
        }
    }
}

/// The initiator whose connection survives a collision: the connection
/// opened by the end with the higher BGP Identifier, compared as 32-bit
/// numbers (RFC 4271 section 6.8). Equal identifiers, legal between
/// different ASes, are broken by the larger AS (RFC 6286 section 2.3).
pub fn survivor(
    local_id: Ipv4Addr,
    local_as: u32,
    remote_id: Ipv4Addr,
    remote_as: u32,
) -> Initiator {
    let local = (u32::from(local_id), local_as);
    let remote = (u32::from(remote_id), remote_as);
    if local > remote {
        Initiator::Local
    } else {
        Initiator::Remote
    }
}

/// Decides a collision when `open` arrives on a connection opened by
/// `this`, while `other` also exists for the same peer.
pub fn resolve(
    config: &SessionConfig,
    open: &Open,
    this: Initiator,
    other: OtherConnection,
) -> Resolution {
    match other.state {
        State::Idle | State::Connect | State::Active => Resolution::NoCollision,
        // A collision with an Established session closes the newcomer
        // (RFC 4271 section 6.8), unless the peer restarted.
        State::Established => {
            let graceful = open
                .capabilities
                .iter()
                .any(|c| matches!(c, Capability::GracefulRestart(_)));
            if graceful {
                Resolution::PeerRestarted
            } else {
                Resolution::DumpThis
            }
        }
        State::OpenSent | State::OpenConfirm => {
            // Two connections from the same side: the peer gave up the
            // older one, and this one is alive.
            if this == other.initiator {
                return Resolution::DumpOther;
            }
            let peer_as = peer_as(open);
            let keep =
                survivor(config.bgp_id, config.local_as, open.bgp_id, peer_as);
            if keep == this {
                Resolution::DumpOther
            } else {
                Resolution::DumpThis
            }
        }
    }
}

/// The peer's real AS as its OPEN states it (RFC 6793).
fn peer_as(open: &Open) -> u32 {
    open.capabilities
        .iter()
        .find_map(|c| match c {
            Capability::FourOctetAs(asn) => Some(*asn),
            _ => None,
        })
        .unwrap_or(u32::from(open.my_as))
}
