//! Plugin reloads in a live agent: bgplet (`--plugins DIR`) with a BIRD
//! eBGP peer. Swapping in a manifest that adds the prepend example
//! toward BIRD changes what BIRD shows without resetting the session;
//! a manifest with a wrong pin is refused and changes nothing.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::time::{Duration, Instant};

use bgplet_tests::*;

const OUR_AS: u32 = 4200000001;
const BIRD_AS: u32 = 65002;
const NODE: &str = "node-a";
const BLOCKS: [&str; 2] = ["10.244.0.0/26", "10.244.0.64/26"];
const UP: Duration = Duration::from_secs(30);
const ROUTE: Duration = Duration::from_secs(15);
/// Debug builds compile a plugin slowly (Cranelift itself unoptimised).
const SWAP: Duration = Duration::from_secs(60);

fn resources(l: &Link) -> Resources {
    let mut r = Resources::new()
        .bgp_configuration(OUR_AS, None, false)
        .node(&CalicoNode::new(NODE, &l.a_v4_cidr()))
        .node(&CalicoNode::new("tor", &l.b_v4_cidr()).as_number(BIRD_AS))
        .bgp_peer(&CalicoPeer::new("tor-v4", &l.b_v4.to_string(), BIRD_AS))
        .ip_pool("pool-v4", "10.244.0.0/16");
    for b in BLOCKS {
        r = r.block_affinity(NODE, b);
    }
    r
}

