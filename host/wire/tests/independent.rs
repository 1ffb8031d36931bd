//! Differential tests against an independent BGP implementation
//! (netgauze-bgp-pkt), style habit 4: random valid messages are encoded
//! by one side and decoded by the other, and the two must agree field
//! by field.
//!
//! netgauze was chosen as the oracle because it models per-family
//! ADD-PATH and both AS widths, can encode as well as decode, and builds
//! in about half the time of bgpkit-parser (18 crates instead of 37).
//!
//! Each property runs both ways:
//! - bgplet encodes, netgauze decodes, and what netgauze saw (converted
//!   to bgplet's types by this file) equals what was encoded;
//! - netgauze encodes, bgplet decodes, and the result is a clean UPDATE
//!   (or OPEN) equal to the one netgauze was given.
//!
//! Generated messages stay inside what both sides must accept: unicast
//! prefixes (netgauze rejects multicast ranges in unicast NLRI), no
//! confederation segments (netgauze does not model them), and no AS
//! 23456 in paths, so that AS_TRANS only ever means "see AS4_PATH".

// Tests may unwrap: a panic is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::BytesMut;
use netgauze_bgp_pkt::BgpMessage;
use netgauze_bgp_pkt::capabilities as ngcap;
use netgauze_bgp_pkt::community as ngcomm;
use netgauze_bgp_pkt::nlri as ngnlri;
use netgauze_bgp_pkt::open::{BgpOpenMessage, BgpOpenMessageParameter};
use netgauze_bgp_pkt::path_attribute as ngpa;
use netgauze_bgp_pkt::update::BgpUpdateMessage;
use netgauze_bgp_pkt::wire::deserializer::BgpParsingContext;
use netgauze_iana::address_family::AddressType;
use netgauze_parse_utils::WritablePdu;
use netgauze_parse_utils::reader::SliceReader;
use netgauze_parse_utils::traits::ParseFromWithOneInput;
use proptest::prelude::*;

use bgplet_wire::attribute::{
    AsPath, AsSegment, Community, LargeCommunity, Origin, PathAttributes,
    SegmentKind, UnknownAttribute, flags,
};
use bgplet_wire::context::{FamilySet, SessionContext};
use bgplet_wire::nlri::Nlri;
use bgplet_wire::prefix::{Ipv4Prefix, Ipv6Prefix, Prefix};
use bgplet_wire::update::{MpReach, MpUnreach, NextHop, Update};
use bgplet_wire::{
    AddPathEntry, AddPathMode, AfiSafi, Capability, GracefulRestart,
    GracefulRestartFamily, Incoming, Message, Open, UpdateOutcome,
};

const AS_TRANS: u32 = 23456;

// ---------------------------------------------------------------------
// Strategies: valid bgplet values.
// ---------------------------------------------------------------------

/// A session context whose receive and send ADD-PATH sets are equal, so
/// that what one side writes the other reads.
fn arb_ctx() -> impl Strategy<Value = SessionContext> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(four_octet_as, v4, v6, ibgp)| {
            let mut add_path = FamilySet::EMPTY;
            if v4 {
                add_path.insert(AfiSafi::IPV4_UNICAST);
            }
            if v6 {
                add_path.insert(AfiSafi::IPV6_UNICAST);
            }
            SessionContext {
                four_octet_as,
                add_path_rx: add_path,
                add_path_tx: add_path,
                extended_message: false,
                ibgp,
            }
        },
    )
}

/// A unicast IPv4 prefix: first octet 1..=223 and length 8..=32, which
/// keeps netgauze's multicast/broadcast check quiet.
fn arb_v4_prefix() -> impl Strategy<Value = Ipv4Prefix> {
    (1u8..=223, any::<[u8; 3]>(), 8u8..=32).prop_map(|(a, rest, len)| {
        let bits = u32::from_be_bytes([a, rest[0], rest[1], rest[2]]);
        let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
        Ipv4Prefix::new(Ipv4Addr::from(bits & mask), len).unwrap()
    })
}

/// A non-multicast IPv6 prefix of length 8..=128.
fn arb_v6_prefix() -> impl Strategy<Value = Ipv6Prefix> {
    (0u8..=0xfe, any::<[u8; 15]>(), 8u8..=128).prop_map(|(a, rest, len)| {
        let mut octets = [0u8; 16];
        octets[0] = a;
        octets[1..].copy_from_slice(&rest);
        let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
        let addr = Ipv6Addr::from(u128::from_be_bytes(octets) & mask);
        Ipv6Prefix::new(addr, len).unwrap()
    })
}

/// NLRI of one family; the path id is 0 unless ADD-PATH is on.
fn arb_nlri<P: Into<Prefix> + std::fmt::Debug>(
    prefix: impl Strategy<Value = P>,
    add_path: bool,
    max: usize,
) -> impl Strategy<Value = Vec<Nlri>> {
    prop::collection::vec((prefix, any::<u32>()), 0..=max).prop_map(move |v| {
        v.into_iter()
            .map(|(p, id)| Nlri::with_path_id(if add_path { id } else { 0 }, p))
            .collect()
    })
}

/// An AS number that is never AS_TRANS; `wide` allows 4-octet values.
fn arb_asn(wide: bool) -> BoxedStrategy<u32> {
    let narrow = (1u32..=65535).prop_filter("not AS_TRANS", |a| *a != AS_TRANS);
    if wide {
        prop_oneof![narrow, 65536u32..=u32::MAX].boxed()
    } else {
        narrow.boxed()
    }
}

