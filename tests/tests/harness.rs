//! Proves the e2e harness against real daemons, without bgplet: BIRD
//! talks to GoBGP and to FRR across veth-linked namespaces, routes with
//! 4-octet ASNs and communities arrive intact, withdrawals propagate,
//! TCP-MD5 is enforced, and the raw peer speaks enough BGP.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bgplet_tests::*;

const UP: Duration = Duration::from_secs(30);
const ROUTE: Duration = Duration::from_secs(20);

const BIRD_AS: u32 = 4200000001;
const GOBGP_AS: u32 = 65002;
const FRR_AS: u32 = 65003;

fn bird_tools() -> Vec<&'static str> {
    vec!["ip", "bird", "birdc"]
}

/// BIRD in `a`, originating one IPv4 and one IPv6 route with a standard
/// and a large community, peering with `peer` on `link`.
fn bird_originating(a: &Netns, link: &Link, peer_as: u32) -> Bird {
    let cfg = BirdConfig::new(link.a_v4, BIRD_AS)
        .neighbor(
            BirdNeighbor::new("peer1", link.b_v4, peer_as)
                .local_address(link.a_v4),
        )
        .static_route(
            StaticRoute::new("10.1.0.0/24")
                .community("65000:1")
                .community("65000:20")
                .large_community("4200000001:1:2"),
        )
        .static_route(
            StaticRoute::new("fd10:1::/64")
                .community("65000:1")
                .large_community("4200000001:1:2"),
        );
    Bird::start(a, cfg).unwrap()
}

fn assert_bird_route(r: &Route, next_hop: String) {
    assert_eq!(r.as_path, vec![BIRD_AS]);
    assert_eq!(r.next_hop, next_hop);
    assert_eq!(r.large_communities, vec!["4200000001:1:2"]);
}

#[test]
fn bird_and_gobgp_exchange_ipv4_and_ipv6_routes_and_withdrawals() {
    let mut tools = bird_tools();
    tools.extend(["gobgpd", "gobgp"]);
    require_tools(&tools).unwrap();
    let (a, b) = (Netns::new().unwrap(), Netns::new().unwrap());
    let l = link(&a, &b, 0).unwrap();
    let mut bird = bird_originating(&a, &l, GOBGP_AS);
    let gobgp = Gobgp::start(
        &b,
        GobgpConfig::new(l.b_v4, GOBGP_AS)
            .neighbor(GobgpNeighbor::new(l.a_v4, BIRD_AS)),
    )
    .unwrap();

    bird.wait_established(&l.b_v4.to_string(), UP).unwrap();
    gobgp.wait_established(&l.a_v4.to_string(), UP).unwrap();

    // BIRD -> GoBGP, both families over the one IPv4 session (MP-BGP).
    let r4 = gobgp.wait_route("10.1.0.0/24", ROUTE).unwrap();
    assert_bird_route(&r4, l.a_v4.to_string());
    assert_eq!(r4.communities, vec!["65000:1", "65000:20"]);
    let r6 = gobgp.wait_route("fd10:1::/64", ROUTE).unwrap();
    assert_bird_route(&r6, l.a_v6.to_string());
    assert_eq!(r6.communities, vec!["65000:1"]);

    // GoBGP -> BIRD, with MED.
    for (prefix, nh) in [
        ("10.2.0.0/24", l.b_v4.to_string()),
        ("fd10:2::/64", l.b_v6.to_string()),
    ] {
        let mut route = GobgpRoute::new(prefix)
            .community("65002:7")
            .large_community("4200000002:3:4")
            .med(20);
        if prefix.contains(':') {
            route = route.next_hop(&nh);
        }
        gobgp.add_route(&route).unwrap();
        let got = bird.wait_route(prefix, ROUTE).unwrap();
        assert_eq!(got.as_path, vec![GOBGP_AS]);
        assert_eq!(got.next_hop, nh);
        assert_eq!(got.communities, vec!["65002:7"]);
        assert_eq!(got.large_communities, vec!["4200000002:3:4"]);
        assert_eq!(got.med, Some(20));
    }

    // Withdrawals both ways.
    gobgp.del_route("10.2.0.0/24").unwrap();
    gobgp.del_route("fd10:2::/64").unwrap();
    bird.wait_withdrawn("10.2.0.0/24", ROUTE).unwrap();
    bird.wait_withdrawn("fd10:2::/64", ROUTE).unwrap();
    let mut cfg = bird.config().clone();
    cfg.static_routes.retain(|r| r.prefix != "10.1.0.0/24");
    bird.reconfigure(cfg).unwrap();
    gobgp.wait_withdrawn("10.1.0.0/24", ROUTE).unwrap();
    assert!(gobgp.route("fd10:1::/64").unwrap().is_some());
}

