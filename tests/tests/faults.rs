//! A faulty plugin loaded into a running agent while a session carries
//! routes (issue 3): the agent stays up, the session stays Established
//! (no reset), the fault is isolated, counted in /metrics and logged with
//! the plugin and hook, and the fallback decision applies. The plugin is
//! the `switch` fault plugin of plugins/faults, told to trap by its
//! manifest config; being brand new it has no good version to fall back
//! to, so its import batches are rejected (received and local routes
//! alike) until the manifest changes again.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bgplet_tests::*;

const OUR_AS: u32 = 64512;
const BIRD_AS: u32 = 65010;
const NODE: &str = "node-a";
const BIRD_ROUTE: &str = "192.0.2.0/24";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds plugins/faults for wasm32-wasip2 (as host/plugin's tests do)
/// and returns the switch plugin.
fn switch_wasm() -> Vec<u8> {
    let target = repo().join("target/plugin-faults");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-wasip2",
        ])
        .arg("--manifest-path")
        .arg(repo().join("plugins/faults/Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .unwrap();
    assert!(status.success(), "building plugins/faults failed");
    std::fs::read(target.join("wasm32-wasip2/release/fault_switch.wasm"))
        .unwrap()
}

/// GET /metrics from inside the agent's namespace (it listens on
/// loopback).
fn metrics(ns: &Netns) -> String {
    ns.in_ns(|| {
        let mut s = std::net::TcpStream::connect("127.0.0.1:9179")?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )?;
        let mut body = String::new();
        s.read_to_string(&mut body)?;
        Ok(body)
    })
    .unwrap()
}

fn trap_count(text: &str) -> u64 {
    text.lines()
        .filter(|l| {
            l.starts_with("bgplet_plugin_errors_total{")
                && l.contains("plugin=\"switch\"")
                && l.contains("hook=\"import\"")
                && l.contains("kind=\"trap\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn a_trapping_import_plugin_is_isolated_while_the_session_carries_routes() {
    require_tools(&["ip", "bird", "birdc", "sha256sum"]).unwrap();
    let wasm = switch_wasm();
    let (a, b) = (Netns::new().unwrap(), Netns::new().unwrap());
    let l = link(&a, &b, 44).unwrap();
    let bird = Bird::start(
        &b,
        BirdConfig::new(l.b_v4, BIRD_AS)
            .neighbor(
                BirdNeighbor::new("node_v4", l.a_v4, OUR_AS)
                    .local_address(l.b_v4)
                    .ipv4_only()
                    .export(BirdExport::Static),
            )
            .static_route(StaticRoute::new(BIRD_ROUTE)),
    )
    .unwrap();

    let plugins = TestDir::new("plugins").unwrap();
    let dir = plugins.path();
    write_manifest(dir, "apiVersion: bgplet.dev/v1\nhooks: {}\n").unwrap();
    std::fs::write(dir.join("switch.wasm"), &wasm).unwrap();
    let pin = String::from_utf8(
        Command::new("sha256sum")
            .arg(dir.join("switch.wasm"))
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let pin = pin.split_whitespace().next().unwrap().to_owned();

    let resources = Resources::new()
        .bgp_configuration(OUR_AS, None, false)
        .node(&CalicoNode::new(NODE, &l.a_v4_cidr()))
        .bgp_peer(&CalicoPeer::new("bird", &l.b_v4.to_string(), BIRD_AS))
        .ip_pool("pool-v4", "10.244.0.0/16")
        .block_affinity(NODE, "10.244.0.0/26");
    let opts = BgpletOptions {
        args: vec!["--plugins".into(), dir.display().to_string()],
        ..BgpletOptions::default()
    };
    let mut bgplet = Bgplet::start_with(&a, &resources, NODE, &opts).unwrap();
    let peer = l.b_v4.to_string();
    bgplet
        .wait_established(&peer, Duration::from_secs(30))
        .unwrap();
    bgplet
        .wait_route(BIRD_ROUTE, Duration::from_secs(15))
        .unwrap();
    bird.wait_route("10.244.0.0/26", Duration::from_secs(15))
        .unwrap();
    let since = bgplet.status().unwrap().peers[0].since.clone();
    assert_eq!(trap_count(&metrics(&a)), 0);

    // The trapping plugin joins the import chain behind the default one.
    write_manifest(
        dir,
        &format!(
            "apiVersion: bgplet.dev/v1\n\
             hooks:\n  \
               import:\n    \
                 - {{name: calico, builtin: calico}}\n    \
                 - {{name: switch, wasm: switch.wasm, sha256: \"{pin}\", config: trap}}\n"
        ),
    ).unwrap();
    // Re-evaluation runs the chain over the stored routes: the plugin
    // traps, has no good version, and its batch is rejected.
    bgplet
        .wait_withdrawn(BIRD_ROUTE, Duration::from_secs(30))
        .unwrap();
    wait_for(
        "the trap counted in /metrics",
        Duration::from_secs(15),
        Duration::from_millis(200),
        || Ok(trap_count(&metrics(&a)) > 0),
    )
    .unwrap();
    assert!(bgplet.process_mut().is_running(), "the agent died");
    let status = bgplet.status().unwrap();
    assert_eq!(status.peers[0].state, "Established");
    assert_eq!(status.peers[0].since, since, "the session was reset");
    // Locally originated routes go through the import hook too, so the
    // node's own block is rejected as well while the broken plugin is in
    // the chain (calico-bgp.md 4.4: local routes take the same path).
    bird.wait_withdrawn("10.244.0.0/26", Duration::from_secs(15))
        .unwrap();
    let log = bgplet.log_tail(400);
    assert!(
        log.lines().any(|l| l.contains("switch")
            && l.contains("import")
            && l.to_lowercase().contains("trap")),
        "no log line names the plugin, hook and trap:\n{log}"
    );

    // Back to the defaults: the route is accepted again, still without
    // a session reset.
    write_manifest(dir, "apiVersion: bgplet.dev/v1\nhooks: {}\n").unwrap();
    bgplet
        .wait_route(BIRD_ROUTE, Duration::from_secs(30))
        .unwrap();
    bird.wait_route("10.244.0.0/26", Duration::from_secs(15))
        .unwrap();
    assert_eq!(bgplet.status().unwrap().peers[0].since, since);
}
