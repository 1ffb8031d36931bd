//! Export: update groups, the mechanical rules, next hops, ADD-PATH.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::Ipv4Addr;

use bgplet_plugin_abi::Edit;
use bgplet_rib::Rib;
use bgplet_wire::attribute::{AsPath, Community};
use bgplet_wire::{AfiSafi, NextHop};
use common::*;

#[test]
fn members_of_one_update_group_receive_the_same_bytes() {
    let mut rib = rib();
    let m1 = peer("m1", "10.0.0.2", LOCAL_AS);
    let m2 = peer("m2", "10.0.0.3", LOCAL_AS);
    rib.peer_up(m1.clone()).unwrap();
    rib.peer_up(m2.clone()).unwrap();
    rib.peer_up(peer("tor", "192.0.2.1", 65001)).unwrap();
    let out = rib
        .update(
            "tor",
            announce("192.0.2.1", &["10.9.0.0/16"], attrs(&[65001])),
        )
        .unwrap();
    let a = messages(&out, "m1");
    let b = messages(&out, "m2");
    assert_eq!(a.len(), 1);
    assert_eq!(a.len(), b.len());
    assert_eq!(a[0].as_ptr(), b[0].as_ptr(), "shared buffer");
    let views = rib.peers();
    let m1v = views.iter().find(|p| &*p.name == "m1").unwrap();
    assert_eq!(m1v.group_members, 2);
    assert_eq!(rib.stats().groups, 2);
    // iBGP keeps the received next hop and adds LOCAL_PREF.
    let got = announced(&out, &m1);
    assert_eq!(got[0].2, NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(got[0].1.local_pref, Some(100));
}

#[test]
fn add_path_send_advertises_every_path_with_stable_distinct_ids() {
    let mut rib = rib();
    let mut rr_client = peer("client", "10.0.0.5", LOCAL_AS);
    rr_client.rr_client = true;
    rr_client.ctx.add_path_tx.insert(AfiSafi::IPV4_UNICAST);
    rib.peer_up(rr_client.clone()).unwrap();
    rib.peer_up(peer("x", "192.0.2.1", 65001)).unwrap();
    rib.peer_up(peer("y", "192.0.2.2", 65001)).unwrap();
    let out1 = rib
        .update(
            "x",
            announce("192.0.2.1", &["10.9.0.0/16"], attrs(&[65001])),
        )
        .unwrap();
    let out2 = rib
        .update(
            "y",
            announce("192.0.2.2", &["10.9.0.0/16"], attrs(&[65001])),
        )
        .unwrap();
    let first = announced(&out1, &rr_client);
    let second = announced(&out2, &rr_client);
    assert_eq!(first.len(), 1);
    assert_eq!(second.len(), 1, "only the new path is sent");
    assert_ne!(first[0].0.path_id, second[0].0.path_id);
    assert_ne!(first[0].0.path_id, 0);
    // x changes its attributes: same path id, replaced in place.
    let out3 = rib
        .update(
            "x",
            announce("192.0.2.1", &["10.9.0.0/16"], attrs(&[65001, 65005])),
        )
        .unwrap();
    let third = announced(&out3, &rr_client);
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].0.path_id, first[0].0.path_id);
    assert_eq!(rib.advertised("client").unwrap().len(), 2);
    // Without ADD-PATH, a peer gets only the best.
    let plain = peer("plain", "10.0.0.6", LOCAL_AS);
    let mut plain = plain;
    plain.rr_client = true;
    let out = rib.peer_up(plain.clone()).unwrap();
    let got = announced(&out, &plain);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.path_id, 0);
}

