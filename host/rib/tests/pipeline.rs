//! The RIB pipeline end to end, through the public API, with a native
//! test policy.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::Ipv4Addr;
use std::sync::Arc;

use bgplet_rib::{KernelOp, LocalRoute, Rib};
use bgplet_wire::attribute::{AsPath, Community};
use bgplet_wire::{AfiSafi, FamilySet, Incoming, NextHop, RouteRefreshSubtype};
use common::*;

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
fn a_multipath_member_that_changes_or_goes_changes_the_kernel_route() {
    let mut rib = rib();
    rib.peer_up(peer("x", "192.0.2.1", 65001)).unwrap();
    rib.peer_up(peer("y", "192.0.2.2", 65001)).unwrap();
    rib.update_many([
        (
            "x",
            announce("192.0.2.1", &["10.9.0.0/16"], attrs(&[65001])),
        ),
        (
            "y",
            announce("192.0.2.2", &["10.9.0.0/16"], attrs(&[65001])),
        ),
    ]);
    let best_is_x = rib.routes()[0]
        .paths
        .iter()
        .any(|p| p.best && p.source.as_ref() == "x");
    let member = if best_is_x { "y" } else { "x" };
    // The member that is not best moves to another next hop but stays in
    // the set: the best path is the same, the kernel route must follow.
    let out = rib
        .update(
            member,
            announce("192.0.2.9", &["10.9.0.0/16"], attrs(&[65001])),
        )
        .unwrap();
    let k = kernel(&out);
    assert_eq!(k.len(), 1, "a changed multipath member reprograms");
    let moved: std::net::IpAddr = "192.0.2.9".parse().unwrap();
    assert_eq!(k[0].next_hops.len(), 2);
    assert!(k[0].next_hops.contains(&moved));
    // It goes: one next hop left.
    let out = rib.update(member, withdraw(&["10.9.0.0/16"])).unwrap();
    let k = kernel(&out);
    assert_eq!(k.len(), 1, "a removed multipath member reprograms");
    assert_eq!(k[0].next_hops.len(), 1);
    // Nothing changes: nothing is reprogrammed.
    let out = rib.update(member, withdraw(&["10.9.0.0/16"])).unwrap();
    assert!(kernel(&out).is_empty());
}

#[test]
fn without_kernel_decisions_routes_flow_but_the_kernel_hook_is_never_asked() {
    let mut rib = rib();
    rib.set_kernel(false);
    rib.peer_up(peer("x", "192.0.2.1", 65001)).unwrap();
    let ext = peer("ext", "198.51.100.9", 65300);
    rib.peer_up(ext.clone()).unwrap();
    let out = rib
        .update(
            "x",
            announce("192.0.2.1", &["10.9.0.0/16"], attrs(&[65001])),
        )
        .unwrap();
    assert_eq!(
        announced(&out, &ext).len(),
        1,
        "the route is still exported"
    );
    assert!(kernel(&out).is_empty());
    assert_eq!(rib.policy_mut().calls[3], 0, "kernel hook calls");
    assert_eq!(rib.stats().kernel_routes, 0);
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
    assert!(tor[0].accepted.is_none());
    rib.policy_mut().reject_import.clear();
    let out = rib.reevaluate();
    assert!(rib.route(&pfx("10.9.0.0/16")).is_some());
    assert!(rib.received("tor").unwrap()[0].accepted.is_some());
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

#[test]
fn a_failing_selection_hook_falls_back_to_a_deterministic_order() {
    let mut rib = rib();
    rib.policy_mut().fail_select = true;
    rib.peer_up(peer("x", "192.0.2.1", 65001)).unwrap();
    rib.peer_up(peer("y", "192.0.2.2", 65002)).unwrap();
    rib.update(
        "x",
        announce("192.0.2.1", &["10.9.0.0/16"], attrs(&[65001, 65003])),
    )
    .unwrap();
    rib.update(
        "y",
        announce("192.0.2.2", &["10.9.0.0/16"], attrs(&[65002])),
    )
    .unwrap();
    let v = rib.route(&pfx("10.9.0.0/16")).unwrap();
    assert_eq!(&*v.paths[0].source, "y", "shorter AS_PATH");
    assert!(v.paths[0].best);
    assert!(!v.paths[1].multipath);
    assert_eq!(rib.stats().policy_errors.select, 1);
}
