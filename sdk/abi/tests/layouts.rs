//! Round trips for every layout and a reject for every malformed case.

#![allow(clippy::unwrap_used)]

use std::net::IpAddr;

use bgplet_plugin_abi::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn full_set() -> AttrSet {
    AttrSet {
        origin: Some(Origin::Egp),
        med: Some(5),
        local_pref: Some(2_147_482_623),
        atomic_aggregate: true,
        originator_id: Some(0x0a00_000b),
        next_hop: Some(ip("2001:db8::1")),
        as_path: vec![
            Segment {
                kind: SegmentKind::Sequence,
                asns: vec![65000, 64512],
            },
            Segment {
                kind: SegmentKind::Set,
                asns: vec![1, 2, 3],
            },
        ],
        communities: vec![0xffff_0000, 0xfde8_0001],
        large_communities: vec![[64512, 1, 2]],
        ext_communities: vec![0x0002_fde8_0000_0064],
        cluster_list: vec![0xe000_0001],
    }
}

#[test]
fn attribute_sets_round_trip_through_the_table() {
    let sets = [
        AttrSet::default(),
        full_set(),
        AttrSet {
            next_hop: Some(ip("10.0.0.11")),
            origin: Some(Origin::Igp),
            ..AttrSet::default()
        },
    ];
    let mut w = AttrTableWriter::new();
    for (i, s) in sets.iter().enumerate() {
        assert_eq!(w.push(s), i as u32);
    }
    let words = w.finish();
    let t = AttrTable::parse(&words).unwrap();
    assert_eq!(t.len(), 3);
    for (i, s) in sets.iter().enumerate() {
        assert_eq!(&t.get(i as u32).unwrap().to_attr_set(), s);
    }
    assert!(t.get(3).is_none());
}

