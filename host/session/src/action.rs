//! FSM outputs: what the driver must do, in order.

use std::time::Duration;

use bgplet_wire::{Notification, Open};

use crate::negotiate::{Negotiated, OpenError};
use crate::state::State;

/// One thing the driver must carry out. Actions come in the order they
/// must happen (a NOTIFICATION is always sent before the drop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start an outbound TCP connection to the peer; report the outcome
    /// with [`crate::Event::TcpCrAcked`] or
    /// [`crate::Event::TcpConnectionFails`].
    Connect,
    /// Close the TCP connection, or abandon the outbound attempt.
    DropConnection,
    /// Send this OPEN.
    SendOpen(Open),
    /// Send a KEEPALIVE.
    SendKeepalive,
    /// Send this NOTIFICATION (a [`Action::DropConnection`] follows).
    SendNotification(Notification),
    /// (Re)start a one-shot timer; it reports back as the matching
    /// `*TimerExpires` event.
    StartTimer(Timer, Duration),
    /// Stop a timer (only emitted for a timer that is running).
    StopTimer(Timer),
    /// The session is up: start exchanging routes with these parameters.
    Established(Box<Negotiated>),
    /// The session went to Idle. If it had been Established, the routes
    /// learned from the peer must be withdrawn (or kept stale under
    /// graceful restart).
    Down(DownReason),
}

/// The FSM timers (RFC 4271 section 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// ConnectRetryTimer: next outbound attempt.
    ConnectRetry,
    /// HoldTimer: the peer went silent.
    Hold,
    /// KeepaliveTimer: time to send a KEEPALIVE.
    Keepalive,
    /// IdleHoldTimer: automatic restart after an error.
    IdleHold,
}

impl Timer {
    /// Every timer, in a fixed order.
    pub const ALL: [Self; 4] = [
        Self::ConnectRetry,
        Self::Hold,
        Self::Keepalive,
        Self::IdleHold,
    ];

    pub(crate) fn index(self) -> usize {
        match self {
            Self::ConnectRetry => 0,
            Self::Hold => 1,
            Self::Keepalive => 2,
            Self::IdleHold => 3,
        }
    }
}

/// Why a session went to Idle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DownReason {
    /// The operator stopped the session (Cease 6/2 was sent if a BGP
    /// connection existed).
    #[error("stopped by the operator")]
    Stopped,
    /// The peer's OPEN was unacceptable; its NOTIFICATION was sent.
    #[error("rejected the peer's OPEN: {0}")]
    OpenRejected(OpenError),
    /// We found an error (or hold timer expiry, or a collision) and sent
    /// this NOTIFICATION.
    #[error("sent NOTIFICATION {}/{}", .0.code, .0.subcode)]
    NotificationSent(Notification),
    /// The peer sent this NOTIFICATION.
    #[error("received NOTIFICATION {}/{}", .0.code, .0.subcode)]
    NotificationReceived(Notification),
    /// The TCP connection failed or the peer closed it silently.
    #[error("TCP connection lost")]
    ConnectionLost,
    /// An event that makes no sense before a BGP connection exists; no
    /// NOTIFICATION could be sent.
    #[error("unexpected event {event} in state {state}")]
    UnexpectedEvent {
        /// The state the FSM was in.
        state: State,
        /// The RFC 4271 name of the event.
        event: &'static str,
    },
}

/// Where a session failure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Our operator or our own checks.
    Local,
    /// The peer, or the network between us.
    Peer,
}

impl DownReason {
    /// Who caused the session to go down.
    pub fn origin(&self) -> Origin {
        match self {
            Self::NotificationReceived(_) | Self::ConnectionLost => {
                Origin::Peer
            }
            Self::Stopped
            | Self::OpenRejected(_)
            | Self::NotificationSent(_)
            | Self::UnexpectedEvent { .. } => Origin::Local,
        }
    }

    /// The NOTIFICATION that went over the wire, either way, if any.
    pub fn notification(&self) -> Option<Notification> {
        match self {
            Self::OpenRejected(err) => Some(err.notification()),
            Self::NotificationSent(n) | Self::NotificationReceived(n) => {
                Some(n.clone())
            }
            Self::Stopped
            | Self::ConnectionLost
            | Self::UnexpectedEvent { .. } => None,
        }
    }
}
