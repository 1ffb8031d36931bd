//! Random attribute sets, routes and edits survive encode + decode.

#![allow(clippy::unwrap_used)]

use std::net::IpAddr;

use bgplet_plugin_abi::*;
use proptest::prelude::*;

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|v| IpAddr::from(v.to_be_bytes())),
        any::<u128>().prop_map(|v| IpAddr::from(v.to_be_bytes())),
    ]
}

fn origin() -> impl Strategy<Value = Origin> {
    (0u32..3).prop_map(|c| Origin::from_code(c).unwrap())
}

fn segment() -> impl Strategy<Value = Segment> {
    (1u32..5, prop::collection::vec(any::<u32>(), 1..6)).prop_map(
        |(k, asns)| Segment {
            kind: SegmentKind::from_code(k).unwrap(),
            asns,
        },
    )
}

prop_compose! {
    fn attr_set()(
        origin in prop::option::of(origin()),
        med in prop::option::of(any::<u32>()),
        local_pref in prop::option::of(any::<u32>()),
        atomic_aggregate in any::<bool>(),
        originator_id in prop::option::of(any::<u32>()),
        next_hop in prop::option::of(ip()),
        as_path in prop::collection::vec(segment(), 0..4),
        communities in prop::collection::vec(any::<u32>(), 0..4),
        large_communities in prop::collection::vec(any::<[u32; 3]>(), 0..3),
        ext_communities in prop::collection::vec(any::<u64>(), 0..3),
        cluster_list in prop::collection::vec(any::<u32>(), 0..3),
    ) -> AttrSet {
        AttrSet {
            origin, med, local_pref, atomic_aggregate, originator_id,
            next_hop, as_path, communities, large_communities,
            ext_communities, cluster_list,
        }
    }
}

fn route(sets: u32) -> impl Strategy<Value = Route> {
    (0..sets, ip(), any::<u8>(), 0u8..32, any::<u32>()).prop_map(
        |(attr, prefix, len, source, path_id)| Route {
            attr,
            len: len % if prefix.is_ipv4() { 33 } else { 129 },
            prefix,
            source: SourceFlags(source),
            path_id,
        },
    )
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<u32>().prop_map(Edit::SetLocalPref),
        any::<u32>().prop_map(Edit::SetMed),
        Just(Edit::RemoveMed),
        any::<u32>().prop_map(Edit::AddCommunity),
        any::<u32>().prop_map(Edit::RemoveCommunity),
        any::<[u32; 3]>().prop_map(Edit::AddLargeCommunity),
        (any::<u32>(), 1u8..=32)
            .prop_map(|(asn, count)| Edit::Prepend { asn, count }),
        Just(Edit::NextHopSelf),
        ip().prop_map(Edit::SetNextHop),
        origin().prop_map(Edit::SetOrigin),
        Just(Edit::RemoveAllCommunities),
        any::<[u32; 3]>().prop_map(Edit::RemoveLargeCommunity),
    ]
}

fn verdict() -> impl Strategy<Value = Verdict> {
    prop_oneof![
        Just(Verdict::Reject),
        Just(Verdict::Accept),
        prop::collection::vec(edit(), 1..5).prop_map(Verdict::AcceptWith),
    ]
}

proptest! {
    #[test]
    fn batches_round_trip(
        sets in prop::collection::vec(attr_set(), 1..5),
        seed in prop::collection::vec(route(1000), 0..8),
    ) {
        let mut w = AttrTableWriter::new();
        for s in &sets {
            w.push(s);
        }
        let attrs = w.finish();
        let table = AttrTable::parse(&attrs).unwrap();
        let back: Vec<_> = table.iter().map(|v| v.to_attr_set()).collect();
        prop_assert_eq!(&back, &sets);
        let routes: Vec<_> = seed
            .into_iter()
            .map(|mut r| { r.attr %= sets.len() as u32; r })
            .collect();
        let words = encode_routes(&routes);
        let parsed = Routes::parse(&words, sets.len()).unwrap();
        prop_assert_eq!(parsed.iter().collect::<Vec<_>>(), routes);
    }

    #[test]
    fn filter_results_round_trip(
        verdicts in prop::collection::vec(verdict(), 0..8),
    ) {
        let r = FilterResult::encode(&verdicts);
        prop_assert_eq!(validate_filter_result(verdicts.len(), &r).unwrap(),
            verdicts);
    }

    #[test]
    fn truncated_tables_never_panic(
        set in attr_set(),
        cut in any::<prop::sample::Index>(),
        flip in any::<(prop::sample::Index, u32)>(),
    ) {
        let mut w = Vec::new();
        set.encode(&mut w);
        let n = cut.index(w.len());
        prop_assert!(AttrTable::parse(&w[..n]).is_err() || n == 0);
        let i = flip.0.index(w.len());
        w[i] ^= flip.1;
        if let Ok(t) = AttrTable::parse(&w) {
            for v in t.iter() {
                let _ = v.to_attr_set();
            }
        }
    }
}
