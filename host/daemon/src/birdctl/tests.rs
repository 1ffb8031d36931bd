//! Exact-text tests of every reply, and a re-implementation of the
//! parsing rules of calico-node and calicoctl run over our output.

#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::render::RouteFilter;
use super::*;

/// 2026-11-26 09:50:00 UTC.
const NOW: u64 = 1_795_686_600;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn plain(name: &str, proto: ProtoKind, imported: u64) -> ProtocolView {
    ProtocolView {
        name: name.to_owned(),
        proto,
        state: ProtoState::Up,
        since: at(NOW - 3000),
        info: String::new(),
        routes: RouteCounts {
            imported,
            exported: 0,
            preferred: imported,
        },
        changes: ChangeStats {
            import_updates: imported,
            ..ChangeStats::default()
        },
        bgp: None,
    }
}

fn bgp(
    name: &str,
    neighbor: &str,
    state: ProtoState,
    bgp_state: BgpState,
    since: u64,
    error: Option<&str>,
) -> ProtocolView {
    let up = state == ProtoState::Up;
    ProtocolView {
        name: name.to_owned(),
        proto: ProtoKind::Bgp,
        state,
        since: at(since),
        info: String::new(),
        routes: RouteCounts {
            imported: u64::from(up),
            exported: if up { 3 } else { 0 },
            preferred: u64::from(up),
        },
        changes: ChangeStats {
            import_updates: u64::from(up),
            import_withdraws: 0,
            export_updates: if up { 3 } else { 0 },
            export_withdraws: 0,
        },
        bgp: Some(BgpDetail {
            neighbor_address: ip(neighbor),
            neighbor_as: 64512,
            local_as: 64512,
            neighbor_id: up.then(|| Ipv4Addr::new(10, 0, 0, 12)),
            bgp_state,
            hold_time: 240,
            hold_remaining: 151,
            keepalive_time: 80,
            keepalive_remaining: 13,
            source_address: Some(ip("10.0.0.11")),
            neighbor_caps: "refresh restart-able AS4 add-path-rx add-path-tx"
                .to_owned(),
            last_error: error.map(str::to_owned),
        }),
    }
}

fn route(
    net: &str,
    target: RouteTarget,
    proto: &str,
    since: u64,
    preference: u32,
) -> RouteRow {
    let (dst, len) = net.split_once('/').unwrap();
    RouteRow {
        dst: ip(dst),
        len: len.parse().unwrap(),
        target,
        proto: proto.to_owned(),
        since: at(since),
        primary: true,
        preference,
        igp_metric: None,
        from: None,
        bgp: None,
    }
}

fn via(gateway: &str, iface: &str) -> RouteTarget {
    RouteTarget::Via {
        gateway: ip(gateway),
        iface: iface.to_owned(),
    }
}

fn bgp_route(net: &str, gateway: &str, proto: &str, since: u64) -> RouteRow {
    RouteRow {
        igp_metric: Some(0),
        bgp: Some(BgpRouteInfo {
            origin_as: None,
            origin: Origin::Igp,
        }),
        ..route(net, via(gateway, "eth0"), proto, since, 100)
    }
}

