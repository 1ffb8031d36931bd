//! bgplet-fib against the real kernel, each test in its own namespace.
//! Needs root (CAP_NET_ADMIN and `ip netns`).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use bgplet_fib::{
    Fib, FibAction, FibChange, FibConfig, FibError, FibNextHop, FibRoute,
    PendingReason,
};
use common::Netns;
use serde_json::Value;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn via(dst: &str, len: u8, gws: &[&str], metric: u32) -> FibRoute {
    FibRoute {
        prefix: (ip(dst), len),
        action: FibAction::Unicast(
            gws.iter().map(|g| FibNextHop::via(ip(g))).collect(),
        ),
        metric,
    }
}

fn blackhole(dst: &str, len: u8) -> FibRoute {
    FibRoute {
        prefix: (ip(dst), len),
        action: FibAction::Blackhole,
        metric: 0,
    }
}

fn up(route: FibRoute) -> FibChange {
    FibChange::Upsert(route)
}

fn flags(r: &Value) -> Vec<String> {
    r["flags"]
        .as_array()
        .map(|a| a.iter().map(|f| f.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

/// The daemon may drive the FIB from a multi-threaded runtime.
#[allow(dead_code)]
fn fib_futures_are_send(mut fib: Fib) {
    fn send<T: Send>(_: T) {}
    send(async move {
        fib.apply(Vec::new()).await;
        fib.next_event().await.ok();
        fib.retry_pending().await;
        fib.remove_stale(&HashSet::new()).await;
        fib.adopt().await.ok();
        fib.sync(&[]).await;
    });
}

#[test]
fn routes_are_added_replaced_and_deleted_with_protocol_bird() {
    let ns = Netns::new();
    ns.veth("10.0.0.1/24");
    ns.run(|| async {
        let mut fib = Fib::new(FibConfig::default()).await.unwrap();
        let r = fib
            .apply(vec![up(via("10.244.1.0", 26, &["10.0.0.12"], 0))])
            .await;
        assert!(r.failures.is_empty(), "{r:?}");
        assert_eq!(r.installed, 1);
        let k = ns.route_to("10.244.1.0/26");
        assert_eq!(k["gateway"], "10.0.0.12");
        assert_eq!(k["dev"], "v0");
        assert_eq!(k["protocol"], "bird");

        // Same route again: nothing is sent.
        let r = fib
            .apply(vec![up(via("10.244.1.0", 26, &["10.0.0.12"], 0))])
            .await;
        assert_eq!((r.installed, r.replaced, r.removed), (0, 0, 0));

        // New next hop: replaced in place.
        let r = fib
            .apply(vec![up(via("10.244.1.0", 26, &["10.0.0.13"], 0))])
            .await;
        assert_eq!(r.replaced, 1, "{r:?}");
        assert_eq!(ns.route_to("10.244.1.0/26")["gateway"], "10.0.0.13");

        // New metric: a new key, so add then delete the old one.
        let r = fib
            .apply(vec![up(via("10.244.1.0", 26, &["10.0.0.13"], 1024))])
            .await;
        assert_eq!((r.installed, r.removed), (1, 1), "{r:?}");
        assert_eq!(ns.route_to("10.244.1.0/26")["metric"], 1024);

        let r = fib
            .apply(vec![FibChange::Remove((ip("10.244.1.0"), 26))])
            .await;
        assert_eq!(r.removed, 1);
        assert!(ns.routes_to("10.244.1.0/26").is_empty());
        let c = fib.counters();
        assert_eq!((c.installed, c.replaced, c.removed), (2, 1, 2));
        assert_eq!((c.failed, c.pending), (0, 0));
    });
}

#[test]
fn an_equal_cost_set_becomes_one_multipath_route() {
    let ns = Netns::new();
    ns.veth("10.0.0.1/24");
    ns.run(|| async {
        let mut fib = Fib::new(FibConfig::default()).await.unwrap();
        let r = fib
            .apply(vec![up(via(
                "10.244.2.0",
                26,
                &["10.0.0.12", "10.0.0.13"],
                1024,
            ))])
            .await;
        assert!(r.failures.is_empty(), "{r:?}");
        let k = ns.route_to("10.244.2.0/26");
        let hops = k["nexthops"].as_array().unwrap();
        let gws: HashSet<&str> = hops
            .iter()
            .map(|h| h["gateway"].as_str().unwrap())
            .collect();
        assert_eq!(gws, HashSet::from(["10.0.0.12", "10.0.0.13"]));

        // Dropping one path replaces the multipath route with a plain one.
        fib.apply(vec![up(via("10.244.2.0", 26, &["10.0.0.13"], 1024))])
            .await;
        let k = ns.route_to("10.244.2.0/26");
        assert_eq!(k["gateway"], "10.0.0.13");
        assert!(k.get("nexthops").is_none());
    });
}

#[test]
fn blackholes_are_installed_for_local_blocks() {
    let ns = Netns::new();
    ns.run(|| async {
        let mut fib = Fib::new(FibConfig::default()).await.unwrap();
        let r = fib.apply(vec![up(blackhole("10.244.0.0", 26))]).await;
        assert!(r.failures.is_empty(), "{r:?}");
        let k = ns.route_to("10.244.0.0/26");
        assert_eq!(k["type"], "blackhole");
        assert_eq!(k["protocol"], "bird");
    });
}

/// The namespace has no `ipip` module here, so `tunl0` is a tun device: an
/// up layer-3 point-to-point link, which is what `onlink` needs.
#[test]
fn ipip_routes_go_onlink_through_tunl0() {
    let ns = Netns::new();
    ns.veth("10.0.0.1/24");
    if !ns.try_ip("link add tunl0 type ipip") {
        ns.ip("tuntap add mode tun name tunl0");
    }
    ns.ip("link set tunl0 up");
    ns.run(|| async {
        let mut fib = Fib::new(FibConfig::default()).await.unwrap();
        let route = FibRoute {
            prefix: (ip("10.244.3.0"), 26),
            action: FibAction::Unicast(vec![FibNextHop::onlink(
                ip("192.168.7.7"),
                "tunl0",
            )]),
            metric: 0,
        };
        let r = fib.apply(vec![up(route)]).await;
        assert!(r.failures.is_empty(), "{r:?}");
        assert_eq!(fib.counters().pending, 0);
        let k = ns.route_to("10.244.3.0/26");
        assert_eq!(k["gateway"], "192.168.7.7");
        assert_eq!(k["dev"], "tunl0");
        assert!(flags(&k).contains(&"onlink".to_owned()), "{k}");
    });
}

#[test]
fn ipv6_unicast_multipath_and_blackhole_routes_are_programmed() {
    let ns = Netns::new();
    ns.veth("fd00::1/64");
    ns.run(|| async {
        let mut fib = Fib::new(FibConfig::default()).await.unwrap();
        let r = fib
            .apply(vec![
                up(via("fd00:10::", 64, &["fd00::2"], 0)),
                up(via("fd00:11::", 64, &["fd00::2", "fd00::3"], 0)),
                up(blackhole("fd00:20::", 122)),
            ])
            .await;
        assert!(r.failures.is_empty(), "{r:?}");
        assert_eq!(r.installed, 3);
        let k = ns.route_to("fd00:10::/64");
        assert_eq!(k["gateway"], "fd00::2");
        assert_eq!(k["protocol"], "bird");
        assert_eq!(k["metric"], 1024);
        let k = ns.route_to("fd00:11::/64");
        assert_eq!(k["nexthops"].as_array().unwrap().len(), 2, "{k}");
        assert_eq!(ns.route_to("fd00:20::/122")["type"], "blackhole");

        // Multipath to single path and back, replaced in place.
        let r = fib
            .apply(vec![up(via("fd00:11::", 64, &["fd00::3"], 0))])
            .await;
        assert_eq!(r.replaced, 1, "{r:?}");
        assert_eq!(ns.route_to("fd00:11::/64")["gateway"], "fd00::3");
        let r = fib
            .apply(vec![up(via("fd00:11::", 64, &["fd00::2", "fd00::3"], 0))])
            .await;
        assert_eq!(r.replaced, 1, "{r:?}");
        let k = ns.route_to("fd00:11::/64");
        assert_eq!(k["nexthops"].as_array().unwrap().len(), 2, "{k}");

        // Metric 0 and 1024 are the same IPv6 key: no churn.
        let r = fib
            .apply(vec![up(via("fd00:10::", 64, &["fd00::2"], 1024))])
            .await;
        assert_eq!((r.installed, r.replaced, r.removed), (0, 0, 0));

        let r = fib
            .apply(vec![
                FibChange::Remove((ip("fd00:10::"), 64)),
                FibChange::Remove((ip("fd00:11::"), 64)),
                FibChange::Remove((ip("fd00:20::"), 122)),
            ])
            .await;
        assert_eq!(r.removed, 3, "{r:?}");
        assert!(ns.routes_to("fd00:11::/64").is_empty());
    });
}

#[test]
fn routes_of_a_previous_run_are_adopted_and_kept_until_remove_stale() {
    let ns = Netns::new();
    ns.veth("10.0.0.1/24");
    ns.ip("route add 10.9.0.0/24 via 10.0.0.2 proto bird");
    ns.ip("route add 10.9.1.0/24 via 10.0.0.2 proto bird");
    ns.ip("route add blackhole 10.9.2.0/26 proto bird");
    ns.run(|| async {
        let mut fib = Fib::new(FibConfig::default()).await.unwrap();
        let mut adopted: Vec<_> = fib
            .adopt()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.prefix)
            .collect();
        adopted.sort();
        assert_eq!(
            adopted,
            vec![
                (ip("10.9.0.0"), 24),
                (ip("10.9.1.0"), 24),
                (ip("10.9.2.0"), 26)
            ]
        );
        // Re-asserting an identical route sends nothing.
        let r = fib
            .apply(vec![up(via("10.9.0.0", 24, &["10.0.0.2"], 0))])
            .await;
        assert_eq!((r.installed, r.replaced), (0, 0), "{r:?}");
        // Adopted routes survive until the restart window closes...
        assert_eq!(ns.routes_to("10.9.1.0/24").len(), 1);
        // ... then the ones not re-asserted and not kept go.
        let keep = HashSet::from([(ip("10.9.2.0"), 26)]);
        let r = fib.remove_stale(&keep).await;
        assert_eq!(r.removed, 1, "{r:?}");
        assert!(ns.routes_to("10.9.1.0/24").is_empty());
        assert_eq!(ns.routes_to("10.9.0.0/24").len(), 1);
        assert_eq!(ns.routes_to("10.9.2.0/26").len(), 1);
    });
}

#[test]
fn routes_of_other_protocols_are_never_touched() {
    let ns = Netns::new();
    ns.veth("10.0.0.1/24");
    ns.ip("route add 10.8.0.0/24 via 10.0.0.2 proto static");
    ns.ip("route add 10.8.1.0/24 via 10.0.0.2 proto boot");
    ns.ip("route add 10.8.2.0/24 via 10.0.0.2 proto 80");
    ns.ip("route add blackhole 10.8.3.0/26 proto 80");
    let before = ns.routes(false);
    ns.run(|| async {
        let mut fib = Fib::new(FibConfig::default()).await.unwrap();
        assert!(fib.adopt().await.unwrap().is_empty());
        let r = fib
            .sync(&[
                // Same key as the static route: must wait, not replace it.
                via("10.8.0.0", 24, &["10.0.0.9"], 0),
                // Same prefix, other metric: a separate kernel route.
                via("10.8.1.0", 24, &["10.0.0.9"], 100),
                // Same key as Felix's blackhole.
                blackhole("10.8.3.0", 26),
            ])
            .await;
        assert!(r.failures.is_empty(), "{r:?}");
        assert_eq!(r.installed, 1);
        let pending: Vec<_> = fib.pending().map(|(p, r)| (*p, *r)).collect();
        assert_eq!(pending.len(), 2);
        assert!(
            pending.iter().all(|(_, r)| *r == PendingReason::Occupied),
            "{pending:?}"
        );
        assert_eq!(ns.routes_to("10.8.1.0/24").len(), 2);
        assert_eq!(ns.route_to("10.8.0.0/24")["gateway"], "10.0.0.2");

        fib.sync(&[]).await;
        fib.remove_stale(&HashSet::new()).await;
        assert_eq!(ns.routes(false), before);
    });
}

#[test]
fn an_unreachable_next_hop_waits_until_an_address_makes_it_reachable() {
    let ns = Netns::new();
    ns.veth("10.0.0.1/24");
    ns.run(|| async {
        let config = FibConfig {
            retry_interval: Duration::from_secs(30),
            ..FibConfig::default()
        };
        let mut fib = Fib::new(config).await.unwrap();
        let r = fib
            .apply(vec![up(via("10.244.5.0", 26, &["10.5.0.2"], 0))])
            .await;
        assert!(r.failures.is_empty(), "{r:?}");
        assert_eq!(r.installed, 0);
        assert_eq!(fib.counters().pending, 1);
        assert!(ns.routes_to("10.244.5.0/26").is_empty());

        ns.ip("addr add 10.5.0.1/24 dev v0");
        // Kernel notifications, not the 30 s timer, bring it in.
        let started = std::time::Instant::now();
        while fib.counters().pending > 0 {
            assert!(started.elapsed() < Duration::from_secs(10));
            fib.next_event().await.unwrap();
            fib.retry_pending().await;
        }
        assert_eq!(ns.route_to("10.244.5.0/26")["gateway"], "10.5.0.2");
        assert_eq!(fib.counters().installed, 1);

        // The address goes: IPv4 flushes the route; it waits again and
        // comes back with the address.
        ns.ip("addr del 10.5.0.1/24 dev v0");
        let started = std::time::Instant::now();
        while fib.counters().pending == 0 {
            assert!(started.elapsed() < Duration::from_secs(10));
            fib.next_event().await.unwrap();
            fib.retry_pending().await;
        }
        assert!(ns.routes_to("10.244.5.0/26").is_empty());
        ns.ip("addr add 10.5.0.1/24 dev v0");
        while fib.counters().pending > 0 {
            assert!(started.elapsed() < Duration::from_secs(10));
            fib.next_event().await.unwrap();
            fib.retry_pending().await;
        }
        assert_eq!(ns.routes_to("10.244.5.0/26").len(), 1);
    });
}

#[test]
fn one_unreachable_path_of_an_ecmp_set_installs_the_rest() {
    let ns = Netns::new();
    ns.veth("10.0.0.1/24");
    ns.run(|| async {
        let mut fib = Fib::new(FibConfig::default()).await.unwrap();
        let r = fib
            .apply(vec![up(via(
                "10.244.6.0",
                26,
                &["10.0.0.2", "10.6.0.2"],
                0,
            ))])
            .await;
        assert!(r.failures.is_empty(), "{r:?}");
        let pending: Vec<_> = fib.pending().map(|(_, r)| *r).collect();
        assert_eq!(pending, vec![PendingReason::Partial]);
        assert_eq!(ns.route_to("10.244.6.0/26")["gateway"], "10.0.0.2");
    });
}

#[test]
fn a_failed_route_does_not_stop_the_batch() {
    let ns = Netns::new();
    ns.veth("10.0.0.1/24");
    ns.run(|| async {
        let mut fib = Fib::new(FibConfig::default()).await.unwrap();
        let r = fib
            .apply(vec![
                up(via("10.244.7.0", 26, &["10.0.0.2"], 0)),
                // Host bits set: refused before reaching the kernel.
                up(via("10.244.8.1", 26, &["10.0.0.2"], 0)),
                // The broadcast address as gateway: the kernel refuses it.
                up(via("10.244.9.0", 26, &["10.0.0.255"], 0)),
                up(blackhole("10.244.10.0", 26)),
            ])
            .await;
        assert_eq!(r.installed, 2, "{r:?}");
        assert_eq!(r.failures.len(), 2, "{r:?}");
        assert!(
            r.failures
                .iter()
                .any(|f| matches!(f.error, FibError::Kernel(22))
                    && f.prefix == (ip("10.244.9.0"), 26)),
            "{r:?}"
        );
        assert_eq!(ns.routes_to("10.244.7.0/26").len(), 1);
        assert_eq!(ns.routes_to("10.244.10.0/26").len(), 1);
    });
}

#[test]
fn a_disabled_fib_touches_nothing() {
    let ns = Netns::new();
    ns.veth("10.0.0.1/24");
    let before = ns.routes(false);
    ns.run(|| async {
        let mut fib = Fib::disabled(FibConfig::default());
        let r = fib
            .apply(vec![
                up(via("10.244.1.0", 26, &["10.0.0.12"], 0)),
                up(blackhole("10.244.0.0", 26)),
            ])
            .await;
        assert_eq!(r.installed, 2);
        assert_eq!(fib.installed().count(), 2);
        assert!(!fib.is_enabled());
    });
    assert_eq!(ns.routes(false), before);
}

#[test]
fn a_route_waiting_for_an_occupied_key_goes_in_when_the_key_frees() {
    let ns = Netns::new();
    ns.veth("10.0.0.1/24");
    ns.ip("route add 10.8.0.0/24 via 10.0.0.2 proto static");
    ns.run(|| async {
        let mut fib = Fib::new(FibConfig::default()).await.unwrap();
        fib.apply(vec![up(via("10.8.0.0", 24, &["10.0.0.9"], 0))])
            .await;
        assert_eq!(fib.counters().pending, 1);
        ns.ip("route del 10.8.0.0/24 proto static");
        let started = std::time::Instant::now();
        while fib.counters().pending > 0 {
            assert!(started.elapsed() < Duration::from_secs(10));
            fib.next_event().await.unwrap();
            fib.retry_pending().await;
        }
        let k = ns.route_to("10.8.0.0/24");
        assert_eq!(
            (&k["gateway"], &k["protocol"]),
            (&"10.0.0.9".into(), &"bird".into())
        );
    });
}

#[test]
fn the_protocol_number_is_configurable_and_bird_routes_become_alien() {
    let ns = Netns::new();
    ns.veth("10.0.0.1/24");
    ns.ip("route add 10.9.0.0/24 via 10.0.0.2 proto bird");
    ns.run(|| async {
        let config = FibConfig {
            protocol: 200,
            ..FibConfig::default()
        };
        let mut fib = Fib::new(config).await.unwrap();
        assert!(fib.adopt().await.unwrap().is_empty());
        let r = fib
            .apply(vec![up(via("10.244.1.0", 26, &["10.0.0.12"], 0))])
            .await;
        assert_eq!(r.installed, 1);
        assert_eq!(ns.route_to("10.244.1.0/26")["protocol"], "200");
        fib.remove_stale(&HashSet::new()).await;
        assert_eq!(ns.route_to("10.9.0.0/24")["protocol"], "bird");
    });
}

#[test]
fn an_onlink_route_waits_for_its_device_to_exist_and_come_up() {
    let ns = Netns::new();
    ns.run(|| async {
        let mut fib = Fib::new(FibConfig::default()).await.unwrap();
        let route = FibRoute {
            prefix: (ip("10.244.3.0"), 26),
            action: FibAction::Unicast(vec![FibNextHop::onlink(
                ip("192.168.7.7"),
                "tunl0",
            )]),
            metric: 0,
        };
        let r = fib.apply(vec![up(route)]).await;
        assert!(r.failures.is_empty(), "{r:?}");
        assert_eq!(fib.counters().pending, 1);
        if !ns.try_ip("link add tunl0 type ipip") {
            ns.ip("tuntap add mode tun name tunl0");
        }
        // Exists but down: still waiting.
        fib.next_event().await.unwrap();
        fib.retry_pending().await;
        assert_eq!(fib.counters().pending, 1);
        ns.ip("link set tunl0 up");
        let started = std::time::Instant::now();
        while fib.counters().pending > 0 {
            assert!(started.elapsed() < Duration::from_secs(10));
            fib.next_event().await.unwrap();
            fib.retry_pending().await;
        }
        assert_eq!(ns.route_to("10.244.3.0/26")["dev"], "tunl0");
    });
}

#[test]
fn failures_inside_pipelined_batches_name_the_right_routes() {
    let ns = Netns::new();
    ns.veth("10.0.0.1/24");
    ns.run(|| async {
        let config = FibConfig {
            batch_size: 16,
            in_flight: 4,
            ..FibConfig::default()
        };
        let mut fib = Fib::new(config).await.unwrap();
        let changes: Vec<FibChange> = (0u32..1000)
            .map(|i| {
                let dst = std::net::Ipv4Addr::from(0x6440_0000 + i);
                let gw = if i % 97 == 0 {
                    "10.0.0.255"
                } else {
                    "10.0.0.2"
                };
                up(via(&dst.to_string(), 32, &[gw], 0))
            })
            .collect();
        let r = fib.apply(changes).await;
        let mut failed: Vec<IpAddr> =
            r.failures.iter().map(|f| f.prefix.0).collect();
        failed.sort();
        let expected: Vec<IpAddr> = (0u32..1000)
            .filter(|i| i % 97 == 0)
            .map(|i| IpAddr::from(std::net::Ipv4Addr::from(0x6440_0000 + i)))
            .collect();
        assert_eq!(failed, expected);
        assert_eq!(r.installed, 1000 - expected.len());
        assert_eq!(
            ns.routes(false)
                .iter()
                .filter(|r| r["protocol"] == "bird")
                .count(),
            r.installed
        );
    });
}

#[test]
fn a_route_of_ours_deleted_by_someone_else_is_reinstalled() {
    let ns = Netns::new();
    ns.veth("10.0.0.1/24");
    ns.run(|| async {
        let mut fib = Fib::new(FibConfig::default()).await.unwrap();
        let route = via("10.244.1.0", 26, &["10.0.0.12"], 0);
        fib.apply(vec![up(route.clone())]).await;
        // Our own delete and re-add must not look like someone else's.
        fib.apply(vec![FibChange::Remove(route.prefix)]).await;
        fib.apply(vec![up(route.clone())]).await;
        fib.next_event().await.unwrap();
        let r = fib.retry_pending().await;
        assert_eq!((r.installed, r.failures.len()), (0, 0), "{r:?}");
        assert_eq!(fib.counters().pending, 0);

        ns.ip("route del 10.244.1.0/26 proto bird");
        let started = std::time::Instant::now();
        while ns.routes_to("10.244.1.0/26").is_empty() {
            assert!(started.elapsed() < Duration::from_secs(10));
            fib.next_event().await.unwrap();
            fib.retry_pending().await;
        }
        assert_eq!(fib.counters().installed, 3);
    });
}

#[test]
fn two_routes_of_ours_at_different_metrics_resolve_to_the_wanted_one() {
    let ns = Netns::new();
    ns.veth("10.0.0.1/24");
    ns.ip("route add 10.9.0.0/24 via 10.0.0.2 proto bird");
    ns.ip("route add 10.9.0.0/24 via 10.0.0.3 proto bird metric 1024");
    ns.run(|| async {
        let mut fib = Fib::new(FibConfig::default()).await.unwrap();
        assert_eq!(fib.adopt().await.unwrap().len(), 2);
        for metric in [1024, 0] {
            let r = fib
                .apply(vec![up(via("10.9.0.0", 24, &["10.0.0.4"], metric))])
                .await;
            assert!(r.failures.is_empty(), "{r:?}");
            assert_eq!(fib.counters().pending, 0);
        }
        fib.remove_stale(&HashSet::new()).await;
        let k = ns.route_to("10.9.0.0/24");
        assert_eq!(k["gateway"], "10.0.0.4");
        assert!(k.get("metric").is_none(), "{k}");
    });
}

#[test]
fn an_ipv6_link_local_next_hop_needs_its_device() {
    let ns = Netns::new();
    ns.veth("fd00::1/64");
    ns.run(|| async {
        let mut fib = Fib::new(FibConfig::default()).await.unwrap();
        let hop = FibNextHop {
            device: Some("v0".into()),
            ..FibNextHop::via(ip("fe80::1"))
        };
        let route = FibRoute {
            prefix: (ip("fd00:30::"), 64),
            action: FibAction::Unicast(vec![hop]),
            metric: 0,
        };
        let r = fib.apply(vec![up(route)]).await;
        assert!(r.failures.is_empty(), "{r:?}");
        assert_eq!(r.installed, 1);
        let k = ns.route_to("fd00:30::/64");
        assert_eq!(
            (&k["gateway"], &k["dev"]),
            (&"fe80::1".into(), &"v0".into())
        );

        // Without a device it cannot be resolved: it waits.
        let r = fib
            .apply(vec![up(via("fd00:31::", 64, &["fe80::1"], 0))])
            .await;
        assert_eq!((r.installed, r.pending), (0, 1), "{r:?}");
    });
}
