use bgplet_session::{Action, DownReason, Event, State, Timer};

use crate::helpers::{fsm_in, secs};

#[test]
fn connect_on_connect_retry_expiry_drops_the_attempt_and_retries() {
    let mut fsm = fsm_in(State::Connect);
    assert_eq!(
        fsm.handle(Event::ConnectRetryTimerExpires),
        vec![
            Action::DropConnection,
            Action::StartTimer(Timer::ConnectRetry, secs(5)),
            Action::Connect,
        ]
    );
    assert_eq!(fsm.state(), State::Connect);
}

#[test]
fn connect_on_tcp_cr_acked_sends_open_and_arms_large_hold_timer() {
    let mut fsm = fsm_in(State::Connect);
    assert_eq!(
        fsm.handle(Event::TcpCrAcked),
        vec![
            Action::StopTimer(Timer::ConnectRetry),
            Action::SendOpen(fsm.open().clone()),
            Action::StartTimer(Timer::Hold, secs(240)),
        ]
    );
    assert_eq!(fsm.state(), State::OpenSent);
}

#[test]
fn connect_on_inbound_connection_sends_open() {
    let mut fsm = fsm_in(State::Connect);
    assert_eq!(
        fsm.handle(Event::TcpConnectionConfirmed),
        vec![
            Action::StopTimer(Timer::ConnectRetry),
            Action::SendOpen(fsm.open().clone()),
            Action::StartTimer(Timer::Hold, secs(240)),
        ]
    );
    assert_eq!(fsm.state(), State::OpenSent);
}

#[test]
fn connect_on_tcp_failure_moves_to_active_and_rearms_connect_retry() {
    let mut fsm = fsm_in(State::Connect);
    assert_eq!(
        fsm.handle(Event::TcpConnectionFails),
        vec![
            Action::DropConnection,
            Action::StartTimer(Timer::ConnectRetry, secs(5)),
        ]
    );
    assert_eq!(fsm.state(), State::Active);
}

#[test]
fn connect_on_manual_stop_drops_the_attempt_and_stays_idle() {
    let mut fsm = fsm_in(State::Connect);
    assert_eq!(
        fsm.handle(Event::ManualStop),
        vec![
            Action::DropConnection,
            Action::StopTimer(Timer::ConnectRetry),
            Action::Down(DownReason::Stopped),
        ]
    );
    assert_eq!(fsm.state(), State::Idle);
    assert!(!fsm.timer_running(Timer::IdleHold));
}

#[test]
fn connect_on_a_message_goes_idle_and_schedules_a_restart() {
    let mut fsm = fsm_in(State::Connect);
    assert_eq!(
        fsm.handle(Event::KeepAliveMsg),
        vec![
            Action::DropConnection,
            Action::StopTimer(Timer::ConnectRetry),
            Action::Down(DownReason::UnexpectedEvent {
                state: State::Connect,
                event: "KeepAliveMsg",
            }),
            Action::StartTimer(Timer::IdleHold, secs(5)),
        ]
    );
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn connect_ignores_a_second_start() {
    let mut fsm = fsm_in(State::Connect);
    assert_eq!(fsm.handle(Event::ManualStart), vec![]);
    assert_eq!(fsm.handle(Event::AutomaticStart), vec![]);
    assert_eq!(fsm.state(), State::Connect);
}
