//! OPEN message capabilities (RFC 5492 and the RFCs of each capability).

use bytes::Bytes;

use crate::afi::AfiSafi;

/// One capability advertised in an OPEN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// Code 1, RFC 4760: the speaker carries this family.
    Multiprotocol(AfiSafi),
    /// Code 2, RFC 2918.
    RouteRefresh,
    /// Code 70, RFC 7313.
    EnhancedRouteRefresh,
    /// Code 6, RFC 8654: messages up to 65535 octets.
    ExtendedMessage,
    /// Code 64, RFC 4724 (with the N bit of RFC 8538).
    GracefulRestart(GracefulRestart),
    /// Code 65, RFC 6793: the speaker's real AS number.
    FourOctetAs(u32),
    /// Code 69, RFC 7911.
    AddPath(Vec<AddPathEntry>),
    /// Any other capability, kept verbatim.
    Unknown {
        /// Capability code.
        code: u8,
        /// Capability value, without code and length.
        value: Bytes,
    },
}

/// The graceful-restart capability (RFC 4724 section 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GracefulRestart {
    /// R bit: the sender has restarted and is waiting for End-of-RIB.
    pub restart_state: bool,
    /// N bit (RFC 8538): NOTIFICATIONs are covered by graceful restart.
    pub notification: bool,
    /// Restart time in seconds (12 bits on the wire).
    pub restart_time: u16,
    /// Families for which forwarding state may be preserved.
    pub families: Vec<GracefulRestartFamily>,
}

/// One family in the graceful-restart capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracefulRestartFamily {
    /// The family.
    pub family: AfiSafi,
    /// F bit: forwarding state was preserved across the restart.
    pub forwarding_preserved: bool,
}

/// One family in the ADD-PATH capability (RFC 7911 section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddPathEntry {
    /// The family.
    pub family: AfiSafi,
    /// Whether the sender can receive, send, or both.
    pub mode: AddPathMode,
}

/// The Send/Receive field of an ADD-PATH entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddPathMode {
    /// 1: the sender can receive multiple paths.
    Receive,
    /// 2: the sender can send multiple paths.
    Send,
    /// 3: both.
    Both,
}

impl AddPathMode {
    /// Whether this mode includes receiving.
    pub fn receives(self) -> bool {
        matches!(self, Self::Receive | Self::Both)
    }

    /// Whether this mode includes sending.
    pub fn sends(self) -> bool {
        matches!(self, Self::Send | Self::Both)
    }
}