#[test]
fn bird_and_frr_exchange_ipv4_and_ipv6_routes_and_withdrawals() {
    let mut tools = bird_tools();
    tools.extend(["/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh"]);
    require_tools(&tools).unwrap();
    let (a, c) = (Netns::new().unwrap(), Netns::new().unwrap());
    let l = link(&a, &c, 1).unwrap();
    let bird = bird_originating(&a, &l, FRR_AS);
    let frr = Frr::start(
        &c,
        FrrConfig::new(l.b_v4, FRR_AS)
            .neighbor(FrrNeighbor::new(l.a_v4, BIRD_AS))
            .network(
                FrrNetwork::new("10.3.0.0/24")
                    .community("65003:9")
                    .large_community("4200000003:5:6")
                    .med(7),
            )
            .network(
                FrrNetwork::new("fd10:3::/64")
                    .community("65003:9")
                    .large_community("4200000003:5:6"),
            ),
    )
    .unwrap();

    bird.wait_established(&l.b_v4.to_string(), UP).unwrap();
    frr.wait_established(&l.a_v4.to_string(), UP).unwrap();

    let r4 = frr.wait_route("10.1.0.0/24", ROUTE).unwrap();
    assert_bird_route(&r4, l.a_v4.to_string());
    assert_eq!(r4.communities, vec!["65000:1", "65000:20"]);
    let r6 = frr.wait_route("fd10:1::/64", ROUTE).unwrap();
    assert_bird_route(&r6, l.a_v6.to_string());

    for (prefix, nh, med) in [
        ("10.3.0.0/24", l.b_v4.to_string(), Some(7)),
        ("fd10:3::/64", l.b_v6.to_string(), Some(0)),
    ] {
        let got = bird.wait_route(prefix, ROUTE).unwrap();
        assert_eq!(got.as_path, vec![FRR_AS]);
        assert_eq!(got.next_hop, nh);
        assert_eq!(got.communities, vec!["65003:9"]);
        assert_eq!(got.large_communities, vec!["4200000003:5:6"]);
        assert_eq!(got.med, med, "{prefix}");
    }

    frr.remove_network("10.3.0.0/24").unwrap();
    bird.wait_withdrawn("10.3.0.0/24", ROUTE).unwrap();
    frr.add_network(&FrrNetwork::new("10.4.0.0/24").community("65003:10"))
        .unwrap();
    let got = bird.wait_route("10.4.0.0/24", ROUTE).unwrap();
    assert_eq!(got.communities, vec!["65003:10"]);
}

/// BIRD (passive) and GoBGP with TCP-MD5 passwords.
fn md5_pair(bird_pw: &str, gobgp_pw: &str) -> (Link, Bird, Gobgp) {
    let mut tools = bird_tools();
    tools.extend(["gobgpd", "gobgp"]);
    require_tools(&tools).unwrap();
    let (a, b) = (Netns::new().unwrap(), Netns::new().unwrap());
    let l = link(&a, &b, 0).unwrap();
    let bird = Bird::start(
        &a,
        BirdConfig::new(l.a_v4, BIRD_AS).neighbor(
            BirdNeighbor::new("peer1", l.b_v4, GOBGP_AS)
                .local_address(l.a_v4)
                .password(bird_pw)
                .ipv4_only(),
        ),
    )
    .unwrap();
    let gobgp = Gobgp::start(
        &b,
        GobgpConfig::new(l.b_v4, GOBGP_AS).neighbor(
            GobgpNeighbor::new(l.a_v4, BIRD_AS)
                .password(gobgp_pw)
                .ipv4_only(),
        ),
    )
    .unwrap();
    (l, bird, gobgp)
}

