use bgplet_session::{Action, DownReason, Event, State, Timer};

use crate::helpers::{fsm_in, secs};

#[test]
fn active_on_connect_retry_expiry_connects() {
    let mut fsm = fsm_in(State::Active);
    assert_eq!(
        fsm.handle(Event::ConnectRetryTimerExpires),
        vec![
            Action::StartTimer(Timer::ConnectRetry, secs(5)),
            Action::Connect
        ]
    );
    assert_eq!(fsm.state(), State::Connect);
}

#[test]
fn active_on_inbound_connection_sends_open() {
    let mut fsm = fsm_in(State::Active);
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
fn active_on_manual_stop_stops_connect_retry_and_goes_idle() {
    let mut fsm = fsm_in(State::Active);
    assert_eq!(
        fsm.handle(Event::ManualStop),
        vec![
            Action::StopTimer(Timer::ConnectRetry),
            Action::Down(DownReason::Stopped),
        ]
    );
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn active_ignores_a_stale_tcp_failure() {
    let mut fsm = fsm_in(State::Active);
    assert_eq!(fsm.handle(Event::TcpConnectionFails), vec![]);
    assert_eq!(fsm.state(), State::Active);
}

#[test]
fn active_on_an_update_goes_idle_and_schedules_a_restart() {
    let mut fsm = fsm_in(State::Active);
    assert_eq!(
        fsm.handle(Event::UpdateMsg),
        vec![
            Action::StopTimer(Timer::ConnectRetry),
            Action::Down(DownReason::UnexpectedEvent {
                state: State::Active,
                event: "UpdateMsg",
            }),
            Action::StartTimer(Timer::IdleHold, secs(5)),
        ]
    );
    assert_eq!(fsm.state(), State::Idle);
}
