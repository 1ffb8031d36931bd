use std::net::Ipv4Addr;

use bgplet_session::{
    Action, DownReason, Event, Fsm, OpenError, State, Timer, negotiate,
};
use bgplet_wire::{Capability, Notification};

use crate::helpers::{
    LOCAL_AS, LOCAL_ID, config, fsm_in, notification, peer_open, secs,
};

/// The actions of an OpenSent session closed after sending `sent`.
fn closed_after(sent: Notification, reason: DownReason) -> Vec<Action> {
    vec![
        Action::SendNotification(sent),
        Action::DropConnection,
        Action::StopTimer(Timer::Hold),
        Action::Down(reason),
        Action::StartTimer(Timer::IdleHold, secs(5)),
    ]
}

fn rejected(err: OpenError) -> Vec<Action> {
    closed_after(err.notification(), DownReason::OpenRejected(err))
}

#[test]
fn open_sent_on_valid_open_sends_keepalive_and_arms_negotiated_timers() {
    let mut fsm = fsm_in(State::OpenSent);
    assert_eq!(
        fsm.handle(Event::BgpOpen(peer_open())),
        vec![
            Action::SendKeepalive,
            Action::StartTimer(Timer::Keepalive, secs(80)),
            Action::StartTimer(Timer::Hold, secs(240)),
        ]
    );
    assert_eq!(fsm.state(), State::OpenConfirm);
    let expected = negotiate(fsm.config(), &peer_open()).unwrap();
    assert_eq!(fsm.negotiated(), Some(&expected));
}

