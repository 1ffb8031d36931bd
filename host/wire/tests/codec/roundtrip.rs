//! Property: any valid UPDATE or OPEN encodes and decodes to itself.

use std::net::{Ipv4Addr, Ipv6Addr};

use bgplet_wire::{
    AddPathEntry, AddPathMode, AfiSafi, Aggregator, AsPath, AsSegment,
    Capability, Community, ExtCommunity, FamilySet, GracefulRestart,
    GracefulRestartFamily, Ipv4Prefix, Ipv6Prefix, LargeCommunity, Message,
    MpReach, MpUnreach, NextHop, Nlri, Open, Origin, PathAttributes,
    SegmentKind, SessionContext, UnknownAttribute, Update,
};
use bytes::Bytes;
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;

use crate::decode_clean;

fn v4_prefix() -> impl Strategy<Value = Ipv4Prefix> {
    (any::<u32>(), 0u8..=32).prop_map(|(a, l)| {
        let mask = u32::MAX.checked_shl(32 - u32::from(l)).unwrap_or(0);
        Ipv4Prefix::new(Ipv4Addr::from(a & mask), l).unwrap()
    })
}

fn v6_prefix() -> impl Strategy<Value = Ipv6Prefix> {
    (any::<u128>(), 0u8..=128).prop_map(|(a, l)| {
        let mask = u128::MAX.checked_shl(128 - u32::from(l)).unwrap_or(0);
        Ipv6Prefix::new(Ipv6Addr::from(a & mask), l).unwrap()
    })
}

fn nlri<P: Into<bgplet_wire::Prefix> + std::fmt::Debug>(
    p: impl Strategy<Value = P>,
    path_id: bool,
) -> impl Strategy<Value = Vec<Nlri>> {
    vec((p, any::<u32>()), 0..40).prop_map(move |v| {
        v.into_iter()
            .map(|(p, id)| Nlri {
                path_id: if path_id { id } else { 0 },
                prefix: p.into(),
            })
            .collect()
    })
}

/// ASNs; on a 2-octet session confederation segments stay below 65536
/// since only AS4_PATH restores large ones, and it never holds
/// confederation segments (RFC 6793 4.2.2).
fn as_path(four: bool) -> impl Strategy<Value = AsPath> {
    let seg = (1u8..=4, vec(any::<u32>(), 1..8)).prop_map(move |(k, asns)| {
        let kind = SegmentKind::from_wire(k).unwrap();
        let asns = if kind.is_confed() && !four {
            asns.into_iter().map(|a| a & 0xffff).collect()
        } else {
            asns
        };
        AsSegment { kind, asns }
    });
    // Confederation segments only ever lead the path (RFC 5065 5.1).
    vec(seg, 0..5).prop_map(|mut segments| {
        segments.sort_by_key(|s| !s.kind.is_confed());
        AsPath { segments }
    })
}

fn host() -> impl Strategy<Value = Ipv4Addr> {
    (0x0100_0000u32..0xe000_0000).prop_map(Ipv4Addr::from)
}