/// AS_SEQUENCE and AS_SET segments of up to 12 ASNs (no confederation
/// segments: netgauze does not model them).
fn arb_as_path(wide: bool) -> impl Strategy<Value = AsPath> {
    let segment = (
        prop_oneof![Just(SegmentKind::Sequence), Just(SegmentKind::Set)],
        prop::collection::vec(arb_asn(wide), 1..=12),
    )
        .prop_map(|(kind, asns)| AsSegment { kind, asns });
    prop::collection::vec(segment, 0..=3)
        .prop_map(|segments| AsPath { segments })
}

/// A host address usable as NEXT_HOP (not 0, multicast or broadcast).
fn arb_next_hop_v4() -> impl Strategy<Value = Ipv4Addr> {
    (1u8..=223, any::<[u8; 3]>())
        .prop_map(|(a, r)| Ipv4Addr::new(a, r[0], r[1], r[2]))
}

fn arb_v6_addr() -> impl Strategy<Value = Ipv6Addr> {
    any::<u128>().prop_map(Ipv6Addr::from)
}

/// The parts of an UPDATE that do not depend on the session.
#[derive(Debug, Clone)]
struct Parts {
    withdrawn: Vec<Nlri>,
    nlri: Vec<Nlri>,
    mp_reach: Option<(Ipv6Addr, Option<Ipv6Addr>, Vec<Nlri>)>,
    mp_unreach: Option<Vec<Nlri>>,
    origin: Origin,
    as_path: AsPath,
    next_hop: Ipv4Addr,
    med: Option<u32>,
    local_pref: u32,
    atomic_aggregate: bool,
    aggregator: Option<(u32, Ipv4Addr)>,
    communities: Option<Vec<Community>>,
    large: Option<Vec<LargeCommunity>>,
    originator_cluster: Option<(Ipv4Addr, Vec<Ipv4Addr>)>,
    unknown: Vec<(u8, Vec<u8>)>,
}

/// A valid UPDATE for `ctx`, with every attribute bgplet and netgauze
/// both understand. Sizes keep the message well under 4096 octets.
/// Community and cluster lists are never empty: an empty one is
/// malformed (RFC 7606 7.8 and 7.10, RFC 8092 6).
fn arb_update(ctx: SessionContext) -> impl Strategy<Value = Update> {
    let ap4 = ctx.tx_path_id(AfiSafi::IPV4_UNICAST);
    let ap6 = ctx.tx_path_id(AfiSafi::IPV6_UNICAST);
    let wide = ctx.four_octet_as;
    let routes = (
        arb_nlri(arb_v4_prefix(), ap4, 20),
        arb_nlri(arb_v4_prefix(), ap4, 20),
        prop::option::of((
            arb_v6_addr(),
            prop::option::of(arb_v6_addr()),
            arb_nlri(arb_v6_prefix(), ap6, 10),
        )),
        prop::option::of(arb_nlri(arb_v6_prefix(), ap6, 10)),
    );
    let attrs = (
        prop_oneof![
            Just(Origin::Igp),
            Just(Origin::Egp),
            Just(Origin::Incomplete)
        ],
        arb_as_path(true),
        arb_next_hop_v4(),
        prop::option::of(any::<u32>()),
        any::<u32>(),
        any::<bool>(),
        prop::option::of((arb_asn(true), arb_next_hop_v4())),
    );
    let more = (
        prop::option::of(prop::collection::vec(
            any::<u32>().prop_map(Community),
            1..=10,
        )),
        prop::option::of(prop::collection::vec(
            any::<(u32, u32, u32)>().prop_map(|(g, a, b)| LargeCommunity {
                global_admin: g,
                local_data_1: a,
                local_data_2: b,
            }),
            1..=5,
        )),
        prop::option::of((
            arb_next_hop_v4(),
            prop::collection::vec(arb_next_hop_v4(), 1..=4),
        )),
        prop::collection::vec(
            (100u8..=127, prop::collection::vec(any::<u8>(), 0..=8)),
            0..=2,
        ),
    );
    (routes, attrs, more).prop_map(
        move |(
            (withdrawn, nlri, mp_reach, mp_unreach),
            (origin, as_path, next_hop, med, local_pref, atomic, aggregator),
            (communities, large, originator_cluster, unknown),
        )| {
            let p = Parts {
                withdrawn,
                nlri,
                mp_reach,
                mp_unreach,
                origin,
                as_path,
                next_hop,
                med,
                local_pref,
                atomic_aggregate: atomic,
                aggregator,
                communities,
                large,
                originator_cluster,
                unknown,
            };
            build_update(p, ctx, wide)
        },
    )
}

/// Assembles a valid UPDATE: mandatory attributes only when something
/// is announced, LOCAL_PREF and route-reflection attributes only on
/// iBGP (RFC 7606 7.5, 7.9, 7.10 discard them from eBGP peers), and on
/// 2-octet sessions an AGGREGATOR only when nothing needs AS4_PATH
/// (RFC 6793 4.2.3 ignores AS4_PATH behind a 2-octet aggregator).
fn build_update(p: Parts, ctx: SessionContext, wide: bool) -> Update {
    let mp_reach = p.mp_reach.map(|(global, link_local, nlri)| MpReach {
        family: AfiSafi::IPV6_UNICAST,
        next_hop: NextHop::V6 { global, link_local },
        nlri,
    });
    let mp_unreach = p.mp_unreach.map(|withdrawn| MpUnreach {
        family: AfiSafi::IPV6_UNICAST,
        withdrawn,
    });
    let announces = !p.nlri.is_empty()
        || mp_reach.as_ref().is_some_and(|r| !r.nlri.is_empty());
    let mut attributes = PathAttributes::default();
    if announces || mp_reach.is_some() {
        let needs_as4 = !wide && needs_as4(&p.as_path);
        attributes.origin = Some(p.origin);
        attributes.as_path = Some(p.as_path);
        if !p.nlri.is_empty() {
            attributes.next_hop = Some(p.next_hop);
        }
        attributes.med = p.med;
        if ctx.ibgp {
            attributes.local_pref = Some(p.local_pref);
            if let Some((originator, cluster)) = p.originator_cluster {
                attributes.originator_id = Some(originator);
                attributes.cluster_list = Some(cluster);
            }
        }
        attributes.atomic_aggregate = p.atomic_aggregate;
        attributes.aggregator = p
            .aggregator
            .filter(|(asn, _)| wide || (*asn <= 0xffff && !needs_as4))
            .map(|(asn, address)| bgplet_wire::attribute::Aggregator {
                asn,
                address,
            });
        attributes.communities = p.communities;
        attributes.large_communities = p.large;
        attributes.unknown = dedup_unknown(p.unknown);
    }
    Update {
        withdrawn: p.withdrawn,
        attributes,
        mp_reach,
        mp_unreach,
        nlri: p.nlri,
    }
}

