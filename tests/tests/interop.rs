//! bgplet's BGP speaker against real BIRD 2, GoBGP and FRR.
//!
//! Every lab is two namespaces joined by one veth: bgplet runs as Calico
//! node `node-a` on side A (`10.0.S.1`, `fd00:0:0:S::1`), the other
//! daemon plays the top-of-rack router on side B (`.2`, `::2`). As in a
//! Calico cluster there is one BGPPeer, so one session, per family.
//!
//! Who connects follows Calico's own rule (calico-bgp.md 3.6): the IPv4
//! BGPPeer's address is also the address of a Calico Node (`tor`, same
//! AS) and sorts after ours, so bgplet waits and the peer connects; the
//! IPv6 address is no Calico node's, so bgplet connects and the peer is
//! configured passive. Each daemon test therefore shows both directions
//! of session setup, and checks with `ss` which side opened which.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::net::IpAddr;
use std::time::Duration;

use bgplet_tests::*;

/// Our node's AS: 4-octet, so every peer must speak RFC 6793.
const OUR_AS: u32 = 4200000001;
const BIRD_AS: u32 = 65002;
const GOBGP_AS: u32 = 65003;
/// FRR gets a 4-octet AS too: both sides above 65535.
const FRR_AS: u32 = 4200000004;
const NODE: &str = "node-a";

const UP: Duration = Duration::from_secs(30);
const ROUTE: Duration = Duration::from_secs(15);

/// This node's IPAM blocks; the second of each family is removed
/// later to see the withdrawal.
const BLOCKS: [&str; 4] = [
    "10.244.0.0/26",
    "10.244.0.64/26",
    "fd10:244::/122",
    "fd10:244::40/122",
];

/// What the peer originates: one route per family with every attribute
/// under test, and a plain IPv4 one that must survive the withdrawal.
const PEER_V4: &str = "10.20.0.0/24";
const PEER_V4_PLAIN: &str = "10.21.0.0/24";
const PEER_V6: &str = "fd10:20::/64";
const PEER_COMMUNITIES: [&str; 2] = ["65010:1", "65010:2"];
const PEER_LARGE: &str = "4200000099:3:4";
const PEER_MED: u32 = 50;

fn bird_tools() -> Vec<&'static str> {
    vec!["ip", "ss", "bird", "birdc"]
}

/// How the Calico resources describe the lab.
#[derive(Clone)]
struct Spec {
    peer_as: u32,
    /// Make the peer's IPv4 address a Calico node's, so bgplet is
    /// passive on IPv4.
    tor_node: bool,
    /// Plan the IPv6 session too.
    v6: bool,
    /// TCP-MD5 passwords of the IPv4 and IPv6 BGPPeers.
    passwords: (Option<String>, Option<String>),
    blocks: Vec<&'static str>,
}

impl Spec {
    fn new(peer_as: u32) -> Spec {
        Spec {
            peer_as,
            tor_node: true,
            v6: true,
            passwords: (None, None),
            blocks: BLOCKS.to_vec(),
        }
    }

    /// The resources file: BGPConfiguration with communities and
    /// prefixAdvertisements, our node (and `tor`), one global BGPPeer
    /// per family, the pools and our blocks.
    fn resources(&self, l: &Link) -> Resources {
        let mut node = CalicoNode::new(NODE, &l.a_v4_cidr());
        if self.v6 {
            node = node.ipv6_address(&l.a_v6_cidr());
        }
        let mut r = Resources::new()
            .bgp_configuration(OUR_AS, None, false)
            .community("pods", "65100:100")
            .community("rack", "4200000001:7:8")
            .prefix_advertisement(
                "10.244.0.0/16",
                &["pods", "rack", "65100:200"],
            )
            .prefix_advertisement("fd10:244::/48", &["pods", "rack"])
            .node(&node);
        if self.tor_node {
            r = r.node(
                &CalicoNode::new("tor", &l.b_v4_cidr()).as_number(self.peer_as),
            );
        }
        let mut v4 =
            CalicoPeer::new("tor-v4", &l.b_v4.to_string(), self.peer_as);
        if let Some(p) = &self.passwords.0 {
            v4 = v4.password(p);
        }
        r = r.bgp_peer(&v4);
        if self.v6 {
            let mut v6 =
                CalicoPeer::new("tor-v6", &l.b_v6.to_string(), self.peer_as);
            if let Some(p) = &self.passwords.1 {
                v6 = v6.password(p);
            }
            r = r.bgp_peer(&v6);
        }
        r = r
            .ip_pool("pool-v4", "10.244.0.0/16")
            .ip_pool("pool-v6", "fd10:244::/48");
        for b in &self.blocks {
            r = r.block_affinity(NODE, b);
        }
        r
    }
}