fn attributes(four: bool) -> impl Strategy<Value = PathAttributes> {
    let unknown = btree_map(
        (0u8..=0).prop_union(19u8..=31).or(33u8..=250),
        (any::<bool>(), any::<bool>(), vec(any::<u8>(), 0..300)),
        0..3,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(code, (t, p, v))| UnknownAttribute {
                flags: 0x80
                    | if t { 0x40 } else { 0 }
                    | if p { 0x20 } else { 0 },
                code,
                value: Bytes::from(v),
            })
            .collect::<Vec<_>>()
    });
    // On a 2-octet session an AGGREGATOR that is not AS_TRANS on the
    // wire means AS4_PATH is ignored (RFC 6793 4.2.3), so keep it large.
    let agg_as = if four { 0..=u32::MAX } else { 65536..=u32::MAX };
    (
        (
            option::of(prop_oneof![
                Just(Origin::Igp),
                Just(Origin::Egp),
                Just(Origin::Incomplete)
            ]),
            option::of(as_path(four)),
            option::of(host()),
            option::of(any::<u32>()),
            option::of(any::<u32>()),
            any::<bool>(),
            option::of(
                (agg_as, host())
                    .prop_map(|(asn, address)| Aggregator { asn, address }),
            ),
        ),
        (
            option::of(vec(any::<u32>().prop_map(Community), 1..5)),
            option::of(host()),
            option::of(vec(host(), 1..4)),
            option::of(vec(any::<[u8; 8]>().prop_map(ExtCommunity), 1..4)),
            option::of(vec(
                any::<(u32, u32, u32)>().prop_map(|(a, b, c)| LargeCommunity {
                    global_admin: a,
                    local_data_1: b,
                    local_data_2: c,
                }),
                1..4,
            )),
            unknown,
        ),
    )
        .prop_map(
            |(
                (
                    origin,
                    as_path,
                    next_hop,
                    med,
                    local_pref,
                    atomic_aggregate,
                    aggregator,
                ),
                (
                    communities,
                    originator_id,
                    cluster_list,
                    ext_communities,
                    large_communities,
                    unknown,
                ),
            )| PathAttributes {
                origin,
                as_path,
                next_hop,
                med,
                local_pref,
                atomic_aggregate,
                aggregator,
                communities,
                originator_id,
                cluster_list,
                ext_communities,
                large_communities,
                unknown,
            },
        )
}

fn next_hop_v6() -> impl Strategy<Value = NextHop> {
    (any::<u128>(), option::of(any::<u128>())).prop_map(|(g, ll)| NextHop::V6 {
        global: Ipv6Addr::from(g),
        link_local: ll.map(Ipv6Addr::from),
    })
}

/// A context and an UPDATE that is valid on it.
fn session_and_update() -> impl Strategy<Value = (SessionContext, Update)> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_flat_map(
        |(four, ap4, ap6)| {
            let mut set = FamilySet::EMPTY;
            if ap4 {
                set.insert(AfiSafi::IPV4_UNICAST);
            }
            if ap6 {
                set.insert(AfiSafi::IPV6_UNICAST);
            }
            let ctx = SessionContext {
                four_octet_as: four,
                add_path_rx: set,
                add_path_tx: set,
                extended_message: true,
                ibgp: true,
            };
            let reach =
                option::of((next_hop_v6(), nlri(v6_prefix(), ap6)).prop_map(
                    |(next_hop, nlri)| MpReach {
                        family: AfiSafi::IPV6_UNICAST,
                        next_hop,
                        nlri,
                    },
                ));
            let unreach =
                option::of(nlri(v6_prefix(), ap6).prop_map(|withdrawn| {
                    MpUnreach {
                        family: AfiSafi::IPV6_UNICAST,
                        withdrawn,
                    }
                }));
            (
                Just(ctx),
                nlri(v4_prefix(), ap4),
                attributes(four),
                reach,
                unreach,
                nlri(v4_prefix(), ap4),
            )
                .prop_map(
                    |(
                        ctx,
                        withdrawn,
                        mut attributes,
                        mp_reach,
                        mp_unreach,
                        nlri,
                    )| {
                        let mut u = Update {
                            withdrawn,
                            attributes: PathAttributes::default(),
                            mp_reach,
                            mp_unreach,
                            nlri,
                        };
                        // Mandatory attributes when anything is announced
                        // (RFC 4271 5.1, iBGP so LOCAL_PREF too).
                        if u.has_announcements() {
                            attributes.origin.get_or_insert(Origin::Igp);
                            attributes
                                .as_path
                                .get_or_insert_with(AsPath::default);
                            attributes.local_pref.get_or_insert(100);
                            if !u.nlri.is_empty() {
                                attributes
                                    .next_hop
                                    .get_or_insert(Ipv4Addr::new(192, 0, 2, 1));
                            }
                        }
                        u.attributes = attributes;
                        (ctx, u)
                    },
                )
        },
    )
}

