//! The BGP session state machine of RFC 4271 section 8, sans-IO.
//!
//! [`Fsm::handle`] takes one [`Event`] (an operator command, a timer
//! expiry, a TCP outcome or a decoded message) and returns the
//! [`Action`]s the driver must carry out in order: connect, send, arm or
//! stop a timer, close, and report [`Action::Established`] or
//! [`Action::Down`]. There is no async, no socket and no clock: timers
//! are actions out and expiry events in, with durations.
//!
//! Layout: [`config`] (what we offer, our OPEN), [`state`], [`event`],
//! [`action`], [`fsm`] (per-state reactions) with its transition side
//! effects, [`negotiate`](mod@negotiate) (OPEN checks and capability
//! results), and [`collision`] (RFC 4271 section 6.8).

pub mod action;
pub mod collision;
pub mod config;
pub mod event;
pub mod fsm;
pub mod negotiate;
pub mod state;

mod notify;
mod transition;

pub use action::{Action, DownReason, Origin, Timer};
pub use collision::{Initiator, OtherConnection, Resolution};
pub use config::{
    AS_TRANS, ConfigError, ErrorWait, GracefulRestartConfig, SessionConfig,
};
pub use event::Event;
pub use fsm::Fsm;
pub use negotiate::{
    AddPathFamily, Negotiated, OpenError, WireParams, negotiate,
};
pub use state::State;
pub use transition::OPEN_HOLD_TIME;