/// Fails unless bgplet's TCP connection with `peer` was opened by the
/// side `we_connected` says: the connecting side has the ephemeral port.
fn assert_initiator(bgplet: &Bgplet, peer: IpAddr, we_connected: bool) {
    let conns = bgplet.netns().tcp_established().unwrap();
    let conn = conns
        .iter()
        .find(|(_, remote)| remote.ip() == peer)
        .unwrap_or_else(|| panic!("no TCP connection with {peer}: {conns:?}"));
    if we_connected {
        assert_eq!(
            conn.1.port(),
            179,
            "bgplet should have connected: {conn:?}"
        );
    } else {
        assert_eq!(
            conn.0.port(),
            179,
            "{peer} should have connected: {conn:?}"
        );
    }
}

/// The row of `bgplet status -o json` for `addr`.
fn status_row(bgplet: &Bgplet, addr: IpAddr) -> BgpletPeer {
    bgplet
        .status()
        .unwrap()
        .peers
        .into_iter()
        .find(|p| p.peer_address == addr.to_string())
        .unwrap_or_else(|| panic!("no status row for {addr}"))
}

/// Both sessions come up, each opened by the side Calico's rule says,
/// and both daemons' CLIs agree.
fn assert_sessions_up(bgplet: &Bgplet, peer: &dyn Speaker, l: &Link) {
    let pairs: [(IpAddr, IpAddr); 2] = [
        (l.a_v4.into(), l.b_v4.into()),
        (l.a_v6.into(), l.b_v6.into()),
    ];
    for (ours, theirs) in pairs {
        bgplet.wait_established(&theirs.to_string(), UP).unwrap();
        peer.wait_established(&ours.to_string(), UP).unwrap();
    }
    let v4 = status_row(bgplet, l.b_v4.into());
    assert_eq!(
        v4.name,
        format!("Global_{}", l.b_v4.to_string().replace('.', "_"))
    );
    assert_eq!(v4.kind, "global");
    assert_initiator(bgplet, l.b_v4.into(), false);
    assert_initiator(bgplet, l.b_v6.into(), true);
}

/// What bgplet must show for the peer's attribute-laden routes.
fn assert_received(bgplet: &Bgplet, l: &Link, peer_as: u32) {
    for (prefix, nh, communities) in [
        (PEER_V4, l.b_v4.to_string(), PEER_COMMUNITIES.to_vec()),
        (PEER_V6, l.b_v6.to_string(), PEER_COMMUNITIES[..1].to_vec()),
    ] {
        let r = bgplet.wait_route(prefix, ROUTE).unwrap();
        assert_eq!(r.as_path, vec![peer_as], "{prefix}");
        assert_eq!(r.next_hop, nh, "{prefix}");
        assert_eq!(r.communities, communities, "{prefix}");
        assert_eq!(r.large_communities, vec![PEER_LARGE], "{prefix}");
        assert_eq!(r.med, Some(PEER_MED), "{prefix}");
        assert_eq!(r.local_pref, None, "{prefix}: eBGP carries no LOCAL_PREF");
    }
    let plain = bgplet.wait_route(PEER_V4_PLAIN, ROUTE).unwrap();
    assert_eq!(plain.as_path, vec![peer_as]);
    assert!(plain.communities.is_empty() && plain.large_communities.is_empty());
    let path = bgplet
        .paths()
        .unwrap()
        .into_iter()
        .find(|p| p.route.prefix == PEER_V4)
        .unwrap();
    assert_eq!(path.origin, "igp");
    assert_eq!(path.peer_address, l.b_v4.to_string());
}