#[test]
fn open_sent_on_hold_timer_expiry_sends_hold_timer_expired_notification() {
    let mut fsm = fsm_in(State::OpenSent);
    assert_eq!(
        fsm.handle(Event::HoldTimerExpires),
        vec![
            Action::SendNotification(notification(4, 0)),
            Action::DropConnection,
            Action::Down(DownReason::NotificationSent(notification(4, 0))),
            Action::StartTimer(Timer::IdleHold, secs(5)),
        ]
    );
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn open_sent_on_tcp_failure_returns_to_active() {
    let mut fsm = fsm_in(State::OpenSent);
    assert_eq!(
        fsm.handle(Event::TcpConnectionFails),
        vec![
            Action::DropConnection,
            Action::StopTimer(Timer::Hold),
            Action::StartTimer(Timer::ConnectRetry, secs(5)),
        ]
    );
    assert_eq!(fsm.state(), State::Active);
}

#[test]
fn open_sent_on_manual_stop_sends_cease_administrative_shutdown() {
    let mut fsm = fsm_in(State::OpenSent);
    assert_eq!(
        fsm.handle(Event::ManualStop),
        vec![
            Action::SendNotification(notification(6, 2)),
            Action::DropConnection,
            Action::StopTimer(Timer::Hold),
            Action::Down(DownReason::Stopped),
        ]
    );
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn open_sent_on_keepalive_is_an_fsm_error_with_subcode_1() {
    let mut fsm = fsm_in(State::OpenSent);
    let fsm_error = notification(5, 1);
    assert_eq!(
        fsm.handle(Event::KeepAliveMsg),
        closed_after(
            fsm_error.clone(),
            DownReason::NotificationSent(fsm_error)
        )
    );
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn open_sent_on_update_is_an_fsm_error_with_subcode_1() {
    let mut fsm = fsm_in(State::OpenSent);
    let fsm_error = notification(5, 1);
    assert_eq!(
        fsm.handle(Event::UpdateMsg),
        closed_after(
            fsm_error.clone(),
            DownReason::NotificationSent(fsm_error)
        )
    );
}

#[test]
fn open_sent_on_notification_goes_idle_without_answering() {
    let mut fsm = fsm_in(State::OpenSent);
    let cease = notification(6, 4);
    assert_eq!(
        fsm.handle(Event::NotifMsg(cease.clone())),
        vec![
            Action::DropConnection,
            Action::StopTimer(Timer::Hold),
            Action::Down(DownReason::NotificationReceived(cease)),
            Action::StartTimer(Timer::IdleHold, secs(5)),
        ]
    );
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn open_sent_on_version_error_notification_goes_idle() {
    let mut fsm = fsm_in(State::OpenSent);
    let version = notification(2, 1);
    assert_eq!(
        fsm.handle(Event::NotifMsgVerErr(version.clone())),
        vec![
            Action::DropConnection,
            Action::StopTimer(Timer::Hold),
            Action::Down(DownReason::NotificationReceived(version)),
            Action::StartTimer(Timer::IdleHold, secs(5)),
        ]
    );
}

#[test]
fn open_sent_on_header_error_sends_the_carried_notification() {
    let mut fsm = fsm_in(State::OpenSent);
    let bad_length = notification(1, 2);
    assert_eq!(
        fsm.handle(Event::BgpHeaderErr(bad_length.clone())),
        closed_after(
            bad_length.clone(),
            DownReason::NotificationSent(bad_length)
        )
    );
}

#[test]
fn open_sent_on_open_message_error_sends_the_carried_notification() {
    let mut fsm = fsm_in(State::OpenSent);
    let bad_param = notification(2, 4);
    assert_eq!(
        fsm.handle(Event::BgpOpenMsgErr(bad_param.clone())),
        closed_after(
            bad_param.clone(),
            DownReason::NotificationSent(bad_param)
        )
    );
}

#[test]
fn open_sent_ignores_a_second_tcp_connection() {
    let mut fsm = fsm_in(State::OpenSent);
    assert_eq!(fsm.handle(Event::TcpConnectionConfirmed), vec![]);
    assert_eq!(fsm.handle(Event::TcpCrAcked), vec![]);
    assert_eq!(fsm.state(), State::OpenSent);
}

#[test]
fn open_sent_ignores_connect_retry_and_keepalive_expiries_it_never_armed() {
    let mut fsm = fsm_in(State::OpenSent);
    assert_eq!(fsm.handle(Event::ConnectRetryTimerExpires), vec![]);
    assert_eq!(fsm.handle(Event::KeepaliveTimerExpires), vec![]);
    assert_eq!(fsm.state(), State::OpenSent);
}

#[test]
fn open_sent_on_collision_dump_sends_cease_7_and_does_not_restart() {
    let mut fsm = fsm_in(State::OpenSent);
    assert_eq!(
        fsm.handle(Event::OpenCollisionDump),
        vec![
            Action::SendNotification(notification(6, 7)),
            Action::DropConnection,
            Action::StopTimer(Timer::Hold),
            Action::Down(DownReason::NotificationSent(notification(6, 7))),
        ]
    );
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn open_with_version_3_is_rejected_with_subcode_1_and_version_data() {
    let mut fsm = fsm_in(State::OpenSent);
    let mut open = peer_open();
    open.version = 3;
    let actions = fsm.handle(Event::BgpOpen(open));
    assert_eq!(actions, rejected(OpenError::UnsupportedVersion(3)));
    let Action::SendNotification(sent) = &actions[0] else {
        panic!("first action is {:?}", actions[0]);
    };
    assert_eq!(
        (sent.code, sent.subcode, &sent.data[..]),
        (2, 1, &[0, 4][..])
    );
}

#[test]
fn open_with_wrong_peer_as_is_rejected_with_subcode_2() {
    let mut fsm = fsm_in(State::OpenSent);
    let mut open = peer_open();
    open.capabilities = vec![Capability::FourOctetAs(65099)];
    open.my_as = 65099;
    assert_eq!(
        fsm.handle(Event::BgpOpen(open)),
        rejected(OpenError::BadPeerAs {
            expected: 64513,
            got: 65099
        })
    );
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn open_with_zero_bgp_id_is_rejected_with_subcode_3() {
    let mut fsm = fsm_in(State::OpenSent);
    let mut open = peer_open();
    open.bgp_id = Ipv4Addr::UNSPECIFIED;
    assert_eq!(
        fsm.handle(Event::BgpOpen(open)),
        rejected(OpenError::BadBgpId(Ipv4Addr::UNSPECIFIED))
    );
}

#[test]
fn ibgp_open_with_our_own_bgp_id_is_rejected_with_subcode_3() {
    let mut config = config();
    config.remote_as = LOCAL_AS;
    let mut fsm = Fsm::new(config).unwrap();
    fsm.handle(Event::ManualStart);
    fsm.handle(Event::TcpCrAcked);
    let mut open = peer_open();
    open.my_as = 64512;
    open.capabilities = vec![Capability::FourOctetAs(LOCAL_AS)];
    open.bgp_id = LOCAL_ID;
    assert_eq!(
        fsm.handle(Event::BgpOpen(open)),
        rejected(OpenError::BadBgpId(LOCAL_ID))
    );
}

#[test]
fn ebgp_open_with_our_own_bgp_id_is_accepted() {
    // RFC 6286 section 2.2: identifiers only need to differ within an AS.
    let mut fsm = fsm_in(State::OpenSent);
    let mut open = peer_open();
    open.bgp_id = LOCAL_ID;
    fsm.handle(Event::BgpOpen(open));
    assert_eq!(fsm.state(), State::OpenConfirm);
}

#[test]
fn open_with_unacceptable_hold_time_is_rejected_with_subcode_6() {
    for hold in [1, 2] {
        let mut fsm = fsm_in(State::OpenSent);
        let mut open = peer_open();
        open.hold_time = hold;
        assert_eq!(
            fsm.handle(Event::BgpOpen(open)),
            rejected(OpenError::UnacceptableHoldTime(hold))
        );
        assert_eq!(fsm.state(), State::Idle);
    }
}

#[test]
fn open_with_hold_time_three_is_accepted_with_keepalive_one() {
    let mut fsm = fsm_in(State::OpenSent);
    let mut open = peer_open();
    open.hold_time = 3;
    assert_eq!(
        fsm.handle(Event::BgpOpen(open)),
        vec![
            Action::SendKeepalive,
            Action::StartTimer(Timer::Keepalive, secs(1)),
            Action::StartTimer(Timer::Hold, secs(3)),
        ]
    );
}

#[test]
fn open_with_hold_time_zero_disables_keepalives_and_hold_timer() {
    let mut fsm = fsm_in(State::OpenSent);
    let mut open = peer_open();
    open.hold_time = 0;
    assert_eq!(
        fsm.handle(Event::BgpOpen(open)),
        vec![Action::SendKeepalive, Action::StopTimer(Timer::Hold)]
    );
    let negotiated = fsm.negotiated().unwrap().clone();
    assert_eq!((negotiated.hold_time, negotiated.keepalive_time), (0, 0));
    assert_eq!(
        fsm.handle(Event::KeepAliveMsg),
        vec![Action::Established(Box::new(negotiated))]
    );
    assert_eq!(fsm.handle(Event::UpdateMsg), vec![]);
    assert_eq!(fsm.handle(Event::KeepAliveMsg), vec![]);
    assert_eq!(fsm.state(), State::Established);
}

#[test]
fn open_sent_on_update_error_is_an_fsm_error_with_subcode_1() {
    let mut fsm = fsm_in(State::OpenSent);
    let fsm_error = notification(5, 1);
    assert_eq!(
        fsm.handle(Event::UpdateMsgErr(notification(3, 1))),
        closed_after(
            fsm_error.clone(),
            DownReason::NotificationSent(fsm_error)
        )
    );
}