fn sample() -> BirdView {
    let mut second_path =
        bgp_route("10.244.1.0/26", "10.0.0.14", "Mesh_10_0_0_14", NOW - 1140);
    second_path.primary = false;
    BirdView {
        version: "v0.3.3+bgplet0.1.0".to_owned(),
        router_id: Ipv4Addr::new(10, 0, 0, 11),
        server_time: at(NOW),
        started: at(NOW - 3000),
        last_reconfig: at(NOW - 600),
        graceful_restart: None,
        phase: DaemonPhase::Running,
        protocols: vec![
            plain("static1", ProtoKind::Static, 1),
            plain("kernel1", ProtoKind::Kernel, 2),
            plain("device1", ProtoKind::Device, 0),
            plain("direct1", ProtoKind::Direct, 0),
            bgp(
                "Mesh_10_0_0_12",
                "10.0.0.12",
                ProtoState::Up,
                BgpState::Established,
                NOW - 1200,
                None,
            ),
            bgp(
                "Mesh_10_0_0_13",
                "10.0.0.13",
                ProtoState::Start,
                BgpState::Active,
                NOW - 2 * 86_400,
                Some("Socket: Connection refused"),
            ),
            bgp(
                "Global_192_0_2_1",
                "192.0.2.1",
                ProtoState::Start,
                BgpState::Idle,
                NOW - 60,
                Some("BGP Error: Bad peer AS"),
            ),
            bgp(
                "Mesh_fd00__12",
                "fd00::12",
                ProtoState::Up,
                BgpState::Established,
                NOW - 1200,
                None,
            ),
        ],
        routes: vec![
            route(
                "0.0.0.0/0",
                via("10.0.0.1", "eth0"),
                "kernel1",
                NOW - 3000,
                10,
            ),
            bgp_route(
                "10.244.1.0/26",
                "10.0.0.12",
                "Mesh_10_0_0_12",
                NOW - 1200,
            ),
            second_path,
            route(
                "10.244.0.0/26",
                RouteTarget::Blackhole,
                "static1",
                NOW - 3000,
                200,
            ),
            route(
                "10.244.0.1/32",
                RouteTarget::Dev {
                    iface: "cali1234".to_owned(),
                },
                "kernel1",
                NOW - 2700,
                10,
            ),
            bgp_route(
                "fd00:244::/122",
                "fd00::12",
                "Mesh_fd00__12",
                NOW - 1200,
            ),
        ],
    }
}

fn ask(view: &BirdView, family: Family, line: &str) -> String {
    match parse_command(line) {
        Ok(Some(command)) => answer(view, family, &command),
        Ok(None) => String::new(),
        Err(error) => error,
    }
}

#[test]
fn greeting_names_the_version_and_says_ready() {
    assert_eq!(greeting("v0.3.3"), "0001 BIRD v0.3.3 ready.\n");
}

#[test]
fn show_status_matches_bird_line_for_line() {
    let expected = "\
1000-BIRD v0.3.3+bgplet0.1.0
1011-Router ID is 10.0.0.11
 Current server time is 2026-11-26 09:50:00
 Last reboot on 2026-11-26 09:00:00
 Last reconfiguration on 2026-11-26 09:40:00
0013 Daemon is up and running
";
    assert_eq!(ask(&sample(), Family::V4, "show status"), expected);
}

#[test]
fn show_status_reports_graceful_restart_with_code_0024() {
    let mut view = sample();
    view.graceful_restart = Some(GrProgress {
        waiting: 1,
        wait_remaining: 215,
        wait_total: 240,
    });
    view.phase = DaemonPhase::Reconfiguring;
    let expected = "\
1000-BIRD v0.3.3+bgplet0.1.0
1011-Router ID is 10.0.0.11
 Current server time is 2026-11-26 09:50:00
 Last reboot on 2026-11-26 09:00:00
 Last reconfiguration on 2026-11-26 09:40:00
0024-Graceful restart recovery in progress
   Waiting for 1 protocols to recover
   Wait timer is 215/240
0013 Reconfiguration in progress
";
    assert_eq!(ask(&view, Family::V4, "show status"), expected);
}

#[test]
fn show_protocols_matches_bird_columns_and_codes() {
    let expected = "\
2002-name     proto    table    state  since       info
1002-static1  Static   master   up     09:00:00   \x20
 kernel1  Kernel   master   up     09:00:00   \x20
 device1  Device   master   up     09:00:00   \x20
 direct1  Direct   master   up     09:00:00   \x20
 Mesh_10_0_0_12 BGP      master   up     09:30:00    Established  \x20
 Mesh_10_0_0_13 BGP      master   start  2026-11-24  Active        Socket: Connection refused
 Global_192_0_2_1 BGP      master   start  09:49:00    Idle          BGP Error: Bad peer AS
0000 \n";
    assert_eq!(ask(&sample(), Family::V4, "show protocols"), expected);
}