/// Unknown optional transitive attributes, one per type code, in code
/// order (bgplet writes attributes in ascending type order).
fn dedup_unknown(mut v: Vec<(u8, Vec<u8>)>) -> Vec<UnknownAttribute> {
    v.sort_by_key(|(code, _)| *code);
    let mut out: Vec<UnknownAttribute> = Vec::new();
    for (code, value) in v {
        if out.iter().all(|u| u.code != code) {
            out.push(UnknownAttribute {
                flags: flags::OPTIONAL | flags::TRANSITIVE,
                code,
                value: value.into(),
            });
        }
    }
    out
}

fn needs_as4(path: &AsPath) -> bool {
    path.segments
        .iter()
        .flat_map(|s| &s.asns)
        .any(|a| *a > 0xffff)
}

/// The AS_PATH a 2-octet peer sees: AS_TRANS for each 4-octet ASN.
fn downgraded(path: &AsPath) -> AsPath {
    AsPath {
        segments: path
            .segments
            .iter()
            .map(|s| AsSegment {
                kind: s.kind,
                asns: s
                    .asns
                    .iter()
                    .map(|a| if *a > 0xffff { AS_TRANS } else { *a })
                    .collect(),
            })
            .collect(),
    }
}

fn arb_family() -> impl Strategy<Value = AfiSafi> {
    prop_oneof![Just(AfiSafi::IPV4_UNICAST), Just(AfiSafi::IPV6_UNICAST)]
}

fn arb_capability() -> impl Strategy<Value = Capability> {
    let add_path_mode = prop_oneof![
        Just(AddPathMode::Receive),
        Just(AddPathMode::Send),
        Just(AddPathMode::Both)
    ];
    prop_oneof![
        arb_family().prop_map(Capability::Multiprotocol),
        Just(Capability::RouteRefresh),
        Just(Capability::EnhancedRouteRefresh),
        Just(Capability::ExtendedMessage),
        (1u32..=u32::MAX).prop_map(Capability::FourOctetAs),
        prop::collection::vec((arb_family(), add_path_mode), 1..=2).prop_map(
            |v| Capability::AddPath(
                v.into_iter()
                    .map(|(family, mode)| AddPathEntry { family, mode })
                    .collect()
            )
        ),
        (
            any::<bool>(),
            any::<bool>(),
            0u16..4096,
            prop::collection::vec((arb_family(), any::<bool>()), 0..=2)
        )
            .prop_map(|(r, n, time, fams)| {
                Capability::GracefulRestart(GracefulRestart {
                    restart_state: r,
                    notification: n,
                    restart_time: time,
                    families: fams
                        .into_iter()
                        .map(|(family, f)| GracefulRestartFamily {
                            family,
                            forwarding_preserved: f,
                        })
                        .collect(),
                })
            }),
        (100u8..=127, prop::collection::vec(any::<u8>(), 0..=6)).prop_map(
            |(code, value)| Capability::Unknown {
                code,
                value: value.into()
            }
        ),
    ]
}

fn arb_open() -> impl Strategy<Value = Open> {
    (
        1u16..=u16::MAX,
        prop_oneof![Just(0u16), 3u16..=u16::MAX],
        // netgauze rejects multicast and broadcast identifiers.
        arb_next_hop_v4(),
        prop::collection::vec(arb_capability(), 0..=8),
    )
        .prop_map(|(my_as, hold_time, bgp_id, capabilities)| Open {
            version: 4,
            my_as,
            hold_time,
            bgp_id,
            capabilities,
        })
}

// ---------------------------------------------------------------------
// bgplet -> netgauze values.
// ---------------------------------------------------------------------

fn ng_v4(n: &Nlri, add_path: bool) -> ngnlri::Ipv4UnicastAddress {
    let Prefix::V4(p) = n.prefix else {
        panic!("not IPv4: {n:?}")
    };
    let net = ipnet::Ipv4Net::new(p.addr(), p.len()).unwrap();
    ngnlri::Ipv4UnicastAddress::new(
        add_path.then_some(n.path_id),
        ngnlri::Ipv4Unicast::from_net(net).unwrap(),
    )
}

fn ng_v6(n: &Nlri, add_path: bool) -> ngnlri::Ipv6UnicastAddress {
    let Prefix::V6(p) = n.prefix else {
        panic!("not IPv6: {n:?}")
    };
    let net = ipnet::Ipv6Net::new(p.addr(), p.len()).unwrap();
    ngnlri::Ipv6UnicastAddress::new(
        add_path.then_some(n.path_id),
        ngnlri::Ipv6Unicast::from_net(net).unwrap(),
    )
}

