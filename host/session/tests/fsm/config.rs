use std::net::Ipv4Addr;
use std::time::Duration;

use bgplet_session::{
    AS_TRANS, ConfigError, ErrorWait, Fsm, GracefulRestartConfig, SessionConfig,
};
use bgplet_wire::{
    AddPathEntry, AddPathMode, AfiSafi, Capability, GracefulRestart,
    GracefulRestartFamily, Open,
};

use crate::helpers::{LOCAL_ID, config};

#[test]
fn default_config_follows_calico_timers() {
    let config = SessionConfig::new(64512, 64512, LOCAL_ID);
    assert_eq!(config.hold_time, 240);
    assert_eq!(config.keepalive_time, None);
    assert_eq!(config.connect_retry, Duration::from_secs(5));
    assert!(config.is_ibgp());
    assert_eq!(config.validate(), Ok(()));
}

#[test]
fn open_uses_as_trans_for_a_four_octet_local_as() {
    let mut config = config();
    config.local_as = 4_200_000_000;
    let open = config.open();
    assert_eq!(open.my_as, AS_TRANS);
    assert!(
        open.capabilities
            .contains(&Capability::FourOctetAs(4_200_000_000))
    );
}

#[test]
fn open_carries_every_offered_capability_in_a_fixed_order() {
    let mut config = config();
    config.families = vec![AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST];
    config.add_path = Some(AddPathMode::Both);
    config.extended_message = true;
    config.graceful_restart = Some(GracefulRestartConfig {
        restart_time: 120,
        restarting: true,
        forwarding_preserved: true,
    });
    let gr_family = |family| GracefulRestartFamily {
        family,
        forwarding_preserved: true,
    };
    let add_path = |family| AddPathEntry {
        family,
        mode: AddPathMode::Both,
    };
    assert_eq!(
        config.open(),
        Open {
            version: 4,
            my_as: 64512,
            hold_time: 240,
            bgp_id: LOCAL_ID,
            capabilities: vec![
                Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
                Capability::Multiprotocol(AfiSafi::IPV6_UNICAST),
                Capability::RouteRefresh,
                Capability::EnhancedRouteRefresh,
                Capability::ExtendedMessage,
                Capability::GracefulRestart(GracefulRestart {
                    restart_state: true,
                    notification: false,
                    restart_time: 120,
                    families: vec![
                        gr_family(AfiSafi::IPV4_UNICAST),
                        gr_family(AfiSafi::IPV6_UNICAST),
                    ],
                }),
                Capability::FourOctetAs(64512),
                Capability::AddPath(vec![
                    add_path(AfiSafi::IPV4_UNICAST),
                    add_path(AfiSafi::IPV6_UNICAST),
                ]),
            ],
        }
    );
}

#[test]
fn open_without_optional_capabilities_still_offers_four_octet_as() {
    let mut config = config();
    config.route_refresh = false;
    config.enhanced_route_refresh = false;
    assert_eq!(
        config.open().capabilities,
        vec![
            Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
            Capability::FourOctetAs(64512),
        ]
    );
}

#[test]
fn config_with_hold_time_one_or_two_is_rejected() {
    for hold in [1, 2] {
        let mut config = config();
        config.hold_time = hold;
        assert_eq!(
            Fsm::new(config).err(),
            Some(ConfigError::HoldTimeTooShort(hold))
        );
    }
}

#[test]
fn config_with_keepalive_not_below_hold_time_is_rejected() {
    for keepalive in [0, 240, 300] {
        let mut config = config();
        config.keepalive_time = Some(keepalive);
        assert_eq!(
            config.validate(),
            Err(ConfigError::BadKeepalive {
                keepalive,
                hold: 240
            })
        );
    }
}

#[test]
fn config_with_zero_identifier_or_as_is_rejected() {
    let mut zero_id = config();
    zero_id.bgp_id = Ipv4Addr::UNSPECIFIED;
    assert_eq!(zero_id.validate(), Err(ConfigError::ZeroBgpId));
    let mut zero_as = config();
    zero_as.remote_as = 0;
    assert_eq!(zero_as.validate(), Err(ConfigError::ZeroAs));
}

#[test]
fn config_with_restart_time_over_twelve_bits_is_rejected() {
    let mut config = config();
    config.graceful_restart = Some(GracefulRestartConfig {
        restart_time: 4096,
        restarting: false,
        forwarding_preserved: false,
    });
    assert_eq!(
        config.validate(),
        Err(ConfigError::RestartTimeTooLarge(4096))
    );
}

#[test]
fn config_with_zero_connect_retry_or_inverted_error_wait_is_rejected() {
    let mut retry = config();
    retry.connect_retry = Duration::ZERO;
    assert_eq!(retry.validate(), Err(ConfigError::ZeroConnectRetry));
    let mut wait = config();
    wait.error_wait = Some(ErrorWait {
        min: Duration::from_secs(30),
        max: Duration::from_secs(5),
    });
    assert_eq!(wait.validate(), Err(ConfigError::BadErrorWait));
}