#[test]
fn md5_session_with_matching_passwords_is_established() {
    let (l, bird, gobgp) = md5_pair("s3cret", "s3cret");
    bird.wait_established(&l.b_v4.to_string(), UP).unwrap();
    gobgp.wait_established(&l.a_v4.to_string(), UP).unwrap();
}

#[test]
fn md5_session_with_a_wrong_password_stays_down_until_the_passwords_match() {
    let (l, mut bird, gobgp) = md5_pair("s3cret", "wrong");
    // Several connect-retry rounds (2 s) from both sides.
    bird.assert_not_established_for(
        &l.b_v4.to_string(),
        Duration::from_secs(6),
    )
    .unwrap();
    assert!(!gobgp.is_established(&l.a_v4.to_string()).unwrap());
    // The same lab comes up once BIRD uses GoBGP's password, so the
    // failure above was the password and nothing else.
    let mut cfg = bird.config().clone();
    cfg.neighbors[0].password = Some("wrong".into());
    bird.reconfigure(cfg).unwrap();
    bird.wait_established(&l.b_v4.to_string(), UP).unwrap();
}

#[test]
fn raw_peer_reaches_established_with_bird_and_gets_notified_on_a_bad_marker() {
    require_tools(&bird_tools()).unwrap();
    let (a, b) = (Netns::new().unwrap(), Netns::new().unwrap());
    let l = link(&a, &b, 0).unwrap();
    let bird = Bird::start(
        &a,
        BirdConfig::new(l.a_v4, BIRD_AS)
            .neighbor(
                BirdNeighbor::new("raw", l.b_v4, 4200000002)
                    .local_address(l.a_v4)
                    .passive(),
            )
            .static_route(StaticRoute::new("10.1.0.0/24")),
    )
    .unwrap();
    let to = SocketAddr::from((l.a_v4, 179));
    let mut peer = RawPeer::connect_retry(&b, to, UP).unwrap();
    let open = OpenBuilder::standard(4200000002, 9, Ipv4Addr::new(9, 9, 9, 9));
    let theirs = peer.handshake(&open, Duration::from_secs(10)).unwrap();
    let (version, my_as, hold, id) = theirs.open_fields().unwrap();
    assert_eq!((version, my_as, id), (4, 23456, l.a_v4));
    assert!(hold >= 3);
    bird.wait_established(&l.b_v4.to_string(), UP).unwrap();

    // BIRD announces its static route to us.
    let mut got_update = false;
    for m in peer.assert_stays_open(Duration::from_secs(2)).unwrap() {
        got_update |= m.kind == MessageType::Update && m.body.len() > 4;
    }
    assert!(got_update, "no UPDATE from BIRD");

    // A KEEPALIVE with a broken marker: Message Header Error /
    // Connection Not Synchronized (RFC 4271 6.1).
    let mut bad = message(4, &[]);
    bad[0] = 0;
    peer.send(&bad).unwrap();
    let (code, subcode, _) =
        peer.expect_notification(Duration::from_secs(10)).unwrap();
    assert_eq!((code, subcode), (1, 1));
}