fn ng_segment_type(kind: SegmentKind) -> ngpa::AsPathSegmentType {
    match kind {
        SegmentKind::Set => ngpa::AsPathSegmentType::AsSet,
        SegmentKind::Sequence => ngpa::AsPathSegmentType::AsSequence,
        other => panic!("netgauze has no {other:?} segments"),
    }
}

fn ng_as4_segments(path: &AsPath) -> Vec<ngpa::As4PathSegment> {
    path.segments
        .iter()
        .map(|s| {
            ngpa::As4PathSegment::new(ng_segment_type(s.kind), s.asns.clone())
        })
        .collect()
}

/// One netgauze attribute; `ext` sets the Extended Length bit, which a
/// receiver must accept on any attribute (RFC 4271 4.3).
fn ng_attr(
    optional: bool,
    transitive: bool,
    ext: bool,
    value: ngpa::PathAttributeValue,
) -> ngpa::PathAttribute {
    ngpa::PathAttribute::from(optional, transitive, false, ext, value).unwrap()
}

/// The netgauze UPDATE carrying the same information as `u` on `ctx`.
fn to_ng(u: &Update, ctx: &SessionContext, ext: bool) -> BgpUpdateMessage {
    use ngpa::PathAttributeValue as V;
    let ap4 = ctx.tx_path_id(AfiSafi::IPV4_UNICAST);
    let ap6 = ctx.tx_path_id(AfiSafi::IPV6_UNICAST);
    let a = &u.attributes;
    let mut out = Vec::new();
    if let Some(o) = a.origin {
        let o = match o {
            Origin::Igp => ngpa::Origin::IGP,
            Origin::Egp => ngpa::Origin::EGP,
            Origin::Incomplete => ngpa::Origin::Incomplete,
        };
        out.push(ng_attr(false, true, ext, V::Origin(o)));
    }
    if let Some(path) = &a.as_path {
        let value = if ctx.four_octet_as {
            ngpa::AsPath::As4PathSegments(ng_as4_segments(path).into())
        } else {
            let segs: Vec<_> = downgraded(path)
                .segments
                .iter()
                .map(|s| {
                    let asns: Vec<u16> =
                        s.asns.iter().map(|a| *a as u16).collect();
                    ngpa::As2PathSegment::new(ng_segment_type(s.kind), asns)
                })
                .collect();
            ngpa::AsPath::As2PathSegments(segs.into())
        };
        out.push(ng_attr(false, true, ext, V::AsPath(value)));
        if !ctx.four_octet_as && needs_as4(path) {
            let as4 = ngpa::As4Path::new(ng_as4_segments(path));
            out.push(ng_attr(true, true, ext, V::As4Path(as4)));
        }
    }
    if let Some(nh) = a.next_hop {
        out.push(ng_attr(
            false,
            true,
            ext,
            V::NextHop(ngpa::NextHop::new(nh)),
        ));
    }
    if let Some(med) = a.med {
        let v =
            V::MultiExitDiscriminator(ngpa::MultiExitDiscriminator::new(med));
        out.push(ng_attr(true, false, ext, v));
    }
    if let Some(lp) = a.local_pref {
        let v = V::LocalPreference(ngpa::LocalPreference::new(lp));
        out.push(ng_attr(false, true, ext, v));
    }
    if a.atomic_aggregate {
        let v = V::AtomicAggregate(ngpa::AtomicAggregate);
        out.push(ng_attr(false, true, ext, v));
    }
    if let Some(agg) = a.aggregator {
        let v = if ctx.four_octet_as {
            ngpa::Aggregator::As4Aggregator(ngpa::As4Aggregator::new(
                agg.asn,
                agg.address,
            ))
        } else {
            ngpa::Aggregator::As2Aggregator(ngpa::As2Aggregator::new(
                agg.asn as u16,
                agg.address,
            ))
        };
        out.push(ng_attr(true, true, ext, V::Aggregator(v)));
    }
    if let Some(c) = &a.communities {
        let c: Vec<_> = c.iter().map(|c| ngcomm::Community::new(c.0)).collect();
        let v = V::Communities(ngpa::Communities::new(c));
        out.push(ng_attr(true, true, ext, v));
    }
    if let Some(id) = a.originator_id {
        let v = V::Originator(ngpa::Originator::new(id));
        out.push(ng_attr(true, false, ext, v));
    }
    if let Some(list) = &a.cluster_list {
        let list: Vec<_> =
            list.iter().map(|id| ngpa::ClusterId::new(*id)).collect();
        let v = V::ClusterList(ngpa::ClusterList::new(list));
        out.push(ng_attr(true, false, ext, v));
    }
    if let Some(r) = &u.mp_reach {
        let NextHop::V6 { global, link_local } = r.next_hop else {
            panic!("only IPv6 MP_REACH is generated");
        };
        let v = V::MpReach(ngpa::MpReach::Ipv6Unicast {
            next_hop_global: global,
            next_hop_local: link_local,
            nlri: r.nlri.iter().map(|n| ng_v6(n, ap6)).collect(),
        });
        out.push(ng_attr(true, false, ext, v));
    }
    if let Some(w) = &u.mp_unreach {
        let v = V::MpUnreach(ngpa::MpUnreach::Ipv6Unicast {
            nlri: w.withdrawn.iter().map(|n| ng_v6(n, ap6)).collect(),
        });
        out.push(ng_attr(true, false, ext, v));
    }
    if let Some(l) = &a.large_communities {
        let l: Vec<_> = l
            .iter()
            .map(|l| {
                ngcomm::LargeCommunity::new(
                    l.global_admin,
                    l.local_data_1,
                    l.local_data_2,
                )
            })
            .collect();
        let v = V::LargeCommunities(ngpa::LargeCommunities::new(l));
        out.push(ng_attr(true, true, ext, v));
    }
    for x in &a.unknown {
        let v = V::UnknownAttribute(ngpa::UnknownAttribute::new(
            x.code,
            x.value.to_vec(),
        ));
        out.push(ng_attr(
            x.flags & flags::OPTIONAL != 0,
            x.flags & flags::TRANSITIVE != 0,
            ext,
            v,
        ));
    }
    BgpUpdateMessage::new(
        u.withdrawn
            .iter()
            .map(|n| ng_v4(n, ap4))
            .collect::<Vec<_>>(),
        out,
        u.nlri.iter().map(|n| ng_v4(n, ap4)).collect::<Vec<_>>(),
    )
}

