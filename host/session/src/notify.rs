//! NOTIFICATION codes the FSM itself sends (RFC 4271 section 4.5).

use bgplet_wire::Notification;

/// OPEN Message Error (RFC 4271 section 6.2).
pub(crate) const OPEN_ERROR: u8 = 2;
/// Hold Timer Expired (RFC 4271 section 6.5).
pub(crate) const HOLD_TIMER_EXPIRED: u8 = 4;
/// Finite State Machine Error (RFC 4271 section 6.6, subcodes RFC 6608).
pub(crate) const FSM_ERROR: u8 = 5;
/// Cease (RFC 4271 section 6.7, subcodes RFC 4486).
pub(crate) const CEASE: u8 = 6;
/// Cease subcode: Administrative Shutdown.
pub(crate) const CEASE_ADMIN_SHUTDOWN: u8 = 2;
/// Cease subcode: Connection Collision Resolution.
pub(crate) const CEASE_COLLISION: u8 = 7;

/// A NOTIFICATION without data.
pub(crate) fn bare(code: u8, subcode: u8) -> Notification {
    with_data(code, subcode, Vec::new())
}

/// A NOTIFICATION with diagnostic data.
pub(crate) fn with_data(code: u8, subcode: u8, data: Vec<u8>) -> Notification {
    Notification {
        code,
        subcode,
        data: data.into(),
    }
}
