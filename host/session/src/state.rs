//! The six session states (RFC 4271 section 8.2.2).

use std::fmt;

/// A BGP session state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not started, or down after an error or a stop.
    Idle,
    /// An outbound TCP connection attempt is in progress.
    Connect,
    /// Waiting for the peer to connect (and, unless passive, for the
    /// ConnectRetry timer to try again ourselves).
    Active,
    /// TCP is up and our OPEN is sent; waiting for the peer's OPEN.
    OpenSent,
    /// OPENs exchanged; waiting for the peer's first KEEPALIVE.
    OpenConfirm,
    /// The session is up: UPDATEs flow.
    Established,
}

impl State {
    /// Whether a TCP connection (or an outbound attempt) belongs to this
    /// state and must be closed when the session leaves it for a state
    /// without one.
    pub fn holds_connection(self) -> bool {
        matches!(
            self,
            Self::Connect
                | Self::OpenSent
                | Self::OpenConfirm
                | Self::Established
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Idle => "Idle",
            Self::Connect => "Connect",
            Self::Active => "Active",
            Self::OpenSent => "OpenSent",
            Self::OpenConfirm => "OpenConfirm",
            Self::Established => "Established",
        })
    }
}
