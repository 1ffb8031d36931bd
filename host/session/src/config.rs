//! What we offer a peer: timers, capabilities, and our OPEN message.

use std::net::Ipv4Addr;
use std::time::Duration;

use bgplet_wire::{
    AddPathEntry, AddPathMode, AfiSafi, Capability, GracefulRestart,
    GracefulRestartFamily, Open,
};

/// AS_TRANS (RFC 6793 section 9): the 2-octet "My AS" of a speaker whose
/// real AS does not fit in 16 bits.
pub const AS_TRANS: u16 = 23456;

/// The hold time BIRD uses, and so Calico (it never sets one).
pub const DEFAULT_HOLD_TIME: u16 = 240;

/// Calico's `connect retry time 5`.
pub const DEFAULT_CONNECT_RETRY: Duration = Duration::from_secs(5);

/// The largest restart time the 12-bit field can carry (RFC 4724 section 3).
pub const MAX_RESTART_TIME: u16 = 0x0fff;

/// Everything one session needs to know about itself and its peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our AS number (4-octet).
    pub local_as: u32,
    /// The AS the peer must present (4-octet; checked against the OPEN).
    pub remote_as: u32,
    /// Our BGP Identifier.
    pub bgp_id: Ipv4Addr,
    /// The hold time we propose, in seconds: 0 or at least 3.
    pub hold_time: u16,
    /// Keepalive interval in seconds; `None` means a third of the
    /// negotiated hold time (BIRD's default, Calico's `keepaliveTime`).
    pub keepalive_time: Option<u16>,
    /// Delay between outbound connection attempts (ConnectRetryTime).
    pub connect_retry: Duration,
    /// Never connect; only wait for the peer to connect to us.
    pub passive: bool,
    /// Address families offered with the multiprotocol capability.
    pub families: Vec<AfiSafi>,
    /// ADD-PATH mode offered for every family in `families` (RFC 7911).
    pub add_path: Option<AddPathMode>,
    /// Graceful restart as we advertise it (RFC 4724); `None` sends no
    /// capability.
    pub graceful_restart: Option<GracefulRestartConfig>,
    /// Offer route refresh (RFC 2918).
    pub route_refresh: bool,
    /// Offer enhanced route refresh (RFC 7313).
    pub enhanced_route_refresh: bool,
    /// Offer extended messages (RFC 8654).
    pub extended_message: bool,
    /// Automatic restart after an error; `None` leaves the session in
    /// Idle until the driver starts it again.
    pub error_wait: Option<ErrorWait>,
}

/// Our side of graceful restart (RFC 4724 section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracefulRestartConfig {
    /// Seconds the peer should keep our routes after we go away.
    pub restart_time: u16,
    /// R bit: we have just restarted.
    pub restarting: bool,
    /// F bit for every family: our forwarding state survived a restart.
    pub forwarding_preserved: bool,
}

/// The delay before an automatic restart after an error (the RFC 4271
/// IdleHoldTimer, BIRD's `error wait time min,max`). It doubles after
/// each consecutive failure and returns to `min` once the session reaches
/// Established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorWait {
    /// First delay.
    pub min: Duration,
    /// Upper bound of the doubling.
    pub max: Duration,
}

/// A setting that makes the session impossible to run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// AS 0 is reserved and never valid on a session (RFC 7607).
    #[error("AS number 0 is not allowed")]
    ZeroAs,
    /// The BGP Identifier must not be 0.0.0.0 (RFC 6286 section 2.1).
    #[error("BGP identifier 0.0.0.0 is not allowed")]
    ZeroBgpId,
    /// Hold time 1 and 2 are forbidden (RFC 4271 section 4.2).
    #[error("hold time {0} s is not allowed (0 or at least 3)")]
    HoldTimeTooShort(u16),
    /// The keepalive must be at least 1 s and shorter than the hold time.
    #[error("keepalive {keepalive} s does not fit hold time {hold} s")]
    BadKeepalive {
        /// Configured keepalive.
        keepalive: u16,
        /// Configured hold time.
        hold: u16,
    },
    /// A zero ConnectRetryTime would reconnect in a busy loop.
    #[error("connect retry time must not be zero")]
    ZeroConnectRetry,
    /// The restart time does not fit its 12-bit field.
    #[error("graceful restart time {0} s exceeds {MAX_RESTART_TIME} s")]
    RestartTimeTooLarge(u16),
    /// The error wait needs a non-zero minimum not above its maximum.
    #[error("error wait must satisfy 0 < min <= max")]
    BadErrorWait,
}

