//! The BIRD socket against the real `birdc` (BIRD 2's client; the
//! framing is BIRD 1.6's, which calico-node's `birdcl` speaks).
//!
//! The daemon is a binary crate, so the module is compiled in here by
//! path; its own unit tests run here too.

#![allow(clippy::unwrap_used)]

#[allow(dead_code, unreachable_pub, unused_imports)]
#[path = "../src"]
mod src {
    pub mod birdctl;
}

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use src::birdctl::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

fn view() -> BirdView {
    let now = SystemTime::now();
    let since = now - Duration::from_secs(90);
    let up = |name: &str, proto| ProtocolView {
        name: name.to_owned(),
        proto,
        state: ProtoState::Up,
        since,
        info: String::new(),
        routes: RouteCounts::default(),
        changes: ChangeStats::default(),
        bgp: None,
    };
    let mut mesh = up("Mesh_10_0_0_12", ProtoKind::Bgp);
    mesh.bgp = Some(BgpDetail {
        neighbor_address: "10.0.0.12".parse().unwrap(),
        neighbor_as: 64512,
        local_as: 64512,
        neighbor_id: Some(Ipv4Addr::new(10, 0, 0, 12)),
        bgp_state: BgpState::Established,
        hold_time: 240,
        hold_remaining: 200,
        keepalive_time: 80,
        keepalive_remaining: 40,
        source_address: None,
        neighbor_caps: "AS4".to_owned(),
        last_error: None,
    });
    BirdView {
        version: "v0.3.3+bgplet".to_owned(),
        router_id: Ipv4Addr::new(10, 0, 0, 11),
        server_time: now,
        started: since,
        last_reconfig: since,
        graceful_restart: None,
        phase: DaemonPhase::Running,
        protocols: vec![
            up("device1", ProtoKind::Device),
            up("direct1", ProtoKind::Direct),
            up("kernel1", ProtoKind::Kernel),
            up("static1", ProtoKind::Static),
            mesh,
        ],
        routes: vec![RouteRow {
            dst: "10.244.0.0".parse().unwrap(),
            len: 26,
            target: RouteTarget::Blackhole,
            proto: "static1".to_owned(),
            since,
            primary: true,
            preference: 200,
            igp_metric: None,
            from: None,
            bgp: None,
        }],
    }
}

/// Starts a server on a fresh socket whose agent answers with `view()`.
fn start(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("bgplet-birdctl-{}-{name}", std::process::id()));
    let path = dir.join("bird.ctl");
    let server = BirdServer::bind(&path, Family::V4).unwrap();
    let (tx, mut rx) = mpsc::channel::<ViewRequest>(8);
    tokio::spawn(server.serve(tx));
    tokio::spawn(async move {
        while let Some(reply) = rx.recv().await {
            let _ = reply.send(view());
        }
    });
    path
}

async fn birdc(socket: &Path, args: &[&str]) -> (bool, String) {
    let socket = socket.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("birdc")
            .arg("-s")
            .arg(&socket)
            .args(&args)
            .output()
            .expect("birdc is installed (scripts/setup.sh: bird2)")
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn birdc_prints_our_protocol_table() {
    let socket = start("protocols");
    let (ok, out) = birdc(&socket, &["show", "protocols"]).await;
    assert!(ok, "birdc failed: {out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "BIRD v0.3.3+bgplet ready.");
    assert_eq!(
        lines[1],
        "name     proto    table    state  since       info"
    );
    assert!(lines[2].starts_with("device1  Device   master   up     "));
    let mesh = lines.iter().find(|l| l.starts_with("Mesh_")).unwrap();
    let columns: Vec<&str> = mesh.split_whitespace().collect();
    assert_eq!(columns[..4], ["Mesh_10_0_0_12", "BGP", "master", "up"]);
    assert_eq!(columns[5], "Established");
    assert_eq!(lines.len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn birdc_prints_our_status_starting_with_bird() {
    let socket = start("status");
    let (ok, out) = birdc(&socket, &["show", "status"]).await;
    assert!(ok, "birdc failed: {out}");
    // calico-node's liveness check: the output starts with "BIRD".
    assert!(out.starts_with("BIRD v0.3.3+bgplet ready.\n"), "{out}");
    assert!(out.contains("\nRouter ID is 10.0.0.11\n"), "{out}");
    assert!(out.ends_with("Daemon is up and running\n"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn birdc_prints_details_routes_and_errors() {
    let socket = start("details");
    let (ok, out) =
        birdc(&socket, &["show", "protocols", "all", "Mesh_10_0_0_12"]).await;
    assert!(ok, "birdc failed: {out}");
    assert!(
        out.contains("\n  BGP state:          Established\n"),
        "{out}"
    );
    assert!(out.contains("\n    Neighbor address: 10.0.0.12\n"), "{out}");
    let (ok, out) = birdc(&socket, &["show", "route"]).await;
    assert!(ok, "birdc failed: {out}");
    assert!(
        out.contains("10.244.0.0/26      blackhole [static1 "),
        "{out}"
    );
    let (_, out) = birdc(&socket, &["show", "protocols", "all", "nope"]).await;
    assert!(out.contains("nope is not a protocol"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_answers_many_commands_like_calicos_populator() {
    let socket = start("session");
    let stream = UnixStream::connect(&socket).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let greeting = lines.next_line().await.unwrap().unwrap();
    assert_eq!(greeting, "0001 BIRD v0.3.3+bgplet ready.");
    for command in ["show protocols\n", "show protocols all Mesh_10_0_0_12\n"] {
        write.write_all(command.as_bytes()).await.unwrap();
        let mut seen = Vec::new();
        loop {
            let line = lines.next_line().await.unwrap().unwrap();
            if line.starts_with("0000") {
                break;
            }
            seen.push(line);
        }
        assert!(seen[0].starts_with("2002-name"));
        assert!(seen[1].starts_with("1002-"));
    }
    write.write_all(b"show status\n").await.unwrap();
    let mut last = String::new();
    while !last.starts_with("0013") {
        last = lines.next_line().await.unwrap().unwrap();
    }
    assert_eq!(last, "0013 Daemon is up and running");
}
