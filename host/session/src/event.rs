//! FSM inputs, named after RFC 4271 section 8.1 with the event numbers.

use bgplet_wire::{Notification, Open};

/// One input to the session FSM. The driver turns operator commands, timer
/// expiries, socket outcomes and decoded messages into these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Event 1: the operator starts the session. Also enables automatic
    /// restart after errors (see [`crate::ErrorWait`]).
    ManualStart,
    /// Event 2: the operator stops the session; sends Cease 6/2 if a BGP
    /// connection exists and disables automatic restart.
    ManualStop,
    /// Event 3: start without operator action (passive if the config says
    /// so). Does not enable automatic restart.
    AutomaticStart,
    /// Event 5: start passively whatever the config says. This is how the
    /// driver starts the extra FSM of an inbound connection during a
    /// collision window, right before [`Event::TcpConnectionConfirmed`].
    AutomaticStartPassive,
    /// Event 9: the ConnectRetry timer fired.
    ConnectRetryTimerExpires,
    /// Event 10: the Hold timer fired.
    HoldTimerExpires,
    /// Event 11: the Keepalive timer fired.
    KeepaliveTimerExpires,
    /// Event 13: the IdleHold (error wait) timer fired: restart.
    IdleHoldTimerExpires,
    /// Event 16: our outbound TCP connection is established.
    TcpCrAcked,
    /// Event 17: the driver accepted an inbound TCP connection for this
    /// FSM. In Connect, the driver abandons its own pending attempt.
    TcpConnectionConfirmed,
    /// Event 18: the TCP connection failed or the peer closed it.
    TcpConnectionFails,
    /// Event 19: a valid OPEN arrived (after any collision check).
    BgpOpen(Open),
    /// Event 21: a message header was malformed; carries the NOTIFICATION
    /// (code 1) to send.
    BgpHeaderErr(Notification),
    /// Event 22: an OPEN was malformed; carries the NOTIFICATION (code 2)
    /// to send.
    BgpOpenMsgErr(Notification),
    /// Event 23: collision resolution closes this connection; sends Cease
    /// 6/7 (RFC 4271 section 6.8).
    OpenCollisionDump,
    /// Event 24: the peer sent a NOTIFICATION with a version error.
    NotifMsgVerErr(Notification),
    /// Event 25: the peer sent a NOTIFICATION.
    NotifMsg(Notification),
    /// Event 26: a KEEPALIVE arrived.
    KeepAliveMsg,
    /// Event 27: a valid UPDATE arrived.
    UpdateMsg,
    /// Event 28: an UPDATE was in error and the session must be reset;
    /// carries the NOTIFICATION (code 3) to send. Errors that RFC 7606
    /// handles without a reset never reach the FSM.
    UpdateMsgErr(Notification),
}

impl Event {
    /// The RFC 4271 name of the event, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ManualStart => "ManualStart",
            Self::ManualStop => "ManualStop",
            Self::AutomaticStart => "AutomaticStart",
            Self::AutomaticStartPassive => "AutomaticStart_with_PassiveTcp",
            Self::ConnectRetryTimerExpires => "ConnectRetryTimer_Expires",
            Self::HoldTimerExpires => "HoldTimer_Expires",
            Self::KeepaliveTimerExpires => "KeepaliveTimer_Expires",
            Self::IdleHoldTimerExpires => "IdleHoldTimer_Expires",
            Self::TcpCrAcked => "Tcp_CR_Acked",
            Self::TcpConnectionConfirmed => "TcpConnectionConfirmed",
            Self::TcpConnectionFails => "TcpConnectionFails",
            Self::BgpOpen(_) => "BGPOpen",
            Self::BgpHeaderErr(_) => "BGPHeaderErr",
            Self::BgpOpenMsgErr(_) => "BGPOpenMsgErr",
            Self::OpenCollisionDump => "OpenCollisionDump",
            Self::NotifMsgVerErr(_) => "NotifMsgVerErr",
            Self::NotifMsg(_) => "NotifMsg",
            Self::KeepAliveMsg => "KeepAliveMsg",
            Self::UpdateMsg => "UpdateMsg",
            Self::UpdateMsgErr(_) => "UpdateMsgErr",
        }
    }
}