/// What the peer must show for our blocks: intact communities from
/// `prefixAdvertisements`, AS path [our AS], our address as next hop.
fn assert_announced(peer: &dyn Speaker, l: &Link) {
    for block in BLOCKS {
        let r = peer.wait_route(block, ROUTE).unwrap();
        let (nh, communities) = if block.contains(':') {
            (l.a_v6.to_string(), vec!["65100:100"])
        } else {
            (l.a_v4.to_string(), vec!["65100:100", "65100:200"])
        };
        assert_eq!(r.as_path, vec![OUR_AS], "{block}");
        assert_eq!(r.next_hop, nh, "{block}");
        assert_eq!(r.communities, communities, "{block}");
        assert_eq!(r.large_communities, vec!["4200000001:7:8"], "{block}");
    }
}

/// Removes this node's second block of each family from the file
/// (bgplet re-reads it live) and checks the peer drops exactly those,
/// without either session being reset.
fn withdraw_blocks(bgplet: &Bgplet, peer: &dyn Speaker, l: &Link, spec: &Spec) {
    let since: Vec<String> = [l.b_v4.into(), l.b_v6.into()]
        .into_iter()
        .map(|a| status_row(bgplet, a).since)
        .collect();
    let mut fewer = spec.clone();
    fewer.blocks = vec![BLOCKS[0], BLOCKS[2]];
    bgplet.write_resources(&fewer.resources(l)).unwrap();
    peer.wait_withdrawn(BLOCKS[1], ROUTE).unwrap();
    peer.wait_withdrawn(BLOCKS[3], ROUTE).unwrap();
    assert!(peer.route(BLOCKS[0]).unwrap().is_some());
    assert!(peer.route(BLOCKS[2]).unwrap().is_some());
    let after: Vec<String> = [l.b_v4.into(), l.b_v6.into()]
        .into_iter()
        .map(|a| status_row(bgplet, a).since)
        .collect();
    assert_eq!(since, after, "a block change must not reset the sessions");
}

/// Sessions up and routes both ways, once the peer runs with its two
/// sessions and its routes.
fn sessions_and_routes(
    bgplet: &Bgplet,
    peer: &dyn Speaker,
    l: &Link,
    spec: &Spec,
) {
    assert_sessions_up(bgplet, peer, l);
    assert_received(bgplet, l, spec.peer_as);
    assert_announced(peer, l);
}

/// After the peer withdrew PEER_V4 and PEER_V6: they leave bgplet's
/// table, the plain route stays; then our block withdrawal reaches the
/// peer.
fn withdrawals(bgplet: &mut Bgplet, peer: &dyn Speaker, l: &Link, spec: &Spec) {
    bgplet.wait_withdrawn(PEER_V4, ROUTE).unwrap();
    bgplet.wait_withdrawn(PEER_V6, ROUTE).unwrap();
    assert!(bgplet.route(PEER_V4_PLAIN).unwrap().is_some());
    withdraw_blocks(bgplet, peer, l, spec);
    bgplet.process_mut().check_running().unwrap();
}

fn bird_statics() -> Vec<StaticRoute> {
    let mut v4 = StaticRoute::new(PEER_V4).med(PEER_MED);
    for c in PEER_COMMUNITIES {
        v4 = v4.community(c);
    }
    vec![
        v4.large_community(PEER_LARGE),
        StaticRoute::new(PEER_V4_PLAIN),
        StaticRoute::new(PEER_V6)
            .community(PEER_COMMUNITIES[0])
            .large_community(PEER_LARGE)
            .med(PEER_MED),
    ]
}