#[test]
fn reflection_sets_originator_id_and_prepends_the_cluster_id() {
    let mut rib = rib();
    let mut c1 = peer("c1", "10.0.0.2", LOCAL_AS);
    c1.rr_client = true;
    let mut c2 = peer("c2", "10.0.0.3", LOCAL_AS);
    c2.rr_client = true;
    let n1 = peer("n1", "10.0.0.4", LOCAL_AS);
    let n2 = peer("n2", "10.0.0.5", LOCAL_AS);
    for p in [&c1, &c2, &n1, &n2] {
        rib.peer_up(p.clone()).unwrap();
    }
    let mut a = attrs(&[]);
    a.local_pref = Some(100);
    let out = rib
        .update("c1", announce("10.0.0.2", &["10.1.0.0/24"], a.clone()))
        .unwrap();
    let got = announced(&out, &c2);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1.originator_id, Some(Ipv4Addr::new(10, 0, 0, 2)));
    assert_eq!(
        got[0].1.cluster_list,
        Some(vec![Ipv4Addr::new(10, 0, 0, 1)])
    );
    assert_eq!(got[0].2, NextHop::V4(Ipv4Addr::new(10, 0, 0, 2)));
    // Client routes go to non-clients too; the source gets nothing back.
    assert_eq!(announced(&out, &n1).len(), 1);
    assert!(announced(&out, &c1).is_empty());
    // A non-client's route goes to clients only.
    let out = rib
        .update("n1", announce("10.0.0.4", &["10.2.0.0/24"], a))
        .unwrap();
    assert_eq!(announced(&out, &c1).len(), 1);
    assert!(announced(&out, &n2).is_empty());
}

#[test]
fn ebgp_export_prepends_our_as_and_strips_internal_attributes() {
    let mut rib = rib();
    let ext = peer("ext", "198.51.100.1", 65009);
    rib.peer_up(ext.clone()).unwrap();
    rib.peer_up(peer("m", "10.0.0.2", LOCAL_AS)).unwrap();
    let mut a = attrs(&[]);
    a.local_pref = Some(300);
    a.med = Some(50);
    a.originator_id = Some(Ipv4Addr::new(10, 0, 0, 8));
    a.cluster_list = Some(vec![Ipv4Addr::new(10, 0, 0, 9)]);
    let out = rib
        .update("m", announce("10.0.0.2", &["10.1.0.0/24"], a))
        .unwrap();
    let got = announced(&out, &ext);
    assert_eq!(got.len(), 1);
    let sent = &got[0].1;
    assert_eq!(sent.as_path, Some(AsPath::sequence([LOCAL_AS])));
    assert_eq!(sent.local_pref, None);
    assert_eq!(sent.med, None);
    assert_eq!(sent.originator_id, None);
    assert_eq!(sent.cluster_list, None);
    assert_eq!(got[0].2, NextHop::V4(Ipv4Addr::new(10, 0, 0, 1)));
}

#[test]
fn a_med_set_by_export_policy_is_sent_to_ebgp() {
    let policy = TestPolicy {
        export_edits: vec![Edit::SetMed(7), Edit::AddCommunity(0x0001_0001)],
        ..TestPolicy::default()
    };
    let mut rib = Rib::new(rib_config(), policy);
    let ext = peer("ext", "198.51.100.1", 65009);
    rib.peer_up(ext.clone()).unwrap();
    rib.peer_up(peer("tor", "192.0.2.1", 65001)).unwrap();
    let out = rib
        .update(
            "tor",
            announce("192.0.2.1", &["10.9.0.0/16"], attrs(&[65001])),
        )
        .unwrap();
    let got = announced(&out, &ext);
    assert_eq!(got[0].1.med, Some(7));
    assert_eq!(got[0].1.communities, Some(vec![Community(0x0001_0001)]));
}

#[test]
fn a_group_member_never_gets_its_own_path_back() {
    let mut rib = rib();
    let a = peer("a", "192.0.2.1", 65001);
    let b = peer("b", "192.0.2.2", 65001);
    rib.peer_up(a.clone()).unwrap();
    rib.peer_up(b.clone()).unwrap();
    let out = rib
        .update(
            "a",
            announce("192.0.2.1", &["10.9.0.0/16"], attrs(&[65001, 65005])),
        )
        .unwrap();
    assert!(messages(&out, "a").is_empty(), "nothing back to the source");
    assert_eq!(announced(&out, &b).len(), 1);
    // b's shorter path wins: a gets it, b loses a's path.
    let out = rib
        .update(
            "b",
            announce("192.0.2.2", &["10.9.0.0/16"], attrs(&[65001])),
        )
        .unwrap();
    assert_eq!(announced(&out, &a).len(), 1);
    assert!(announced(&out, &b).is_empty());
    assert_eq!(withdrawn(&out, &b).len(), 1);
    assert!(withdrawn(&out, &a).is_empty());
    // b withdraws: a's path is best again; a loses b's path, b gets a's.
    let out = rib.update("b", withdraw(&["10.9.0.0/16"])).unwrap();
    assert_eq!(withdrawn(&out, &a).len(), 1);
    assert_eq!(announced(&out, &b).len(), 1);
    assert_eq!(rib.advertised("a").unwrap().len(), 0);
    assert_eq!(rib.advertised("b").unwrap().len(), 1);
}

