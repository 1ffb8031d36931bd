use std::net::Ipv4Addr;

use bgplet_wire::{
    AddPathEntry, AddPathMode, AfiSafi, Capability, DecodeError,
    GracefulRestart, GracefulRestartFamily, Message, Open, OpenError,
    SessionContext,
};
use bytes::Bytes;

use crate::{both_ways, decode_clean};

/// OPEN from AS 65001, hold 180, id 10.0.0.1, with every capability we
/// know plus FQDN (73) kept verbatim.
fn full_open() -> Open {
    Open {
        version: 4,
        my_as: 65001,
        hold_time: 180,
        bgp_id: Ipv4Addr::new(10, 0, 0, 1),
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
                families: vec![GracefulRestartFamily {
                    family: AfiSafi::IPV4_UNICAST,
                    forwarding_preserved: true,
                }],
            }),
            Capability::FourOctetAs(65001),
            Capability::AddPath(vec![AddPathEntry {
                family: AfiSafi::IPV4_UNICAST,
                mode: AddPathMode::Both,
            }]),
            Capability::Unknown {
                code: 73,
                value: Bytes::from_static(b"node"),
            },
        ],
    }
}

/// All capabilities in one optional parameter (BIRD's layout).
const OPEN_SINGLE: &str = "ffffffffffffffffffffffffffffffff004b0104fde900b4\
    0a0000012e022c010400010001010400020001020046000600400680780001018041\
    040000fde945040001010349046e6f6465";

/// The same capabilities, one optional parameter each (GoBGP's layout).
const OPEN_EACH: &str = "ffffffffffffffffffffffffffffffff005b0104fde900b4\
    0a0000013e0206010400010001020601040002000102020200020246000202060002\
    084006807800010180020641040000fde90206450400010103020649046e6f6465";

#[test]
fn open_with_every_capability_in_one_parameter_round_trips() {
    both_ways(
        OPEN_SINGLE,
        &Message::Open(full_open()),
        &SessionContext::default(),
    );
}

#[test]
fn open_with_one_parameter_per_capability_decodes_the_same() {
    let bytes = hex::decode(OPEN_EACH).unwrap();
    let got = decode_clean(&bytes, &SessionContext::default());
    assert_eq!(got, Message::Open(full_open()));
}

#[test]
fn open_from_a_four_octet_as_carries_as_trans_and_the_real_as() {
    // AS 4200000001 (0xfa56ea01) as AS_TRANS, hold 90, id 192.0.2.1,
    // graceful restart with only the N bit and 300 s.
    let open = Open::new(
        4_200_000_001,
        90,
        Ipv4Addr::new(192, 0, 2, 1),
        vec![
            Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
            Capability::FourOctetAs(4_200_000_001),
            Capability::GracefulRestart(GracefulRestart {
                restart_state: false,
                notification: true,
                restart_time: 300,
                families: vec![],
            }),
        ],
    );
    assert_eq!(open.my_as, 23456);
    assert_eq!(open.four_octet_as(), Some(4_200_000_001));
    assert_eq!(open.real_as(), 4_200_000_001);
    both_ways(
        "ffffffffffffffffffffffffffffffff002f01045ba0005ac0000201120210010400\
         0100014104fa56ea014002412c",
        &Message::Open(open),
        &SessionContext::default(),
    );
}

#[test]
fn real_as_falls_back_to_my_as_without_the_capability() {
    let open = Open::new(65010, 90, Ipv4Addr::new(1, 1, 1, 1), vec![]);
    assert_eq!(open.four_octet_as(), None);
    assert_eq!(open.real_as(), 65010);
    assert_eq!(open.families(), vec![AfiSafi::IPV4_UNICAST]);
}

fn open_error(mutate: impl FnOnce(&mut Vec<u8>)) -> OpenError {
    let mut bytes = hex::decode(OPEN_SINGLE).unwrap();
    mutate(&mut bytes);
    match Message::decode(&bytes, &SessionContext::default()) {
        Err(DecodeError::Open(e)) => e,
        other => panic!("expected an OPEN error, got {other:?}"),
    }
}

#[test]
fn open_with_version_3_is_unsupported_version_with_our_version_as_data() {
    let e = open_error(|b| b[19] = 3);
    assert_eq!(e, OpenError::UnsupportedVersion(3));
    let n = e.notification();
    assert_eq!((n.code, n.subcode, &n.data[..]), (2, 1, &[0u8, 4][..]));
}

#[test]
fn open_with_as_zero_is_bad_peer_as() {
    let e = open_error(|b| b[20..22].copy_from_slice(&[0, 0]));
    assert_eq!(e.notification().subcode, 2);
}

#[test]
fn open_with_bgp_id_zero_is_bad_bgp_identifier() {
    let e = open_error(|b| b[24..28].copy_from_slice(&[0; 4]));
    assert_eq!(e, OpenError::BadBgpId(Ipv4Addr::UNSPECIFIED));
    assert_eq!(e.notification().subcode, 3);
}

#[test]
fn open_with_hold_time_one_or_two_is_rejected() {
    for hold in [1u16, 2] {
        let e = open_error(|b| b[22..24].copy_from_slice(&hold.to_be_bytes()));
        assert_eq!(e, OpenError::UnacceptableHoldTime(hold));
        assert_eq!(e.notification().subcode, 6);
    }
}

#[test]
fn open_with_hold_time_zero_or_three_is_accepted() {
    for hold in [0u16, 3] {
        let mut b = hex::decode(OPEN_SINGLE).unwrap();
        b[22..24].copy_from_slice(&hold.to_be_bytes());
        assert!(Message::decode(&b, &SessionContext::default()).is_ok());
    }
}

#[test]
fn open_with_a_non_capability_parameter_is_unsupported_optional_parameter() {
    // Parameter type 1 (deprecated authentication).
    let e = open_error(|b| b[29] = 1);
    assert_eq!(e, OpenError::UnsupportedOptionalParameter(1));
    assert_eq!(e.notification().subcode, 4);
}

#[test]
fn open_with_a_truncated_capability_is_malformed() {
    let e = open_error(|b| b[30] = 0x2d);
    assert!(matches!(e, OpenError::Malformed(_)), "{e:?}");
}

#[test]
fn a_known_capability_with_a_bad_length_is_kept_verbatim() {
    assert_eq!(
        Capability::decode(65, &[0, 1]),
        Capability::Unknown {
            code: 65,
            value: Bytes::from_static(&[0, 1])
        }
    );
}

#[test]
fn negotiation_derives_add_path_per_direction() {
    let mut ours = full_open();
    let mut theirs = full_open();
    ours.capabilities
        .push(Capability::AddPath(vec![AddPathEntry {
            family: AfiSafi::IPV6_UNICAST,
            mode: AddPathMode::Receive,
        }]));
    theirs
        .capabilities
        .push(Capability::AddPath(vec![AddPathEntry {
            family: AfiSafi::IPV6_UNICAST,
            mode: AddPathMode::Send,
        }]));
    let ctx = SessionContext::negotiate(&ours, &theirs, true);
    assert!(ctx.four_octet_as && ctx.extended_message && ctx.ibgp);
    assert!(ctx.rx_path_id(AfiSafi::IPV4_UNICAST));
    assert!(ctx.tx_path_id(AfiSafi::IPV4_UNICAST));
    assert!(ctx.rx_path_id(AfiSafi::IPV6_UNICAST));
    assert!(!ctx.tx_path_id(AfiSafi::IPV6_UNICAST));
    assert_eq!(ctx.max_message_len(), 65535);
}