// ---------------------------------------------------------------------
// netgauze -> bgplet values.
// ---------------------------------------------------------------------

fn from_ng_v4(a: &ngnlri::Ipv4UnicastAddress) -> Nlri {
    let net = a.network().address();
    let p = Ipv4Prefix::new(net.addr(), net.prefix_len()).unwrap();
    Nlri::with_path_id(a.path_id().unwrap_or(0), p)
}

fn from_ng_v6(a: &ngnlri::Ipv6UnicastAddress) -> Nlri {
    let net = a.network().address();
    let p = Ipv6Prefix::new(net.addr(), net.prefix_len()).unwrap();
    Nlri::with_path_id(a.path_id().unwrap_or(0), p)
}

fn from_ng_kind(t: ngpa::AsPathSegmentType) -> SegmentKind {
    match t {
        ngpa::AsPathSegmentType::AsSet => SegmentKind::Set,
        ngpa::AsPathSegmentType::AsSequence => SegmentKind::Sequence,
    }
}

fn from_ng_as4(segs: &[ngpa::As4PathSegment]) -> AsPath {
    AsPath {
        segments: segs
            .iter()
            .map(|s| AsSegment {
                kind: from_ng_kind(s.segment_type()),
                asns: s.as_numbers().to_vec(),
            })
            .collect(),
    }
}

/// What netgauze decoded, in bgplet's types. `as_path` is the AS_PATH
/// attribute as sent (with AS_TRANS on 2-octet sessions); AS4_PATH is
/// returned beside it rather than merged, so the test checks the wire
/// and not a second merge implementation.
fn from_ng(m: &BgpUpdateMessage) -> (Update, Option<AsPath>) {
    use ngpa::PathAttributeValue as V;
    let mut u = Update {
        withdrawn: m.withdraw_routes().iter().map(from_ng_v4).collect(),
        nlri: m.nlri().iter().map(from_ng_v4).collect(),
        ..Update::default()
    };
    let mut as4_path = None;
    let a = &mut u.attributes;
    for attr in m.path_attributes() {
        match attr.value() {
            V::Origin(o) => {
                a.origin = Some(match o {
                    ngpa::Origin::IGP => Origin::Igp,
                    ngpa::Origin::EGP => Origin::Egp,
                    ngpa::Origin::Incomplete => Origin::Incomplete,
                })
            }
            V::AsPath(ngpa::AsPath::As4PathSegments(s)) => {
                a.as_path = Some(from_ng_as4(s));
            }
            V::AsPath(ngpa::AsPath::As2PathSegments(s)) => {
                a.as_path = Some(AsPath {
                    segments: s
                        .iter()
                        .map(|s| AsSegment {
                            kind: from_ng_kind(s.segment_type()),
                            asns: s
                                .as_numbers()
                                .iter()
                                .map(|a| u32::from(*a))
                                .collect(),
                        })
                        .collect(),
                });
            }
            V::As4Path(p) => as4_path = Some(from_ng_as4(p.segments())),
            V::NextHop(nh) => a.next_hop = Some(nh.next_hop()),
            V::MultiExitDiscriminator(m) => a.med = Some(m.metric()),
            V::LocalPreference(l) => a.local_pref = Some(l.metric()),
            V::AtomicAggregate(_) => a.atomic_aggregate = true,
            V::Aggregator(agg) => {
                let (asn, address) = match agg {
                    ngpa::Aggregator::As2Aggregator(x) => {
                        (u32::from(*x.asn()), x.origin())
                    }
                    ngpa::Aggregator::As4Aggregator(x) => {
                        (*x.asn(), x.origin())
                    }
                };
                a.aggregator =
                    Some(bgplet_wire::attribute::Aggregator { asn, address });
            }
            V::Communities(c) => {
                a.communities = Some(
                    c.communities()
                        .iter()
                        .map(|c| Community(c.value()))
                        .collect(),
                );
            }
            V::LargeCommunities(l) => {
                a.large_communities = Some(
                    l.communities()
                        .iter()
                        .map(|l| LargeCommunity {
                            global_admin: l.global_admin(),
                            local_data_1: l.local_data1(),
                            local_data_2: l.local_data2(),
                        })
                        .collect(),
                );
            }
            V::Originator(o) => a.originator_id = Some(o.id()),
            V::ClusterList(l) => {
                a.cluster_list =
                    Some(l.cluster_list().iter().map(|c| c.id()).collect());
            }
            V::MpReach(ngpa::MpReach::Ipv6Unicast {
                next_hop_global,
                next_hop_local,
                nlri,
            }) => {
                u.mp_reach = Some(MpReach {
                    family: AfiSafi::IPV6_UNICAST,
                    next_hop: NextHop::V6 {
                        global: *next_hop_global,
                        link_local: *next_hop_local,
                    },
                    nlri: nlri.iter().map(from_ng_v6).collect(),
                });
            }
            V::MpUnreach(ngpa::MpUnreach::Ipv6Unicast { nlri }) => {
                u.mp_unreach = Some(MpUnreach {
                    family: AfiSafi::IPV6_UNICAST,
                    withdrawn: nlri.iter().map(from_ng_v6).collect(),
                });
            }
            V::UnknownAttribute(x) => {
                let mut f = 0;
                if attr.optional() {
                    f |= flags::OPTIONAL;
                }
                if attr.transitive() {
                    f |= flags::TRANSITIVE;
                }
                if attr.partial() {
                    f |= flags::PARTIAL;
                }
                a.unknown.push(UnknownAttribute {
                    flags: f,
                    code: x.code(),
                    value: x.value().to_vec().into(),
                });
            }
            other => panic!("netgauze decoded an unexpected {other:?}"),
        }
    }
    (u, as4_path)
}

