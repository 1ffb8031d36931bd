//! `bgplet lab` end to end: the user-facing command builds the cluster
//! (`lab up --prefix P --state-dir D`), the tests read its state file and
//! check every node's kernel table, BGP paths and pod-to-pod pings, and
//! the guard runs `lab down` on drop, also when a test panics.
//!
//! Every lab gets a prefix `blt<pid hex>_<n>` from its scratch directory,
//! so parallel tests never collide and the harness's stale sweep also
//! removes the namespaces of a killed run.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bgplet_tests::*;
use serde_json::Value;

/// A lab brought up by `bgplet lab up`, removed by `bgplet lab down`
/// on drop.
struct Lab {
    bin: PathBuf,
    prefix: String,
    dir: TestDir,
    state: Value,
}

impl Lab {
    /// `bgplet lab up ARGS` with a unique prefix and state directory;
    /// returns once the lab converged (the command waits for that).
    fn up(args: &[&str]) -> Result<Lab> {
        require_tools(&["ip", "ping"])?;
        let bin = bgplet_binary()?;
        let dir = TestDir::new("lab")?;
        let name = dir
            .path()
            .file_name()
            .and_then(|n| n.to_str())
            .context("scratch dir name")?;
        let prefix = format!("blt{}", name.trim_end_matches("-lab"));
        let mut lab = Lab {
            bin,
            prefix,
            dir,
            state: Value::Null,
        };
        let started = Instant::now();
        // Generous: every agent compiles the wasm plugin at start, and
        // parallel tests share the CPU.
        let out =
            lab.bgplet(&[&["lab", "up", "--timeout", "180"], args].concat())?;
        if !out.status.success() {
            bail!(
                "bgplet lab up {args:?} failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        eprintln!("lab up {args:?}: {:.1?}", started.elapsed());
        let text = std::fs::read_to_string(lab.lab_dir().join("state.json"))?;
        lab.state = serde_json::from_str(&text)?;
        Ok(lab)
    }

    fn lab_dir(&self) -> PathBuf {
        self.dir.join(&self.prefix)
    }

    /// Runs `bgplet ARGS --prefix P --state-dir D`.
    fn bgplet(&self, args: &[&str]) -> Result<std::process::Output> {
        let dir = self.dir.path().to_string_lossy().into_owned();
        Ok(Command::new(&self.bin)
            .args(args)
            .args(["--prefix", &self.prefix, "--state-dir", &dir])
            .stdin(Stdio::null())
            .output()?)
    }

    fn nodes(&self) -> Vec<Value> {
        self.state["plan"]["nodes"].as_array().cloned().unwrap()
    }

    fn agent(&self, node: &str) -> Value {
        self.state["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["node"] == node)
            .cloned()
            .unwrap()
    }

    /// `ip -j route` of a node.
    fn kernel(&self, node: &Value) -> Result<Vec<Value>> {
        self.kernel_family(node, "-4")
    }

    /// `ip -6 -j route` of a node.
    fn kernel6(&self, node: &Value) -> Result<Vec<Value>> {
        self.kernel_family(node, "-6")
    }

    fn kernel_family(&self, node: &Value, family: &str) -> Result<Vec<Value>> {
        let ns = node["netns"].as_str().unwrap();
        let out = Command::new("ip")
            .args(["-n", ns, family, "-j", "route", "show", "table", "main"])
            .output()?;
        if !out.status.success() {
            bail!("ip route in {ns}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    /// `bgplet routes -o json` of a bgplet node.
    fn bgp_routes(&self, node: &str) -> Result<Value> {
        let socket = self.agent(node)["control_socket"]
            .as_str()
            .unwrap()
            .to_string();
        let out = Command::new(&self.bin)
            .args(["routes", "-o", "json", "--control-socket", &socket])
            .output()?;
        if !out.status.success() {
            bail!("bgplet routes: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    /// Asserts that every node's kernel has every other node's block
    /// `via <its eth0> dev eth0 proto bird metric 1024` and its own
    /// block as `blackhole proto bird`, in both families.
    fn assert_kernels_converged(&self) {
        for (block, ip, v6) in [("block", "ip", false), ("block6", "ip6", true)]
        {
            for node in &self.nodes() {
                let routes = if v6 {
                    self.kernel6(node).unwrap()
                } else {
                    self.kernel(node).unwrap()
                };
                self.assert_blocks(node, &routes, block, ip);
            }
        }
    }

    fn assert_blocks(
        &self,
        node: &Value,
        routes: &[Value],
        block: &str,
        ip: &str,
    ) {
        let nodes = self.nodes();
        {
            let name = node["name"].as_str().unwrap();
            for other in &nodes {
                let r = find(routes, other[block].as_str().unwrap())
                    .unwrap_or_else(|| {
                        panic!(
                            "{name}: no route to {}: {routes:#?}",
                            other[block]
                        )
                    });
                assert_eq!(r["protocol"], "bird", "{name}: {r}");
                if other["name"] == node["name"] {
                    assert_eq!(r["type"], "blackhole", "{name}: {r}");
                } else {
                    assert_eq!(r["gateway"], other[ip], "{name}: {r}");
                    assert_eq!(r["dev"], "eth0", "{name}: {r}");
                    assert_eq!(r["metric"], 1024, "{name}: {r}");
                }
            }
        }
    }

    /// Pings every pod from every pod on another node, IPv4 and IPv6.
    fn assert_pods_ping_across_nodes(&self) {
        let nodes = self.nodes();
        let mut failed = Vec::new();
        for a in &nodes {
            for pa in a["pods"].as_array().unwrap() {
                for b in nodes.iter().filter(|b| b["name"] != a["name"]) {
                    for pb in b["pods"].as_array().unwrap() {
                        for ip in ["ip", "ip6"] {
                            let (from, to) = (
                                pa["netns"].as_str().unwrap(),
                                pb[ip].as_str().unwrap(),
                            );
                            if !ping(from, to) {
                                failed.push(format!("{from} -> {to}"));
                            }
                        }
                    }
                }
            }
        }
        assert!(failed.is_empty(), "pings failed: {failed:?}");
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        match self.bgplet(&["lab", "down"]) {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "bgplet lab down: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => eprintln!("bgplet lab down: {e:#}"),
        }
    }
}

fn find<'a>(routes: &'a [Value], dst: &str) -> Option<&'a Value> {
    routes.iter().find(|r| r["dst"] == dst)
}

fn ping(ns: &str, dst: &str) -> bool {
    (0..3).any(|_| {
        Command::new("ip")
            .args([
                "netns", "exec", ns, "ping", "-c", "1", "-W", "1", "-q", dst,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// A kernel table without what differs between labs (nothing should):
/// each route as "type dst via gateway dev proto metric", sorted.
fn normalized(routes: &[Value]) -> Vec<String> {
    let field = |r: &Value, k: &str| match &r[k] {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    let mut v: Vec<String> = routes
        .iter()
        .map(|r| {
            [
                "type", "dst", "gateway", "dev", "protocol", "metric", "scope",
            ]
            .iter()
            .map(|k| field(r, k))
            .collect::<Vec<_>>()
            .join(" ")
        })
        .collect();
    v.sort();
    v
}

#[test]
fn three_node_mesh_lab_installs_every_block_and_pods_ping_across_nodes() {
    let lab = Lab::up(&[]).unwrap();
    lab.assert_kernels_converged();
    lab.assert_pods_ping_across_nodes();
    // Felix's pod routes stay the kernel's: bgplet adds, never takes over.
    let node1 = &lab.nodes()[0];
    let routes = lab.kernel(node1).unwrap();
    let pod = find(&routes, "10.244.1.2").unwrap();
    assert_eq!(pod["dev"], "cali1");
    assert_ne!(pod["protocol"], "bird");
}

#[test]
fn five_node_lab_with_one_reflector_reflects_client_blocks_with_originator_and_cluster_list()
 {
    let lab =
        Lab::up(&["--nodes", "5", "--topology", "rr", "--reflectors", "1"])
            .unwrap();
    lab.assert_kernels_converged();
    // node3 learns node4's block only through node1, the reflector.
    let routes = lab.bgp_routes("node3").unwrap();
    let entry = routes["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["prefix"] == "10.244.4.0/26")
        .cloned()
        .unwrap_or_else(|| panic!("node3 lacks node4's block: {routes:#}"));
    let paths = entry["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 1, "{entry:#}");
    let p = &paths[0];
    assert_eq!(p["peer_address"], "10.0.0.11", "{p:#}");
    assert_eq!(p["next_hop"], "10.0.0.14", "{p:#}");
    assert_eq!(p["originator_id"], "10.0.0.14", "{p:#}");
    assert_eq!(p["cluster_list"], serde_json::json!(["224.0.0.1"]), "{p:#}");
    lab.assert_pods_ping_across_nodes();
}

#[test]
fn killing_an_agent_withdraws_its_block_and_restarting_it_restores_it() {
    let lab = Lab::up(&[]).unwrap();
    let nodes = lab.nodes();
    let agent = lab.agent("node3");
    let pid = agent["pid"].as_i64().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // The kernel closes the dead agent's sockets: the peers see the TCP
    // session end at once, well before the 240 s hold timer. As
    // graceful-restart helpers (RFC 4724, what BIRD does for calico-node,
    // calico-bgp.md 5.6) they keep node3's routes, stale, for the restart
    // time node3 advertised (the lab's 10 s), then drop them.
    let gone = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    for n in &nodes[..2] {
        let routes = lab.kernel(n).unwrap();
        assert!(
            find(&routes, "10.244.3.0/26").is_some(),
            "{}: node3's block went before its restart time: {routes:#?}",
            n["name"]
        );
    }
    wait_for(
        "node3's block to leave node1 and node2 after its restart time",
        Duration::from_secs(40),
        Duration::from_millis(100),
        || {
            Ok(nodes[..2].iter().all(|n| {
                lab.kernel(n)
                    .map(|r| find(&r, "10.244.3.0/26").is_none())
                    .unwrap_or(false)
            }))
        },
    )
    .unwrap();
    assert!(
        gone.elapsed() >= Duration::from_secs(8),
        "removed after {:?}, before the 10 s restart time",
        gone.elapsed()
    );
    eprintln!("withdrawn from both kernels after {:.1?}", gone.elapsed());

    // Start it again exactly as the lab did.
    let netns = agent["netns"].as_str().unwrap();
    let command: Vec<String> = agent["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", netns]).args(&command);
    let log = PathBuf::from(agent["log"].as_str().unwrap());
    // Killed on drop, before the lab goes.
    let _restarted = Process::spawn("bgplet", cmd, Some(&log)).unwrap();
    let back = Instant::now();
    wait_for(
        "node3's block back in node1 and node2",
        Duration::from_secs(40),
        Duration::from_millis(200),
        || {
            Ok(nodes[..2].iter().all(|n| {
                lab.kernel(n)
                    .map(|r| find(&r, "10.244.3.0/26").is_some())
                    .unwrap_or(false)
            }))
        },
    )
    .unwrap();
    eprintln!("restored after {:.1?}", back.elapsed());
    lab.assert_kernels_converged();
    lab.assert_pods_ping_across_nodes();
}

#[test]
fn mixed_lab_with_a_bird_node_converges_to_the_kernel_routes_of_an_all_bgplet_lab()
 {
    require_tools(&["bird", "birdc"]).unwrap();
    let mixed = Lab::up(&["--bird-node", "2"]).unwrap();
    mixed.assert_kernels_converged();
    mixed.assert_pods_ping_across_nodes();
    assert_eq!(mixed.agent("node2")["kind"], "bird");
    let tables = |lab: &Lab| -> Vec<Vec<String>> {
        lab.nodes()
            .iter()
            .map(|n| {
                let mut t = normalized(&lab.kernel(n).unwrap());
                t.extend(normalized(&lab.kernel6(n).unwrap()));
                t
            })
            .collect()
    };
    let mixed_tables = tables(&mixed);
    drop(mixed);

    let plain = Lab::up(&[]).unwrap();
    let plain_tables = tables(&plain);
    // The bgplet nodes (1 and 3) and the BIRD node itself: the same
    // table, route for route.
    for (i, (m, p)) in mixed_tables.iter().zip(&plain_tables).enumerate() {
        assert_eq!(m, p, "node{} differs", i + 1);
    }
}

/// Runs `bgplet lab ARGS` with `env` and returns (success, stderr).
fn lab_with_env(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let bin = bgplet_binary().unwrap();
    let mut cmd = Command::new(bin);
    cmd.arg("lab").args(args).env("RUST_BACKTRACE", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn lab_without_iproute2_fails_naming_the_package_and_builds_nothing() {
    require_root().unwrap();
    let dir = TestDir::new("lab-noip").unwrap();
    let state_dir = dir.path().to_string_lossy().into_owned();
    let (ok, err) = lab_with_env(
        &["--prefix", "bltnoip", "--state-dir", &state_dir],
        &[("PATH", "/nonexistent")],
    );
    assert!(!ok);
    assert!(err.contains("ip (Debian package iproute2)"), "{err}");
    assert!(!dir.join("bltnoip").exists());
}

#[test]
fn lab_as_non_root_fails_asking_for_root() {
    require_tools(&["setpriv"]).unwrap();
    let bin = bgplet_binary().unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(bin)
        .arg("lab")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("Permission denied") {
        // The binary sits where nobody may not read it (e.g. /root):
        // nothing to learn about bgplet here.
        eprintln!("skipped: {err}");
        return;
    }
    assert!(err.contains("must run as root"), "{err}");
}

/// Issue 4's live re-plan: three agents share one resources file; the
/// file switches from the full mesh to route reflectors, and every agent
/// re-plans its sessions live: the Mesh_ sessions go, the Node_ sessions
/// to and from the reflector come up, and the blocks stay reachable.
#[test]
fn mesh_lab_replans_to_route_reflectors_when_the_resources_file_changes() {
    let lab = Lab::up(&[]).unwrap();
    let out = lab
        .bgplet(&["lab", "resources", "--topology", "rr"])
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rr = String::from_utf8(out.stdout).unwrap();
    assert!(rr.contains("routeReflectorClusterID"), "{rr}");
    // Written in place, as an operator editing the file would.
    std::fs::write(lab.lab_dir().join("resources.yaml"), &rr).unwrap();

    let names = |node: &str| -> Result<Vec<(String, String)>> {
        let socket = lab.agent(node)["control_socket"]
            .as_str()
            .unwrap()
            .to_string();
        let out = Command::new(&lab.bin)
            .args(["status", "-o", "json", "--control-socket", &socket])
            .output()?;
        let v: Value = serde_json::from_slice(&out.stdout)?;
        Ok(v["peers"]
            .as_array()
            .context("peers")?
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap_or("").to_string(),
                    p["state"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect())
    };
    let established = |list: &[(String, String)], name: &str| {
        list.iter().any(|(n, s)| n == name && s == "Established")
    };
    wait_for(
        "every agent re-planned to route reflectors",
        Duration::from_secs(90),
        Duration::from_millis(500),
        || {
            let (n1, n2, n3) =
                (names("node1")?, names("node2")?, names("node3")?);
            let no_mesh = [&n1, &n2, &n3]
                .iter()
                .all(|l| l.iter().all(|(n, _)| !n.starts_with("Mesh_")));
            Ok(no_mesh
                && established(&n1, "Node_10_0_0_12")
                && established(&n1, "Node_10_0_0_13")
                && established(&n2, "Node_10_0_0_11")
                && established(&n3, "Node_10_0_0_11")
                && !n2.iter().any(|(n, _)| n == "Node_10_0_0_13"))
        },
    )
    .unwrap();
    // Clients reach each other's blocks through the reflector now.
    wait_for(
        "kernels converged again through the reflector",
        Duration::from_secs(60),
        Duration::from_millis(500),
        || {
            let routes = lab.bgp_routes("node2")?;
            let reflected = routes["routes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["prefix"] == "10.244.3.0/26")
                .flat_map(|r| {
                    r["paths"].as_array().cloned().unwrap_or_default()
                })
                .any(|p| {
                    p["peer"] == "Node_10_0_0_11"
                        && p["originator_id"] == "10.0.0.13"
                });
            Ok(reflected)
        },
    )
    .unwrap();
    lab.assert_kernels_converged();
    lab.assert_pods_ping_across_nodes();
}
