//! Malformed UPDATEs from a hand-driven peer (RFC 7606 and RFC 4271
//! section 6.3), while the same bgplet keeps a healthy session with BIRD.
//!
//! The lab: bgplet as Calico node `node-a` in namespace A, BIRD in B on
//! `10.0.1.0/24` (the node's address, `10.0.1.1`), the raw peer in C on
//! `10.0.2.0/24`. bgplet connects to both. Every test checks the exact
//! reaction on the wire (NOTIFICATION code/subcode, or the connection
//! staying open), that bgplet's log names the broken field, that bgplet
//! still runs, and that the BIRD session and its routes both ways are
//! untouched.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bgplet_tests::*;

const OUR_AS: u32 = 4200000001;
const BIRD_AS: u32 = 65002;
const RAW_AS: u32 = 65066;
const NODE: &str = "node-a";
const BLOCK: &str = "10.244.0.0/26";
const BIRD_ROUTE: &str = "10.20.0.0/24";
/// What the raw peer announces (and then breaks).
const RAW_ROUTE: &str = "10.30.0.0/24";

const UP: Duration = Duration::from_secs(30);
const ROUTE: Duration = Duration::from_secs(15);
const STAYS_OPEN: Duration = Duration::from_secs(2);

struct Lab {
    bgplet: Bgplet,
    bird: Bird,
    raw: RawPeer,
    bird_addr: Ipv4Addr,
    raw_addr: Ipv4Addr,
    // Kept for the namespaces' lifetime.
    _ns: (Netns, Netns, Netns),
}

impl Lab {
    /// Starts BIRD and bgplet, accepts bgplet's connection on the raw
    /// peer's port 179 and brings both sessions up.
    fn start() -> Lab {
        require_tools(&["ip", "bird", "birdc"]).unwrap();
        let (a, b, c) = (
            Netns::new().unwrap(),
            Netns::new().unwrap(),
            Netns::new().unwrap(),
        );
        let lb = link(&a, &b, 1).unwrap();
        let lc = link(&a, &c, 2).unwrap();
        // bgplet sources its sessions from the node address (Calico's
        // sourceAddress UseNodeIP), which C must be able to answer.
        c.ip(&["route", "add", "10.0.1.0/24", "via", &lc.a_v4.to_string()])
            .unwrap();
        let bird = Bird::start(
            &b,
            BirdConfig::new(lb.b_v4, BIRD_AS)
                .neighbor(
                    BirdNeighbor::new("node", lb.a_v4, OUR_AS)
                        .local_address(lb.b_v4)
                        .ipv4_only()
                        .passive()
                        .export(BirdExport::Static),
                )
                .static_route(
                    StaticRoute::new(BIRD_ROUTE).community("65002:1"),
                ),
        )
        .unwrap();
        let listener =
            RawListener::bind(&c, SocketAddr::new(lc.b_v4.into(), 179))
                .unwrap();
        let resources = Resources::new()
            .bgp_configuration(OUR_AS, None, false)
            .node(&CalicoNode::new(NODE, &lb.a_v4_cidr()))
            .bgp_peer(&CalicoPeer::new("tor", &lb.b_v4.to_string(), BIRD_AS))
            .bgp_peer(&CalicoPeer::new("raw", &lc.b_v4.to_string(), RAW_AS))
            .ip_pool("pool-v4", "10.244.0.0/16")
            .block_affinity(NODE, BLOCK);
        let bgplet = Bgplet::start(&a, &resources, NODE).unwrap();
        let mut raw = listener.accept(Duration::from_secs(15)).unwrap();
        let open = raw
            .handshake(
                &OpenBuilder::standard(RAW_AS, 90, lc.b_v4),
                Duration::from_secs(10),
            )
            .unwrap();
        assert_eq!(open.open_fields().unwrap().1, 23456, "AS_TRANS");
        let lab = Lab {
            bgplet,
            bird,
            raw,
            bird_addr: lb.b_v4,
            raw_addr: lc.b_v4,
            _ns: (a, b, c),
        };
        let raw_addr = lab.raw_addr.to_string();
        lab.bgplet.wait_established(&raw_addr, UP).unwrap();
        lab.bgplet
            .wait_established(&lab.bird_addr.to_string(), UP)
            .unwrap();
        lab.bgplet.wait_route(BIRD_ROUTE, ROUTE).unwrap();
        lab.bird.wait_route(BLOCK, ROUTE).unwrap();
        lab
    }