#[test]
fn raw_listener_accepts_bird_and_reads_its_open() {
    require_tools(&bird_tools()).unwrap();
    let (a, b) = (Netns::new().unwrap(), Netns::new().unwrap());
    let l = link(&a, &b, 0).unwrap();
    let listener =
        RawListener::bind(&a, SocketAddr::from((l.a_v4, 179))).unwrap();
    let _bird = Bird::start(
        &b,
        BirdConfig::new(l.b_v4, BIRD_AS).neighbor(
            BirdNeighbor::new("raw", l.a_v4, GOBGP_AS).local_address(l.b_v4),
        ),
    )
    .unwrap();
    let mut peer = listener.accept(UP).unwrap();
    let m = peer.recv(Duration::from_secs(10)).unwrap().unwrap();
    assert_eq!(m.kind, MessageType::Open);
    let (_, my_as, hold, id) = m.open_fields().unwrap();
    // 4-octet AS: AS_TRANS in the 2-octet field (RFC 6793 4.1).
    assert_eq!((my_as, hold, id), (23456, 9, l.b_v4));
    // An OPEN with an unsupported version: OPEN Message Error /
    // Unsupported Version Number (RFC 4271 6.2).
    peer.send_open(&OpenBuilder::standard(GOBGP_AS, 9, l.a_v4).version(3))
        .unwrap();
    let (code, subcode, _) =
        peer.expect_notification(Duration::from_secs(10)).unwrap();
    assert_eq!((code, subcode), (2, 1));
}

#[test]
fn dropping_a_lab_removes_its_namespaces_and_daemons() {
    require_tools(&bird_tools()).unwrap();
    let a = Netns::new().unwrap();
    let name = a.name().to_string();
    let bird =
        Bird::start(&a, BirdConfig::new(Ipv4Addr::new(10, 9, 9, 9), 65001))
            .unwrap();
    let pids = a.pids();
    assert!(!pids.is_empty());
    let dir = bird.dir().to_path_buf();
    drop(a);
    // The adapter still holds the namespace.
    assert!(std::path::Path::new(&format!("/run/netns/{name}")).exists());
    drop(bird);
    assert!(!std::path::Path::new(&format!("/run/netns/{name}")).exists());
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
        // Gone, or at most a zombie of another thread's child.
        assert!(stat.map_or(true, |s| s.contains(") Z ")), "pid {pid} alive");
    }
    assert!(!dir.exists());
}

#[test]
fn stale_namespaces_of_dead_processes_are_swept() {
    require_root().unwrap();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let name = format!("blt{dead:x}_999");
    let out = std::process::Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .unwrap();
    assert!(out.success());
    let removed = cleanup_stale().unwrap();
    assert!(removed.contains(&name), "{removed:?}");
    assert!(!std::path::Path::new(&format!("/run/netns/{name}")).exists());
}

#[test]
fn wait_until_reports_a_timeout_with_the_last_error() {
    let err = wait_until(
        Duration::from_millis(100),
        Duration::from_millis(20),
        || anyhow::bail!("not yet"),
    )
    .unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("timed out"), "{text}");
    assert!(text.contains("not yet"), "{text}");
}

/// A shell stand-in for `bgplet` that honours the CLI contract, so the
/// adapter's plumbing is checked before the daemon exists.
const FAKE_BGPLET: &str = r#"#!/bin/sh
cmd=$1; shift
sock=""; res=""; node=""
while [ $# -gt 0 ]; do
  case "$1" in
    --control-socket) sock=$2; shift ;;
    --resources) res=$2; shift ;;
    --node) node=$2; shift ;;
  esac
  shift
done
case "$cmd" in
  run)
    echo "fake bgplet: node $node, $(grep -c '^---$' "$res") documents"
    : > "$sock"
    exec sleep 300 ;;
  status)
    echo '{"peers":[{"name":"Global_10_0_0_2","peer_address":"10.0.0.2","type":"global","state":"Established","since":"2026-01-01T00:00:00Z","info":""}]}' ;;
  routes)
    echo '{"routes":[{"prefix":"10.1.0.0/24","paths":[{"peer":"Global_10_0_0_2","peer_address":"10.0.0.2","path_id":0,"best":true,"origin":"igp","as_path":[65000],"next_hop":"10.0.0.2","med":null,"local_pref":null,"communities":["65000:1"],"large_communities":["4200000001:1:2"],"ext_communities":[],"originator_id":null,"cluster_list":[],"unknown":[]}]}]}' ;;
