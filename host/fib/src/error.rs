//! Errors of the FIB.

use std::io;

/// What can go wrong programming the kernel FIB.
#[derive(Debug, thiserror::Error)]
pub enum FibError {
    /// The netlink socket could not be opened or configured.
    #[error("netlink socket: {0}")]
    Socket(#[source] io::Error),
    /// The netlink connection task is gone; nothing more can be sent.
    #[error("netlink connection closed")]
    Closed,
    /// A dump (links or routes) ended without its terminating message.
    #[error("netlink dump failed: {0}")]
    Dump(String),
    /// The kernel refused a request with this errno.
    #[error("kernel refused the request: {}", io::Error::from_raw_os_error(*.0))]
    Kernel(i32),
    /// The kernel answered with something other than an ack.
    #[error("unexpected netlink answer: {0}")]
    Unexpected(String),
    /// The prefix has host bits set or a length beyond its family.
    #[error("invalid prefix {0}/{1}")]
    InvalidPrefix(std::net::IpAddr, u8),
    /// A next hop's family differs from the prefix's, or a unicast route
    /// has no next hop.
    #[error("invalid next hops: {0}")]
    InvalidNextHop(String),
    /// A next hop names a device that does not exist.
    #[error("no such device {0}")]
    NoDevice(String),
}