#[test]
fn a_plugin_swap_reaches_bird_without_a_session_reset() {
    require_tools(&["ip", "ss", "bird", "birdc", "sha256sum"]).unwrap();
    let (a, b) = (Netns::new().unwrap(), Netns::new().unwrap());
    let l = link(&a, &b, 41).unwrap();
    let bird_cfg = BirdConfig::new(l.b_v4, BIRD_AS).neighbor(
        BirdNeighbor::new("node_v4", l.a_v4, OUR_AS)
            .local_address(l.b_v4)
            .ipv4_only(),
    );
    let bird = Bird::start(&b, bird_cfg).unwrap();

    let plugins = TestDir::new("plugins").unwrap();
    let dir = plugins.path();
    write_manifest(dir, "apiVersion: bgplet.dev/v1\nhooks: {}\n").unwrap();
    let bin = bgplet_binary().unwrap();
    let wasm = dir.join("prepend.wasm");
    let out = std::process::Command::new(&bin)
        .args(["plugin", "builtin", "prepend", "--output"])
        .arg(&wasm)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let pin = String::from_utf8(out.stdout).unwrap();
    let pin = pin.split_whitespace().next().unwrap().to_owned();

    let opts = BgpletOptions {
        args: vec!["--plugins".into(), dir.display().to_string()],
        ..BgpletOptions::default()
    };
    let bgplet = Bgplet::start_with(&a, &resources(&l), NODE, &opts).unwrap();
    bgplet.wait_established(&l.b_v4.to_string(), UP).unwrap();
    bird.wait_established(&l.a_v4.to_string(), UP).unwrap();
    for block in BLOCKS {
        let r = bird.wait_route(block, ROUTE).unwrap();
        assert_eq!(r.as_path, vec![OUR_AS], "{block}");
    }
    let status = bgplet.status().unwrap();
    let since = status.peers[0].since.clone();
    assert_eq!(
        status.raw["plugins"]["source"],
        format!("directory {}", dir.display())
    );
    let bird_line = bird.protocol_line("node_v4").unwrap();

    // The swap: prepend twice toward BIRD's session. By name: the
    // export hook sees an update group, whose PeerInfo has no address.
    let session = status.peers[0].name.clone();
    let t0 = Instant::now();
    write_manifest(dir, &prepend_manifest(&pin, &[session.as_str()], 2))
        .unwrap();
    let prepended = vec![OUR_AS, OUR_AS, OUR_AS];
    for block in BLOCKS {
        bird.wait_route_matching(block, SWAP, &|r| r.as_path == prepended)
            .map_err(|e| {
                let log = std::fs::read_to_string(bird.log_path())
                    .unwrap_or_default();
                let notes: Vec<&str> =
                    log.lines().filter(|l| !l.contains("<TRACE>")).collect();
                anyhow::anyhow!(
                    "{e:#}\nbgplet:\n{}\nbgplet status: {}\nBIRD:\n{}\n{}",
                    bgplet.log_tail(30),
                    bgplet.status().map(|s| s.raw).unwrap_or_default(),
                    notes.join("\n"),
                    bird.birdc(&["show", "route", "all"]).unwrap_or_default()
                )
            })
            .unwrap();
    }
    let took = t0.elapsed();
    eprintln!("manifest change to prepended routes at BIRD: {took:?}");

    let status = bgplet.status().unwrap();
    assert_eq!(status.peers[0].state, "Established");
    assert_eq!(status.peers[0].since, since, "bgplet reset the session");
    assert_eq!(bird.protocol_line("node_v4").unwrap(), bird_line);
    let p = &status.raw["plugins"];
    assert_eq!(p["reloads_ok"], 1, "{p}");
    assert_eq!(p["last_reload"]["ok"], true, "{p}");
    let export = p["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["hook"] == "export")
        .unwrap();
    assert_eq!(export["plugins"].as_array().unwrap().len(), 2, "{p}");

    // A wrong pin is refused: the prepending plugin stays in service.
    let wrong = "0".repeat(64);
    write_manifest(dir, &prepend_manifest(&wrong, &["10.9.9.9"], 2)).unwrap();
    wait_for("refused reload", SWAP, Duration::from_millis(100), || {
        let s = bgplet.status()?;
        Ok(s.raw["plugins"]["reloads_failed"] == 1)
    })
    .unwrap();
    let s = bgplet.status().unwrap();
    let err = s.raw["plugins"]["last_reload"]["error"].as_str().unwrap();
    assert!(err.contains("does not match the pin"), "{err}");
    std::thread::sleep(Duration::from_secs(1));
    for block in BLOCKS {
        assert_eq!(bird.route(block).unwrap().unwrap().as_path, prepended);
    }
    assert_eq!(s.peers[0].since, since);
    assert_eq!(bird.protocol_line("node_v4").unwrap(), bird_line);
}

/// Issue 3's export edit end to end: with a BIRD peer and a GoBGP peer,
/// the prepend example configured toward BIRD's session shows the
/// prepended AS_PATH in BIRD's table and not in GoBGP's.
#[test]
fn prepend_toward_one_peer_shows_at_bird_and_not_at_gobgp() {
    require_tools(&["ip", "bird", "birdc", "gobgpd", "gobgp"]).unwrap();
    const GOBGP_AS: u32 = 65003;
    let (a, b, c) = (
        Netns::new().unwrap(),
        Netns::new().unwrap(),
        Netns::new().unwrap(),
    );
    let to_bird = link(&a, &b, 42).unwrap();
    let to_gobgp = link(&a, &c, 43).unwrap();
    let bird = Bird::start(
        &b,
        BirdConfig::new(to_bird.b_v4, BIRD_AS).neighbor(
            BirdNeighbor::new("node_v4", to_bird.a_v4, OUR_AS)
                .local_address(to_bird.b_v4)
                .ipv4_only(),
        ),
    )
    .unwrap();
    let gobgp = Gobgp::start(
        &c,
        GobgpConfig::new(to_gobgp.b_v4, GOBGP_AS).neighbor(
            GobgpNeighbor::new(to_gobgp.a_v4, OUR_AS)
                .local_address(to_gobgp.b_v4)
                .ipv4_only(),
        ),
    )
    .unwrap();

    let plugins = TestDir::new("plugins").unwrap();
    let dir = plugins.path();
    let bin = bgplet_binary().unwrap();
    let wasm = dir.join("prepend.wasm");
    let out = std::process::Command::new(&bin)
        .args(["plugin", "builtin", "prepend", "--output"])
        .arg(&wasm)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let pin = String::from_utf8(out.stdout).unwrap();
    let pin = pin.split_whitespace().next().unwrap().to_owned();
    // Calico names the session after the peer address.
    let bird_session =
        format!("Global_{}", to_bird.b_v4.to_string().replace('.', "_"));
    write_manifest(dir, &prepend_manifest(&pin, &[bird_session.as_str()], 2))
        .unwrap();

    let mut r = Resources::new()
        .bgp_configuration(OUR_AS, None, false)
        .node(&CalicoNode::new(NODE, &to_bird.a_v4_cidr()))
        .bgp_peer(&CalicoPeer::new("bird", &to_bird.b_v4.to_string(), BIRD_AS))
        .bgp_peer(&CalicoPeer::new(
            "gobgp",
            &to_gobgp.b_v4.to_string(),
            GOBGP_AS,
        ))
        .ip_pool("pool-v4", "10.244.0.0/16");
    for block in BLOCKS {
        r = r.block_affinity(NODE, block);
    }
    let opts = BgpletOptions {
        args: vec!["--plugins".into(), dir.display().to_string()],
        ..BgpletOptions::default()
    };
    let bgplet = Bgplet::start_with(&a, &r, NODE, &opts).unwrap();
    bgplet
        .wait_established(&to_bird.b_v4.to_string(), UP)
        .unwrap();
    bgplet
        .wait_established(&to_gobgp.b_v4.to_string(), UP)
        .unwrap();
    let prepended = vec![OUR_AS, OUR_AS, OUR_AS];
    for block in BLOCKS {
        bird.wait_route_matching(block, SWAP, &|r| r.as_path == prepended)
            .unwrap();
        let at_gobgp = gobgp.wait_route(block, SWAP).unwrap();
        assert_eq!(at_gobgp.as_path, vec![OUR_AS], "{block} at GoBGP");
    }
}
