use bgplet_session::{Action, Event, Fsm, State, Timer};

use crate::helpers::{config, fsm_in, peer_open, secs};

#[test]
fn idle_on_manual_start_starts_connect_retry_timer_and_connects() {
    let mut fsm = fsm_in(State::Idle);
    assert_eq!(
        fsm.handle(Event::ManualStart),
        vec![
            Action::StartTimer(Timer::ConnectRetry, secs(5)),
            Action::Connect
        ]
    );
    assert_eq!(fsm.state(), State::Connect);
}

#[test]
fn idle_on_automatic_start_connects_like_manual_start() {
    let mut fsm = fsm_in(State::Idle);
    assert_eq!(
        fsm.handle(Event::AutomaticStart),
        vec![
            Action::StartTimer(Timer::ConnectRetry, secs(5)),
            Action::Connect
        ]
    );
    assert_eq!(fsm.state(), State::Connect);
}

#[test]
fn passive_session_waits_in_active_and_never_connects() {
    let mut config = config();
    config.passive = true;
    let mut fsm = Fsm::new(config).unwrap();
    assert_eq!(fsm.handle(Event::ManualStart), vec![]);
    assert_eq!(fsm.state(), State::Active);
    assert!(!fsm.timer_running(Timer::ConnectRetry));
    assert_eq!(fsm.handle(Event::ConnectRetryTimerExpires), vec![]);
    assert_eq!(fsm.state(), State::Active);
    assert_eq!(
        fsm.handle(Event::TcpConnectionConfirmed),
        vec![
            Action::SendOpen(fsm.open().clone()),
            Action::StartTimer(Timer::Hold, secs(240)),
        ]
    );
    assert_eq!(fsm.state(), State::OpenSent);
}

#[test]
fn passive_session_returns_to_active_without_timer_when_tcp_fails() {
    let mut config = config();
    config.passive = true;
    let mut fsm = Fsm::new(config).unwrap();
    fsm.handle(Event::ManualStart);
    fsm.handle(Event::TcpConnectionConfirmed);
    assert_eq!(
        fsm.handle(Event::TcpConnectionFails),
        vec![Action::DropConnection, Action::StopTimer(Timer::Hold)]
    );
    assert_eq!(fsm.state(), State::Active);
}

#[test]
fn idle_on_automatic_start_passive_waits_in_active_without_timers() {
    let mut fsm = fsm_in(State::Idle);
    assert_eq!(fsm.handle(Event::AutomaticStartPassive), vec![]);
    assert_eq!(fsm.state(), State::Active);
    assert!(!fsm.timer_running(Timer::ConnectRetry));
}

#[test]
fn idle_ignores_manual_stop_and_messages() {
    let mut fsm = fsm_in(State::Idle);
    for event in [
        Event::ManualStop,
        Event::KeepAliveMsg,
        Event::UpdateMsg,
        Event::BgpOpen(peer_open()),
        Event::TcpConnectionFails,
    ] {
        assert_eq!(fsm.handle(event), vec![]);
        assert_eq!(fsm.state(), State::Idle);
    }
}

#[test]
fn idle_refuses_an_inbound_connection() {
    let mut fsm = fsm_in(State::Idle);
    assert_eq!(
        fsm.handle(Event::TcpConnectionConfirmed),
        vec![Action::DropConnection]
    );
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn idle_ignores_timer_expiries_it_never_armed() {
    let mut fsm = fsm_in(State::Idle);
    for event in [
        Event::ConnectRetryTimerExpires,
        Event::HoldTimerExpires,
        Event::KeepaliveTimerExpires,
        Event::IdleHoldTimerExpires,
    ] {
        assert_eq!(fsm.handle(event), vec![]);
        assert_eq!(fsm.state(), State::Idle);
    }
}