esac
"#;

fn sample_resources() -> Resources {
    Resources::new()
        .bgp_configuration(64512, Some(179), false)
        .node(
            &CalicoNode::new("node-a", "10.0.0.1/24")
                .ipv6_address("fd00::1/64")
                .label("rack", "r1"),
        )
        .bgp_peer(&CalicoPeer::new("tor", "10.0.0.2", 65000).password("pw"))
        .ip_pool("pool4", "10.1.0.0/16")
        .block_affinity("node-a", "10.1.0.0/24")
}

#[test]
fn bgplet_adapter_drives_a_stand_in_binary_through_the_cli_contract() {
    require_root().unwrap();
    let dir = TestDir::new("fakebin").unwrap();
    let bin = dir.write("bgplet", FAKE_BGPLET).unwrap();
    std::process::Command::new("chmod")
        .args(["755", bin.to_str().unwrap()])
        .status()
        .unwrap();
    let ns = Netns::new().unwrap();
    let opts = BgpletOptions {
        binary: Some(bin),
        ..Default::default()
    };
    let b =
        Bgplet::start_with(&ns, &sample_resources(), "node-a", &opts).unwrap();
    b.wait_established("10.0.0.2", Duration::from_secs(5))
        .unwrap();
    let r = b.wait_route("10.1.0.0/24", Duration::from_secs(5)).unwrap();
    assert_eq!(r.as_path, vec![65000]);
    assert_eq!(r.large_communities, vec!["4200000001:1:2"]);
    assert!(b.log_tail(5).contains("node node-a, 6 documents"));
    assert_eq!(ns.pids().len(), 1);
}

#[test]
fn calico_resources_yaml_is_read_by_an_independent_yaml_parser() {
    require_tools(&["python3"]).unwrap();
    let dir = TestDir::new("yaml").unwrap();
    let file = dir.join("resources.yaml");
    sample_resources().write_to(&file).unwrap();
    let script = "import sys, json, yaml\n\
                  docs = list(yaml.safe_load_all(open(sys.argv[1])))\n\
                  print(json.dumps(docs))";
    let out = std::process::Command::new("python3")
        .args(["-c", script, file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python3 with PyYAML (python3-yaml) is needed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected = serde_json::Value::Array(sample_resources().docs().to_vec());
    assert_eq!(docs, expected);
}

#[test]
fn bird_and_frr_peer_over_an_ipv6_session() {
    let mut tools = bird_tools();
    tools.extend(["/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh"]);
    require_tools(&tools).unwrap();
    let (a, c) = (Netns::new().unwrap(), Netns::new().unwrap());
    let l = link(&a, &c, 2).unwrap();
    let bird = Bird::start(
        &a,
        BirdConfig::new(l.a_v4, BIRD_AS)
            .neighbor(
                BirdNeighbor::new("peer6", l.b_v6, FRR_AS)
                    .local_address(l.a_v6)
                    .ipv6_only(),
            )
            .static_route(StaticRoute::new("fd10:1::/64").community("65000:1")),
    )
    .unwrap();
    let frr = Frr::start(
        &c,
        FrrConfig::new(l.b_v4, FRR_AS)
            .neighbor(FrrNeighbor::new(l.a_v6, BIRD_AS).ipv6_only())
            .network(FrrNetwork::new("fd10:3::/64")),
    )
    .unwrap();
    bird.wait_established(&l.b_v6.to_string(), UP).unwrap();
    frr.wait_established(&l.a_v6.to_string(), UP).unwrap();
    let r = frr.wait_route("fd10:1::/64", ROUTE).unwrap();
    assert_eq!(r.next_hop, l.a_v6.to_string());
    assert_eq!(r.communities, vec!["65000:1"]);
    let r = bird.wait_route("fd10:3::/64", ROUTE).unwrap();
    assert_eq!(r.as_path, vec![FRR_AS]);
    assert_eq!(r.next_hop, l.b_v6.to_string());
}
