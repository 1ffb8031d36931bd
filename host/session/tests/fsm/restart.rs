use std::time::Duration;

use bgplet_session::{Action, DownReason, Event, Fsm, State, Timer};

use crate::helpers::{config, fsm_in, peer_open, secs};

/// Brings a started session from Connect to a hold timer expiry and
/// returns the error wait it arms.
fn error_wait_after_a_failure(fsm: &mut Fsm) -> Option<Duration> {
    fsm.handle(Event::TcpCrAcked);
    let actions = fsm.handle(Event::HoldTimerExpires);
    assert_eq!(fsm.state(), State::Idle);
    actions.into_iter().find_map(|action| match action {
        Action::StartTimer(Timer::IdleHold, wait) => Some(wait),
        _ => None,
    })
}

#[test]
fn idle_hold_expiry_restarts_the_session() {
    let mut fsm = fsm_in(State::OpenSent);
    fsm.handle(Event::HoldTimerExpires);
    assert_eq!(
        fsm.handle(Event::IdleHoldTimerExpires),
        vec![
            Action::StartTimer(Timer::ConnectRetry, secs(5)),
            Action::Connect
        ]
    );
    assert_eq!(fsm.state(), State::Connect);
}

#[test]
fn error_wait_doubles_up_to_its_maximum() {
    let mut fsm = fsm_in(State::Connect);
    let mut waits = Vec::new();
    for _ in 0..5 {
        waits.push(error_wait_after_a_failure(&mut fsm).unwrap());
        fsm.handle(Event::IdleHoldTimerExpires);
    }
    assert_eq!(waits, [5, 10, 20, 30, 30].map(secs));
}

#[test]
fn error_wait_returns_to_its_minimum_once_established() {
    let mut fsm = fsm_in(State::Connect);
    error_wait_after_a_failure(&mut fsm);
    fsm.handle(Event::IdleHoldTimerExpires);
    fsm.handle(Event::TcpCrAcked);
    fsm.handle(Event::BgpOpen(peer_open()));
    fsm.handle(Event::KeepAliveMsg);
    assert_eq!(fsm.state(), State::Established);
    let actions = fsm.handle(Event::TcpConnectionFails);
    assert_eq!(
        actions.last(),
        Some(&Action::StartTimer(Timer::IdleHold, secs(5)))
    );
    fsm.handle(Event::IdleHoldTimerExpires);
    assert_eq!(error_wait_after_a_failure(&mut fsm), Some(secs(10)));
}

#[test]
fn manual_stop_in_idle_cancels_the_pending_restart() {
    let mut fsm = fsm_in(State::OpenSent);
    fsm.handle(Event::HoldTimerExpires);
    assert_eq!(
        fsm.handle(Event::ManualStop),
        vec![Action::StopTimer(Timer::IdleHold)]
    );
    assert_eq!(fsm.handle(Event::IdleHoldTimerExpires), vec![]);
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn manual_start_in_idle_cancels_the_pending_restart_and_connects_now() {
    let mut fsm = fsm_in(State::OpenSent);
    fsm.handle(Event::HoldTimerExpires);
    assert_eq!(
        fsm.handle(Event::ManualStart),
        vec![
            Action::StopTimer(Timer::IdleHold),
            Action::StartTimer(Timer::ConnectRetry, secs(5)),
            Action::Connect,
        ]
    );
}

#[test]
fn automatic_start_alone_does_not_restart_after_errors() {
    let mut fsm = Fsm::new(config()).unwrap();
    fsm.handle(Event::AutomaticStart);
    assert_eq!(error_wait_after_a_failure(&mut fsm), None);
    assert!(!fsm.timer_running(Timer::IdleHold));
}

#[test]
fn session_without_error_wait_stays_idle_after_an_error() {
    let mut config = config();
    config.error_wait = None;
    let mut fsm = Fsm::new(config).unwrap();
    fsm.handle(Event::ManualStart);
    assert_eq!(error_wait_after_a_failure(&mut fsm), None);
}

#[test]
fn stopped_session_does_not_restart_after_a_later_start_and_stop() {
    let mut fsm = fsm_in(State::Established);
    let actions = fsm.handle(Event::ManualStop);
    assert_eq!(actions.last(), Some(&Action::Down(DownReason::Stopped)));
    fsm.handle(Event::AutomaticStart);
    assert_eq!(error_wait_after_a_failure(&mut fsm), None);
}

#[test]
fn manual_start_after_automatic_start_enables_restart() {
    let mut fsm = Fsm::new(config()).unwrap();
    fsm.handle(Event::AutomaticStart);
    assert_eq!(fsm.handle(Event::ManualStart), vec![]);
    assert_eq!(error_wait_after_a_failure(&mut fsm), Some(secs(5)));
}

#[test]
fn down_reasons_name_their_origin_and_notification() {
    use bgplet_session::Origin;

    use crate::helpers::notification;

    let sent = DownReason::NotificationSent(notification(4, 0));
    assert_eq!(sent.origin(), Origin::Local);
    assert_eq!(sent.notification(), Some(notification(4, 0)));
    assert_eq!(sent.to_string(), "sent NOTIFICATION 4/0");
    let received = DownReason::NotificationReceived(notification(6, 2));
    assert_eq!(received.origin(), Origin::Peer);
    assert_eq!(DownReason::ConnectionLost.origin(), Origin::Peer);
    assert_eq!(DownReason::ConnectionLost.notification(), None);
    let rejected = DownReason::OpenRejected(
        bgplet_session::OpenError::UnacceptableHoldTime(2),
    );
    assert_eq!(rejected.origin(), Origin::Local);
    assert_eq!(rejected.notification(), Some(notification(2, 6)));
}