#[test]
fn the_ipv6_socket_shows_only_ipv6_sessions_and_routes() {
    let view = sample();
    let protocols = ask(&view, Family::V6, "show protocols");
    assert!(protocols.contains(" Mesh_fd00__12 BGP "));
    assert!(!protocols.contains("Mesh_10_0_0_12"));
    let routes = ask(&view, Family::V6, "show route");
    assert_eq!(
        routes,
        "1007-fd00:244::/122     via fd00::12 on eth0 \
         [Mesh_fd00__12 09:30:00] * (100/0) [i]\n0000 \n"
    );
}

#[test]
fn show_protocols_all_for_an_established_session_has_calicos_lines() {
    let expected = "\
2002-name     proto    table    state  since       info
1002-Mesh_10_0_0_12 BGP      master   up     09:30:00    Established  \x20
1006-  Description:    Connection to BGP peer
   Preference:     100
   Input filter:   (unnamed)
   Output filter:  (unnamed)
   Routes:         1 imported, 3 exported, 1 preferred
   Route change stats:     received   rejected   filtered    ignored   accepted
     Import updates:              1          0          0          0          1
     Import withdraws:            0          0        ---          0          0
     Export updates:              3          0          0        ---          3
     Export withdraws:            0        ---        ---        ---          0
   BGP state:          Established
     Neighbor address: 10.0.0.12
     Neighbor AS:      64512
     Neighbor ID:      10.0.0.12
     Neighbor caps:    refresh restart-able AS4 add-path-rx add-path-tx
     Session:          internal multihop AS4
     Source address:   10.0.0.11
     Hold timer:       151/240
     Keepalive timer:  13/80
 \n0000 \n";
    let got = ask(&sample(), Family::V4, "show protocols all Mesh_10_0_0_12");
    assert_eq!(got, expected);
}

#[test]
fn show_protocols_all_for_a_failing_session_shows_the_last_error() {
    let got = ask(&sample(), Family::V4, "show protocols all Mesh_10_0_0_13");
    assert!(got.contains("\n   BGP state:          Active\n"));
    assert!(got.contains("\n     Neighbor address: 10.0.0.13\n"));
    assert!(
        got.contains("\n     Last error:       Socket: Connection refused\n")
    );
    assert!(!got.contains("Hold timer"));
}

#[test]
fn show_protocols_all_lists_every_protocol_with_its_details() {
    let got = ask(&sample(), Family::V4, "show protocols all");
    assert_eq!(got.matches("\n1002-").count(), 7);
    assert!(got.contains(
        "1002-kernel1  Kernel   master   up     09:00:00   \x20
1006-  Preference:     10
   Input filter:   (unnamed)
   Output filter:  calico_kernel_programming
"
    ));
    assert!(got.ends_with("\n \n0000 \n"));
}

#[test]
fn an_unknown_protocol_name_is_a_9002_error() {
    assert_eq!(
        ask(&sample(), Family::V4, "show protocols all Mesh_1_2_3_4"),
        "9002 Mesh_1_2_3_4 is not a protocol\n"
    );
}

#[test]
fn show_route_matches_bird_rows() {
    let expected = "\
1007-0.0.0.0/0          via 10.0.0.1 on eth0 [kernel1 09:00:00] * (10)
 10.244.1.0/26      via 10.0.0.12 on eth0 [Mesh_10_0_0_12 09:30:00] * (100/0) [i]
                    via 10.0.0.14 on eth0 [Mesh_10_0_0_14 09:31:00] (100/0) [i]
 10.244.0.0/26      blackhole [static1 09:00:00] * (200)
 10.244.0.1/32      dev cali1234 [kernel1 09:05:00] * (10)
0000 \n";
    assert_eq!(ask(&sample(), Family::V4, "show route"), expected);
}

