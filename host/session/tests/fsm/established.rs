use bgplet_session::{Action, DownReason, Event, Fsm, State, Timer};

use crate::helpers::{config, fsm_in, notification, peer_open, secs};
use crate::open_confirm::{closed_after, dropped};

#[test]
fn established_on_update_restarts_hold_timer() {
    let mut fsm = fsm_in(State::Established);
    assert_eq!(
        fsm.handle(Event::UpdateMsg),
        vec![Action::StartTimer(Timer::Hold, secs(240))]
    );
    assert_eq!(fsm.state(), State::Established);
}

#[test]
fn established_on_keepalive_restarts_hold_timer() {
    let mut fsm = fsm_in(State::Established);
    assert_eq!(
        fsm.handle(Event::KeepAliveMsg),
        vec![Action::StartTimer(Timer::Hold, secs(240))]
    );
}

#[test]
fn established_on_keepalive_timer_expiry_sends_keepalive_and_rearms() {
    let mut fsm = fsm_in(State::Established);
    assert_eq!(
        fsm.handle(Event::KeepaliveTimerExpires),
        vec![
            Action::SendKeepalive,
            Action::StartTimer(Timer::Keepalive, secs(80)),
        ]
    );
}

#[test]
fn established_uses_the_configured_keepalive() {
    let mut config = config();
    config.keepalive_time = Some(20);
    let mut fsm = Fsm::new(config).unwrap();
    fsm.handle(Event::ManualStart);
    fsm.handle(Event::TcpCrAcked);
    assert_eq!(
        fsm.handle(Event::BgpOpen(peer_open())),
        vec![
            Action::SendKeepalive,
            Action::StartTimer(Timer::Keepalive, secs(20)),
            Action::StartTimer(Timer::Hold, secs(240)),
        ]
    );
}

#[test]
fn established_on_hold_timer_expiry_sends_hold_timer_expired_notification() {
    let mut fsm = fsm_in(State::Established);
    let expired = notification(4, 0);
    assert_eq!(
        fsm.handle(Event::HoldTimerExpires),
        vec![
            Action::SendNotification(expired.clone()),
            Action::DropConnection,
            Action::StopTimer(Timer::Keepalive),
            Action::Down(DownReason::NotificationSent(expired)),
            Action::StartTimer(Timer::IdleHold, secs(5)),
        ]
    );
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn established_on_update_error_sends_the_carried_notification() {
    let mut fsm = fsm_in(State::Established);
    let malformed = notification(3, 1);
    assert_eq!(
        fsm.handle(Event::UpdateMsgErr(malformed.clone())),
        closed_after(
            malformed.clone(),
            DownReason::NotificationSent(malformed)
        )
    );
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn established_on_open_is_an_fsm_error_with_subcode_3() {
    let mut fsm = fsm_in(State::Established);
    let fsm_error = notification(5, 3);
    assert_eq!(
        fsm.handle(Event::BgpOpen(peer_open())),
        closed_after(
            fsm_error.clone(),
            DownReason::NotificationSent(fsm_error)
        )
    );
}

#[test]
fn established_on_notification_goes_idle_without_answering() {
    let mut fsm = fsm_in(State::Established);
    let cease = notification(6, 2);
    assert_eq!(
        fsm.handle(Event::NotifMsg(cease.clone())),
        dropped(DownReason::NotificationReceived(cease))
    );
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn established_on_tcp_failure_goes_idle() {
    let mut fsm = fsm_in(State::Established);
    assert_eq!(
        fsm.handle(Event::TcpConnectionFails),
        dropped(DownReason::ConnectionLost)
    );
}

#[test]
fn established_on_manual_stop_sends_cease_administrative_shutdown() {
    let mut fsm = fsm_in(State::Established);
    assert_eq!(
        fsm.handle(Event::ManualStop),
        vec![
            Action::SendNotification(notification(6, 2)),
            Action::DropConnection,
            Action::StopTimer(Timer::Hold),
            Action::StopTimer(Timer::Keepalive),
            Action::Down(DownReason::Stopped),
        ]
    );
    assert!(Timer::ALL.iter().all(|&t| !fsm.timer_running(t)));
}

#[test]
fn established_ignores_a_second_tcp_connection() {
    let mut fsm = fsm_in(State::Established);
    assert_eq!(fsm.handle(Event::TcpConnectionConfirmed), vec![]);
    assert_eq!(fsm.state(), State::Established);
}

#[test]
fn established_ignores_a_connect_retry_expiry_it_never_armed() {
    let mut fsm = fsm_in(State::Established);
    assert_eq!(fsm.handle(Event::ConnectRetryTimerExpires), vec![]);
    assert_eq!(fsm.state(), State::Established);
}

#[test]
fn established_on_header_error_sends_the_carried_notification() {
    let mut fsm = fsm_in(State::Established);
    let bad_marker = notification(1, 1);
    assert_eq!(
        fsm.handle(Event::BgpHeaderErr(bad_marker.clone())),
        closed_after(
            bad_marker.clone(),
            DownReason::NotificationSent(bad_marker)
        )
    );
}

#[test]
fn established_on_collision_dump_sends_cease_7_and_does_not_restart() {
    let mut fsm = fsm_in(State::Established);
    let collision = notification(6, 7);
    assert_eq!(
        fsm.handle(Event::OpenCollisionDump),
        vec![
            Action::SendNotification(collision.clone()),
            Action::DropConnection,
            Action::StopTimer(Timer::Hold),
            Action::StopTimer(Timer::Keepalive),
            Action::Down(DownReason::NotificationSent(collision)),
        ]
    );
}