impl SessionConfig {
    /// A session with Calico's defaults: hold 240 s, keepalive hold/3,
    /// connect retry 5 s, error wait 5..30 s, IPv4 unicast, route refresh
    /// and enhanced route refresh, graceful restart with 120 s, active.
    pub fn new(local_as: u32, remote_as: u32, bgp_id: Ipv4Addr) -> Self {
        Self {
            local_as,
            remote_as,
            bgp_id,
            hold_time: DEFAULT_HOLD_TIME,
            keepalive_time: None,
            connect_retry: DEFAULT_CONNECT_RETRY,
            passive: false,
            families: vec![AfiSafi::IPV4_UNICAST],
            add_path: None,
            graceful_restart: Some(GracefulRestartConfig {
                restart_time: 120,
                restarting: false,
                forwarding_preserved: false,
            }),
            route_refresh: true,
            enhanced_route_refresh: true,
            extended_message: false,
            error_wait: Some(ErrorWait {
                min: Duration::from_secs(5),
                max: Duration::from_secs(30),
            }),
        }
    }

    /// Checks every setting; [`crate::Fsm::new`] calls this.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.local_as == 0 || self.remote_as == 0 {
            return Err(ConfigError::ZeroAs);
        }
        if self.bgp_id.is_unspecified() {
            return Err(ConfigError::ZeroBgpId);
        }
        if matches!(self.hold_time, 1 | 2) {
            return Err(ConfigError::HoldTimeTooShort(self.hold_time));
        }
        if let Some(keepalive) = self.keepalive_time {
            let fits = self.hold_time == 0 || keepalive < self.hold_time;
            if keepalive == 0 || !fits {
                return Err(ConfigError::BadKeepalive {
                    keepalive,
                    hold: self.hold_time,
                });
            }
        }
        if self.connect_retry.is_zero() {
            return Err(ConfigError::ZeroConnectRetry);
        }
        if let Some(gr) = self.graceful_restart
            && gr.restart_time > MAX_RESTART_TIME
        {
            return Err(ConfigError::RestartTimeTooLarge(gr.restart_time));
        }
        if let Some(wait) = self.error_wait
            && (wait.min.is_zero() || wait.min > wait.max)
        {
            return Err(ConfigError::BadErrorWait);
        }
        Ok(())
    }

    /// Whether the session is internal (same AS on both ends).
    pub fn is_ibgp(&self) -> bool {
        self.local_as == self.remote_as
    }

    /// Our OPEN message. The 4-octet AS capability is always sent, and
    /// "My AS" carries AS_TRANS when our AS needs 4 octets (RFC 6793
    /// section 4.1).
    pub fn open(&self) -> Open {
        let my_as = u16::try_from(self.local_as).unwrap_or(AS_TRANS);
        let mut caps: Vec<Capability> = self
            .families
            .iter()
            .map(|&family| Capability::Multiprotocol(family))
            .collect();
        if self.route_refresh {
            caps.push(Capability::RouteRefresh);
        }
        if self.enhanced_route_refresh {
            caps.push(Capability::EnhancedRouteRefresh);
        }
        if self.extended_message {
            caps.push(Capability::ExtendedMessage);
        }
        if let Some(gr) = self.graceful_restart {
            caps.push(Capability::GracefulRestart(GracefulRestart {
                restart_state: gr.restarting,
                // BIRD 1.x, which Calico runs, does not set the N bit.
                notification: false,
                restart_time: gr.restart_time,
                families: self
                    .families
                    .iter()
                    .map(|&family| GracefulRestartFamily {
                        family,
                        forwarding_preserved: gr.forwarding_preserved,
                    })
                    .collect(),
            }));
        }
        caps.push(Capability::FourOctetAs(self.local_as));
        if let Some(mode) = self.add_path {
            caps.push(Capability::AddPath(
                self.families
                    .iter()
                    .map(|&family| AddPathEntry { family, mode })
                    .collect(),
            ));
        }
        Open {
            version: 4,
            my_as,
            hold_time: self.hold_time,
            bgp_id: self.bgp_id,
            capabilities: caps,
        }
    }
}
