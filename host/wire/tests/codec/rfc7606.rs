//! One fixture per RFC 7606 outcome. Bodies are built from the RFC
//! layout so that each test shows exactly which octets are wrong.

use std::net::Ipv4Addr;

use bgplet_wire::{
    AfiSafi, DecodeError, Incoming, Message, Nlri, SessionContext, Update,
    UpdateError, UpdateOutcome,
};

use crate::{ctx4, update_msg};

fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut v = vec![flags, code, value.len() as u8];
    v.extend_from_slice(value);
    v
}

fn body(withdrawn: &[u8], attrs: &[Vec<u8>], nlri: &[u8]) -> Vec<u8> {
    let attrs: Vec<u8> = attrs.concat();
    let mut v = (withdrawn.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(withdrawn);
    v.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    v.extend_from_slice(&attrs);
    v.extend_from_slice(nlri);
    v
}

fn origin() -> Vec<u8> {
    attr(0x40, 1, &[0])
}

fn as_path() -> Vec<u8> {
    // AS_SEQUENCE of one 4-octet AS 65001.
    attr(0x40, 2, &[2, 1, 0, 0, 0xfd, 0xe9])
}

fn next_hop() -> Vec<u8> {
    attr(0x40, 3, &[192, 0, 2, 1])
}

/// 10.0.0.0/24.
const NLRI: &[u8] = &[24, 10, 0, 0];

fn decode(
    b: &[u8],
    ctx: &SessionContext,
) -> Result<UpdateOutcome, UpdateError> {
    match Message::decode(&update_msg(b), ctx) {
        Ok(Incoming::Update(o)) => Ok(o),
        Err(DecodeError::Update(e)) => Err(e),
        other => panic!("unexpected {other:?}"),
    }
}

fn withdrawn_of(o: &UpdateOutcome) -> Vec<String> {
    let UpdateOutcome::TreatAsWithdraw { update, .. } = o else {
        panic!("expected treat-as-withdraw, got {o:?}");
    };
    assert!(!update.has_announcements());
    update
        .withdrawals()
        .flat_map(|(_, n)| n.iter().map(|n| n.prefix.to_string()))
        .collect()
}

fn first_error(o: &UpdateOutcome) -> (&'static str, String) {
    let e = &o.errors()[0];
    (e.attr, e.reason.clone())
}

fn reset(b: &[u8], ctx: &SessionContext) -> UpdateError {
    decode(b, ctx).expect_err("expected a session reset")
}

#[test]
fn a_clean_update_is_clean() {
    let o = decode(
        &body(&[], &[origin(), as_path(), next_hop()], NLRI),
        &ctx4(),
    );
    assert!(matches!(o, Ok(UpdateOutcome::Clean(_))), "{o:?}");
}

#[test]
fn undefined_origin_value_is_treat_as_withdraw() {
    let b = body(&[], &[attr(0x40, 1, &[3]), as_path(), next_hop()], NLRI);
    let o = decode(&b, &ctx4()).unwrap();
    assert_eq!(withdrawn_of(&o), ["10.0.0.0/24"]);
    assert_eq!(first_error(&o), ("ORIGIN", "undefined value 3".to_owned()));
}

#[test]
fn as_path_segment_overrun_is_treat_as_withdraw_naming_the_field() {
    // Segment claims 5 4-octet ASNs but only 12 octets follow.
    let mut v = vec![2, 5];
    v.extend_from_slice(&[0; 12]);
    let b = body(&[], &[origin(), attr(0x40, 2, &v), next_hop()], NLRI);
    let o = decode(&b, &ctx4()).unwrap();
    assert_eq!(withdrawn_of(&o), ["10.0.0.0/24"]);
    assert_eq!(
        first_error(&o),
        (
            "AS_PATH",
            "segment of 5 ASNs overruns 12 remaining octets".to_owned()
        )
    );
    assert_eq!(
        o.errors()[0].to_string(),
        "AS_PATH: segment of 5 ASNs overruns 12 remaining octets"
    );
}

#[test]
fn zero_length_and_bad_type_as_path_segments_are_treat_as_withdraw() {
    for v in [vec![2u8, 0], vec![5, 1, 0, 0, 0, 1]] {
        let b = body(&[], &[origin(), attr(0x40, 2, &v), next_hop()], NLRI);
        let o = decode(&b, &ctx4()).unwrap();
        assert_eq!(withdrawn_of(&o), ["10.0.0.0/24"]);
        assert_eq!(first_error(&o).0, "AS_PATH");
    }
}

#[test]
fn wrong_length_of_a_well_known_attribute_is_treat_as_withdraw() {
    let b = body(&[], &[origin(), as_path(), attr(0x40, 3, &[1, 2, 3])], NLRI);
    let o = decode(&b, &ctx4()).unwrap();
    assert_eq!(withdrawn_of(&o), ["10.0.0.0/24"]);
    assert_eq!(first_error(&o).0, "NEXT_HOP");
    let ibgp = SessionContext {
        ibgp: true,
        ..ctx4()
    };
    let b = body(
        &[],
        &[origin(), as_path(), next_hop(), attr(0x40, 5, &[0, 100])],
        NLRI,
    );
    let o = decode(&b, &ibgp).unwrap();
    assert_eq!(first_error(&o).0, "LOCAL_PREF");
    assert_eq!(withdrawn_of(&o), ["10.0.0.0/24"]);
}

#[test]
fn wrong_flags_on_a_well_known_attribute_are_treat_as_withdraw() {
    // ORIGIN marked optional (RFC 7606 3(c)).
    let b = body(&[], &[attr(0xc0, 1, &[0]), as_path(), next_hop()], NLRI);
    let o = decode(&b, &ctx4()).unwrap();
    assert_eq!(withdrawn_of(&o), ["10.0.0.0/24"]);
    assert_eq!(first_error(&o).0, "ORIGIN");
}

#[test]
fn bad_atomic_aggregate_and_aggregator_lengths_are_attribute_discard() {
    let b = body(
        &[],
        &[
            origin(),
            as_path(),
            next_hop(),
            attr(0x40, 6, &[1]),
            attr(0xc0, 7, &[0, 0, 0, 1, 10, 0, 0]),
        ],
        NLRI,
    );
    let o = decode(&b, &ctx4()).unwrap();
    let UpdateOutcome::AttributeDiscard { update, errors } = &o else {
        panic!("expected attribute discard, got {o:?}");
    };
    assert_eq!(update.nlri.len(), 1);
    assert!(!update.attributes.atomic_aggregate);
    assert_eq!(update.attributes.aggregator, None);
    let attrs: Vec<_> = errors.iter().map(|e| e.attr).collect();
    assert_eq!(attrs, ["ATOMIC_AGGREGATE", "AGGREGATOR"]);
}

#[test]
fn missing_mandatory_attributes_are_treat_as_withdraw() {
    let cases: [(Vec<Vec<u8>>, &str); 3] = [
        (vec![as_path(), next_hop()], "ORIGIN"),
        (vec![origin(), next_hop()], "AS_PATH"),
        (vec![origin(), as_path()], "NEXT_HOP"),
    ];
    for (attrs, missing) in cases {
        let o = decode(&body(&[], &attrs, NLRI), &ctx4()).unwrap();
        assert_eq!(withdrawn_of(&o), ["10.0.0.0/24"]);
        assert_eq!(
            first_error(&o),
            (missing, "missing mandatory attribute".to_owned())
        );
    }
}

#[test]
fn missing_local_pref_on_ibgp_is_treat_as_withdraw() {
    let ibgp = SessionContext {
        ibgp: true,
        ..ctx4()
    };
    let b = body(&[], &[origin(), as_path(), next_hop()], NLRI);
    let o = decode(&b, &ibgp).unwrap();
    assert_eq!(first_error(&o).0, "LOCAL_PREF");
    assert_eq!(withdrawn_of(&o), ["10.0.0.0/24"]);
}

#[test]
fn local_pref_from_an_external_peer_is_discarded() {
    let b = body(
        &[],
        &[
            origin(),
            as_path(),
            next_hop(),
            attr(0x40, 5, &[0, 0, 0, 100]),
        ],
        NLRI,
    );
    let o = decode(&b, &ctx4()).unwrap();
    assert!(matches!(o, UpdateOutcome::AttributeDiscard { .. }), "{o:?}");
    assert_eq!(o.update().attributes.local_pref, None);
}

#[test]
fn a_withdraw_only_update_needs_no_mandatory_attributes() {
    let o = decode(&body(NLRI, &[], &[]), &ctx4()).unwrap();
    assert!(matches!(o, UpdateOutcome::Clean(_)));
}

#[test]
fn duplicate_attributes_keep_the_first_and_discard_the_rest() {
    let b = body(
        &[],
        &[
            origin(),
            as_path(),
            next_hop(),
            attr(0x80, 4, &[0, 0, 0, 1]),
            attr(0x80, 4, &[0, 0, 0, 2]),
        ],
        NLRI,
    );
    let o = decode(&b, &ctx4()).unwrap();
    assert!(matches!(o, UpdateOutcome::AttributeDiscard { .. }), "{o:?}");
    assert_eq!(o.update().attributes.med, Some(1));
    assert_eq!(first_error(&o).0, "MULTI_EXIT_DISC");
}

fn mp_unreach_v6() -> Vec<u8> {
    attr(0x80, 15, &[0, 2, 1, 32, 0x20, 0x01, 0x0d, 0xb8])
}

#[test]
fn duplicate_mp_unreach_is_a_session_reset_with_malformed_attribute_list() {
    let e = reset(
        &body(&[], &[mp_unreach_v6(), mp_unreach_v6()], &[]),
        &ctx4(),
    );
    assert_eq!((e.notification.code, e.notification.subcode), (3, 1));
    assert_eq!(e.error.attr, "MP_UNREACH_NLRI");
}

#[test]
fn mp_reach_with_a_bad_next_hop_length_is_a_session_reset_3_9() {
    // IPv6 with a 5-octet next hop.
    let mp = attr(
        0x80,
        14,
        &[0, 2, 1, 5, 1, 2, 3, 4, 5, 0, 32, 0x20, 1, 13, 0xb8],
    );
    let e = reset(&body(&[], &[origin(), as_path(), mp.clone()], &[]), &ctx4());
    assert_eq!((e.notification.code, e.notification.subcode), (3, 9));
    assert_eq!(&e.notification.data[..], &mp[..]);
    assert_eq!(e.error.attr, "MP_REACH_NLRI");
}

#[test]
fn mp_reach_with_overrunning_nlri_is_a_session_reset_3_9() {
    // 16-octet next hop then a /48 with only two prefix octets.
    let mut v = vec![0, 2, 1, 16];
    v.extend_from_slice(&[
        0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    ]);
    v.extend_from_slice(&[0, 48, 0x20, 0x01]);
    let e = reset(
        &body(&[], &[origin(), as_path(), attr(0x80, 14, &v)], &[]),
        &ctx4(),
    );
    assert_eq!((e.notification.code, e.notification.subcode), (3, 9));
}

#[test]
fn mp_reach_for_a_family_we_do_not_carry_is_discarded() {
    // AFI 1 SAFI 128 (VPNv4).
    let mp = attr(0x80, 14, &[0, 1, 128, 4, 10, 0, 0, 1, 0]);
    let o =
        decode(&body(&[], &[origin(), as_path(), mp], &[]), &ctx4()).unwrap();
    assert!(matches!(o, UpdateOutcome::AttributeDiscard { .. }), "{o:?}");
}

#[test]
fn nlri_with_prefix_length_over_32_is_invalid_network_field() {
    let b = body(
        &[],
        &[origin(), as_path(), next_hop()],
        &[33, 10, 0, 0, 0, 0],
    );
    let e = reset(&b, &ctx4());
    assert_eq!((e.notification.code, e.notification.subcode), (3, 10));
    assert_eq!(e.error.attr, "NLRI");
}

#[test]
fn overrunning_nlri_is_invalid_network_field() {
    let b = body(&[], &[origin(), as_path(), next_hop()], &[24, 10, 0]);
    let e = reset(&b, &ctx4());
    assert_eq!((e.notification.code, e.notification.subcode), (3, 10));
}

#[test]
fn an_attribute_overrunning_the_attribute_section_is_malformed_attribute_list()
{
    let mut b = body(&[], &[origin(), as_path(), next_hop()], NLRI);
    // NEXT_HOP length octet: claim 9 octets instead of 4.
    let at = 4 + 4 + 9 + 2;
    assert_eq!(b[at], 4);
    b[at] = 9;
    let e = reset(&b, &ctx4());
    assert_eq!((e.notification.code, e.notification.subcode), (3, 1));
}

#[test]
fn withdrawn_length_overrunning_the_message_is_malformed_attribute_list() {
    let e = reset(&[0, 50, 0, 0], &ctx4());
    assert_eq!((e.notification.code, e.notification.subcode), (3, 1));
}

#[test]
fn unspecified_or_multicast_next_hop_is_treat_as_withdraw() {
    for nh in [[0, 0, 0, 0], [224, 0, 0, 1], [255, 255, 255, 255]] {
        let b = body(&[], &[origin(), as_path(), attr(0x40, 3, &nh)], NLRI);
        let o = decode(&b, &ctx4()).unwrap();
        assert_eq!(withdrawn_of(&o), ["10.0.0.0/24"]);
        assert_eq!(first_error(&o).0, "NEXT_HOP");
    }
}

#[test]
fn an_unrecognized_well_known_attribute_is_a_session_reset_3_2() {
    let unknown = attr(0x40, 99, &[1]);
    let e = reset(
        &body(
            &[],
            &[origin(), as_path(), next_hop(), unknown.clone()],
            NLRI,
        ),
        &ctx4(),
    );
    assert_eq!((e.notification.code, e.notification.subcode), (3, 2));
    assert_eq!(&e.notification.data[..], &unknown[..]);
}

#[test]
fn treat_as_withdraw_withdraws_classic_and_mp_announcements() {
    // Bad ORIGIN; classic 10.0.0.0/24 plus MP_REACH 2001:db8::/32; an
    // existing classic withdrawal 10.9.0.0/16 is kept.
    let mut mp = vec![0, 2, 1, 16];
    mp.extend_from_slice(&[
        0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    ]);
    mp.extend_from_slice(&[0, 32, 0x20, 0x01, 0x0d, 0xb8]);
    let b = body(
        &[16, 10, 9],
        &[
            attr(0x40, 1, &[9]),
            as_path(),
            next_hop(),
            attr(0x80, 14, &mp),
        ],
        NLRI,
    );
    let o = decode(&b, &ctx4()).unwrap();
    assert_eq!(
        withdrawn_of(&o),
        ["10.9.0.0/16", "10.0.0.0/24", "2001:db8::/32"]
    );
    let UpdateOutcome::TreatAsWithdraw { update, .. } = o else {
        unreachable!()
    };
    assert!(update.attributes.is_empty());
    assert_eq!(
        update.mp_unreach.map(|u| u.family),
        Some(AfiSafi::IPV6_UNICAST)
    );
}

#[test]
fn as4_path_on_a_four_octet_session_is_ignored() {
    let as4 = attr(0xc0, 17, &[2, 1, 0, 0, 0, 1]);
    let o = decode(
        &body(&[], &[origin(), as_path(), next_hop(), as4], NLRI),
        &ctx4(),
    )
    .unwrap();
    assert!(matches!(o, UpdateOutcome::Clean(_)));
}

#[test]
fn malformed_as4_path_on_a_two_octet_session_is_discarded() {
    let path = attr(0x40, 2, &[2, 1, 0xfd, 0xe9]);
    let as4 = attr(0xc0, 17, &[2, 3, 0, 0, 0, 1]);
    let b = body(&[], &[origin(), path, next_hop(), as4], NLRI);
    let o = decode(&b, &SessionContext::default()).unwrap();
    assert!(matches!(o, UpdateOutcome::AttributeDiscard { .. }), "{o:?}");
    assert_eq!(first_error(&o).0, "AS4_PATH");
    assert_eq!(
        o.update().nlri,
        vec![Nlri::new(
            "10.0.0.0/24".parse::<bgplet_wire::Prefix>().unwrap()
        )]
    );
}

#[test]
fn received_form_keeps_broken_attributes_for_inspection() {
    let b = body(&[], &[attr(0x40, 1, &[3]), as_path(), next_hop()], NLRI);
    let r = bgplet_wire::ReceivedUpdate::parse(&b, &ctx4()).unwrap();
    assert_eq!(r.attributes.len(), 3);
    assert_eq!(r.attributes[0].value, &[3]);
    let _ = Update::decode(&b, &ctx4()).unwrap();
    let _ = Ipv4Addr::LOCALHOST;
}

#[test]
fn as_zero_in_as_path_is_treat_as_withdraw_per_rfc_7607() {
    let zero = attr(0x40, 2, &[2, 2, 0, 0, 0xfd, 0xe9, 0, 0, 0, 0]);
    let b = body(&[], &[origin(), zero, next_hop()], NLRI);
    let o = decode(&b, &ctx4()).unwrap();
    assert_eq!(withdrawn_of(&o), ["10.0.0.0/24"]);
    assert_eq!(
        first_error(&o),
        ("AS_PATH", "contains AS 0 (RFC 7607)".to_owned())
    );
}

#[test]
fn aggregator_with_as_zero_is_discarded_per_rfc_7607() {
    let agg = attr(0xc0, 7, &[0, 0, 0, 0, 192, 0, 2, 9]);
    let b = body(&[], &[origin(), as_path(), next_hop(), agg], NLRI);
    let o = decode(&b, &ctx4()).unwrap();
    let UpdateOutcome::AttributeDiscard { update, errors } = &o else {
        panic!("expected attribute discard, got {o:?}");
    };
    assert_eq!(errors[0].attr, "AGGREGATOR");
    assert!(update.attributes.aggregator.is_none());
    assert!(update.has_announcements());
}

#[test]
fn unknown_attributes_in_any_order_decode_to_equal_attribute_sets() {
    let a = attr(0xc0, 99, &[1]);
    let b = attr(0xc0, 120, &[2]);
    let first = body(
        &[],
        &[origin(), as_path(), next_hop(), a.clone(), b.clone()],
        NLRI,
    );
    let second = body(&[], &[origin(), as_path(), next_hop(), b, a], NLRI);
    let one = decode(&first, &ctx4()).unwrap().into_update();
    let two = decode(&second, &ctx4()).unwrap().into_update();
    assert_eq!(one.attributes, two.attributes);
    let codes: Vec<u8> =
        one.attributes.unknown.iter().map(|u| u.code).collect();
    assert_eq!(codes, [99, 120]);
}