#[test]
fn show_route_for_an_address_picks_the_longest_match() {
    let got = ask(&sample(), Family::V4, "show route for 10.244.1.7");
    assert_eq!(got.lines().count(), 3);
    assert!(got.starts_with("1007-10.244.1.0/26 "));
    let host = ask(&sample(), Family::V4, "show route for 10.244.0.1");
    assert!(host.starts_with("1007-10.244.0.1/32 "));
    assert_eq!(
        ask(&sample(), Family::V4, "show route 192.168.0.0/16"),
        "8001 Network not in table\n"
    );
}

#[test]
fn a_bgp_route_with_an_as_path_and_a_reflected_next_hop_shows_both() {
    let mut view = sample();
    let mut row =
        bgp_route("10.9.0.0/16", "10.0.0.1", "Global_192_0_2_1", NOW - 60);
    row.from = Some(ip("192.0.2.1"));
    row.bgp = Some(BgpRouteInfo {
        origin_as: Some(65001),
        origin: Origin::Incomplete,
    });
    view.routes = vec![row];
    assert_eq!(
        ask(&view, Family::V4, "show route"),
        "1007-10.9.0.0/16        via 10.0.0.1 on eth0 [Global_192_0_2_1 \
         09:49:00 from 192.0.2.1] * (100/0) [AS65001?]\n0000 \n"
    );
}

#[test]
fn unknown_commands_get_a_9001_syntax_error() {
    let view = sample();
    assert_eq!(
        ask(&view, Family::V4, "configure"),
        "9001 syntax error, unexpected configure\n"
    );
    assert_eq!(
        ask(&view, Family::V4, "show interfaces"),
        "9001 syntax error, unexpected interfaces\n"
    );
    assert_eq!(
        ask(&view, Family::V4, "show"),
        "9001 syntax error, unexpected end of command\n"
    );
    assert_eq!(ask(&view, Family::V4, "   "), "");
}

#[test]
fn abbreviated_keywords_parse_like_birds_own_parser() {
    assert_eq!(
        parse_command("sh pro al Mesh_1").unwrap(),
        Some(Command::Protocols {
            all: true,
            name: Some("Mesh_1".to_owned()),
        })
    );
    assert_eq!(
        parse_command("show route for 10.0.0.0/8").unwrap(),
        Some(Command::Route(RouteFilter::For(ip("10.0.0.0"))))
    );
    assert_eq!(parse_command("s stat").unwrap(), Some(Command::Status));
}

/// calico-node's and calicoctl's `show protocols` scanner, rewritten
/// from their rules: lines by code, the heading checked word for word,
/// BGP rows by the name regex, the IP rebuilt from the name.
#[derive(Debug, PartialEq)]
struct CalicoPeer {
    ip: String,
    peer_type: &'static str,
    state: String,
    since: String,
    bgp_state: String,
    info: String,
}

fn calico_scan_peers(
    reply: &str,
    family: Family,
) -> Result<Vec<CalicoPeer>, String> {
    let mut peers = Vec::new();
    for line in reply.lines() {
        let row = if line.starts_with("0000") {
            break;
        } else if line.starts_with("0001") {
            continue;
        } else if let Some(heading) = line.strip_prefix("2002") {
            let words: Vec<&str> = heading[1..].split_whitespace().collect();
            if words != ["name", "proto", "table", "state", "since", "info"] {
                return Err("unknown BIRD table output format".to_owned());
            }
            continue;
        } else if line.starts_with("1002") {
            &line[5..]
        } else if let Some(rest) = line.strip_prefix(' ') {
            rest
        } else {
            return Err(format!("unexpected output line from BIRD: {line}"));
        };
        let columns: Vec<&str> = row.split_whitespace().collect();
        if columns.len() < 6 || columns[1] != "BGP" {
            continue;
        }
        let (kind, rest) = match columns[0].split_once('_') {
            Some((k, r)) if !r.is_empty() => (k, r),
            _ => continue,
        };
        let peer_type = match kind {
            "Global" => "global",
            "Mesh" => "node-to-node mesh",
            "Node" => "node specific",
            _ => continue,
        };
        let sep = if family == Family::V4 { "." } else { ":" };
        peers.push(CalicoPeer {
            ip: rest.replace('_', sep),
            peer_type,
            state: columns[3].to_owned(),
            since: columns[4].to_owned(),
            bgp_state: columns[5].to_owned(),
            info: columns[6..].join(" "),
        });
    }
    Ok(peers)
}