#[test]
fn next_hop_modes_and_the_next_hop_self_edit_choose_the_address() {
    let mut rib = rib();
    let mut keep = peer("keep", "198.51.100.1", 65009);
    keep.next_hop_mode = bgplet_rib::NextHopMode::Keep;
    let mut selfy = peer("self", "10.0.0.3", LOCAL_AS);
    selfy.next_hop_mode = bgplet_rib::NextHopMode::SelfAddr;
    selfy.local_v4 = Some(Ipv4Addr::new(10, 0, 0, 11));
    let auto = peer("auto", "10.0.0.4", LOCAL_AS);
    for p in [&keep, &selfy, &auto] {
        rib.peer_up(p.clone()).unwrap();
    }
    rib.peer_up(peer("tor", "192.0.2.1", 65001)).unwrap();
    let out = rib
        .update(
            "tor",
            announce("192.0.2.1", &["10.9.0.0/16"], attrs(&[65001])),
        )
        .unwrap();
    let nh = |cfg| announced(&out, cfg)[0].2;
    assert_eq!(nh(&keep), NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(nh(&selfy), NextHop::V4(Ipv4Addr::new(10, 0, 0, 11)));
    assert_eq!(nh(&auto), NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)));

    let policy = TestPolicy {
        export_edits: vec![Edit::NextHopSelf],
        ..TestPolicy::default()
    };
    let mut rib = Rib::new(rib_config(), policy);
    rib.peer_up(auto.clone()).unwrap();
    rib.peer_up(peer("tor", "192.0.2.1", 65001)).unwrap();
    let out = rib
        .update(
            "tor",
            announce("192.0.2.1", &["10.9.0.0/16"], attrs(&[65001])),
        )
        .unwrap();
    assert_eq!(
        announced(&out, &auto)[0].2,
        NextHop::V4(Ipv4Addr::new(10, 0, 0, 1))
    );
}

#[test]
fn ipv6_routes_travel_in_mp_reach_with_our_ipv6_address() {
    let mut rib = rib();
    let ext = peer("ext", "198.51.100.1", 65009);
    rib.peer_up(ext.clone()).unwrap();
    rib.peer_up(peer("tor", "192.0.2.1", 65001)).unwrap();
    let out = rib
        .update(
            "tor",
            announce("2001:db8:ff::1", &["2001:db8:1::/48"], attrs(&[65001])),
        )
        .unwrap();
    let got = announced(&out, &ext);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.prefix, pfx("2001:db8:1::/48"));
    assert_eq!(
        got[0].2,
        NextHop::V6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None
        }
    );
    let k = kernel(&out);
    assert_eq!(
        k[0].next_hops,
        vec!["2001:db8:ff::1".parse::<std::net::IpAddr>().unwrap()]
    );
    let out = rib.update("tor", withdraw(&["2001:db8:1::/48"])).unwrap();
    assert_eq!(withdrawn(&out, &ext)[0].prefix, pfx("2001:db8:1::/48"));
}

#[test]
fn a_second_member_receives_the_paths_of_the_first() {
    let mut rib = rib();
    let a = peer("a", "192.0.2.1", 65001);
    let b = peer("b", "192.0.2.2", 65001);
    rib.peer_up(a.clone()).unwrap();
    rib.update(
        "a",
        announce("192.0.2.1", &["10.9.0.0/16"], attrs(&[65001])),
    )
    .unwrap();
    let out = rib.peer_up(b.clone()).unwrap();
    let got = announced(&out, &b);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.prefix, pfx("10.9.0.0/16"));
    assert!(messages(&out, "a").is_empty());
    // And later changes of a's paths reach b.
    let out = rib.update("a", withdraw(&["10.9.0.0/16"])).unwrap();
    assert_eq!(withdrawn(&out, &b).len(), 1);
    assert!(messages(&out, "a").is_empty());
}
