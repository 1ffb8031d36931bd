use bgplet_session::{
    AS_TRANS, AddPathFamily, Negotiated, OpenError, WireParams, negotiate,
};
use bgplet_wire::{
    AddPathEntry, AddPathMode, AfiSafi, Capability, GracefulRestart,
    GracefulRestartFamily,
};

use crate::helpers::{LOCAL_AS, REMOTE_ID, config, peer_open};

const V4: AfiSafi = AfiSafi::IPV4_UNICAST;
const V6: AfiSafi = AfiSafi::IPV6_UNICAST;

fn add_path(entries: &[(AfiSafi, AddPathMode)]) -> Capability {
    Capability::AddPath(
        entries
            .iter()
            .map(|&(family, mode)| AddPathEntry { family, mode })
            .collect(),
    )
}

#[test]
fn four_octet_peer_as_is_taken_from_the_capability() {
    let mut config = config();
    config.remote_as = 4_200_000_000;
    let mut open = peer_open();
    open.my_as = AS_TRANS;
    open.capabilities = vec![Capability::FourOctetAs(4_200_000_000)];
    let negotiated = negotiate(&config, &open).unwrap();
    assert_eq!(negotiated.peer_as, 4_200_000_000);
    assert!(negotiated.four_octet_as);
}

#[test]
fn two_octet_peer_without_the_capability_is_identified_by_my_as() {
    let mut open = peer_open();
    open.capabilities = vec![];
    let negotiated = negotiate(&config(), &open).unwrap();
    assert_eq!(negotiated.peer_as, 64513);
    assert!(!negotiated.four_octet_as);
}

#[test]
fn as_trans_without_the_capability_does_not_match_a_four_octet_remote_as() {
    let mut config = config();
    config.remote_as = 4_200_000_000;
    let mut open = peer_open();
    open.my_as = AS_TRANS;
    open.capabilities = vec![];
    assert_eq!(
        negotiate(&config, &open),
        Err(OpenError::BadPeerAs {
            expected: 4_200_000_000,
            got: 23456
        })
    );
}

#[test]
fn negotiated_session_with_a_plain_peer_has_exact_parameters() {
    assert_eq!(
        negotiate(&config(), &peer_open()).unwrap(),
        Negotiated {
            peer_as: 64513,
            peer_bgp_id: REMOTE_ID,
            hold_time: 240,
            keepalive_time: 80,
            four_octet_as: true,
            families: vec![V4],
            add_path: vec![],
            route_refresh: true,
            enhanced_route_refresh: false,
            extended_message: false,
            peer_graceful_restart: None,
            ibgp: false,
        }
    );
}

#[test]
fn hold_time_is_the_smaller_proposal_and_keepalive_a_third_of_it() {
    let mut open = peer_open();
    open.hold_time = 90;
    let negotiated = negotiate(&config(), &open).unwrap();
    assert_eq!((negotiated.hold_time, negotiated.keepalive_time), (90, 30));
}

#[test]
fn our_hold_time_zero_wins_over_the_peer_proposal() {
    let mut config = config();
    config.hold_time = 0;
    let negotiated = negotiate(&config, &peer_open()).unwrap();
    assert_eq!((negotiated.hold_time, negotiated.keepalive_time), (0, 0));
}

#[test]
fn configured_keepalive_shrinks_with_a_shorter_peer_hold_time() {
    let mut config = config();
    config.keepalive_time = Some(60);
    let mut open = peer_open();
    open.hold_time = 120;
    assert_eq!(negotiate(&config, &open).unwrap().keepalive_time, 30);
    open.hold_time = 300;
    assert_eq!(negotiate(&config, &open).unwrap().keepalive_time, 60);
}

#[test]
fn peer_without_multiprotocol_capability_gets_ipv4_unicast_only() {
    let mut config = config();
    config.families = vec![V6, V4];
    let mut open = peer_open();
    open.capabilities = vec![Capability::FourOctetAs(64513)];
    assert_eq!(negotiate(&config, &open).unwrap().families, vec![V4]);
}

#[test]
fn families_are_the_intersection_in_our_order() {
    let mut config = config();
    config.families = vec![V6, V4];
    let mut open = peer_open();
    open.capabilities = vec![
        Capability::Multiprotocol(V4),
        Capability::Multiprotocol(AfiSafi { afi: 1, safi: 128 }),
        Capability::Multiprotocol(V6),
    ];
    assert_eq!(negotiate(&config, &open).unwrap().families, vec![V6, V4]);
}

#[test]
fn add_path_runs_both_ways_when_both_sides_offer_both() {
    let mut config = config();
    config.add_path = Some(AddPathMode::Both);
    let mut open = peer_open();
    open.capabilities.push(add_path(&[(V4, AddPathMode::Both)]));
    let negotiated = negotiate(&config, &open).unwrap();
    assert_eq!(
        negotiated.add_path,
        vec![AddPathFamily {
            family: V4,
            send: true,
            receive: true
        }]
    );
    assert!(negotiated.add_path_send(V4) && negotiated.add_path_receive(V4));
}