/// BIRD's export of its static routes. BIRD sends a MED to an eBGP
/// peer only when the export filter sets it, so the filter re-sets the
/// one the static route carries.
fn bird_export() -> BirdExport {
    BirdExport::Filter(
        "filter { if source != RTS_STATIC then reject; \
         if defined(bgp_med) then bgp_med = bgp_med; accept; }"
            .into(),
    )
}

/// BIRD with an active IPv4 and a passive IPv6 session toward bgplet
/// (hold 9 s, connect retry 2 s).
fn bird_config(l: &Link) -> BirdConfig {
    let mut cfg = BirdConfig::new(l.b_v4, BIRD_AS)
        .neighbor(
            BirdNeighbor::new("node_v4", l.a_v4, OUR_AS)
                .local_address(l.b_v4)
                .ipv4_only()
                .export(bird_export()),
        )
        .neighbor(
            BirdNeighbor::new("node_v6", l.a_v6, OUR_AS)
                .local_address(l.b_v6)
                .ipv6_only()
                .passive()
                .export(bird_export()),
        );
    for r in bird_statics() {
        cfg = cfg.static_route(r);
    }
    cfg
}

#[test]
fn bgplet_and_bird_exchange_routes_with_communities_and_add_path() {
    require_tools(&bird_tools()).unwrap();
    let (a, b) = (Netns::new().unwrap(), Netns::new().unwrap());
    let l = link(&a, &b, 1).unwrap();
    let spec = Spec::new(BIRD_AS);
    // Calico's BIRD template has `add paths on`, and so does bgplet: with
    // BIRD doing the same, the paths travel with ADD-PATH ids both ways.
    let mut cfg = bird_config(&l);
    cfg.neighbors = cfg.neighbors.into_iter().map(|n| n.add_paths()).collect();
    let mut bird = Bird::start(&b, cfg).unwrap();
    let mut bgplet = Bgplet::start(&a, &spec.resources(&l), NODE).unwrap();

    sessions_and_routes(&bgplet, &bird, &l, &spec);
    for prefix in [PEER_V4, PEER_V6] {
        let paths: Vec<BgpletPath> = bgplet
            .paths()
            .unwrap()
            .into_iter()
            .filter(|p| p.route.prefix == prefix)
            .collect();
        assert_eq!(paths.len(), 1, "{paths:?}");
        assert_ne!(paths[0].path_id, 0, "{prefix}: no ADD-PATH id");
    }
    // BIRD agrees: bgplet offered ADD-PATH receive and send.
    for (proto, fam) in [("node_v4", "ipv4"), ("node_v6", "ipv6")] {
        let out = bird.birdc(&["show", "protocols", "all", proto]).unwrap();
        let theirs = out
            .split_once("Neighbor capabilities")
            .and_then(|(_, rest)| rest.split_once("Session:"))
            .map_or("", |(caps, _)| caps);
        assert!(
            theirs.contains("ADD-PATH")
                && theirs.contains(&format!("RX: {fam}"))
                && theirs.contains(&format!("TX: {fam}")),
            "{proto}: {out}"
        );
    }
    let mut cfg = bird.config().clone();
    cfg.static_routes
        .retain(|r| r.prefix != PEER_V4 && r.prefix != PEER_V6);
    bird.reconfigure(cfg).unwrap();
    withdrawals(&mut bgplet, &bird, &l, &spec);
}

