//! The RIB pipeline end to end, through the public API, with a native
//! test policy.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::Ipv4Addr;
use std::sync::Arc;

use bgplet_plugin_abi::Edit;
use bgplet_rib::{KernelOp, LocalRoute, Output, Rib};
use bgplet_wire::attribute::{AsPath, Community};
use bgplet_wire::{AfiSafi, FamilySet, Incoming, NextHop, RouteRefreshSubtype};
use common::*;

fn rib() -> Rib<TestPolicy> {
    Rib::new(rib_config(), TestPolicy::default())
}

fn kernel(out: &[Output]) -> Vec<bgplet_rib::KernelChange> {
    out.iter()
        .filter_map(|o| match o {
            Output::Kernel(k) => Some(k.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn equal_attribute_sets_are_interned_once_and_freed_when_unused() {
    let mut rib = rib();
    rib.peer_up(peer("a", "192.0.2.1", 65001)).unwrap();
    rib.peer_up(peer("b", "192.0.2.2", 65001)).unwrap();
    let a = attrs(&[65001]);
    rib.update("a", announce("192.0.2.9", &["10.1.0.0/24"], a.clone()))
        .unwrap();
    rib.update("b", announce("192.0.2.9", &["10.2.0.0/24"], a))
        .unwrap();
    let one = rib.route(&pfx("10.1.0.0/24")).unwrap();
    let two = rib.route(&pfx("10.2.0.0/24")).unwrap();
    assert!(Arc::ptr_eq(&one.paths[0].attrs, &two.paths[0].attrs));
    rib.collect_garbage();
    let before = rib.stats().interned_sets;
    rib.update("a", withdraw(&["10.1.0.0/24"])).unwrap();
    rib.update("b", withdraw(&["10.2.0.0/24"])).unwrap();
    rib.collect_garbage();
    assert!(rib.stats().interned_sets < before);
    assert_eq!(rib.stats().prefixes, 0);
}

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
fn as_path_loops_are_dropped_unless_allowed() {
    let mut rib = rib();
    rib.peer_up(peer("a", "192.0.2.1", 65001)).unwrap();
    let mut lenient = peer("b", "192.0.2.2", 65002);
    lenient.allow_local_as = 1;
    rib.peer_up(lenient).unwrap();
    let looped = attrs(&[65001, LOCAL_AS, 65003]);
    rib.update(
        "a",
        announce("192.0.2.1", &["10.1.0.0/24"], attrs(&[65001])),
    )
    .unwrap();
    // The looped path replaces, so withdraws, the good one.
    rib.update("a", announce("192.0.2.1", &["10.1.0.0/24"], looped.clone()))
        .unwrap();
    assert!(rib.route(&pfx("10.1.0.0/24")).is_none());
    rib.update("b", announce("192.0.2.2", &["10.2.0.0/24"], looped))
        .unwrap();
    assert!(rib.route(&pfx("10.2.0.0/24")).is_some());
    rib.update(
        "b",
        announce("192.0.2.2", &["10.3.0.0/24"], attrs(&[LOCAL_AS, LOCAL_AS])),
    )
    .unwrap();
    assert!(rib.route(&pfx("10.3.0.0/24")).is_none());
    assert_eq!(rib.stats().safety.as_loop, 2);
    let a = rib.peers().into_iter().find(|p| &*p.name == "a").unwrap();
    assert_eq!(a.safety.as_loop, 1);
    assert_eq!(a.received, 0);
}

#[test]
fn our_originator_id_is_dropped_on_every_session() {
    let mut rib = rib();
    rib.peer_up(peer("rr", "10.0.0.9", LOCAL_AS)).unwrap();
    let mut a = attrs(&[]);
    a.originator_id = Some(Ipv4Addr::new(10, 0, 0, 1));
    a.local_pref = Some(100);
    rib.update("rr", announce("10.0.0.7", &["10.1.0.0/24"], a))
        .unwrap();
    assert!(rib.route(&pfx("10.1.0.0/24")).is_none());
    assert_eq!(rib.stats().safety.originator_id, 1);
}

#[test]
fn our_cluster_id_is_dropped_only_where_the_session_checks_it() {
    let mut rib = rib();
    let mut client = peer("client", "10.0.0.2", LOCAL_AS);
    client.rr_client = true;
    client.check_cluster_list = true;
    rib.peer_up(client).unwrap();
    rib.peer_up(peer("other", "10.0.0.3", LOCAL_AS)).unwrap();
    let mut a = attrs(&[]);
    a.cluster_list = Some(vec![Ipv4Addr::new(10, 0, 0, 1)]);
    rib.update("client", announce("10.0.0.2", &["10.1.0.0/24"], a.clone()))
        .unwrap();
    rib.update("other", announce("10.0.0.3", &["10.2.0.0/24"], a))
        .unwrap();
    assert!(rib.route(&pfx("10.1.0.0/24")).is_none());
    assert!(rib.route(&pfx("10.2.0.0/24")).is_some());
    assert_eq!(rib.stats().safety.cluster_list, 1);
}

#[test]
fn martian_and_own_next_hops_are_treated_as_withdrawn() {
    let mut rib = rib();
    rib.peer_up(peer("a", "192.0.2.1", 65001)).unwrap();
    for (i, nh) in [
        "0.0.0.0",
        "127.0.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "10.0.0.1",
        "::",
        "::1",
        "ff02::1",
    ]
    .into_iter()
    .enumerate()
    {
        let prefix = if nh.contains(':') {
            format!("2001:db8:{i}::/48")
        } else {
            format!("10.{i}.0.0/16")
        };
        rib.update("a", announce(nh, &[prefix.as_str()], attrs(&[65001])))
            .unwrap();
        assert!(rib.route(&pfx(&prefix)).is_none(), "{nh}");
    }
    assert_eq!(rib.stats().safety.martian_next_hop, 8);
    rib.update(
        "a",
        announce("192.0.2.1", &["10.50.0.0/16"], attrs(&[65001])),
    )
    .unwrap();
    assert!(rib.route(&pfx("10.50.0.0/16")).is_some());
}

#[test]
fn withdrawals_reach_every_peer_that_had_the_route() {
    let mut rib = rib();
    let m = peer("m", "10.0.0.2", LOCAL_AS);
    let ext = peer("ext", "198.51.100.1", 65009);
    rib.peer_up(m.clone()).unwrap();
    rib.peer_up(ext.clone()).unwrap();
    rib.peer_up(peer("tor", "192.0.2.1", 65001)).unwrap();
    rib.update(
        "tor",
        announce("192.0.2.1", &["10.9.0.0/16"], attrs(&[65001])),
    )
    .unwrap();
    let out = rib.update("tor", withdraw(&["10.9.0.0/16"])).unwrap();
    for cfg in [&m, &ext] {
        let w = withdrawn(&out, cfg);
        assert_eq!(w.len(), 1, "{}", cfg.name);
        assert_eq!(w[0].prefix, pfx("10.9.0.0/16"));
    }
    assert!(rib.advertised("m").unwrap().is_empty());
    // Withdrawing what is not there sends nothing.
    let out = rib.update("tor", withdraw(&["10.9.0.0/16"])).unwrap();
    assert!(out.is_empty());
}

#[test]
fn a_peer_going_down_makes_the_next_best_path_win() {
    let mut rib = rib();
    let target = peer("target", "203.0.113.1", 65100);
    rib.peer_up(target.clone()).unwrap();
    rib.peer_up(peer("x", "192.0.2.1", 65001)).unwrap();
    rib.peer_up(peer("y", "192.0.2.2", 65002)).unwrap();
    rib.update(
        "x",
        announce("192.0.2.1", &["10.9.0.0/16"], attrs(&[65001])),
    )
    .unwrap();
    rib.update(
        "y",
        announce("192.0.2.2", &["10.9.0.0/16"], attrs(&[65002, 65003])),
    )
    .unwrap();
    let best = rib.route(&pfx("10.9.0.0/16")).unwrap();
    assert_eq!(&*best.paths[0].source, "x");
    let out = rib.peer_down("x").unwrap();
    let got = announced(&out, &target);
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].1.as_path,
        Some(AsPath::sequence([LOCAL_AS, 65002, 65003]))
    );
    let view = rib.route(&pfx("10.9.0.0/16")).unwrap();
    assert_eq!(view.paths.len(), 1);
    assert!(view.paths[0].best);
    assert!(rib.peer_down("x").is_err());
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
fn route_refresh_resends_the_group_table_framed_when_enhanced() {
    let mut rib = rib();
    let mut m = peer("m", "10.0.0.2", LOCAL_AS);
    m.enhanced_route_refresh = true;
    rib.peer_up(m.clone()).unwrap();
    rib.peer_up(peer("tor", "192.0.2.1", 65001)).unwrap();
    rib.update(
        "tor",
        announce(
            "192.0.2.1",
            &["10.9.0.0/16", "10.8.0.0/16"],
            attrs(&[65001]),
        ),
    )
    .unwrap();
    let out = rib.route_refresh("m", AfiSafi::IPV4_UNICAST).unwrap();
    let msgs = received(&out, &m);
    assert!(matches!(
        msgs.first(),
        Some(Incoming::RouteRefresh(r))
            if r.subtype == RouteRefreshSubtype::BeginningOfRefresh
    ));
    assert!(matches!(
        msgs.last(),
        Some(Incoming::RouteRefresh(r))
            if r.subtype == RouteRefreshSubtype::EndOfRefresh
    ));
    assert_eq!(announced(&out, &m).len(), 2);
    let out = rib.route_refresh("m", AfiSafi::IPV6_UNICAST).unwrap();
    assert_eq!(announced(&out, &m).len(), 0);
}

#[test]
fn a_new_peer_gets_the_table_then_end_of_rib_per_family() {
    let mut rib = rib();
    rib.peer_up(peer("tor", "192.0.2.1", 65001)).unwrap();
    rib.update(
        "tor",
        announce("192.0.2.1", &["10.9.0.0/16"], attrs(&[65001])),
    )
    .unwrap();
    rib.update(
        "tor",
        bgplet_rib::RouteUpdate {
            end_of_rib: Some(AfiSafi::IPV4_UNICAST),
            ..Default::default()
        },
    )
    .unwrap();
    let m = peer("m", "10.0.0.2", LOCAL_AS);
    let out = rib.peer_up(m.clone()).unwrap();
    let ups = updates(&out, &m);
    assert_eq!(ups.len(), 3);
    assert!(ups[0].has_announcements());
    assert_eq!(ups[1].end_of_rib_family(), Some(AfiSafi::IPV4_UNICAST));
    assert_eq!(ups[2].end_of_rib_family(), Some(AfiSafi::IPV6_UNICAST));
    let tor = rib.peers().into_iter().find(|p| &*p.name == "tor").unwrap();
    assert!(tor.end_of_rib.contains(AfiSafi::IPV4_UNICAST));
    assert!(!tor.end_of_rib.contains(AfiSafi::IPV6_UNICAST));
    let mv = rib.peers().into_iter().find(|p| &*p.name == "m").unwrap();
    assert_eq!((mv.advertised, tor.received, tor.accepted), (1, 1, 1));
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
fn local_routes_use_our_address_and_own_blocks_become_blackholes() {
    let mut rib = rib();
    let m = peer("m", "10.0.0.2", LOCAL_AS);
    let ext = peer("ext", "198.51.100.1", 65009);
    rib.peer_up(m.clone()).unwrap();
    rib.peer_up(ext.clone()).unwrap();
    let out = rib.set_local(vec![LocalRoute {
        prefix: pfx("10.244.1.0/26"),
        communities: vec![Community(0x0001_0002)],
        large_communities: Vec::new(),
        is_own_block: true,
    }]);
    let to_m = announced(&out, &m);
    assert_eq!(to_m.len(), 1);
    assert_eq!(to_m[0].2, NextHop::V4(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(to_m[0].1.as_path, Some(AsPath::default()));
    let to_ext = announced(&out, &ext);
    assert_eq!(to_ext[0].1.as_path, Some(AsPath::sequence([LOCAL_AS])));
    let k = kernel(&out);
    assert_eq!(k.len(), 1);
    assert_eq!(k[0].action, KernelOp::Blackhole);
    // Removing it withdraws it everywhere and from the kernel.
    let out = rib.set_local(Vec::new());
    assert_eq!(withdrawn(&out, &m).len(), 1);
    assert_eq!(kernel(&out)[0].action, KernelOp::Remove);
}

#[test]
fn kernel_changes_carry_the_ecmp_next_hops_and_follow_withdrawals() {
    let mut rib = rib();
    rib.peer_up(peer("x", "192.0.2.1", 65001)).unwrap();
    rib.peer_up(peer("y", "192.0.2.2", 65001)).unwrap();
    let out = rib.update_many([
        (
            "x",
            announce("192.0.2.1", &["10.9.0.0/16"], attrs(&[65001])),
        ),
        (
            "y",
            announce("192.0.2.2", &["10.9.0.0/16"], attrs(&[65001])),
        ),
    ]);
    let k = kernel(&out);
    assert_eq!(k.len(), 1, "one change for the batch");
    assert_eq!(k[0].action, KernelOp::Install);
    assert_eq!(k[0].next_hops.len(), 2);
    let out = rib.update("x", withdraw(&["10.9.0.0/16"])).unwrap();
    let k = kernel(&out);
    assert_eq!(
        k[0].next_hops,
        vec!["192.0.2.2".parse::<std::net::IpAddr>().unwrap()]
    );
    let out = rib.update("y", withdraw(&["10.9.0.0/16"])).unwrap();
    assert_eq!(kernel(&out)[0].action, KernelOp::Remove);
}

#[test]
fn reevaluation_reruns_import_from_the_stored_received_paths() {
    let mut policy = TestPolicy::default();
    policy.reject_import.insert(pfx("10.9.0.0/16"));
    let mut rib = Rib::new(rib_config(), policy);
    let m = peer("m", "10.0.0.2", LOCAL_AS);
    rib.peer_up(m.clone()).unwrap();
    rib.peer_up(peer("tor", "192.0.2.1", 65001)).unwrap();
    rib.update(
        "tor",
        announce("192.0.2.1", &["10.9.0.0/16"], attrs(&[65001])),
    )
    .unwrap();
    assert!(rib.route(&pfx("10.9.0.0/16")).is_none());
    let tor = rib.received("tor").unwrap();
    assert_eq!(tor.len(), 1);
    assert!(!tor[0].accepted);
    rib.policy_mut().reject_import.clear();
    let out = rib.reevaluate();
    assert!(rib.route(&pfx("10.9.0.0/16")).is_some());
    assert_eq!(announced(&out, &m).len(), 1);
}

#[test]
fn a_failing_policy_rejects_instead_of_crashing() {
    let policy = TestPolicy {
        broken: true,
        ..TestPolicy::default()
    };
    let mut rib = Rib::new(rib_config(), policy);
    rib.peer_up(peer("tor", "192.0.2.1", 65001)).unwrap();
    rib.update(
        "tor",
        announce("192.0.2.1", &["10.9.0.0/16"], attrs(&[65001])),
    )
    .unwrap();
    assert!(rib.route(&pfx("10.9.0.0/16")).is_none());
    assert_eq!(rib.stats().policy_errors.import, 1);
    assert!(rib.last_policy_error().is_some());
}

#[test]
fn hooks_are_called_per_batch_not_per_prefix() {
    let mut rib = rib();
    rib.peer_up(peer("x", "192.0.2.1", 65001)).unwrap();
    rib.peer_up(peer("y", "192.0.2.2", 65001)).unwrap();
    rib.peer_up(peer("m", "10.0.0.2", LOCAL_AS)).unwrap();
    let prefixes: Vec<String> =
        (0..100).map(|i| format!("10.{i}.0.0/16")).collect();
    let refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    let before = rib.policy_mut().calls;
    rib.update_many([
        ("x", announce("192.0.2.1", &refs, attrs(&[65001]))),
        ("y", announce("192.0.2.2", &refs, attrs(&[65001]))),
    ]);
    let after = rib.policy_mut().calls;
    let delta: Vec<u64> = (0..4).map(|i| after[i] - before[i]).collect();
    // Two imports, one selection over 100 prefixes, one export per group
    // (x and y share one), one kernel batch.
    assert_eq!(delta, vec![2, 1, 2, 1]);
}

#[test]
fn unknown_sessions_and_duplicate_names_are_refused() {
    let mut rib = rib();
    assert!(rib.update("nobody", withdraw(&["10.0.0.0/8"])).is_err());
    rib.peer_up(peer("a", "192.0.2.1", 65001)).unwrap();
    assert!(rib.peer_up(peer("a", "192.0.2.1", 65001)).is_err());
    assert!(rib.route_refresh("nobody", AfiSafi::IPV4_UNICAST).is_err());
    let _ = FamilySet::EMPTY;
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
fn local_pref_from_an_external_peer_is_ignored() {
    let mut rib = rib();
    rib.peer_up(peer("tor", "192.0.2.1", 65001)).unwrap();
    let mut a = attrs(&[65001]);
    a.local_pref = Some(999);
    rib.update("tor", announce("192.0.2.1", &["10.9.0.0/16"], a))
        .unwrap();
    let view = rib.route(&pfx("10.9.0.0/16")).unwrap();
    assert_eq!(view.paths[0].attrs.attrs.local_pref, None);
}

#[test]
fn a_failing_export_hook_sends_nothing_and_is_counted() {
    let mut rib = rib();
    let m = peer("m", "10.0.0.2", LOCAL_AS);
    rib.peer_up(m.clone()).unwrap();
    rib.peer_up(peer("tor", "192.0.2.1", 65001)).unwrap();
    rib.policy_mut().fail_export = true;
    let out = rib
        .update(
            "tor",
            announce("192.0.2.1", &["10.9.0.0/16"], attrs(&[65001])),
        )
        .unwrap();
    assert!(announced(&out, &m).is_empty());
    assert!(rib.route(&pfx("10.9.0.0/16")).is_some());
    assert!(rib.stats().policy_errors.export >= 1);
    // Once the plugin is fixed, re-evaluation sends what was held back.
    rib.policy_mut().fail_export = false;
    let out = rib.reevaluate();
    assert_eq!(announced(&out, &m).len(), 1);
}