#[test]
fn calicos_peer_scanner_reads_our_show_protocols() {
    let reply = format!(
        "{}{}",
        greeting("v0.3.3"),
        ask(&sample(), Family::V4, "show protocols")
    );
    let peers = calico_scan_peers(&reply, Family::V4).unwrap();
    let expect =
        |ip: &str, t, state: &str, since: &str, bgp: &str, info| CalicoPeer {
            ip: ip.to_owned(),
            peer_type: t,
            state: state.to_owned(),
            since: since.to_owned(),
            bgp_state: bgp.to_owned(),
            info: String::from(info),
        };
    assert_eq!(
        peers,
        vec![
            expect(
                "10.0.0.12",
                "node-to-node mesh",
                "up",
                "09:30:00",
                "Established",
                ""
            ),
            expect(
                "10.0.0.13",
                "node-to-node mesh",
                "start",
                "2026-11-24",
                "Active",
                "Socket: Connection refused"
            ),
            expect(
                "192.0.2.1",
                "global",
                "start",
                "09:49:00",
                "Idle",
                "BGP Error: Bad peer AS"
            ),
        ]
    );
    let v6 = ask(&sample(), Family::V6, "show protocols");
    let peers = calico_scan_peers(&v6, Family::V6).unwrap();
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].ip, "fd00::12");
}

#[test]
fn calicos_status_and_detail_scanners_find_their_fields() {
    let view = sample();
    // CalicoNodeStatus: 1000/1011/continuation lines, stop at 0013.
    let status = ask(&view, Family::V4, "show status");
    let mut fields = Vec::new();
    for line in status.lines() {
        if line.starts_with("0013") {
            break;
        }
        let text = match line.get(..4) {
            Some("1000" | "1011") => &line[5..],
            _ => line.strip_prefix(' ').expect("a continuation line"),
        };
        fields.push(text.to_owned());
    }
    assert_eq!(fields[0], "BIRD v0.3.3+bgplet0.1.0");
    assert!(fields.contains(&"Router ID is 10.0.0.11".to_owned()));
    // `show protocols all NAME`: any line holding the key, value trimmed.
    let detail = ask(&view, Family::V4, "show protocols all Mesh_10_0_0_12");
    let value = |key: &str| {
        detail
            .lines()
            .take_while(|l| !l.starts_with("0000"))
            .find(|l| l.contains(key))
            .map(|l| l.replace(key, " ").trim().to_owned())
    };
    assert_eq!(value("BGP state:").as_deref(), Some("Established"));
    assert_eq!(value("Neighbor address:").as_deref(), Some("10.0.0.12"));
}