/// Asserts two UPDATEs agree field by field, so a failure names the
/// field rather than dumping two whole messages.
fn assert_same(got: &Update, want: &Update, who: &str) {
    let (g, w) = (&got.attributes, &want.attributes);
    assert_eq!(got.withdrawn, want.withdrawn, "{who}: withdrawn");
    assert_eq!(got.nlri, want.nlri, "{who}: NLRI");
    assert_eq!(got.mp_reach, want.mp_reach, "{who}: MP_REACH_NLRI");
    assert_eq!(got.mp_unreach, want.mp_unreach, "{who}: MP_UNREACH_NLRI");
    assert_eq!(g.origin, w.origin, "{who}: ORIGIN");
    assert_eq!(g.as_path, w.as_path, "{who}: AS_PATH");
    assert_eq!(g.next_hop, w.next_hop, "{who}: NEXT_HOP");
    assert_eq!(g.med, w.med, "{who}: MED");
    assert_eq!(g.local_pref, w.local_pref, "{who}: LOCAL_PREF");
    assert_eq!(g.atomic_aggregate, w.atomic_aggregate, "{who}: ATOMIC_AGG");
    assert_eq!(g.aggregator, w.aggregator, "{who}: AGGREGATOR");
    assert_eq!(g.communities, w.communities, "{who}: COMMUNITIES");
    assert_eq!(g.large_communities, w.large_communities, "{who}: LARGE");
    assert_eq!(g.originator_id, w.originator_id, "{who}: ORIGINATOR_ID");
    assert_eq!(g.cluster_list, w.cluster_list, "{who}: CLUSTER_LIST");
    assert_eq!(g.unknown, w.unknown, "{who}: unknown attributes");
    assert_eq!(got, want, "{who}: whole UPDATE");
}

/// netgauze's parsing context for a session: same AS width, ADD-PATH
/// on the same families, and every leniency switched off.
fn ng_ctx(ctx: &SessionContext) -> BgpParsingContext {
    let mut add_path = HashMap::new();
    add_path.insert(
        AddressType::Ipv4Unicast,
        ctx.rx_path_id(AfiSafi::IPV4_UNICAST),
    );
    add_path.insert(
        AddressType::Ipv6Unicast,
        ctx.rx_path_id(AfiSafi::IPV6_UNICAST),
    );
    BgpParsingContext::new(
        ctx.four_octet_as,
        HashMap::new(),
        add_path,
        true,
        true,
        true,
        true,
    )
}

fn ng_decode(bytes: &[u8], ctx: &SessionContext) -> BgpMessage {
    let mut ngctx = ng_ctx(ctx);
    let msg = BgpMessage::parse(&mut SliceReader::new(bytes), &mut ngctx)
        .unwrap_or_else(|e| {
            panic!("netgauze rejected {}: {e:?}", hex::encode(bytes))
        });
    let errors = ngctx.parsing_errors();
    assert!(
        errors.path_attr_errors().is_empty()
            && errors.capability_errors().is_empty()
            && errors.non_unicast_update_nlri().is_empty()
            && errors.non_unicast_withdraw_nlri().is_empty(),
        "netgauze ignored errors in {}: {errors:?}",
        hex::encode(bytes)
    );
    msg
}

fn ng_encode(msg: &BgpMessage) -> Vec<u8> {
    let mut out = Vec::new();
    msg.write(&mut out).unwrap();
    out
}

fn bgplet_encode(msg: &Message, ctx: &SessionContext) -> Vec<u8> {
    let mut out = BytesMut::new();
    msg.encode(ctx, &mut out).unwrap();
    out.to_vec()
}

// ---------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------