fn capability() -> impl Strategy<Value = Capability> {
    let family = prop_oneof![
        Just(AfiSafi::IPV4_UNICAST),
        Just(AfiSafi::IPV6_UNICAST),
        (any::<u16>(), any::<u8>())
            .prop_map(|(afi, safi)| AfiSafi { afi, safi })
    ];
    let mode = prop_oneof![
        Just(AddPathMode::Receive),
        Just(AddPathMode::Send),
        Just(AddPathMode::Both)
    ];
    prop_oneof![
        family.clone().prop_map(Capability::Multiprotocol),
        Just(Capability::RouteRefresh),
        Just(Capability::EnhancedRouteRefresh),
        Just(Capability::ExtendedMessage),
        (
            any::<bool>(),
            any::<bool>(),
            0u16..4096,
            vec((family.clone(), any::<bool>()), 0..3)
        )
            .prop_map(|(r, n, t, f)| Capability::GracefulRestart(
                GracefulRestart {
                    restart_state: r,
                    notification: n,
                    restart_time: t,
                    families: f
                        .into_iter()
                        .map(|(family, forwarding_preserved)| {
                            GracefulRestartFamily {
                                family,
                                forwarding_preserved,
                            }
                        })
                        .collect(),
                }
            )),
        (1u32..).prop_map(Capability::FourOctetAs),
        vec((family, mode), 1..3).prop_map(|v| Capability::AddPath(
            v.into_iter()
                .map(|(family, mode)| AddPathEntry { family, mode })
                .collect()
        )),
        (
            prop_oneof![3u8..=5, 7u8..=63, 71u8..=255],
            vec(any::<u8>(), 0..20)
        )
            .prop_map(|(code, v)| Capability::Unknown {
                code,
                value: Bytes::from(v)
            }),
    ]
}

fn open() -> impl Strategy<Value = Open> {
    (
        1u16..,
        any::<u16>()
            .prop_filter("hold 1 and 2 are invalid", |h| *h != 1 && *h != 2),
        1u32..,
        vec(capability(), 0..30),
    )
        .prop_map(|(my_as, hold_time, id, capabilities)| Open {
            version: 4,
            my_as,
            hold_time,
            bgp_id: Ipv4Addr::from(id),
            capabilities,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_valid_update_round_trips((ctx, update) in session_and_update()) {
        let msg = Message::Update(update);
        let bytes = msg.to_bytes(&ctx).unwrap();
        prop_assert_eq!(decode_clean(&bytes, &ctx), msg);
    }

    #[test]
    fn any_valid_open_round_trips(open in open()) {
        let msg = Message::Open(open);
        let ctx = SessionContext::default();
        match msg.to_bytes(&ctx) {
            Ok(bytes) => prop_assert_eq!(decode_clean(&bytes, &ctx), msg),
            // Too many capabilities for one optional parameters field.
            Err(e) => prop_assert!(matches!(e, bgplet_wire::EncodeError::FieldOverflow(_))),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// Whatever a peer sends, decoding returns a value or an error.
    #[test]
    fn arbitrary_bodies_never_panic(
        ty in 1u8..=5,
        body in vec(any::<u8>(), 0..200),
        four in any::<bool>(),
        ap in any::<bool>(),
        ibgp in any::<bool>(),
    ) {
        let ctx = SessionContext {
            four_octet_as: four,
            add_path_rx: if ap { FamilySet::ALL } else { FamilySet::EMPTY },
            ibgp,
            ..SessionContext::default()
        };
        let mut frame = vec![0xff; 16];
        frame.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
        frame.push(ty);
        frame.extend_from_slice(&body);
        let _ = Message::decode(&frame, &ctx);
        let _ = bgplet_wire::message_len(&frame, 4096);
    }

    /// UPDATE-shaped input: plausible lengths, random attributes.
    #[test]
    fn arbitrary_attribute_sections_never_panic(
        attrs in vec((any::<u8>(), any::<u8>(), vec(any::<u8>(), 0..40)), 0..6),
        nlri in vec(any::<u8>(), 0..20),
        four in any::<bool>(),
    ) {
        let mut a = Vec::new();
        for (flags, code, v) in &attrs {
            a.extend_from_slice(&[flags & !0x10, *code, v.len() as u8]);
            a.extend_from_slice(v);
        }
        let mut body = vec![0, 0];
        body.extend_from_slice(&(a.len() as u16).to_be_bytes());
        body.extend_from_slice(&a);
        body.extend_from_slice(&nlri);
        let ctx = SessionContext { four_octet_as: four, ..SessionContext::default() };
        let _ = Update::decode(&body, &ctx);
    }
}
