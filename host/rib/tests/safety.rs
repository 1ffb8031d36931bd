//! The host's safety checks, which no plugin can turn off.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::Ipv4Addr;

use common::*;

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
