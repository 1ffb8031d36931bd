//! Errors of the RIB's inputs.

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RibError {
    /// `peer_up` for a session name that is already up.
    #[error("session {0} is already up")]
    PeerExists(String),
    /// An input names a session that is not up.
    #[error("session {0} is not up")]
    UnknownPeer(String),
}