#[test]
fn bgplet_and_gobgp_exchange_routes_with_communities_over_both_families() {
    require_tools(&["ip", "ss", "gobgpd", "gobgp"]).unwrap();
    let (a, b) = (Netns::new().unwrap(), Netns::new().unwrap());
    let l = link(&a, &b, 2).unwrap();
    let spec = Spec::new(GOBGP_AS);
    let gobgp = Gobgp::start(
        &b,
        GobgpConfig::new(l.b_v4, GOBGP_AS)
            .neighbor(GobgpNeighbor::new(l.a_v4, OUR_AS).ipv4_only())
            .neighbor(GobgpNeighbor::new(l.a_v6, OUR_AS).ipv6_only().passive()),
    )
    .unwrap();
    let mut v4 = GobgpRoute::new(PEER_V4).med(PEER_MED);
    for c in PEER_COMMUNITIES {
        v4 = v4.community(c);
    }
    gobgp.add_route(&v4.large_community(PEER_LARGE)).unwrap();
    gobgp.add_route(&GobgpRoute::new(PEER_V4_PLAIN)).unwrap();
    gobgp
        .add_route(
            &GobgpRoute::new(PEER_V6)
                .next_hop(l.b_v6)
                .community(PEER_COMMUNITIES[0])
                .large_community(PEER_LARGE)
                .med(PEER_MED),
        )
        .unwrap();
    let mut bgplet = Bgplet::start(&a, &spec.resources(&l), NODE).unwrap();
    sessions_and_routes(&bgplet, &gobgp, &l, &spec);
    gobgp.del_route(PEER_V4).unwrap();
    gobgp.del_route(PEER_V6).unwrap();
    withdrawals(&mut bgplet, &gobgp, &l, &spec);
}

#[test]
fn bgplet_and_frr_exchange_routes_with_communities_over_both_families() {
    require_tools(&[
        "ip",
        "ss",
        "/usr/lib/frr/zebra",
        "/usr/lib/frr/bgpd",
        "vtysh",
    ])
    .unwrap();
    let (a, b) = (Netns::new().unwrap(), Netns::new().unwrap());
    let l = link(&a, &b, 3).unwrap();
    let spec = Spec::new(FRR_AS);
    let mut v4 = FrrNetwork::new(PEER_V4).med(PEER_MED);
    for c in PEER_COMMUNITIES {
        v4 = v4.community(c);
    }
    let frr = Frr::start(
        &b,
        FrrConfig::new(l.b_v4, FRR_AS)
            .neighbor(FrrNeighbor::new(l.a_v4, OUR_AS).ipv4_only())
            .neighbor(FrrNeighbor::new(l.a_v6, OUR_AS).ipv6_only().passive())
            .network(v4.large_community(PEER_LARGE))
            .network(FrrNetwork::new(PEER_V4_PLAIN))
            .network(
                FrrNetwork::new(PEER_V6)
                    .community(PEER_COMMUNITIES[0])
                    .large_community(PEER_LARGE)
                    .med(PEER_MED),
            ),
    )
    .unwrap();
    let mut bgplet = Bgplet::start(&a, &spec.resources(&l), NODE).unwrap();
    sessions_and_routes(&bgplet, &frr, &l, &spec);
    frr.remove_network(PEER_V4).unwrap();
    frr.remove_network(PEER_V6).unwrap();
    withdrawals(&mut bgplet, &frr, &l, &spec);
}

/// The negotiated hold time in the freeze tests: the peer proposes it,
/// bgplet proposes 240 s, the smaller wins (RFC 4271 section 4.2).
const FREEZE_HOLD: u16 = 6;

/// The lab of the freeze tests: IPv4 only, bgplet connects (no `tor`
/// node), one block.
fn freeze_spec(peer_as: u32) -> Spec {
    let mut spec = Spec::new(peer_as);
    spec.tor_node = false;
    spec.v6 = false;
    spec.blocks = vec![BLOCKS[0]];
    spec
}