#[test]
fn calicos_route_scanner_reads_destinations_sources_and_primaries() {
    let reply = ask(&sample(), Family::V4, "show route");
    let mut previous = String::new();
    let mut parsed = Vec::new();
    for line in reply.lines() {
        let row = if line.starts_with("0000") {
            break;
        } else if line.starts_with("1007") {
            &line[5..]
        } else {
            line.strip_prefix(' ').expect("a continuation line")
        };
        let dest = row.split_whitespace().next().unwrap_or("");
        // The first word is a destination unless it is the route kind.
        let dest = if ["via", "dev", "blackhole", "unreachable"].contains(&dest)
        {
            previous.clone()
        } else {
            dest.to_owned()
        };
        let from = row.split('[').nth(1).unwrap().split(' ').next().unwrap();
        previous = dest.clone();
        parsed.push((dest, from.to_owned(), row.contains("] *")));
    }
    let owned = |d: &str, f: &str, p| (d.to_owned(), f.to_owned(), p);
    assert_eq!(
        parsed,
        vec![
            owned("0.0.0.0/0", "kernel1", true),
            owned("10.244.1.0/26", "Mesh_10_0_0_12", true),
            owned("10.244.1.0/26", "Mesh_10_0_0_14", false),
            owned("10.244.0.0/26", "static1", true),
            owned("10.244.0.1/32", "kernel1", true),
        ]
    );
}

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn readiness_with_no_peers_is_ready() {
    let mut view = sample();
    view.protocols.retain(|p| p.bgp.is_none());
    let start = at(NOW - 10);
    assert_eq!(
        bird_ready(&view, Family::V4, start, at(NOW), MINUTE),
        Ok(())
    );
}

#[test]
fn readiness_soon_after_start_needs_every_peer_established() {
    let view = sample();
    let start = at(NOW - 10);
    assert_eq!(
        bird_ready(&view, Family::V4, start, at(NOW), MINUTE),
        Err("BGP not established with 10.0.0.13,192.0.2.1".to_owned())
    );
    // The IPv6 socket has one peer, Established.
    assert_eq!(
        bird_ready(&view, Family::V6, start, at(NOW), MINUTE),
        Ok(())
    );
}

#[test]
fn readiness_soon_after_start_waits_for_graceful_restart() {
    let mut view = sample();
    view.graceful_restart = Some(GrProgress {
        waiting: 1,
        wait_remaining: 100,
        wait_total: 240,
    });
    let start = at(NOW - 10);
    assert_eq!(
        bird_ready(&view, Family::V6, start, at(NOW), MINUTE),
        Err("graceful restart in progress".to_owned())
    );
    // After the threshold GR no longer matters.
    let old = at(NOW - 3600);
    assert_eq!(bird_ready(&view, Family::V6, old, at(NOW), MINUTE), Ok(()));
}

#[test]
fn readiness_after_the_threshold_needs_one_established_peer() {
    let mut view = sample();
    let old = at(NOW - 3600);
    assert_eq!(bird_ready(&view, Family::V4, old, at(NOW), MINUTE), Ok(()));
    view.protocols.retain(|p| p.name != "Mesh_10_0_0_12");
    assert_eq!(
        bird_ready(&view, Family::V4, old, at(NOW), MINUTE),
        Err("BGP not established with 10.0.0.13,192.0.2.1".to_owned())
    );
}

#[test]
fn readiness_ignores_sessions_calico_does_not_parse_as_peers() {
    let mut view = sample();
    // A local workload peer and a session that is down without error
    // (five columns only) are invisible to calico-node.
    view.protocols.retain(|p| p.bgp.is_none());
    view.protocols.push(bgp(
        "Local_Workload_10_0_0_50",
        "10.0.0.50",
        ProtoState::Start,
        BgpState::Active,
        NOW - 60,
        None,
    ));
    view.protocols.push(bgp(
        "Mesh_10_0_0_13",
        "10.0.0.13",
        ProtoState::Down,
        BgpState::Idle,
        NOW - 60,
        None,
    ));
    let start = at(NOW - 10);
    assert_eq!(
        bird_ready(&view, Family::V4, start, at(NOW), MINUTE),
        Ok(())
    );
}

#[test]
fn calico_peer_address_rebuilds_addresses_from_session_names() {
    assert_eq!(
        calico_peer_address("Mesh_10_0_0_12", Family::V4).as_deref(),
        Some("10.0.0.12")
    );
    assert_eq!(
        calico_peer_address("Node_fd80_24e2__2", Family::V6).as_deref(),
        Some("fd80:24e2::2")
    );
    assert_eq!(calico_peer_address("kernel1", Family::V4), None);
    assert_eq!(calico_peer_address("Mesh_", Family::V4), None);
}
