//! `bgplet plugin diff` against a running agent (issue 6): bgplet with a
//! BIRD eBGP peer that sends it a route. A plugin candidate (the prepend
//! example toward BIRD's session) and a manifest candidate (prepend on
//! export, graceful-shutdown on import) list exactly the prefixes they
//! change, with the attribute named; a candidate whose `init` fails is
//! rejected with the reason and a non-zero exit; nothing is activated
//! (BIRD keeps the old routes, no reload, no session reset). Then the
//! reload metrics and the hook latency histogram are read back from
//! /metrics through prometheus_client's parser.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use bgplet_tests::*;
use serde_json::Value;

const OUR_AS: u32 = 4200000001;
const BIRD_AS: u32 = 65004;
const NODE: &str = "node-a";
const BLOCKS: [&str; 2] = ["10.244.0.0/26", "10.244.0.64/26"];
const BIRD_ROUTE: &str = "192.0.2.0/24";
const UP: Duration = Duration::from_secs(30);
const ROUTE: Duration = Duration::from_secs(15);
/// Debug builds compile a plugin slowly (Cranelift itself unoptimised).
const SWAP: Duration = Duration::from_secs(60);

/// Writes the embedded prepend plugin to `dir/prepend.wasm`; its pin.
fn prepend_wasm(dir: &Path) -> String {
    let out = Command::new(bgplet_binary().unwrap())
        .args(["plugin", "builtin", "prepend", "--output"])
        .arg(dir.join("prepend.wasm"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let pin = String::from_utf8(out.stdout).unwrap();
    pin.split_whitespace().next().unwrap().to_owned()
}

fn prepend_manifest(pin: &str, session: &str, import: &str) -> String {
    format!(
        "apiVersion: bgplet.dev/v1\n\
         hooks:\n{import}  \
           export:\n    \
             - {{name: calico, builtin: calico}}\n    \
             - name: prepend\n      \
               wasm: prepend.wasm\n      \
               sha256: \"{pin}\"\n      \
               config: {{peers: [\"{session}\"], count: 2}}\n"
    )
}

/// `bgplet plugin diff ARGS` against the agent: stdout, or stderr when
/// it exits non-zero. Not through `Bgplet::cli`, whose time limit a
/// debug build's plugin compile can exceed on a loaded machine.
fn diff(bgplet: &Bgplet, args: &[&str]) -> Result<String, String> {
    let out = Command::new(bgplet_binary().unwrap())
        .args(["plugin", "diff"])
        .args(args)
        .arg("--control-socket")
        .arg(bgplet.dir().join("bgplet.sock"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    if out.status.success() {
        Ok(text(out.stdout))
    } else {
        Err(text(out.stderr))
    }
}

/// (prefix, change, subject) of every row.
fn rows(reply: &Value) -> BTreeSet<(String, String, String)> {
    reply["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_owned();
            (s("prefix"), s("change"), s("subject"))
        })
        .collect()
}

fn row<'a>(reply: &'a Value, prefix: &str, change: &str) -> &'a Value {
    reply["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["prefix"] == prefix && r["change"] == change)
        .unwrap_or_else(|| panic!("no {change} row for {prefix}: {reply}"))
}

/// GET /metrics from inside the agent's namespace.
fn scrape(ns: &Netns) -> String {
    let raw = ns
        .in_ns(|| {
            let mut s = std::net::TcpStream::connect("127.0.0.1:9179")?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")?;
            let mut body = String::new();
            s.read_to_string(&mut body)?;
            Ok(body)
        })
        .unwrap();
    raw.split_once("\r\n\r\n").unwrap().1.to_owned()
}

/// Parses with prometheus_client: one `name|labels JSON|value` line
/// per sample.
const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        print(s.name, json.dumps(s.labels, sort_keys=True), float(s.value), sep="|")
"#;

/// Every sample as (name, labels, value), through the real parser.
fn parse(text: &str) -> Vec<(String, Value, f64)> {
    let mut child = Command::new("python3")
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client rejected /metrics (setup: python3 -m pip \
         install prometheus-client==0.26.0): {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let mut p = l.split('|');
            let name = p.next().unwrap().to_owned();
            let labels = serde_json::from_str(p.next().unwrap()).unwrap();
            (name, labels, p.next().unwrap().parse().unwrap())
        })
        .collect()
}

/// The value of the sample `name` whose labels include `want`.
fn sample(
    samples: &[(String, Value, f64)],
    name: &str,
    want: &[(&str, &str)],
) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| n == name && want.iter().all(|(k, v)| l[*k] == *v))
        .map(|s| s.2)
}