#[test]
fn add_path_only_receives_when_the_peer_only_sends() {
    let mut config = config();
    config.add_path = Some(AddPathMode::Both);
    let mut open = peer_open();
    open.capabilities.push(add_path(&[(V4, AddPathMode::Send)]));
    let negotiated = negotiate(&config, &open).unwrap();
    assert!(negotiated.add_path_receive(V4));
    assert!(!negotiated.add_path_send(V4));
}

#[test]
fn add_path_only_sends_when_we_offer_send_and_the_peer_receive() {
    let mut config = config();
    config.add_path = Some(AddPathMode::Send);
    let mut open = peer_open();
    open.capabilities.push(add_path(&[(V4, AddPathMode::Both)]));
    let negotiated = negotiate(&config, &open).unwrap();
    assert!(negotiated.add_path_send(V4));
    assert!(!negotiated.add_path_receive(V4));
}

#[test]
fn add_path_is_off_when_both_sides_only_receive() {
    let mut config = config();
    config.add_path = Some(AddPathMode::Receive);
    let mut open = peer_open();
    open.capabilities
        .push(add_path(&[(V4, AddPathMode::Receive)]));
    assert_eq!(negotiate(&config, &open).unwrap().add_path, vec![]);
}

#[test]
fn add_path_is_off_when_we_do_not_offer_it() {
    let mut open = peer_open();
    open.capabilities.push(add_path(&[(V4, AddPathMode::Both)]));
    assert_eq!(negotiate(&config(), &open).unwrap().add_path, vec![]);
}

#[test]
fn add_path_for_a_family_not_negotiated_is_ignored() {
    let mut config = config();
    config.add_path = Some(AddPathMode::Both);
    let mut open = peer_open();
    open.capabilities.push(add_path(&[(V6, AddPathMode::Both)]));
    let negotiated = negotiate(&config, &open).unwrap();
    assert_eq!(negotiated.add_path, vec![]);
    assert!(!negotiated.add_path_receive(V6));
}

#[test]
fn optional_capabilities_need_both_sides() {
    let mut config = config();
    config.extended_message = true;
    config.route_refresh = false;
    let mut open = peer_open();
    open.capabilities.push(Capability::EnhancedRouteRefresh);
    let negotiated = negotiate(&config, &open).unwrap();
    assert!(!negotiated.route_refresh, "we did not offer it");
    assert!(negotiated.enhanced_route_refresh);
    assert!(!negotiated.extended_message, "the peer did not offer it");
    open.capabilities.push(Capability::ExtendedMessage);
    assert!(negotiate(&config, &open).unwrap().extended_message);
}

#[test]
fn peer_graceful_restart_is_kept_with_its_flags() {
    let gr = GracefulRestart {
        restart_state: true,
        notification: false,
        restart_time: 120,
        families: vec![GracefulRestartFamily {
            family: V4,
            forwarding_preserved: true,
        }],
    };
    let mut open = peer_open();
    open.capabilities
        .push(Capability::GracefulRestart(gr.clone()));
    let negotiated = negotiate(&config(), &open).unwrap();
    assert_eq!(negotiated.peer_graceful_restart, Some(gr));
}

#[test]
fn same_as_on_both_ends_is_ibgp() {
    let mut config = config();
    config.remote_as = LOCAL_AS;
    let mut open = peer_open();
    open.my_as = 64512;
    open.capabilities = vec![Capability::FourOctetAs(LOCAL_AS)];
    assert!(negotiate(&config, &open).unwrap().ibgp);
    assert!(
        !negotiate(&crate::helpers::config(), &peer_open())
            .unwrap()
            .ibgp
    );
}

#[test]
fn wire_params_carry_add_path_directions_and_flags() {
    let mut config = config();
    config.families = vec![V4, V6];
    config.add_path = Some(AddPathMode::Both);
    config.extended_message = true;
    let mut open = peer_open();
    open.capabilities = vec![
        Capability::Multiprotocol(V4),
        Capability::Multiprotocol(V6),
        Capability::ExtendedMessage,
        Capability::FourOctetAs(64513),
        add_path(&[(V4, AddPathMode::Send), (V6, AddPathMode::Receive)]),
    ];
    let params = negotiate(&config, &open).unwrap().wire_params();
    assert_eq!(
        params,
        WireParams {
            four_octet_as: true,
            add_path_receive: vec![V4],
            add_path_send: vec![V6],
            extended_message: true,
            ibgp: false,
        }
    );
    assert_eq!(params.max_message_len(), 65535);
}

#[test]
fn wire_params_without_extended_messages_limit_messages_to_4096() {
    let params = negotiate(&config(), &peer_open()).unwrap().wire_params();
    assert_eq!(params.max_message_len(), 4096);
}