#[test]
fn the_default_set_is_fifteen_words_with_origin_absent() {
    let mut out = Vec::new();
    AttrSet::default().encode(&mut out);
    assert_eq!(out, vec![15, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn views_report_path_length_and_neighbor_as() {
    let mut out = Vec::new();
    full_set().encode(&mut out);
    let t = AttrTable::parse(&out).unwrap();
    let v = t.get(0).unwrap();
    assert_eq!(v.as_path_len(), 3);
    assert_eq!(v.first_as(), Some(65000));
    assert_eq!(full_set().as_path_len(), 3);
}

fn set_words() -> Vec<u32> {
    let mut out = Vec::new();
    full_set().encode(&mut out);
    out
}

fn rejects(words: &[u32]) -> AbiError {
    AttrTable::parse(words).unwrap_err()
}

#[test]
fn malformed_attribute_tables_are_rejected() {
    let good = set_words();
    // Declared length too short for the header.
    let mut w = good.clone();
    w[0] = 3;
    assert!(matches!(rejects(&w), AbiError::SetLength { .. }));
    // Declared length past the end.
    let mut w = good.clone();
    w[0] += 1;
    assert!(matches!(rejects(&w), AbiError::Truncated { .. }));
    // Declared length longer than the contents.
    let mut w = good.clone();
    w[0] += 1;
    w.push(0);
    assert!(matches!(rejects(&w), AbiError::SetLength { .. }));
    // Reserved flag bit.
    let mut w = good.clone();
    w[1] |= 1 << 6;
    assert!(matches!(rejects(&w), AbiError::Flags { .. }));
    // IPv6 next hop without next hop present.
    let mut w = good.clone();
    w[1] &= !(1 << 5);
    assert!(matches!(rejects(&w), AbiError::Flags { .. }));
    // ORIGIN 4.
    let mut w = good.clone();
    w[2] = 4;
    assert!(matches!(rejects(&w), AbiError::Origin { value: 4, .. }));
    // MED word set while MED is absent.
    let mut w = good.clone();
    w[1] &= !1;
    assert!(matches!(rejects(&w), AbiError::Padding { .. }));
    // Segment kind 5.
    let mut w = good.clone();
    w[11] = 5;
    assert!(matches!(rejects(&w), AbiError::Segment { kind: 5, .. }));
    // Empty segment.
    let mut w = good.clone();
    w[12] = 0;
    assert!(matches!(rejects(&w), AbiError::Segment { count: 0, .. }));
    // Segment ASN count overrunning the set.
    let mut w = good.clone();
    w[12] = 200;
    assert!(matches!(rejects(&w), AbiError::Truncated { .. }));
    // Community count overrunning.
    let mut w = good.clone();
    let c = 10 + 1 + 2 + 2 + 2 + 3;
    w[c] = u32::MAX;
    assert!(matches!(rejects(&w), AbiError::Truncated { .. }));
    // A lone trailing word.
    let mut w = good.clone();
    w.push(0);
    assert!(matches!(rejects(&w), AbiError::SetLength { .. }));
}

#[test]
fn ipv4_next_hop_padding_must_be_zero() {
    let mut w = Vec::new();
    AttrSet {
        next_hop: Some(ip("10.0.0.1")),
        ..AttrSet::default()
    }
    .encode(&mut w);
    w[8] = 1;
    assert!(matches!(rejects(&w), AbiError::Padding { .. }));
}

fn routes() -> Vec<Route> {
    vec![
        Route {
            attr: 0,
            prefix: ip("10.244.0.0"),
            len: 26,
            source: SourceFlags::LOCAL | SourceFlags::OWN_BLOCK,
            path_id: 0,
        },
        Route {
            attr: 1,
            prefix: ip("fd00:10:244::"),
            len: 122,
            source: SourceFlags::IBGP | SourceFlags::RR_CLIENT,
            path_id: 7,
        },
    ]
}

#[test]
fn routes_round_trip() {
    let words = encode_routes(&routes());
    assert_eq!(words[1], 26 | (4 << 8) | (0x18 << 16));
    let parsed = Routes::parse(&words, 2).unwrap();
    assert_eq!(parsed.iter().collect::<Vec<_>>(), routes());
    assert_eq!(parsed.get(1), Some(routes()[1]));
    assert_eq!(parsed.len(), 2);
}

#[test]
fn malformed_routes_are_rejected() {
    let good = encode_routes(&routes());
    assert!(matches!(
        Routes::parse(&good[..13], 2),
        Err(AbiError::RouteStride { len: 13 })
    ));
    assert!(matches!(
        Routes::parse(&good, 1),
        Err(AbiError::AttrIndex { route: 1, .. })
    ));
    let mut w = good.clone();
    w[1] = 33 | (4 << 8);
    assert!(matches!(
        Routes::parse(&w, 2),
        Err(AbiError::RouteHeader { .. })
    ));
    let mut w = good.clone();
    w[1] = 24 | (5 << 8);
    assert!(matches!(
        Routes::parse(&w, 2),
        Err(AbiError::RouteHeader { .. })
    ));
    let mut w = good.clone();
    w[1] |= 1 << 21;
    assert!(matches!(
        Routes::parse(&w, 2),
        Err(AbiError::RouteHeader { .. })
    ));
    let mut w = good.clone();
    w[3] = 1;
    assert!(matches!(
        Routes::parse(&w, 2),
        Err(AbiError::Padding { .. })
    ));
}

fn every_edit() -> Vec<Edit> {
    vec![
        Edit::SetLocalPref(0),
        Edit::SetMed(7),
        Edit::RemoveMed,
        Edit::AddCommunity(0xffff_0000),
        Edit::RemoveCommunity(1),
        Edit::AddLargeCommunity([1, 2, 3]),
        Edit::Prepend {
            asn: 64512,
            count: 3,
        },
        Edit::NextHopSelf,
        Edit::SetNextHop(ip("10.0.0.1")),
        Edit::SetNextHop(ip("2001:db8::2")),
        Edit::SetOrigin(Origin::Incomplete),
        Edit::RemoveAllCommunities,
        Edit::RemoveLargeCommunity([1, 2, 3]),
    ]
}

#[test]
fn filter_results_round_trip_with_every_opcode() {
    let verdicts = vec![
        Verdict::Reject,
        Verdict::AcceptWith(every_edit()),
        Verdict::Accept,
    ];
    let r = FilterResult::encode(&verdicts);
    assert_eq!(r.verdicts, vec![0, 2, 1]);
    assert_eq!(validate_filter_result(3, &r).unwrap(), verdicts);
    let ops: Vec<_> = EditProgram::parse(&r.edits, &r.verdicts)
        .unwrap()
        .iter()
        .collect();
    assert_eq!(ops.len(), every_edit().len());
    assert!(ops.iter().all(|o| o.route == 1));
    assert_eq!(
        encode_edits(&ops),
        r.edits,
        "encode_edits writes what FilterResult::encode wrote"
    );
}

fn edit_err(edits: Vec<u32>, verdicts: Vec<u8>) -> AbiError {
    let n = verdicts.len();
    validate_filter_result(n, &FilterResult { verdicts, edits }).unwrap_err()
}

#[test]
fn malformed_filter_results_are_rejected() {
    assert!(matches!(
        validate_filter_result(2, &FilterResult::accept_all(3)),
        Err(AbiError::VerdictCount {
            expected: 2,
            got: 3
        })
    ));
    assert!(matches!(
        edit_err(vec![], vec![3]),
        AbiError::Verdict { value: 3, .. }
    ));
    assert!(matches!(
        edit_err(vec![0, 13, 1], vec![2]),
        AbiError::Opcode { opcode: 13, .. }
    ));
    assert!(matches!(
        edit_err(vec![0, 0], vec![2]),
        AbiError::Opcode { opcode: 0, .. }
    ));
    assert!(matches!(
        edit_err(vec![1, 3], vec![2]),
        AbiError::EditRoute { route: 1, .. }
    ));
    assert!(matches!(
        edit_err(vec![0, 3], vec![1]),
        AbiError::EditWithoutVerdict { route: 0, .. }
    ));
    assert!(matches!(
        edit_err(vec![0, 1], vec![2]),
        AbiError::Truncated { .. }
    ));
    assert!(matches!(
        edit_err(vec![0], vec![2]),
        AbiError::Truncated { .. }
    ));
    for count in [0, 33] {
        assert!(matches!(
            edit_err(vec![0, 7, 64512, count], vec![2]),
            AbiError::Operand { opcode: 7, .. }
        ));
    }
    assert!(matches!(
        edit_err(vec![0, 9, 5, 1, 0, 0, 0], vec![2]),
        AbiError::Operand { opcode: 9, .. }
    ));
    assert!(matches!(
        edit_err(vec![0, 9, 4, 1, 1, 0, 0], vec![2]),
        AbiError::Operand { opcode: 9, .. }
    ));
    assert!(matches!(
        edit_err(vec![0, 10, 3], vec![2]),
        AbiError::Operand { opcode: 10, .. }
    ));
}

#[test]
fn edits_apply_like_the_table_says() {
    let mut a = AttrSet {
        med: Some(1),
        communities: vec![5],
        ..AttrSet::default()
    };
    for e in [
        Edit::AddCommunity(5),
        Edit::AddCommunity(6),
        Edit::RemoveMed,
        Edit::Prepend { asn: 1, count: 2 },
        Edit::NextHopSelf,
        Edit::AddLargeCommunity([1, 2, 3]),
        Edit::AddLargeCommunity([1, 2, 3]),
    ] {
        e.apply(&mut a, Some(ip("10.0.0.11")));
    }
    assert_eq!(a.communities, vec![5, 6]);
    assert_eq!(a.med, None);
    assert_eq!(a.as_path[0].asns, vec![1, 1]);
    assert_eq!(a.next_hop, Some(ip("10.0.0.11")));
    assert_eq!(a.large_communities.len(), 1);
    Edit::RemoveAllCommunities.apply(&mut a, None);
    assert!(a.communities.is_empty());
}

fn key(n: u32) -> SelectionKey {
    SelectionKey {
        preference: 100,
        local_pref: n,
        as_path_len: 2,
        origin: 1,
        med: 3,
        neighbor_as: 65000,
        flags: SelectionKey::EBGP | SelectionKey::STALE,
        igp_cost: 9,
        router_id: 0x0a00_0001,
        cluster_list_len: 1,
        peer_address: SelectionKey::peer(ip("2001:db8::1")),
    }
}

#[test]
fn candidates_round_trip_per_prefix() {
    let prefixes = vec![vec![key(1), key(2)], vec![], vec![key(3)]];
    let (words, counts) = encode_candidates(&prefixes);
    assert_eq!(words.len(), 3 * KEY_STRIDE);
    let c = Candidates::parse(&words, &counts).unwrap();
    let back: Vec<Vec<_>> = c.prefixes().map(Iterator::collect).collect();
    assert_eq!(back, prefixes);
}

#[test]
fn candidate_lists_that_disagree_with_counts_are_rejected() {
    let (words, _) = encode_candidates(&[vec![key(1)]]);
    assert!(matches!(
        Candidates::parse(&words, &[2]),
        Err(AbiError::CandidateCount { .. })
    ));
    assert!(matches!(
        Candidates::parse(&words[1..], &[1]),
        Err(AbiError::CandidateCount { .. })
    ));
}

#[test]
fn selections_round_trip_and_bad_answers_are_rejected() {
    let answers = [
        Selection::single(1),
        Selection {
            best: 0,
            multipath: 0b101,
        },
    ];
    let words = encode_selections(&answers);
    assert_eq!(validate_selection(&[2, 3], &words).unwrap(), answers);
    let bad =
        |counts: &[u32], w: &[u32]| validate_selection(counts, w).unwrap_err();
    assert!(matches!(bad(&[2], &[0]), AbiError::AnswerLength { .. }));
    assert!(matches!(bad(&[2], &[2, 4]), AbiError::Selection { .. }));
    assert!(matches!(bad(&[2], &[1, 1]), AbiError::Selection { .. }));
    assert!(matches!(bad(&[2], &[0, 0b101]), AbiError::Selection { .. }));
    // Candidates past 32 are never multipath, so their mask may lack them.
    assert!(validate_selection(&[40], &[35, 1]).is_ok());
}

#[test]
fn kernel_answers_round_trip_and_bad_actions_are_rejected() {
    let actions = [
        KernelAction::INSTALL,
        KernelAction {
            action: RouteAction::Blackhole,
            metric: 1024,
        },
        KernelAction {
            action: RouteAction::Onlink,
            metric: 0,
        },
        KernelAction {
            action: RouteAction::Skip,
            metric: 0,
        },
    ];
    let w = encode_kernel(&actions);
    assert_eq!(validate_kernel(4, &w).unwrap(), actions);
    assert!(matches!(
        validate_kernel(3, &w),
        Err(AbiError::AnswerLength { .. })
    ));
    assert!(matches!(
        validate_kernel(1, &[4, 0]),
        Err(AbiError::KernelAction { action: 4, .. })
    ));
}

#[test]
fn errors_say_what_is_malformed() {
    let e = AbiError::Opcode { at: 4, opcode: 99 };
    assert_eq!(e.to_string(), "edit at word 4 has unknown opcode 99");
    let p = PolicyError::Malformed(e);
    assert!(p.to_string().starts_with("malformed plugin answer"));
}
