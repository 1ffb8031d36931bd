use std::net::{Ipv4Addr, Ipv6Addr};

use bgplet_wire::{
    AfiSafi, Aggregator, AsPath, AsSegment, Community, ExtCommunity, FamilySet,
    LargeCommunity, Message, MpReach, MpUnreach, NextHop, Nlri, Origin,
    PathAttributes, SegmentKind, SessionContext, UnknownAttribute, Update,
};
use bytes::Bytes;

use crate::{both_ways, ctx4};

fn nlri(s: &str) -> Nlri {
    Nlri {
        path_id: 0,
        prefix: s.parse().unwrap(),
    }
}

fn seq(asns: &[u32]) -> AsSegment {
    AsSegment {
        kind: SegmentKind::Sequence,
        asns: asns.to_vec(),
    }
}

#[test]
fn classic_ipv4_update_on_a_two_octet_session_round_trips() {
    // ORIGIN IGP, AS_PATH 65001 65002 (2-octet), NEXT_HOP 192.0.2.1,
    // MED 100, COMMUNITIES 65001:100 no-export; NLRI 10.0.0.0/24 and
    // 10.1.0.0/16.
    let update = Update {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence([65001, 65002])),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            med: Some(100),
            communities: Some(vec![
                Community::new(65001, 100),
                Community::NO_EXPORT,
            ]),
            ..PathAttributes::default()
        },
        nlri: vec![nlri("10.0.0.0/24"), nlri("10.1.0.0/16")],
        ..Update::default()
    };
    both_ways(
        "ffffffffffffffffffffffffffffffff00440200000026400101004002060202fde9\
         fdea400304c000020180040400000064c00808fde90064ffffff01180a0000100a01",
        &Message::Update(update.clone()),
        &SessionContext::default(),
    );
    let ann: Vec<_> = update.announcements().collect();
    assert_eq!(ann.len(), 1);
    assert_eq!(ann[0].family, AfiSafi::IPV4_UNICAST);
    assert_eq!(ann[0].next_hop, NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(ann[0].nlri.len(), 2);
}

#[test]
fn ibgp_update_with_every_attribute_on_a_four_octet_session_round_trips() {
    // ORIGIN INCOMPLETE, AS_PATH 4200000001 65002 (4-octet), NEXT_HOP,
    // LOCAL_PREF 200, ATOMIC_AGGREGATE, AGGREGATOR 4200000001 192.0.2.9,
    // ORIGINATOR_ID 10.0.0.9, CLUSTER_LIST 10.0.0.1 10.0.0.2,
    // EXTENDED_COMMUNITIES rt:65000:100, LARGE_COMMUNITY 4200000001:1:2,
    // and unknown optional transitive partial type 99; NLRI 10.2.0.0/16.
    let update = Update {
        attributes: PathAttributes {
            origin: Some(Origin::Incomplete),
            as_path: Some(AsPath::sequence([4_200_000_001, 65002])),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            local_pref: Some(200),
            atomic_aggregate: true,
            aggregator: Some(Aggregator {
                asn: 4_200_000_001,
                address: Ipv4Addr::new(192, 0, 2, 9),
            }),
            originator_id: Some(Ipv4Addr::new(10, 0, 0, 9)),
            cluster_list: Some(vec![
                Ipv4Addr::new(10, 0, 0, 1),
                Ipv4Addr::new(10, 0, 0, 2),
            ]),
            ext_communities: Some(vec![ExtCommunity::route_target(65000, 100)]),
            large_communities: Some(vec![LargeCommunity {
                global_admin: 4_200_000_001,
                local_data_1: 1,
                local_data_2: 2,
            }]),
            unknown: vec![UnknownAttribute {
                flags: 0xe0,
                code: 99,
                value: Bytes::from_static(&[1, 2, 3]),
            }],
            ..PathAttributes::default()
        },
        nlri: vec![nlri("10.2.0.0/16")],
        ..Update::default()
    };
    let ctx = SessionContext {
        ibgp: true,
        ..ctx4()
    };
    both_ways(
        "ffffffffffffffffffffffffffffffff0079020000005f4001010240020a0202fa56\
         ea010000fdea400304c0000201400504000000c8400600c00708fa56ea01c0000209\
         8009040a000009800a080a0000010a000002c010080002fde800000064c0200cfa56\
         ea010000000100000002e06303010203100a02",
        &Message::Update(update),
        &ctx,
    );
}

