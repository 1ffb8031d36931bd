//! Shared fixtures: an eBGP session 64512 -> 64513 with Calico timers.

use std::net::Ipv4Addr;
use std::time::Duration;

use bgplet_session::{Event, Fsm, SessionConfig, State};
use bgplet_wire::{AfiSafi, Capability, Notification, Open};

pub const LOCAL_AS: u32 = 64512;
pub const REMOTE_AS: u32 = 64513;
pub const LOCAL_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const REMOTE_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// Our side, without graceful restart so OPENs stay short.
pub fn config() -> SessionConfig {
    let mut config = SessionConfig::new(LOCAL_AS, REMOTE_AS, LOCAL_ID);
    config.graceful_restart = None;
    config
}

/// A plain, acceptable OPEN from the peer.
pub fn peer_open() -> Open {
    Open {
        version: 4,
        my_as: 64513,
        hold_time: 240,
        bgp_id: REMOTE_ID,
        capabilities: vec![
            Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
            Capability::RouteRefresh,
            Capability::FourOctetAs(REMOTE_AS),
        ],
    }
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn notification(code: u8, subcode: u8) -> Notification {
    Notification {
        code,
        subcode,
        data: Default::default(),
    }
}

/// An FSM brought to `state` through the usual events.
pub fn fsm_in(state: State) -> Fsm {
    fsm_with(config(), state)
}

/// Like [`fsm_in`] with a given config (which must not be passive).
pub fn fsm_with(config: SessionConfig, state: State) -> Fsm {
    let mut fsm = Fsm::new(config).unwrap();
    let path: &[Event] = match state {
        State::Idle => &[],
        State::Connect => &[Event::ManualStart],
        State::Active => &[Event::ManualStart, Event::TcpConnectionFails],
        State::OpenSent => &[Event::ManualStart, Event::TcpCrAcked],
        State::OpenConfirm | State::Established => &[
            Event::ManualStart,
            Event::TcpCrAcked,
            Event::BgpOpen(peer_open()),
        ],
    };
    for event in path {
        fsm.handle(event.clone());
    }
    if state == State::Established {
        fsm.handle(Event::KeepAliveMsg);
    }
    assert_eq!(fsm.state(), state);
    fsm
}