    /// A well-formed UPDATE's attributes: ORIGIN, AS_PATH, NEXT_HOP.
    fn good(&self) -> UpdateBuilder {
        UpdateBuilder::new()
            .origin(0)
            .as_path(&[RAW_AS])
            .next_hop(self.raw_addr)
    }

    /// Announces RAW_ROUTE cleanly and waits for it in bgplet's table.
    fn announce_clean(&mut self) {
        let u = self
            .good()
            .communities(&[(65066, 1)])
            .nlri(RAW_ROUTE)
            .unwrap();
        self.raw.send_update(&u).unwrap();
        let r = self.bgplet.wait_route(RAW_ROUTE, ROUTE).unwrap();
        assert_eq!(r.as_path, vec![RAW_AS]);
    }

    /// bgplet's whole log.
    fn log(&self) -> String {
        std::fs::read_to_string(self.bgplet.dir().join("bgplet.log")).unwrap()
    }

    /// The log has a line with all of `words`.
    fn assert_logged(&self, words: &[&str]) {
        let log = self.log();
        assert!(
            log.lines().any(|l| words.iter().all(|w| l.contains(w))),
            "no log line with {words:?}:\n{log}"
        );
    }

    /// An RFC 7606 repair was logged, naming `field` and why, and
    /// `bgplet status` shows it in the session's INFO column.
    fn assert_repair_reported(&self, outcome: &str, field: &str, why: &str) {
        self.assert_logged(&[
            "malformed UPDATE handled per RFC 7606",
            &format!("outcome=\"{outcome}\""),
            &format!("field=\"{field}\""),
            why,
        ]);
        let raw = self.raw_addr.to_string();
        let row = self
            .bgplet
            .status()
            .unwrap()
            .peers
            .into_iter()
            .find(|p| p.peer_address == raw)
            .unwrap();
        assert!(
            row.info.contains(outcome) && row.info.contains(field),
            "status INFO: {row:?}"
        );
    }

    /// bgplet still runs, and the BIRD session and its routes both ways
    /// are untouched.
    fn assert_bird_unharmed(&mut self) {
        self.bgplet.process_mut().check_running().unwrap();
        let bird = self.bird_addr.to_string();
        assert!(self.bgplet.is_established(&bird).unwrap());
        assert!(self.bgplet.route(BIRD_ROUTE).unwrap().is_some());
        assert!(self.bird.route(BLOCK).unwrap().is_some());
    }

    /// The raw session is still Established in bgplet's status.
    fn assert_raw_established(&self) {
        let raw = self.raw_addr.to_string();
        assert!(self.bgplet.is_established(&raw).unwrap());
    }

    /// bgplet answers with NOTIFICATION `code/subcode`, closes the
    /// connection and forgets the raw peer's routes.
    fn assert_reset_with(&mut self, code: u8, subcode: u8) {
        let (c, s, _) = self
            .raw
            .expect_notification(Duration::from_secs(5))
            .unwrap();
        assert_eq!((c, s), (code, subcode));
        self.raw.wait_closed(Duration::from_secs(5)).unwrap();
        let raw = self.raw_addr.to_string();
        assert!(!self.bgplet.is_established(&raw).unwrap());
        self.bgplet.wait_withdrawn(RAW_ROUTE, ROUTE).unwrap();
    }
}

#[test]
fn origin_with_length_two_is_treat_as_withdraw_and_the_session_stays_up() {
    let mut lab = Lab::start();
    lab.announce_clean();
    let u = UpdateBuilder::new()
        .attribute(0x40, 1, &[0, 0])
        .as_path(&[RAW_AS])
        .next_hop(lab.raw_addr)
        .nlri(RAW_ROUTE)
        .unwrap();
    lab.raw.send_update(&u).unwrap();
    lab.raw.assert_stays_open(STAYS_OPEN).unwrap();
    lab.bgplet.wait_withdrawn(RAW_ROUTE, ROUTE).unwrap();
    lab.assert_raw_established();
    lab.assert_repair_reported("treat-as-withdraw", "ORIGIN", "length 2");
    lab.assert_bird_unharmed();
}

#[test]
fn bad_origin_value_withdraws_the_earlier_route_and_the_session_stays_up() {
    let mut lab = Lab::start();
    lab.announce_clean();
    let u = UpdateBuilder::new()
        .origin(7)
        .as_path(&[RAW_AS])
        .next_hop(lab.raw_addr)
        .nlri(RAW_ROUTE)
        .unwrap();
    lab.raw.send_update(&u).unwrap();
    lab.raw.assert_stays_open(STAYS_OPEN).unwrap();
    lab.bgplet.wait_withdrawn(RAW_ROUTE, ROUTE).unwrap();
    lab.assert_raw_established();
    lab.assert_repair_reported("treat-as-withdraw", "ORIGIN", "value 7");
    lab.assert_bird_unharmed();
}