#[test]
fn as4_path_and_as4_aggregator_merge_on_a_two_octet_session() {
    // AS_PATH 65001 AS_TRANS + AS4_PATH 65001 4200000001, AGGREGATOR
    // AS_TRANS + AS4_AGGREGATOR 4200000001 (RFC 6793 4.2.2 / 4.2.3).
    let update = Update {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence([65001, 4_200_000_001])),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            aggregator: Some(Aggregator {
                asn: 4_200_000_001,
                address: Ipv4Addr::new(192, 0, 2, 9),
            }),
            ..PathAttributes::default()
        },
        nlri: vec![nlri("10.3.0.0/16")],
        ..Update::default()
    };
    both_ways(
        "ffffffffffffffffffffffffffffffff004f0200000035400101004002060202fde9\
         5ba0400304c0000201c007065ba0c0000209c0110a02020000fde9fa56ea01c01208\
         fa56ea01c0000209100a03",
        &Message::Update(update),
        &SessionContext::default(),
    );
}

#[test]
fn as4_path_is_ignored_when_aggregator_is_a_two_octet_as() {
    // RFC 6793 4.2.3: AGGREGATOR 65009 (not AS_TRANS) means the AS4
    // attributes are stale, so the path keeps AS_TRANS.
    let body = hex::decode(
        "00000035400101004002060202fde95ba0400304c0000201c00706fdf1c0000209\
         c0110a02020000fde9fa56ea01c01208fa56ea01c0000209100a03",
    )
    .unwrap();
    let u = Update::decode(&body, &SessionContext::default())
        .unwrap()
        .into_update();
    assert_eq!(u.attributes.as_path, Some(AsPath::sequence([65001, 23456])));
    assert_eq!(u.attributes.aggregator.map(|a| a.asn), Some(65009));
}

#[test]
fn all_four_segment_types_round_trip() {
    // (65010) [65011,65012] 65001 {65100,65101} with 4-octet ASNs.
    let path = AsPath {
        segments: vec![
            AsSegment {
                kind: SegmentKind::ConfedSequence,
                asns: vec![65010],
            },
            AsSegment {
                kind: SegmentKind::ConfedSet,
                asns: vec![65011, 65012],
            },
            seq(&[65001]),
            AsSegment {
                kind: SegmentKind::Set,
                asns: vec![65100, 65101],
            },
        ],
    };
    assert_eq!(
        path.to_string(),
        "(65010) [65011,65012] 65001 {65100,65101}"
    );
    assert_eq!(path.path_len(), 2);
    let update = Update {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(path),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            ..PathAttributes::default()
        },
        nlri: vec![nlri("10.4.0.0/16")],
        ..Update::default()
    };
    both_ways(
        "ffffffffffffffffffffffffffffffff0048020000002e4001010040022003010000\
         fdf204020000fdf30000fdf402010000fde901020000fe4c0000fe4d400304c00002\
         01100a04",
        &Message::Update(update),
        &ctx4(),
    );
}

#[test]
fn ipv6_mp_reach_with_global_and_link_local_next_hop_round_trips() {
    // MP_REACH_NLRI AFI 2 SAFI 1, next hop 2001:db8::1 + fe80::1 (32
    // octets, RFC 2545), NLRI 2001:db8:1::/48 and 2001:db8::/32.
    let update = Update {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence([65001])),
            ..PathAttributes::default()
        },
        mp_reach: Some(MpReach {
            family: AfiSafi::IPV6_UNICAST,
            next_hop: NextHop::V6 {
                global: "2001:db8::1".parse::<Ipv6Addr>().unwrap(),
                link_local: Some("fe80::1".parse().unwrap()),
            },
            nlri: vec![nlri("2001:db8:1::/48"), nlri("2001:db8::/32")],
        }),
        ..Update::default()
    };
    both_ways(
        "ffffffffffffffffffffffffffffffff005802000000414001010040020602010000\
         fde9800e310002012020010db8000000000000000000000001fe8000000000000000\
         00000000000001003020010db800012020010db8",
        &Message::Update(update.clone()),
        &ctx4(),
    );
    let ann: Vec<_> = update.announcements().collect();
    assert_eq!(ann.len(), 1);
    assert_eq!(ann[0].family, AfiSafi::IPV6_UNICAST);
}