fn arb_ctx_and_update() -> impl Strategy<Value = (SessionContext, Update)> {
    arb_ctx().prop_flat_map(|ctx| (Just(ctx), arb_update(ctx)))
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 1024,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// bgplet encodes an UPDATE; netgauze reads the same prefixes, path
    /// ids, AS path, next hops, communities and other attributes. On a
    /// 2-octet session netgauze sees AS_TRANS in AS_PATH and the real
    /// path in AS4_PATH exactly when some ASN needs 4 octets.
    #[test]
    fn updates_encoded_by_bgplet_decode_identically_in_netgauze(
        (ctx, update) in arb_ctx_and_update()
    ) {
        let bytes = bgplet_encode(&Message::Update(update.clone()), &ctx);
        let BgpMessage::Update(ng) = ng_decode(&bytes, &ctx) else {
            panic!("netgauze did not see an UPDATE");
        };
        let (seen, as4_path) = from_ng(&ng);
        let mut want = update.clone();
        let mut want_as4 = None;
        if !ctx.four_octet_as
            && let Some(path) = &update.attributes.as_path
        {
            want.attributes.as_path = Some(downgraded(path));
            want_as4 = needs_as4(path).then(|| path.clone());
        }
        assert_same(&seen, &want, "netgauze");
        prop_assert_eq!(as4_path, want_as4, "AS4_PATH");
    }

    /// netgauze encodes an UPDATE (with or without the Extended Length
    /// bit on every attribute); bgplet decodes it as Clean and equal,
    /// merging AS4_PATH back into AS_PATH on 2-octet sessions.
    #[test]
    fn updates_encoded_by_netgauze_decode_identically_in_bgplet(
        (ctx, update) in arb_ctx_and_update(),
        ext in any::<bool>(),
    ) {
        let bytes = ng_encode(&BgpMessage::Update(to_ng(&update, &ctx, ext)));
        let got = Message::decode(&bytes, &ctx).unwrap_or_else(|e| {
            panic!("bgplet rejected {}: {e}", hex::encode(&bytes))
        });
        let Incoming::Update(outcome) = got else {
            panic!("not an UPDATE: {got:?}");
        };
        let UpdateOutcome::Clean(got) = outcome else {
            panic!(
                "not clean: {:?} from {}",
                outcome.errors(),
                hex::encode(&bytes)
            );
        };
        assert_same(&got, &update, "bgplet");
    }

    /// OPEN with capabilities, both ways: bgplet's encoding reads back
    /// in netgauze as the same capabilities in the same order, and
    /// netgauze's encoding decodes in bgplet to the same OPEN.
    #[test]
    fn opens_agree_in_both_directions(open in arb_open()) {
        let ctx = SessionContext::default();
        let bytes = bgplet_encode(&Message::Open(open.clone()), &ctx);
        let BgpMessage::Open(ng) = ng_decode(&bytes, &ctx) else {
            panic!("netgauze did not see an OPEN");
        };
        prop_assert_eq!(open_from_ng(&ng), open.clone());

        let bytes = ng_encode(&BgpMessage::Open(open_to_ng(&open)));
        let got = Message::decode(&bytes, &ctx).unwrap_or_else(|e| {
            panic!("bgplet rejected {}: {e}", hex::encode(&bytes))
        });
        prop_assert_eq!(got, Incoming::Open(open));
    }
}

// ---------------------------------------------------------------------
// OPEN conversions.
// ---------------------------------------------------------------------

fn ng_family(f: AfiSafi) -> AddressType {
    match f {
        AfiSafi::IPV4_UNICAST => AddressType::Ipv4Unicast,
        AfiSafi::IPV6_UNICAST => AddressType::Ipv6Unicast,
        other => panic!("not generated: {other}"),
    }
}

fn from_ng_family(t: AddressType) -> AfiSafi {
    match t {
        AddressType::Ipv4Unicast => AfiSafi::IPV4_UNICAST,
        AddressType::Ipv6Unicast => AfiSafi::IPV6_UNICAST,
        other => panic!("not generated: {other:?}"),
    }
}

fn cap_to_ng(c: &Capability) -> ngcap::BgpCapability {
    use ngcap::BgpCapability as C;
    match c {
        Capability::Multiprotocol(f) => C::MultiProtocolExtensions(
            ngcap::MultiProtocolExtensionsCapability::new(ng_family(*f)),
        ),
        Capability::RouteRefresh => C::RouteRefresh,
        Capability::EnhancedRouteRefresh => C::EnhancedRouteRefresh,
        Capability::ExtendedMessage => C::ExtendedMessage,
        Capability::FourOctetAs(asn) => {
            C::FourOctetAs(ngcap::FourOctetAsCapability::new(*asn))
        }
        Capability::AddPath(entries) => {
            C::AddPath(ngcap::AddPathCapability::new(
                entries
                    .iter()
                    .map(|e| {
                        ngcap::AddPathAddressFamily::new(
                            ng_family(e.family),
                            e.mode.sends(),
                            e.mode.receives(),
                        )
                    })
                    .collect::<Vec<_>>(),
            ))
        }
        Capability::GracefulRestart(gr) => {
            C::GracefulRestartCapability(ngcap::GracefulRestartCapability::new(
                gr.restart_state,
                gr.notification,
                gr.restart_time,
                gr.families
                    .iter()
                    .map(|f| {
                        ngcap::GracefulRestartAddressFamily::new(
                            f.forwarding_preserved,
                            ng_family(f.family),
                        )
                    })
                    .collect::<Vec<_>>(),
            ))
        }
        Capability::Unknown { code, value } => C::Unrecognized(
            ngcap::UnrecognizedCapability::new(*code, value.to_vec()),
        ),
    }
}

fn cap_from_ng(c: &ngcap::BgpCapability) -> Capability {
    use ngcap::BgpCapability as C;
    match c {
        C::MultiProtocolExtensions(m) => {
            Capability::Multiprotocol(from_ng_family(m.address_type()))
        }
        C::RouteRefresh => Capability::RouteRefresh,
        C::EnhancedRouteRefresh => Capability::EnhancedRouteRefresh,
        C::ExtendedMessage => Capability::ExtendedMessage,
        C::FourOctetAs(a) => Capability::FourOctetAs(a.asn4()),
        C::AddPath(a) => Capability::AddPath(
            a.address_families()
                .iter()
                .map(|f| AddPathEntry {
                    family: from_ng_family(f.address_type()),
                    mode: match (f.send(), f.receive()) {
                        (true, true) => AddPathMode::Both,
                        (true, false) => AddPathMode::Send,
                        (false, true) => AddPathMode::Receive,
                        (false, false) => panic!("empty ADD-PATH mode"),
                    },
                })
                .collect(),
        ),
        C::GracefulRestartCapability(gr) => {
            Capability::GracefulRestart(GracefulRestart {
                restart_state: gr.restart(),
                notification: gr.graceful_notification(),
                restart_time: gr.time(),
                families: gr
                    .address_families()
                    .iter()
                    .map(|f| GracefulRestartFamily {
                        family: from_ng_family(f.address_type()),
                        forwarding_preserved: f.forwarding_state(),
                    })
                    .collect(),
            })
        }
        C::Unrecognized(u) => Capability::Unknown {
            code: *u.code(),
            value: u.value().to_vec().into(),
        },
        other => panic!("netgauze decoded an unexpected {other:?}"),
    }
}

