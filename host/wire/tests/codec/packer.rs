use std::net::Ipv4Addr;

use bgplet_wire::{
    AfiSafi, AsPath, FamilySet, Ipv4Prefix, Ipv6Prefix, Message, NextHop, Nlri,
    Origin, PathAttributes, SessionContext, encode_announcements,
    encode_withdrawals, message_len,
};

use crate::{ctx4, decode_clean};

fn attrs() -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::sequence([65001, 65002])),
        med: Some(5),
        ..PathAttributes::default()
    }
}

fn v4_prefixes(n: u32) -> Vec<Nlri> {
    (0..n)
        .map(|i| {
            let addr = Ipv4Addr::from(0x0a00_0000 + (i << 8));
            Nlri::new(Ipv4Prefix::new(addr, 24).unwrap())
        })
        .collect()
}

fn v6_prefixes(n: u32) -> Vec<Nlri> {
    (0..n)
        .map(|i| {
            let addr = std::net::Ipv6Addr::from(
                0x2001_0db8_u128 << 96 | u128::from(i) << 64,
            );
            Nlri::new(Ipv6Prefix::new(addr, 64).unwrap())
        })
        .collect()
}

/// Decodes the packed messages, checking each is well framed and within
/// `max`, and returns all prefixes announced or withdrawn, in order.
fn unpack(msgs: &[bytes::Bytes], ctx: &SessionContext) -> Vec<Nlri> {
    let mut all = Vec::new();
    for m in msgs {
        assert_eq!(message_len(m, ctx.max_message_len()), Ok(Some(m.len())));
        let Message::Update(u) = decode_clean(m, ctx) else {
            panic!("not an UPDATE");
        };
        for a in u.announcements() {
            assert_eq!(a.nlri.len(), a.nlri.len());
            all.extend_from_slice(a.nlri);
        }
        for (_, w) in u.withdrawals() {
            all.extend_from_slice(w);
        }
    }
    all
}

#[test]
fn ten_thousand_ipv4_prefixes_pack_into_few_full_messages() {
    let nlri = v4_prefixes(10_000);
    let mut out = Vec::new();
    let nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, 1));
    let ctx = SessionContext::default();
    encode_announcements(
        &attrs(),
        AfiSafi::IPV4_UNICAST,
        nh,
        &nlri,
        &ctx,
        &mut out,
    )
    .unwrap();
    // 4 octets per /24; about 4050 octets of room per message.
    assert_eq!(out.len(), 10);
    assert!(out[..9].iter().all(|m| m.len() > 4090 && m.len() <= 4096));
    assert_eq!(unpack(&out, &ctx), nlri);
}

#[test]
fn extended_messages_pack_sixteen_times_more() {
    let nlri = v4_prefixes(20_000);
    let mut out = Vec::new();
    let nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, 1));
    let ctx = SessionContext {
        extended_message: true,
        ..ctx4()
    };
    encode_announcements(
        &attrs(),
        AfiSafi::IPV4_UNICAST,
        nh,
        &nlri,
        &ctx,
        &mut out,
    )
    .unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(unpack(&out, &ctx), nlri);
}

#[test]
fn ipv6_announcements_with_add_path_use_mp_reach() {
    let v6: FamilySet = [AfiSafi::IPV6_UNICAST].into_iter().collect();
    let ctx = SessionContext {
        add_path_rx: v6,
        add_path_tx: v6,
        ..ctx4()
    };
    let nlri: Vec<Nlri> = v6_prefixes(3000)
        .into_iter()
        .enumerate()
        .map(|(i, n)| Nlri {
            path_id: i as u32 + 1,
            ..n
        })
        .collect();
    let nh = NextHop::V6 {
        global: "2001:db8::1".parse().unwrap(),
        link_local: None,
    };
    let mut out = Vec::new();
    encode_announcements(
        &attrs(),
        AfiSafi::IPV6_UNICAST,
        nh,
        &nlri,
        &ctx,
        &mut out,
    )
    .unwrap();
    // 4 + 1 + 8 = 13 octets each: about 310 per message.
    assert_eq!(out.len(), 10);
    assert_eq!(unpack(&out, &ctx), nlri);
    let Message::Update(u) = decode_clean(&out[0], &ctx) else {
        panic!()
    };
    assert_eq!(u.mp_reach.map(|r| r.next_hop), Some(nh));
    assert_eq!(u.attributes.next_hop, None);
}

#[test]
fn withdrawals_pack_for_both_families() {
    let ctx = SessionContext::default();
    let mut out = Vec::new();
    let v4 = v4_prefixes(2000);
    encode_withdrawals(AfiSafi::IPV4_UNICAST, &v4, &ctx, &mut out).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(unpack(&out, &ctx), v4);
    out.clear();
    let v6 = v6_prefixes(2000);
    encode_withdrawals(AfiSafi::IPV6_UNICAST, &v6, &ctx, &mut out).unwrap();
    assert_eq!(out.len(), 5);
    assert_eq!(unpack(&out, &ctx), v6);
}

#[test]
fn nothing_to_pack_gives_no_messages() {
    let mut out = Vec::new();
    let ctx = SessionContext::default();
    encode_withdrawals(AfiSafi::IPV4_UNICAST, &[], &ctx, &mut out).unwrap();
    assert!(out.is_empty());
}