/// A peer that hangs (SIGSTOP: its sockets stay open, the kernel still
/// ACKs, but nothing is read or sent) is caught by the hold timer
/// alone: bgplet leaves Established within the negotiated hold time and
/// drops the peer's routes; after SIGCONT the session and the routes
/// come back, both ways.
fn frozen_peer_is_caught_by_the_hold_timer(
    bgplet: &mut Bgplet,
    peer: &dyn Speaker,
    pid: u32,
    l: &Link,
) {
    let hold = u64::from(FREEZE_HOLD);
    let addr = l.b_v4.to_string();
    bgplet.wait_established(&addr, UP).unwrap();
    peer.wait_established(&l.a_v4.to_string(), UP).unwrap();
    bgplet.wait_route(PEER_V4, ROUTE).unwrap();
    peer.wait_route(BLOCKS[0], ROUTE).unwrap();

    let frozen = Frozen::freeze(pid).unwrap();
    let t0 = std::time::Instant::now();
    wait_for(
        "bgplet to leave Established",
        Duration::from_secs(hold + 3),
        Duration::from_millis(100),
        || Ok(!bgplet.is_established(&addr)?),
    )
    .map_err(|e| {
        anyhow::anyhow!("{e:#}\n{}", bgplet.failure_context(Some(&addr)))
    })
    .unwrap();
    let detected = t0.elapsed();
    // The peer's last KEEPALIVE came at most hold/3 s before the
    // freeze, so an earlier drop would not be the hold timer's doing.
    assert!(
        detected >= Duration::from_secs(hold - hold / 3 - 1),
        "left Established after only {detected:?}"
    );
    let row = status_row(bgplet, l.b_v4.into());
    assert!(row.info.contains("Hold Timer Expired"), "{row:?}");
    bgplet
        .wait_withdrawn(PEER_V4, Duration::from_secs(1))
        .unwrap();
    assert!(bgplet.route(PEER_V4_PLAIN).unwrap().is_none());
    bgplet.process_mut().check_running().unwrap();
    eprintln!(
        "hold timer caught the frozen {} after {detected:?}",
        peer.label()
    );

    frozen.thaw().unwrap();
    let t1 = std::time::Instant::now();
    bgplet.wait_established(&addr, UP).unwrap();
    peer.wait_established(&l.a_v4.to_string(), UP).unwrap();
    bgplet.wait_route(PEER_V4, ROUTE).unwrap();
    peer.wait_route(BLOCKS[0], ROUTE).unwrap();
    eprintln!("{} back after {:?}", peer.label(), t1.elapsed());
}

#[test]
fn frozen_bird_is_caught_by_the_hold_timer_and_comes_back_after_sigcont() {
    require_tools(&bird_tools()).unwrap();
    let (a, b) = (Netns::new().unwrap(), Netns::new().unwrap());
    let l = link(&a, &b, 4).unwrap();
    let spec = freeze_spec(BIRD_AS);
    let mut cfg = BirdConfig::new(l.b_v4, BIRD_AS).neighbor(
        BirdNeighbor::new("node_v4", l.a_v4, OUR_AS)
            .local_address(l.b_v4)
            .ipv4_only()
            .passive()
            .hold_time(FREEZE_HOLD)
            .export(bird_export()),
    );
    for r in bird_statics() {
        cfg = cfg.static_route(r);
    }
    let bird = Bird::start(&b, cfg).unwrap();
    let mut bgplet = Bgplet::start(&a, &spec.resources(&l), NODE).unwrap();
    frozen_peer_is_caught_by_the_hold_timer(&mut bgplet, &bird, bird.pid(), &l);
}

#[test]
fn frozen_gobgp_is_caught_by_the_hold_timer_and_comes_back_after_sigcont() {
    require_tools(&["ip", "gobgpd", "gobgp"]).unwrap();
    let (a, b) = (Netns::new().unwrap(), Netns::new().unwrap());
    let l = link(&a, &b, 6).unwrap();
    let spec = freeze_spec(GOBGP_AS);
    let gobgp = Gobgp::start(
        &b,
        GobgpConfig::new(l.b_v4, GOBGP_AS).neighbor(
            GobgpNeighbor::new(l.a_v4, OUR_AS)
                .ipv4_only()
                .passive()
                .hold_time(FREEZE_HOLD),
        ),
    )
    .unwrap();
    gobgp.add_route(&GobgpRoute::new(PEER_V4)).unwrap();
    let mut bgplet = Bgplet::start(&a, &spec.resources(&l), NODE).unwrap();
    frozen_peer_is_caught_by_the_hold_timer(
        &mut bgplet,
        &gobgp,
        gobgp.pid(),
        &l,
    );
}

