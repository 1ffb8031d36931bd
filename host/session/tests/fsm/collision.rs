use std::net::Ipv4Addr;

use bgplet_session::collision::{resolve, survivor};
use bgplet_session::{
    Action, DownReason, Event, Fsm, Initiator, OtherConnection, Resolution,
    State, Timer,
};
use bgplet_wire::{Capability, GracefulRestart};

use crate::helpers::{
    LOCAL_AS, LOCAL_ID, REMOTE_AS, config, notification, peer_open, secs,
};

const LOW: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const HIGH: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);

fn other(state: State, initiator: Initiator) -> OtherConnection {
    OtherConnection { state, initiator }
}

#[test]
fn collision_keeps_connection_of_higher_bgp_id() {
    assert_eq!(survivor(HIGH, 1, LOW, 2), Initiator::Local);
    assert_eq!(survivor(LOW, 2, HIGH, 1), Initiator::Remote);
}

#[test]
fn collision_compares_identifiers_as_numbers_not_octet_strings() {
    let ten = Ipv4Addr::new(10, 0, 0, 10);
    let nine = Ipv4Addr::new(9, 255, 255, 255);
    assert_eq!(survivor(ten, 1, nine, 1), Initiator::Local);
}

#[test]
fn collision_with_equal_identifiers_keeps_connection_of_larger_as() {
    assert_eq!(survivor(LOW, 65001, LOW, 65000), Initiator::Local);
    assert_eq!(survivor(LOW, 65000, LOW, 65001), Initiator::Remote);
}

#[test]
fn open_from_a_higher_peer_on_its_connection_dumps_ours() {
    // peer_open() has 10.0.0.2, above our 10.0.0.1.
    let ours = other(State::OpenConfirm, Initiator::Local);
    let resolution = resolve(&config(), &peer_open(), Initiator::Remote, ours);
    assert_eq!(resolution, Resolution::DumpOther);
    assert_eq!(resolution.dump_event(), Some(Event::OpenCollisionDump));
}

#[test]
fn open_from_a_higher_peer_on_our_connection_dumps_ours() {
    let theirs = other(State::OpenSent, Initiator::Remote);
    assert_eq!(
        resolve(&config(), &peer_open(), Initiator::Local, theirs),
        Resolution::DumpThis
    );
}

#[test]
fn open_from_a_lower_peer_keeps_our_connection() {
    let mut open = peer_open();
    open.bgp_id = Ipv4Addr::new(10, 0, 0, 0);
    let ours = other(State::OpenSent, Initiator::Local);
    assert_eq!(
        resolve(&config(), &open, Initiator::Remote, ours),
        Resolution::DumpThis
    );
}

#[test]
fn other_connection_without_bgp_exchange_is_no_collision() {
    for state in [State::Idle, State::Connect, State::Active] {
        let ours = other(state, Initiator::Local);
        let resolution =
            resolve(&config(), &peer_open(), Initiator::Remote, ours);
        assert_eq!(resolution, Resolution::NoCollision);
        assert_eq!(resolution.dump_event(), None);
    }
}

#[test]
fn two_connections_from_the_peer_keep_the_one_with_the_open() {
    let older = other(State::OpenSent, Initiator::Remote);
    assert_eq!(
        resolve(&config(), &peer_open(), Initiator::Remote, older),
        Resolution::DumpOther
    );
}

#[test]
fn collision_with_an_established_session_dumps_the_new_connection() {
    let up = other(State::Established, Initiator::Local);
    assert_eq!(
        resolve(&config(), &peer_open(), Initiator::Remote, up),
        Resolution::DumpThis
    );
}

#[test]
fn new_open_with_graceful_restart_on_an_established_session_means_restart() {
    let mut open = peer_open();
    open.capabilities
        .push(Capability::GracefulRestart(GracefulRestart {
            restart_state: true,
            notification: false,
            restart_time: 120,
            families: vec![],
        }));
    let up = other(State::Established, Initiator::Local);
    let resolution = resolve(&config(), &open, Initiator::Remote, up);
    assert_eq!(resolution, Resolution::PeerRestarted);
    assert_eq!(resolution.dump_event(), Some(Event::TcpConnectionFails));
}

#[test]
fn two_fsms_during_a_collision_window_end_with_one_session() {
    // Ours: outbound, OpenSent. The peer (higher id) connects in too.
    let mut outbound = Fsm::new(config()).unwrap();
    outbound.handle(Event::ManualStart);
    outbound.handle(Event::TcpCrAcked);
    assert_eq!(outbound.handle(Event::TcpConnectionConfirmed), vec![]);

    let mut inbound = Fsm::new(config()).unwrap();
    assert_eq!(inbound.handle(Event::AutomaticStartPassive), vec![]);
    assert_eq!(
        inbound.handle(Event::TcpConnectionConfirmed),
        vec![
            Action::SendOpen(inbound.open().clone()),
            Action::StartTimer(Timer::Hold, secs(240)),
        ]
    );

    // The peer's OPEN arrives on the inbound connection.
    let seen = other(outbound.state(), Initiator::Local);
    let resolution =
        resolve(inbound.config(), &peer_open(), Initiator::Remote, seen);
    assert_eq!(resolution, Resolution::DumpOther);
    let dump = resolution.dump_event().unwrap();
    let collision = notification(6, 7);
    assert_eq!(
        outbound.handle(dump),
        vec![
            Action::SendNotification(collision.clone()),
            Action::DropConnection,
            Action::StopTimer(Timer::Hold),
            Action::Down(DownReason::NotificationSent(collision)),
        ]
    );
    assert!(!outbound.timer_running(Timer::IdleHold));
    inbound.handle(Event::BgpOpen(peer_open()));
    inbound.handle(Event::KeepAliveMsg);
    assert_eq!(inbound.state(), State::Established);
    assert_eq!(inbound.negotiated().unwrap().peer_as, REMOTE_AS);
    assert_eq!((LOCAL_AS, LOCAL_ID), (64512, LOW));
}
