//! The session FSM: one [`Event`] in, the [`Action`]s it causes out
//! (RFC 4271 section 8.2.2).
//!
//! How a driver uses it: build an [`Fsm`] from a [`SessionConfig`], feed
//! it [`Event::ManualStart`], then carry out every returned action in
//! order (connect, send, arm or stop timers, close) and feed back what
//! happens (TCP outcomes, decoded messages, timer expiries). Per-state
//! handlers below pick the reaction; every state change goes through
//! `Fsm::transition` in `transition.rs`, which owns the side effects of
//! entering and leaving states.

use std::time::Duration;

use bgplet_wire::{Notification, Open};

use crate::action::{Action, DownReason, Timer};
use crate::config::{ConfigError, SessionConfig};
use crate::event::Event;
use crate::negotiate::{Negotiated, negotiate};
use crate::notify;
use crate::state::State;

/// One BGP session over one TCP connection at a time. During a collision
/// window the driver runs a second `Fsm` for the other connection (see
/// [`crate::collision`]).
#[derive(Debug, Clone)]
pub struct Fsm {
    pub(crate) config: SessionConfig,
    /// Our OPEN, built once from the config.
    pub(crate) open: Open,
    pub(crate) state: State,
    /// Set from the peer's OPEN until the session returns to Idle.
    pub(crate) negotiated: Option<Negotiated>,
    /// Which timers we asked the driver to run, indexed by
    /// [`Timer::index`]; an expiry of a timer not running is stale.
    pub(crate) running: [bool; 4],
    /// This run never connects out (config, or AutomaticStartPassive).
    pub(crate) passive: bool,
    /// An operator start is in force: restart by itself after errors.
    pub(crate) auto_restart: bool,
    /// The next error wait (IdleHoldTime), if automatic restart is on.
    pub(crate) error_wait: Option<Duration>,
}

/// Where a transition leads; Idle carries the reason.
pub(crate) enum Next {
    Idle(DownReason),
    Connect,
    Active,
    OpenSent,
    OpenConfirm(Negotiated),
    Established,
}