#[test]
fn frozen_frr_is_caught_by_the_hold_timer_and_comes_back_after_sigcont() {
    require_tools(&["ip", "/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh"])
        .unwrap();
    let (a, b) = (Netns::new().unwrap(), Netns::new().unwrap());
    let l = link(&a, &b, 7).unwrap();
    let spec = freeze_spec(FRR_AS);
    let frr = Frr::start(
        &b,
        FrrConfig::new(l.b_v4, FRR_AS)
            .neighbor(
                FrrNeighbor::new(l.a_v4, OUR_AS)
                    .ipv4_only()
                    .passive()
                    .hold_time(FREEZE_HOLD),
            )
            .network(FrrNetwork::new(PEER_V4)),
    )
    .unwrap();
    let mut bgplet = Bgplet::start(&a, &spec.resources(&l), NODE).unwrap();
    frozen_peer_is_caught_by_the_hold_timer(
        &mut bgplet,
        &frr,
        frr.bgpd_pid(),
        &l,
    );
}

/// TCP-MD5 (RFC 2385) with the password from the Secret that the
/// BGPPeer's `password.secretKeyRef` names. IPv4: right password,
/// BIRD connects, so bgplet's listener carries the key. IPv6: bgplet
/// connects with a wrong password and stays down; fixing the Secret in
/// the file (live reload) brings it up without touching IPv4.
#[test]
fn md5_sessions_with_bird_follow_the_secret_in_the_resources_file() {
    require_tools(&bird_tools()).unwrap();
    let (a, b) = (Netns::new().unwrap(), Netns::new().unwrap());
    let l = link(&a, &b, 5).unwrap();
    let mut spec = Spec::new(BIRD_AS);
    spec.blocks = vec![BLOCKS[0], BLOCKS[2]];
    spec.passwords = (Some("v4-s3cret".into()), Some("not-it".into()));
    let mut cfg = bird_config(&l);
    cfg.neighbors[0].password = Some("v4-s3cret".into());
    cfg.neighbors[1].password = Some("v6-s3cret".into());
    let bird = Bird::start(&b, cfg).unwrap();
    let bgplet = Bgplet::start(&a, &spec.resources(&l), NODE).unwrap();
    let (v4, v6) = (l.b_v4.to_string(), l.b_v6.to_string());

    bgplet.wait_established(&v4, UP).unwrap();
    bird.wait_established(&l.a_v4.to_string(), UP).unwrap();
    assert_initiator(&bgplet, l.b_v4.into(), false);
    bgplet.wait_route(PEER_V4, ROUTE).unwrap();
    bird.wait_route(BLOCKS[0], ROUTE).unwrap();

    bgplet
        .assert_not_established_for(&v6, Duration::from_secs(6))
        .unwrap();
    assert!(!bird.is_established(&l.a_v6.to_string()).unwrap());
    // The kernel drops segments with a wrong signature: no BGP message
    // is ever exchanged, the TCP connection just never completes.
    let v6_row = status_row(&bgplet, l.b_v6.into());
    assert!(
        matches!(v6_row.state.as_str(), "Idle" | "Connect" | "Active")
            && !v6_row.info.contains("NOTIFICATION")
            && !v6_row.info.contains("Received"),
        "{v6_row:?}"
    );
    let v4_since = status_row(&bgplet, l.b_v4.into()).since;

    spec.passwords.1 = Some("v6-s3cret".into());
    bgplet.write_resources(&spec.resources(&l)).unwrap();
    bgplet.wait_established(&v6, UP).unwrap();
    bird.wait_established(&l.a_v6.to_string(), UP).unwrap();
    assert_initiator(&bgplet, l.b_v6.into(), true);
    bgplet.wait_route(PEER_V6, ROUTE).unwrap();
    bird.wait_route(BLOCKS[2], ROUTE).unwrap();
    assert_eq!(status_row(&bgplet, l.b_v4.into()).since, v4_since);
}