#[test]
fn add_path_ids_are_read_and_written_when_negotiated() {
    // Withdrawn path 7 10.9.0.0/16; NLRI path 1 and path 2 of
    // 10.0.0.0/24 (RFC 7911 section 3).
    let update = Update {
        withdrawn: vec![Nlri::with_path_id(
            7,
            "10.9.0.0/16".parse::<bgplet_wire::Prefix>().unwrap(),
        )],
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence([65001])),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            ..PathAttributes::default()
        },
        nlri: vec![
            Nlri {
                path_id: 1,
                ..nlri("10.0.0.0/24")
            },
            Nlri {
                path_id: 2,
                ..nlri("10.0.0.0/24")
            },
        ],
        ..Update::default()
    };
    let v4: FamilySet = [AfiSafi::IPV4_UNICAST].into_iter().collect();
    let ctx = SessionContext {
        add_path_rx: v4,
        add_path_tx: v4,
        ..ctx4()
    };
    both_ways(
        "ffffffffffffffffffffffffffffffff004202000700000007100a09001440010100\
         40020602010000fde9400304c000020100000001180a000000000002180a0000",
        &Message::Update(update),
        &ctx,
    );
}

#[test]
fn classic_and_mp_withdrawals_are_listed_per_family() {
    // Withdrawn 10.0.0.0/24 and 0.0.0.0/0; MP_UNREACH 2001:db8:1::/48.
    let update = Update {
        withdrawn: vec![nlri("10.0.0.0/24"), nlri("0.0.0.0/0")],
        mp_unreach: Some(MpUnreach {
            family: AfiSafi::IPV6_UNICAST,
            withdrawn: vec![nlri("2001:db8:1::/48")],
        }),
        ..Update::default()
    };
    both_ways(
        "ffffffffffffffffffffffffffffffff0029020005180a000000000d800f0a000201\
         3020010db80001",
        &Message::Update(update.clone()),
        &SessionContext::default(),
    );
    let w: Vec<_> = update.withdrawals().map(|(f, n)| (f, n.len())).collect();
    assert_eq!(
        w,
        vec![(AfiSafi::IPV4_UNICAST, 2), (AfiSafi::IPV6_UNICAST, 1)]
    );
    assert_eq!(update.end_of_rib_family(), None);
}

#[test]
fn end_of_rib_is_the_empty_update_for_ipv4_and_mp_unreach_for_ipv6() {
    let v4 = Update::end_of_rib(AfiSafi::IPV4_UNICAST);
    both_ways(
        "ffffffffffffffffffffffffffffffff00170200000000",
        &Message::Update(v4.clone()),
        &SessionContext::default(),
    );
    assert_eq!(v4.end_of_rib_family(), Some(AfiSafi::IPV4_UNICAST));
    let v6 = Update::end_of_rib(AfiSafi::IPV6_UNICAST);
    both_ways(
        "ffffffffffffffffffffffffffffffff001d0200000006800f03000201",
        &Message::Update(v6.clone()),
        &SessionContext::default(),
    );
    assert_eq!(v6.end_of_rib_family(), Some(AfiSafi::IPV6_UNICAST));
}

#[test]
fn long_unknown_attributes_use_the_extended_length() {
    let value = Bytes::from(vec![7u8; 300]);
    let update = Update {
        attributes: PathAttributes {
            unknown: vec![UnknownAttribute {
                flags: 0xc0,
                code: 200,
                value,
            }],
            ..PathAttributes::default()
        },
        ..Update::default()
    };
    let bytes = Message::Update(update.clone()).to_bytes(&ctx4()).unwrap();
    // Flags 0xd0 (extended), type 200, length 0x012c.
    assert_eq!(&bytes[23..27], &[0xd0, 200, 0x01, 0x2c]);
    assert_eq!(
        crate::decode_clean(&bytes, &ctx4()),
        Message::Update(update)
    );
}

