//! State changes and their side effects, in one place (house habit 3).

use std::time::Duration;

use crate::action::{Action, DownReason, Timer};
use crate::fsm::{Fsm, Next};
use crate::notify;
use crate::state::State;

/// The hold time while waiting for the peer's OPEN: "a large value",
/// 4 minutes suggested (RFC 4271 section 8.2.2, Connect state).
pub const OPEN_HOLD_TIME: Duration = Duration::from_secs(240);

impl Fsm {
    /// Moves to `next`, running the exit and entry effects. Re-entering
    /// Connect (a retry) runs them too.
    pub(crate) fn transition(&mut self, next: Next, out: &mut Vec<Action>) {
        let to = next.state();
        // Exit: a state with a connection left for one without it (or a
        // fresh attempt) closes that connection.
        if self.state.holds_connection()
            && (!to.holds_connection() || to == State::Connect)
        {
            out.push(Action::DropConnection);
        }
        self.state = to;
        match next {
            Next::Idle(reason) => self.enter_idle(reason, out),
            Next::Connect => {
                self.start(Timer::ConnectRetry, self.config.connect_retry, out);
                out.push(Action::Connect);
            }
            Next::Active => {
                self.stop(Timer::Hold, out);
                self.stop(Timer::Keepalive, out);
                if !self.passive {
                    let retry = self.config.connect_retry;
                    self.start(Timer::ConnectRetry, retry, out);
                }
            }
            Next::OpenSent => {
                self.stop(Timer::ConnectRetry, out);
                out.push(Action::SendOpen(self.open.clone()));
                self.start(Timer::Hold, OPEN_HOLD_TIME, out);
            }
            Next::OpenConfirm(negotiated) => {
                let hold = negotiated.hold_time;
                self.negotiated = Some(negotiated);
                out.push(Action::SendKeepalive);
                if hold == 0 {
                    // Hold time 0: no keepalives, no hold timer (RFC 4271
                    // section 4.4).
                    self.stop(Timer::Hold, out);
                } else {
                    self.arm_keepalive(out);
                    self.start(Timer::Hold, secs(hold), out);
                }
            }
            Next::Established => {
                self.error_wait = self.config.error_wait.map(|w| w.min);
                if let Some(negotiated) = &self.negotiated {
                    let negotiated = Box::new(negotiated.clone());
                    out.push(Action::Established(negotiated));
                }
            }
        }
    }

    /// Restarts the hold timer after a KEEPALIVE or UPDATE.
    pub(crate) fn restart_hold(&mut self, out: &mut Vec<Action>) {
        let hold = self.negotiated.as_ref().map_or(0, |n| n.hold_time);
        if hold != 0 {
            self.start(Timer::Hold, secs(hold), out);
        }
    }

    /// (Re)arms the keepalive timer with the negotiated interval.
    pub(crate) fn arm_keepalive(&mut self, out: &mut Vec<Action>) {
        let keepalive =
            self.negotiated.as_ref().map_or(0, |n| n.keepalive_time);
        if keepalive != 0 {
            self.start(Timer::Keepalive, secs(keepalive), out);
        }
    }

    pub(crate) fn start(
        &mut self,
        timer: Timer,
        after: Duration,
        out: &mut Vec<Action>,
    ) {
        self.running[timer.index()] = true;
        out.push(Action::StartTimer(timer, after));
    }

    pub(crate) fn stop(&mut self, timer: Timer, out: &mut Vec<Action>) {
        if self.running[timer.index()] {
            self.running[timer.index()] = false;
            out.push(Action::StopTimer(timer));
        }
    }

    fn enter_idle(&mut self, reason: DownReason, out: &mut Vec<Action>) {
        for timer in [Timer::ConnectRetry, Timer::Hold, Timer::Keepalive] {
            self.stop(timer, out);
        }
        self.negotiated = None;
        let restart = self.auto_restart && allows_restart(&reason);
        out.push(Action::Down(reason));
        if let (true, Some(wait), Some(limits)) =
            (restart, self.error_wait, self.config.error_wait)
        {
            self.start(Timer::IdleHold, wait, out);
            self.error_wait = Some(wait.saturating_mul(2).min(limits.max));
        }
    }
}

impl Next {
    fn state(&self) -> State {
        match self {
            Self::Idle(_) => State::Idle,
            Self::Connect => State::Connect,
            Self::Active => State::Active,
            Self::OpenSent => State::OpenSent,
            Self::OpenConfirm(_) => State::OpenConfirm,
            Self::Established => State::Established,
        }
    }
}

/// Whether a session that went down for `reason` may come back by
/// itself: not after an operator stop, and not as the loser of a
/// collision, since the winning connection carries on.
fn allows_restart(reason: &DownReason) -> bool {
    match reason {
        DownReason::Stopped => false,
        DownReason::NotificationSent(n) => {
            (n.code, n.subcode) != (notify::CEASE, notify::CEASE_COLLISION)
        }
        _ => true,
    }
}

fn secs(seconds: u16) -> Duration {
    Duration::from_secs(u64::from(seconds))
}