#[test]
fn as_path_segment_overrunning_its_attribute_is_treat_as_withdraw() {
    let mut lab = Lab::start();
    lab.announce_clean();
    // AS_SEQUENCE claiming three ASNs with only two present.
    let mut path = vec![2, 3];
    path.extend_from_slice(&RAW_AS.to_be_bytes());
    path.extend_from_slice(&65067u32.to_be_bytes());
    let u = UpdateBuilder::new()
        .origin(0)
        .attribute(0x40, 2, &path)
        .next_hop(lab.raw_addr)
        .nlri(RAW_ROUTE)
        .unwrap();
    lab.raw.send_update(&u).unwrap();
    lab.raw.assert_stays_open(STAYS_OPEN).unwrap();
    lab.bgplet.wait_withdrawn(RAW_ROUTE, ROUTE).unwrap();
    lab.assert_raw_established();
    lab.assert_repair_reported("treat-as-withdraw", "AS_PATH", "overruns");
    lab.assert_bird_unharmed();
}

#[test]
fn nlri_longer_than_32_bits_resets_the_session_with_notification_3_10() {
    let mut lab = Lab::start();
    lab.announce_clean();
    // The builder writes the length byte as given: 33 bits.
    let u = lab.good().nlri("10.31.0.0/33").unwrap();
    lab.raw.send_update(&u).unwrap();
    lab.assert_reset_with(3, 10);
    lab.assert_logged(&[
        "message from peer rejected",
        "NLRI: prefix length 33",
        "Invalid Network Field",
    ]);
    lab.assert_bird_unharmed();
}

#[test]
fn update_missing_origin_is_treat_as_withdraw_and_the_session_stays_up() {
    let mut lab = Lab::start();
    lab.announce_clean();
    let u = UpdateBuilder::new()
        .as_path(&[RAW_AS])
        .next_hop(lab.raw_addr)
        .nlri(RAW_ROUTE)
        .unwrap();
    lab.raw.send_update(&u).unwrap();
    lab.raw.assert_stays_open(STAYS_OPEN).unwrap();
    lab.bgplet.wait_withdrawn(RAW_ROUTE, ROUTE).unwrap();
    lab.assert_raw_established();
    lab.assert_repair_reported(
        "treat-as-withdraw",
        "ORIGIN",
        "missing mandatory attribute",
    );
    lab.assert_bird_unharmed();
}

#[test]
fn duplicate_communities_keep_the_first_and_the_session_stays_up() {
    let mut lab = Lab::start();
    let u = lab
        .good()
        .communities(&[(65066, 1)])
        .communities(&[(65066, 2)])
        .nlri(RAW_ROUTE)
        .unwrap();
    lab.raw.send_update(&u).unwrap();
    lab.raw.assert_stays_open(STAYS_OPEN).unwrap();
    let r = lab.bgplet.wait_route(RAW_ROUTE, ROUTE).unwrap();
    assert_eq!(r.communities, vec!["65066:1"]);
    assert_eq!(r.as_path, vec![RAW_AS]);
    lab.assert_raw_established();
    lab.assert_repair_reported("attribute-discard", "COMMUNITIES", "duplicate");
    lab.assert_bird_unharmed();
}

#[test]
fn mp_reach_with_a_bad_next_hop_length_resets_the_session_with_3_9() {
    let mut lab = Lab::start();
    lab.announce_clean();
    // IPv4 unicast with a 5-octet next hop, then reserved and one NLRI.
    let mut v = vec![0, 1, 1, 5];
    v.extend_from_slice(&lab.raw_addr.octets());
    v.extend_from_slice(&[0, 0, 24, 10, 32, 0]);
    let u = UpdateBuilder::new()
        .origin(0)
        .as_path(&[RAW_AS])
        .attribute(0x80, 14, &v);
    lab.raw.send_update(&u).unwrap();
    lab.assert_reset_with(3, 9);
    lab.assert_logged(&[
        "message from peer rejected",
        "MP_REACH_NLRI: next-hop length 5",
        "Optional Attribute Error",
    ]);
    lab.assert_bird_unharmed();
}
