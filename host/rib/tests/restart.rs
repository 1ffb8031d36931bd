//! Graceful restart, receiving side (RFC 4724).

#![allow(clippy::unwrap_used)]

mod common;

use bgplet_rib::KernelOp;
use bgplet_wire::AfiSafi;
use common::*;

#[test]
fn graceful_restart_keeps_stale_paths_until_the_new_end_of_rib() {
    let mut rib = rib();
    let m = peer("m", "10.0.0.2", LOCAL_AS);
    rib.peer_up(m.clone()).unwrap();
    let tor = peer("tor", "192.0.2.1", 65001);
    rib.peer_up(tor.clone()).unwrap();
    rib.update(
        "tor",
        announce(
            "192.0.2.1",
            &["10.1.0.0/16", "10.2.0.0/16"],
            attrs(&[65001]),
        ),
    )
    .unwrap();
    let out = rib.peer_down_graceful("tor").unwrap();
    assert!(
        withdrawn(&out, &m).is_empty(),
        "stale paths stay advertised"
    );
    assert_eq!(rib.stats().stale_paths, 2);
    assert!(rib.route(&pfx("10.1.0.0/16")).unwrap().paths[0].stale);
    assert!(rib.peers().iter().all(|p| &*p.name != "tor"));
    // The new session re-announces one prefix: it replaces the stale one.
    rib.peer_up(tor).unwrap();
    rib.update(
        "tor",
        announce("192.0.2.1", &["10.1.0.0/16"], attrs(&[65001])),
    )
    .unwrap();
    let v = rib.route(&pfx("10.1.0.0/16")).unwrap();
    assert_eq!(v.paths.len(), 1);
    assert!(!v.paths[0].stale);
    assert_eq!(rib.stats().stale_paths, 1);
    // End-of-RIB sweeps what was not re-announced.
    let out = rib
        .update(
            "tor",
            bgplet_rib::RouteUpdate {
                end_of_rib: Some(AfiSafi::IPV4_UNICAST),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(withdrawn(&out, &m)[0].prefix, pfx("10.2.0.0/16"));
    assert_eq!(rib.stats().stale_paths, 0);
    assert!(rib.route(&pfx("10.2.0.0/16")).is_none());
}

#[test]
fn consecutive_restarts_and_the_restart_timer_drop_stale_paths() {
    let mut rib = rib();
    let tor = peer("tor", "192.0.2.1", 65001);
    rib.peer_up(tor.clone()).unwrap();
    rib.update(
        "tor",
        announce("192.0.2.1", &["10.1.0.0/16"], attrs(&[65001])),
    )
    .unwrap();
    rib.peer_down_graceful("tor").unwrap();
    rib.peer_up(tor.clone()).unwrap();
    // Down again before End-of-RIB: the first stale set is gone.
    rib.peer_down_graceful("tor").unwrap();
    assert!(rib.route(&pfx("10.1.0.0/16")).is_none());
    rib.peer_up(tor.clone()).unwrap();
    rib.update(
        "tor",
        announce("192.0.2.1", &["10.3.0.0/16"], attrs(&[65001])),
    )
    .unwrap();
    rib.peer_down_graceful("tor").unwrap();
    assert_eq!(rib.stats().stale_paths, 1);
    let out = rib.sweep_stale("tor");
    assert_eq!(rib.stats().stale_paths, 0);
    assert_eq!(kernel(&out)[0].action, KernelOp::Remove);
    // A hard reset drops everything at once.
    rib.peer_up(tor).unwrap();
    rib.update(
        "tor",
        announce("192.0.2.1", &["10.4.0.0/16"], attrs(&[65001])),
    )
    .unwrap();
    rib.peer_down("tor").unwrap();
    assert_eq!(rib.stats().prefixes, 0);
}