#[test]
fn readvertisement_sets_partial_and_drops_non_transitive_unknowns() {
    let attrs = PathAttributes {
        unknown: vec![
            UnknownAttribute {
                flags: 0xc0,
                code: 99,
                value: Bytes::from_static(&[1]),
            },
            UnknownAttribute {
                flags: 0x80,
                code: 100,
                value: Bytes::from_static(&[2]),
            },
        ],
        ..PathAttributes::default()
    };
    let out = attrs.for_readvertisement();
    assert_eq!(out.unknown.len(), 1);
    assert_eq!((out.unknown[0].code, out.unknown[0].flags), (99, 0xe0));
}

#[test]
fn prefixes_parse_display_and_reject_host_bits() {
    let p: bgplet_wire::Prefix = "10.0.0.0/24".parse().unwrap();
    assert_eq!(p.to_string(), "10.0.0.0/24");
    assert!("10.0.0.1/24".parse::<bgplet_wire::Prefix>().is_err());
    assert!("10.0.0.0/33".parse::<bgplet_wire::Prefix>().is_err());
    assert!("2001:db8::/129".parse::<bgplet_wire::Prefix>().is_err());
    let p6: bgplet_wire::Prefix = "2001:db8::/32".parse().unwrap();
    assert_eq!(p6.to_string(), "2001:db8::/32");
    assert_eq!(p6.family(), AfiSafi::IPV6_UNICAST);
}

#[test]
fn communities_display_and_parse_names_and_numbers() {
    assert_eq!(Community::new(65000, 100).to_string(), "65000:100");
    assert_eq!(Community::NO_EXPORT.to_string(), "no-export");
    assert_eq!("no-advertise".parse(), Ok(Community::NO_ADVERTISE));
    assert_eq!("65000:100".parse(), Ok(Community(65000 << 16 | 100)));
    let lc: LargeCommunity = "4200000001:1:2".parse().unwrap();
    assert_eq!(lc.to_string(), "4200000001:1:2");
    let rt: ExtCommunity = "rt:65000:100".parse().unwrap();
    assert_eq!(rt, ExtCommunity::route_target(65000, 100));
    assert_eq!(rt.to_string(), "rt:65000:100");
    assert_eq!("igp".parse(), Ok(Origin::Igp));
}

#[test]
fn trailing_bits_beyond_the_prefix_length_are_cleared_on_decode() {
    // 10.255.0.0/12 on the wire decodes as 10.240.0.0/12 (RFC 4271
    // 4.3), both for an entry followed by others and one that ends the
    // buffer.
    let mut out = Vec::new();
    bgplet_wire::nlri::decode_nlri(
        &[12, 10, 0xff, 32, 10, 1, 2, 3, 12, 10, 0xff],
        AfiSafi::IPV4_UNICAST,
        false,
        &mut out,
    )
    .unwrap();
    let got: Vec<String> = out.iter().map(|n| n.prefix.to_string()).collect();
    assert_eq!(got, ["10.240.0.0/12", "10.1.2.3/32", "10.240.0.0/12"]);
}

#[test]
fn a_default_route_at_the_end_of_ipv6_nlri_decodes() {
    let mut out = Vec::new();
    bgplet_wire::nlri::decode_nlri(
        &[64, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 1, 0],
        AfiSafi::IPV6_UNICAST,
        false,
        &mut out,
    )
    .unwrap();
    let got: Vec<String> = out.iter().map(|n| n.prefix.to_string()).collect();
    assert_eq!(got, ["2001:db8:0:1::/64", "::/0"]);
}

#[test]
fn next_hops_and_nlri_display_for_logs() {
    let nh = NextHop::V6 {
        global: "2001:db8::1".parse().unwrap(),
        link_local: Some("fe80::1".parse().unwrap()),
    };
    assert_eq!(nh.to_string(), "2001:db8::1 fe80::1");
    assert_eq!(nlri("10.0.0.0/24").to_string(), "10.0.0.0/24");
    let n = Nlri {
        path_id: 7,
        ..nlri("10.0.0.0/24")
    };
    assert_eq!(n.to_string(), "10.0.0.0/24 path-id 7");
}