impl Fsm {
    /// A session in Idle; nothing happens until a start event.
    pub fn new(config: SessionConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            open: config.open(),
            error_wait: config.error_wait.map(|w| w.min),
            config,
            state: State::Idle,
            negotiated: None,
            running: [false; 4],
            passive: false,
            auto_restart: false,
        })
    }

    /// Applies one event and returns the actions to carry out, in order.
    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(timer) = expired_timer(&event) {
            // The driver may report a timer it could not cancel in time;
            // a timer we do not consider running cannot have fired.
            if !self.running[timer.index()] {
                return out;
            }
            self.running[timer.index()] = false;
        }
        if event == Event::ManualStart {
            self.auto_restart = true;
        }
        match self.state {
            State::Idle => self.idle(event, &mut out),
            State::Connect => self.connect(event, &mut out),
            State::Active => self.active(event, &mut out),
            State::OpenSent => self.open_sent(event, &mut out),
            State::OpenConfirm => self.open_confirm(event, &mut out),
            State::Established => self.established(event, &mut out),
        }
        out
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The negotiated parameters, from OpenConfirm until the session goes
    /// back to Idle.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// The configuration this session runs with.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The OPEN we send.
    pub fn open(&self) -> &Open {
        &self.open
    }

    /// Whether the FSM considers `timer` armed.
    pub fn timer_running(&self, timer: Timer) -> bool {
        self.running[timer.index()]
    }

    fn idle(&mut self, event: Event, out: &mut Vec<Action>) {
        match event {
            Event::ManualStart => {
                self.error_wait = self.config.error_wait.map(|w| w.min);
                self.stop(Timer::IdleHold, out);
                self.start_run(self.config.passive, out);
            }
            Event::AutomaticStart | Event::IdleHoldTimerExpires => {
                self.stop(Timer::IdleHold, out);
                self.start_run(self.config.passive, out);
            }
            Event::AutomaticStartPassive => {
                self.stop(Timer::IdleHold, out);
                self.start_run(true, out);
            }
            Event::ManualStop => {
                // Already down; only the pending automatic restart goes.
                self.auto_restart = false;
                self.stop(Timer::IdleHold, out);
            }
            // Idle refuses connections (RFC 4271 section 8.2.2).
            Event::TcpConnectionConfirmed | Event::TcpCrAcked => {
                out.push(Action::DropConnection);
            }
            _ => {}
        }
    }

    fn connect(&mut self, event: Event, out: &mut Vec<Action>) {
        match event {
            Event::ManualStart
            | Event::AutomaticStart
            | Event::AutomaticStartPassive => {}
            Event::ManualStop => self.stop_session(out),
            Event::ConnectRetryTimerExpires => {
                self.transition(Next::Connect, out);
            }
            Event::TcpCrAcked | Event::TcpConnectionConfirmed => {
                self.transition(Next::OpenSent, out);
            }
            // Wait for the ConnectRetry timer rather than falling to Idle:
            // the RFC's DelayOpen branch, and what BIRD does.
            Event::TcpConnectionFails => self.transition(Next::Active, out),
            other => self.unexpected(&other, out),
        }
    }

    fn active(&mut self, event: Event, out: &mut Vec<Action>) {
        match event {
            Event::ManualStart
            | Event::AutomaticStart
            | Event::AutomaticStartPassive => {}
            Event::ManualStop => self.stop_session(out),
            Event::ConnectRetryTimerExpires => {
                self.transition(Next::Connect, out);
            }
            Event::TcpCrAcked | Event::TcpConnectionConfirmed => {
                self.transition(Next::OpenSent, out);
            }
            // No connection exists in Active, so the report is stale.
            Event::TcpConnectionFails => {}
            other => self.unexpected(&other, out),
        }
    }

    fn open_sent(&mut self, event: Event, out: &mut Vec<Action>) {
        match event {
            Event::BgpOpen(open) => match negotiate(&self.config, &open) {
                Ok(negotiated) => {
                    self.transition(Next::OpenConfirm(negotiated), out);
                }
                Err(err) => {
                    out.push(Action::SendNotification(err.notification()));
                    self.transition(
                        Next::Idle(DownReason::OpenRejected(err)),
                        out,
                    );
                }
            },
            // Losing the connection before the OPEN exchange is not an
            // error: keep listening (RFC 4271 section 8.2.2).
            Event::TcpConnectionFails => self.transition(Next::Active, out),
            other => self.connected(other, 1, out),
        }
    }

    fn open_confirm(&mut self, event: Event, out: &mut Vec<Action>) {
        match event {
            Event::KeepAliveMsg => {
                self.restart_hold(out);
                self.transition(Next::Established, out);
            }
            other => self.connected(other, 2, out),
        }
    }

    fn established(&mut self, event: Event, out: &mut Vec<Action>) {
        match event {
            Event::KeepAliveMsg | Event::UpdateMsg => self.restart_hold(out),
            // RFC 7606 leaves only session resets to the FSM; whatever the
            // state, the carried NOTIFICATION is the right one to send.
            Event::UpdateMsgErr(n) => self.fail(n, out),
            other => self.connected(other, 3, out),
        }
    }

    /// Events handled alike in OpenSent, OpenConfirm and Established;
    /// `fsm_subcode` is the RFC 6608 subcode for an unexpected event.
    fn connected(
        &mut self,
        event: Event,
        fsm_subcode: u8,
        out: &mut Vec<Action>,
    ) {
        match event {
            Event::ManualStart
            | Event::AutomaticStart
            | Event::AutomaticStartPassive => {}
            Event::ManualStop => self.stop_session(out),
            Event::HoldTimerExpires => {
                self.fail(notify::bare(notify::HOLD_TIMER_EXPIRED, 0), out);
            }
            Event::KeepaliveTimerExpires => {
                out.push(Action::SendKeepalive);
                self.arm_keepalive(out);
            }
            // A second connection: the driver tracks it with its own FSM
            // until collision resolution (RFC 4271 section 6.8).
            Event::TcpCrAcked | Event::TcpConnectionConfirmed => {}
            Event::TcpConnectionFails => {
                self.transition(Next::Idle(DownReason::ConnectionLost), out);
            }
            Event::BgpHeaderErr(n) | Event::BgpOpenMsgErr(n) => {
                self.fail(n, out)
            }
            Event::OpenCollisionDump => self.fail(
                notify::bare(notify::CEASE, notify::CEASE_COLLISION),
                out,
            ),
            // The peer closes right after its NOTIFICATION (RFC 4271
            // section 4.5), so answering it would be pointless.
            Event::NotifMsgVerErr(n) | Event::NotifMsg(n) => {
                let reason = DownReason::NotificationReceived(n);
                self.transition(Next::Idle(reason), out);
            }
            Event::ConnectRetryTimerExpires
            | Event::IdleHoldTimerExpires
            | Event::BgpOpen(_)
            | Event::KeepAliveMsg
            | Event::UpdateMsg
            | Event::UpdateMsgErr(_) => {
                self.fail(notify::bare(notify::FSM_ERROR, fsm_subcode), out);
            }
        }
    }

    /// Begins a run from Idle: connect out, or just wait when passive.
    fn start_run(&mut self, passive: bool, out: &mut Vec<Action>) {
        self.passive = passive;
        let next = if passive { Next::Active } else { Next::Connect };
        self.transition(next, out);
    }

    /// ManualStop: Cease 6/2 if a BGP connection exists, then Idle with no
    /// automatic restart.
    fn stop_session(&mut self, out: &mut Vec<Action>) {
        self.auto_restart = false;
        if matches!(
            self.state,
            State::OpenSent | State::OpenConfirm | State::Established
        ) {
            out.push(Action::SendNotification(notify::bare(
                notify::CEASE,
                notify::CEASE_ADMIN_SHUTDOWN,
            )));
        }
        self.transition(Next::Idle(DownReason::Stopped), out);
    }

    /// Sends a NOTIFICATION and goes to Idle.
    fn fail(&mut self, notification: Notification, out: &mut Vec<Action>) {
        out.push(Action::SendNotification(notification.clone()));
        let reason = DownReason::NotificationSent(notification);
        self.transition(Next::Idle(reason), out);
    }

    /// An event that needs a BGP connection arrived before there is one:
    /// nothing can be sent, so just go to Idle (RFC 4271 section 8.2.2,
    /// "any other event" in Connect and Active).
    fn unexpected(&mut self, event: &Event, out: &mut Vec<Action>) {
        let reason = DownReason::UnexpectedEvent {
            state: self.state,
            event: event.name(),
        };
        self.transition(Next::Idle(reason), out);
    }
}

/// The timer whose expiry this event reports.
fn expired_timer(event: &Event) -> Option<Timer> {
    match event {
        Event::ConnectRetryTimerExpires => Some(Timer::ConnectRetry),
        Event::HoldTimerExpires => Some(Timer::Hold),
        Event::KeepaliveTimerExpires => Some(Timer::Keepalive),
        Event::IdleHoldTimerExpires => Some(Timer::IdleHold),
        _ => None,
    }
}
