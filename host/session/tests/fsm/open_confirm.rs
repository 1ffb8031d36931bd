use bgplet_session::{Action, DownReason, Event, State, Timer};
use bgplet_wire::Notification;

use crate::helpers::{fsm_in, notification, peer_open, secs};

/// The actions of an OpenConfirm or Established session closed after
/// sending `sent` (both negotiated timers were running).
pub fn closed_after(sent: Notification, reason: DownReason) -> Vec<Action> {
    let mut actions = vec![Action::SendNotification(sent)];
    actions.extend(dropped(reason));
    actions
}

/// The actions of an OpenConfirm or Established session going to Idle.
pub fn dropped(reason: DownReason) -> Vec<Action> {
    vec![
        Action::DropConnection,
        Action::StopTimer(Timer::Hold),
        Action::StopTimer(Timer::Keepalive),
        Action::Down(reason),
        Action::StartTimer(Timer::IdleHold, secs(5)),
    ]
}

fn fsm_error(subcode: u8) -> Vec<Action> {
    let sent = notification(5, subcode);
    closed_after(sent.clone(), DownReason::NotificationSent(sent))
}

#[test]
fn open_confirm_on_keepalive_restarts_hold_timer_and_reports_established() {
    let mut fsm = fsm_in(State::OpenConfirm);
    let negotiated = fsm.negotiated().unwrap().clone();
    assert_eq!(
        fsm.handle(Event::KeepAliveMsg),
        vec![
            Action::StartTimer(Timer::Hold, secs(240)),
            Action::Established(Box::new(negotiated)),
        ]
    );
    assert_eq!(fsm.state(), State::Established);
}

#[test]
fn open_confirm_on_keepalive_timer_expiry_sends_keepalive_and_rearms() {
    let mut fsm = fsm_in(State::OpenConfirm);
    assert_eq!(
        fsm.handle(Event::KeepaliveTimerExpires),
        vec![
            Action::SendKeepalive,
            Action::StartTimer(Timer::Keepalive, secs(80)),
        ]
    );
    assert_eq!(fsm.state(), State::OpenConfirm);
}

#[test]
fn open_confirm_on_hold_timer_expiry_sends_hold_timer_expired_notification() {
    let mut fsm = fsm_in(State::OpenConfirm);
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
    assert_eq!(fsm.negotiated(), None);
}

#[test]
fn open_confirm_on_update_is_an_fsm_error_with_subcode_2() {
    let mut fsm = fsm_in(State::OpenConfirm);
    assert_eq!(fsm.handle(Event::UpdateMsg), fsm_error(2));
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn open_confirm_on_a_second_open_is_an_fsm_error_with_subcode_2() {
    let mut fsm = fsm_in(State::OpenConfirm);
    assert_eq!(fsm.handle(Event::BgpOpen(peer_open())), fsm_error(2));
}

#[test]
fn open_confirm_on_notification_goes_idle_without_answering() {
    let mut fsm = fsm_in(State::OpenConfirm);
    let cease = notification(6, 3);
    assert_eq!(
        fsm.handle(Event::NotifMsg(cease.clone())),
        dropped(DownReason::NotificationReceived(cease))
    );
}

#[test]
fn open_confirm_on_tcp_failure_goes_idle() {
    let mut fsm = fsm_in(State::OpenConfirm);
    assert_eq!(
        fsm.handle(Event::TcpConnectionFails),
        dropped(DownReason::ConnectionLost)
    );
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn open_confirm_on_manual_stop_sends_cease_administrative_shutdown() {
    let mut fsm = fsm_in(State::OpenConfirm);
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
}

#[test]
fn open_confirm_on_collision_dump_sends_cease_7_and_does_not_restart() {
    let mut fsm = fsm_in(State::OpenConfirm);
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

#[test]
fn open_confirm_on_header_error_sends_the_carried_notification() {
    let mut fsm = fsm_in(State::OpenConfirm);
    let bad_type = notification(1, 3);
    assert_eq!(
        fsm.handle(Event::BgpHeaderErr(bad_type.clone())),
        closed_after(bad_type.clone(), DownReason::NotificationSent(bad_type))
    );
}

#[test]
fn open_confirm_ignores_a_second_tcp_connection() {
    let mut fsm = fsm_in(State::OpenConfirm);
    assert_eq!(fsm.handle(Event::TcpConnectionConfirmed), vec![]);
    assert_eq!(fsm.state(), State::OpenConfirm);
}