#[test]
fn plugin_diff_lists_exactly_the_changed_prefixes_and_activates_nothing() {
    require_tools(&["ip", "bird", "birdc", "python3"]).unwrap();
    let (a, b) = (Netns::new().unwrap(), Netns::new().unwrap());
    let l = link(&a, &b, 45).unwrap();
    let bird = Bird::start(
        &b,
        BirdConfig::new(l.b_v4, BIRD_AS)
            .neighbor(
                BirdNeighbor::new("node_v4", l.a_v4, OUR_AS)
                    .local_address(l.b_v4)
                    .ipv4_only()
                    .export(BirdExport::Static),
            )
            .static_route(StaticRoute {
                communities: vec!["65535:0".into()],
                ..StaticRoute::new(BIRD_ROUTE)
            }),
    )
    .unwrap();

    let plugins = TestDir::new("plugins").unwrap();
    let dir = plugins.path();
    write_manifest(dir, "apiVersion: bgplet.dev/v1\nhooks: {}\n").unwrap();
    let pin = prepend_wasm(dir);
    let mut r = Resources::new()
        .bgp_configuration(OUR_AS, None, false)
        .node(&CalicoNode::new(NODE, &l.a_v4_cidr()))
        .node(&CalicoNode::new("tor", &l.b_v4_cidr()).as_number(BIRD_AS))
        .bgp_peer(&CalicoPeer::new("tor-v4", &l.b_v4.to_string(), BIRD_AS))
        .ip_pool("pool-v4", "10.244.0.0/16");
    for block in BLOCKS {
        r = r.block_affinity(NODE, block);
    }
    let opts = BgpletOptions {
        args: vec!["--plugins".into(), dir.display().to_string()],
        ..BgpletOptions::default()
    };
    let bgplet = Bgplet::start_with(&a, &r, NODE, &opts).unwrap();
    bgplet.wait_established(&l.b_v4.to_string(), UP).unwrap();
    bgplet.wait_route(BIRD_ROUTE, ROUTE).unwrap();
    for block in BLOCKS {
        let r = bird.wait_route(block, ROUTE).unwrap();
        assert_eq!(r.as_path, vec![OUR_AS], "{block}");
    }
    let status = bgplet.status().unwrap();
    let session = status.peers[0].name.clone();
    let since = status.peers[0].since.clone();

    // A plugin: prepend joins the export chain behind calico.
    let config = format!("{{\"peers\":[\"{session}\"],\"count\":2}}");
    let out =
        diff(&bgplet, &["prepend", "--config", &config, "-o", "json"]).unwrap();
    let reply: Value = serde_json::from_str(&out).unwrap();
    let to = format!("to {session}");
    let expected: BTreeSet<(String, String, String)> = BLOCKS
        .iter()
        .map(|b| (b.to_string(), "export".into(), to.clone()))
        .collect();
    assert_eq!(rows(&reply), expected, "{reply}");
    for block in BLOCKS {
        let e = row(&reply, block, "export");
        assert_eq!(e["attributes"], serde_json::json!(["as_path"]), "{e}");
        assert_eq!(e["before"], format!("as_path {OUR_AS}"));
        assert_eq!(e["after"], format!("as_path {OUR_AS} {OUR_AS} {OUR_AS}"));
    }
    let export = reply["candidate"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["hook"] == "export")
        .unwrap();
    assert_eq!(export["plugins"].as_array().unwrap().len(), 2, "{reply}");
    assert_eq!(reply["prefixes"], 3, "{reply}");
    // The table says the same to people.
    let table = diff(&bgplet, &["prepend", "--config", &config]).unwrap();
    eprintln!("{table}");
    assert!(table.contains("2 of 3 prefixes would change"), "{table}");
    assert!(table.contains("PREFIX"), "{table}");
    for block in BLOCKS {
        let line = table.lines().find(|l| l.starts_with(block)).unwrap();
        assert!(line.contains(&format!("export {to}")), "{line}");
        assert!(line.contains("-> as_path"), "{line}");
    }

    // A manifest: the complete chains, graceful-shutdown on import too.
    let cand = TestDir::new("candidate").unwrap();
    let cdir = cand.path();
    let cpin = prepend_wasm(cdir);
    assert_eq!(cpin, pin);
    let import = "  import:\n    \
                    - {name: calico, builtin: calico}\n    \
                    - {name: graceful-shutdown, builtin: graceful-shutdown}\n";
    write_manifest(cdir, &prepend_manifest(&pin, &session, import)).unwrap();
    let out =
        diff(&bgplet, &[&cdir.display().to_string(), "-o", "json"]).unwrap();
    let reply: Value = serde_json::from_str(&out).unwrap();
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&reply["changes"]).unwrap()
    );
    let mut expected = expected.clone();
    let from = format!("from {session}");
    expected.insert((BIRD_ROUTE.into(), "import".into(), from));
    expected.insert((BIRD_ROUTE.into(), "best".into(), String::new()));
    // Calico's kernel metric is 2147483647 - LOCAL_PREF.
    expected.insert((BIRD_ROUTE.into(), "kernel".into(), String::new()));
    assert_eq!(rows(&reply), expected, "{reply}");
    for change in ["import", "best"] {
        let r = row(&reply, BIRD_ROUTE, change);
        assert_eq!(r["attributes"], serde_json::json!(["local_pref"]), "{r}");
        assert!(r["after"].as_str().unwrap().contains("local_pref 0"), "{r}");
    }
    let k = row(&reply, BIRD_ROUTE, "kernel");
    let via = format!("via {}", l.b_v4);
    assert_eq!(k["before"], format!("{via} metric 2147483547"), "{k}");
    assert_eq!(k["after"], format!("{via} metric 2147483647"), "{k}");

    // A candidate its own init refuses: the reason, a non-zero exit.
    let bad = "{\"peers\":[],\"count\":0}";
    let err = diff(&bgplet, &["prepend", "--config", bad]).unwrap_err();
    assert!(err.contains("candidate rejected"), "{err}");
    assert!(err.contains("count must be"), "{err}");

    // Nothing was activated: BIRD has the old routes, no reload ran and
    // the session was not reset.
    std::thread::sleep(Duration::from_secs(2));
    for block in BLOCKS {
        assert_eq!(bird.route(block).unwrap().unwrap().as_path, vec![OUR_AS]);
    }
    let status = bgplet.status().unwrap();
    assert_eq!(status.peers[0].state, "Established");
    assert_eq!(status.peers[0].since, since);
    let p = &status.raw["plugins"];
    assert_eq!(
        (p["reloads_ok"].as_u64(), p["generation"].as_u64()),
        (Some(0), Some(1)),
        "{p}"
    );

    // /metrics: real latencies for the live plugin, nothing counted for
    // the tried ones, no reload yet.
    let samples = parse(&scrape(&a));
    let hist = "bgplet_plugin_call_duration_seconds";
    for hook in ["import", "export", "kernel"] {
        let labels = [("plugin", "calico"), ("hook", hook)];
        let count =
            sample(&samples, &format!("{hist}_count"), &labels).unwrap();
        let calls =
            sample(&samples, "bgplet_plugin_calls_total", &labels).unwrap();
        assert!(count > 0.0, "{hook}: no observed latency");
        assert_eq!(count, calls, "{hook}: every call observed");
        let inf = [("plugin", "calico"), ("hook", hook), ("le", "+Inf")];
        assert_eq!(
            sample(&samples, &format!("{hist}_bucket"), &inf),
            Some(count)
        );
        assert!(
            sample(&samples, &format!("{hist}_sum"), &labels).unwrap() > 0.0
        );
    }
    for tried in ["prepend", "graceful-shutdown"] {
        assert!(
            !samples.iter().any(|(_, l, _)| l["plugin"] == tried),
            "{tried} counted in /metrics"
        );
    }
    let reloads = "bgplet_plugin_reloads_total";
    assert_eq!(
        sample(&samples, reloads, &[("outcome", "applied")]),
        Some(0.0)
    );
    let pin_rejects = [("outcome", "rejected"), ("reason", "pin")];
    assert_eq!(sample(&samples, reloads, &pin_rejects), Some(0.0));

    // Reloads: a wrong pin is refused and counted with its reason, the
    // real one is applied and does what the diff said.
    write_manifest(dir, &prepend_manifest(&"0".repeat(64), &session, ""))
        .unwrap();
    wait_for("refused reload", SWAP, Duration::from_millis(100), || {
        Ok(bgplet.status()?.raw["plugins"]["reloads_failed"] == 1)
    })
    .unwrap();
    let samples = parse(&scrape(&a));
    assert_eq!(sample(&samples, reloads, &pin_rejects), Some(1.0));
    write_manifest(dir, &prepend_manifest(&pin, &session, "")).unwrap();
    let prepended = vec![OUR_AS, OUR_AS, OUR_AS];
    for block in BLOCKS {
        bird.wait_route_matching(block, SWAP, &|r| r.as_path == prepended)
            .unwrap();
    }
    let samples = parse(&scrape(&a));
    assert_eq!(
        sample(&samples, reloads, &[("outcome", "applied")]),
        Some(1.0)
    );
    assert_eq!(bgplet.status().unwrap().peers[0].since, since);
}