fn open_to_ng(o: &Open) -> BgpOpenMessage {
    let caps: Vec<_> = o.capabilities.iter().map(cap_to_ng).collect();
    let params = if caps.is_empty() {
        Vec::new()
    } else {
        vec![BgpOpenMessageParameter::Capabilities(caps.into())]
    };
    BgpOpenMessage::new(o.my_as, o.hold_time, o.bgp_id, params)
}

fn open_from_ng(o: &BgpOpenMessage) -> Open {
    Open {
        version: o.version(),
        my_as: o.my_as(),
        hold_time: o.hold_time(),
        bgp_id: o.bgp_id(),
        capabilities: o
            .params()
            .iter()
            .flat_map(|p| match p {
                BgpOpenMessageParameter::Capabilities(c) => c.iter(),
            })
            .map(cap_from_ng)
            .collect(),
    }
}

// ---------------------------------------------------------------------
// The packer, checked by netgauze.
// ---------------------------------------------------------------------

/// A context, shared attributes, a family and up to 1500 prefixes of it
/// (enough to need several 4096-octet UPDATEs).
fn arb_packer_input()
-> impl Strategy<Value = (SessionContext, PathAttributes, bool, Vec<Nlri>)> {
    arb_ctx_and_update().prop_flat_map(|(ctx, update)| {
        let ap4 = ctx.tx_path_id(AfiSafi::IPV4_UNICAST);
        let ap6 = ctx.tx_path_id(AfiSafi::IPV6_UNICAST);
        let mut attrs = update.attributes;
        attrs.next_hop = None;
        any::<bool>().prop_flat_map(move |v6| {
            let nlri = if v6 {
                arb_nlri(arb_v6_prefix(), ap6, 1500).boxed()
            } else {
                arb_nlri(arb_v4_prefix(), ap4, 1500).boxed()
            };
            (Just(ctx), Just(attrs.clone()), Just(v6), nlri)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// `encode_announcements` splits prefixes over UPDATEs that netgauze
    /// reads back as the same prefixes in the same order, each message
    /// with the full shared attribute set and next hop.
    #[test]
    fn packed_announcements_decode_in_netgauze_to_the_same_routes(
        (ctx, attrs, v6, nlri) in arb_packer_input(),
        link_local in prop::option::of(arb_v6_addr()),
    ) {
        let (family, next_hop) = if v6 {
            let global = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
            (AfiSafi::IPV6_UNICAST, NextHop::V6 { global, link_local })
        } else {
            (AfiSafi::IPV4_UNICAST, NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)))
        };
        let mut out = Vec::new();
        bgplet_wire::encode_announcements(
            &attrs, family, next_hop, &nlri, &ctx, &mut out,
        )
        .unwrap();
        let mut want_attrs = attrs.clone();
        let mut want_as4 = None;
        if !ctx.four_octet_as
            && let Some(path) = &attrs.as_path
        {
            want_attrs.as_path = Some(downgraded(path));
            want_as4 = needs_as4(path).then(|| path.clone());
        }
        if !v6 {
            want_attrs.next_hop = Some(Ipv4Addr::new(192, 0, 2, 1));
        }
        let mut seen = Vec::new();
        for frame in &out {
            prop_assert!(frame.len() <= ctx.max_message_len());
            let BgpMessage::Update(ng) = ng_decode(frame, &ctx) else {
                panic!("netgauze did not see an UPDATE");
            };
            let (u, as4_path) = from_ng(&ng);
            prop_assert_eq!(&u.attributes, &want_attrs);
            prop_assert_eq!(&as4_path, &want_as4);
            if v6 {
                let r = u.mp_reach.unwrap();
                prop_assert_eq!(r.next_hop, next_hop);
                prop_assert!(u.nlri.is_empty());
                seen.extend(r.nlri);
            } else {
                prop_assert!(u.mp_reach.is_none());
                seen.extend(u.nlri);
            }
        }
        prop_assert_eq!(seen, nlri);
    }

    /// `encode_withdrawals` likewise: classic withdrawn routes for IPv4,
    /// MP_UNREACH_NLRI for IPv6, no attributes otherwise.
    #[test]
    fn packed_withdrawals_decode_in_netgauze_to_the_same_prefixes(
        (ctx, _attrs, v6, nlri) in arb_packer_input(),
    ) {
        let family =
            if v6 { AfiSafi::IPV6_UNICAST } else { AfiSafi::IPV4_UNICAST };
        let mut out = Vec::new();
        bgplet_wire::encode_withdrawals(family, &nlri, &ctx, &mut out)
            .unwrap();
        let mut seen = Vec::new();
        for frame in &out {
            prop_assert!(frame.len() <= ctx.max_message_len());
            let BgpMessage::Update(ng) = ng_decode(frame, &ctx) else {
                panic!("netgauze did not see an UPDATE");
            };
            let (u, _) = from_ng(&ng);
            prop_assert!(u.attributes.is_empty(), "{:?}", u.attributes);
            prop_assert!(u.nlri.is_empty() && u.mp_reach.is_none());
            if v6 {
                prop_assert!(u.withdrawn.is_empty());
                seen.extend(u.mp_unreach.unwrap().withdrawn);
            } else {
                prop_assert!(u.mp_unreach.is_none());
                seen.extend(u.withdrawn);
            }
        }
        prop_assert_eq!(seen, nlri);
    }
}
