//! Adapter for our own daemon: `bgplet run` in a namespace, queries
//! through `bgplet status|routes -o json`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::netns::Netns;
use crate::process::{self, Process};
use crate::resources::Resources;
use crate::route::{Family, Route};
use crate::speaker::Speaker;
use crate::tempdir::TestDir;
use crate::wait::wait_for;

/// The bgplet binary: `$BGPLET_BIN`, else `bgplet` in the profile
/// directory above the test executable (`<target>/<profile>/deps/x`).
pub fn bgplet_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("BGPLET_BIN") {
        let p = PathBuf::from(p);
        if !p.is_file() {
            bail!("BGPLET_BIN={} does not exist", p.display());
        }
        return Ok(p);
    }
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().context("test exe has no directory")?;
    if dir.ends_with("deps") {
        dir = dir.parent().context("deps has no parent")?;
    }
    let p = dir.join("bgplet");
    if !p.is_file() {
        bail!(
            "bgplet binary not found at {}: build it first \
             (`cargo build -p bgplet`, same profile) or set BGPLET_BIN",
            p.display()
        );
    }
    Ok(p)
}

/// Optional settings for [`Bgplet::start_with`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BgpletOptions {
    /// The binary; [`bgplet_binary`] when `None`.
    pub binary: Option<PathBuf>,
    /// Extra arguments after the standard `run` arguments.
    pub args: Vec<String>,
    /// Extra environment, e.g. `("RUST_LOG", "debug")`.
    pub env: Vec<(String, String)>,
    /// Read Calico resources through the Kubernetes API this kubeconfig
    /// names (`--datastore kubernetes`, `KUBECONFIG`) instead of the
    /// resources file.
    pub kubeconfig: Option<PathBuf>,
}

/// One peer from `bgplet status -o json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BgpletPeer {
    /// Peer name, e.g. `Global_10_0_0_2`.
    pub name: String,
    /// Peer address.
    pub peer_address: String,
    /// `type`: `global`, `node`, `mesh`, ...
    pub kind: String,
    /// FSM state, RFC 4271 names.
    pub state: String,
    /// When the state was entered.
    pub since: String,
    /// Free text (last error and the like).
    pub info: String,
}

/// The whole `bgplet status -o json` reply.
#[derive(Clone, Debug, PartialEq)]
pub struct BgpletStatus {
    /// Peers.
    pub peers: Vec<BgpletPeer>,
    /// The full document, for fields not modelled here.
    pub raw: Value,
}

/// One path from `bgplet routes -o json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BgpletPath {
    /// The common view of the path.
    pub route: Route,
    /// Peer name it came from.
    pub peer: String,
    /// Peer address it came from.
    pub peer_address: String,
    /// ADD-PATH path identifier (0 without ADD-PATH).
    pub path_id: u32,
    /// Whether bgplet selected it.
    pub best: bool,
    /// ORIGIN: `igp`, `egp` or `incomplete`.
    pub origin: String,
    /// Extended communities as bgplet prints them.
    pub ext_communities: Vec<String>,
    /// ORIGINATOR_ID.
    pub originator_id: Option<String>,
    /// CLUSTER_LIST.
    pub cluster_list: Vec<String>,
    /// Unknown attributes, as bgplet prints them.
    pub unknown: Vec<String>,
}

/// A running `bgplet run`.
#[derive(Debug)]
pub struct Bgplet {
    binary: PathBuf,
    resources: PathBuf,
    socket: PathBuf,
    log: PathBuf,
    node: String,
    process: Process,
    ns: Netns,
    dir: TestDir,
}

impl Bgplet {
    /// Writes `resources`, starts `bgplet run --resources FILE --node
    /// NODE --control-socket SOCK` in `ns` and waits until `status`
    /// answers.
    pub fn start(
        ns: &Netns,
        resources: &Resources,
        node: &str,
    ) -> Result<Bgplet> {
        Bgplet::start_with(ns, resources, node, &BgpletOptions::default())
    }

    /// Like [`Bgplet::start`] with another binary, extra `run` arguments
    /// or environment.
    pub fn start_with(
        ns: &Netns,
        resources: &Resources,
        node: &str,
        opts: &BgpletOptions,
    ) -> Result<Bgplet> {
        let binary = match &opts.binary {
            Some(b) => b.clone(),
            None => bgplet_binary()?,
        };
        let dir = TestDir::new("bgplet")?;
        let res = dir.join("resources.yaml");
        resources.write_to(&res)?;
        let socket = dir.join("bgplet.sock");
        let bird_socket = dir.join("bird.ctl");
        let log = dir.join("bgplet.log");
        let bin = path_str(&binary)?;
        // Each test's agent gets its own BIRD-protocol sockets: the
        // default /var/run/calico/bird.ctl is shared by every namespace.
        let source = match &opts.kubeconfig {
            Some(_) => ["--datastore", "kubernetes"],
            None => ["--resources", path_str(&res)?],
        };
        let mut args = vec![
            bin,
            "run",
            source[0],
            source[1],
            "--node",
            node,
            "--control-socket",
            path_str(&socket)?,
            "--bird-socket",
            path_str(&bird_socket)?,
        ];
        args.extend(opts.args.iter().map(String::as_str));
        let mut cmd = ns.command(&args);
        cmd.envs(opts.env.iter().map(|(k, v)| (k, v)));
        if let Some(k) = &opts.kubeconfig {
            cmd.env("KUBECONFIG", k);
        }
        let process =
            Process::spawn("bgplet", cmd, Some(&log))?.hold_ns(ns.clone());
        let mut b = Bgplet {
            binary,
            resources: res,
            socket,
            log,
            node: node.to_string(),
            process,
            ns: ns.clone(),
            dir,
        };
        wait_for(
            "bgplet control socket",
            // The agent compiles its wasm plugin before it answers; on a
            // loaded 2-core machine that can take a while.
            Duration::from_secs(60),
            Duration::from_millis(100),
            || {
                b.process.check_running()?;
                Ok(b.socket.exists() && b.status().is_ok())
            },
        )
        .map_err(|e| anyhow::anyhow!("{e:#}\nlog tail:\n{}", b.log_tail(40)))?;
        Ok(b)
    }

    /// The node name it runs as.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The scratch directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The resources file it reads.
    pub fn resources_path(&self) -> &Path {
        &self.resources
    }

    /// The namespace it runs in.
    pub fn netns(&self) -> &Netns {
        &self.ns
    }

    /// The process guard (e.g. to check it is still running).
    pub fn process_mut(&mut self) -> &mut Process {
        &mut self.process
    }

    /// Atomically replaces the resources file.
    pub fn write_resources(&self, r: &Resources) -> Result<()> {
        r.write_to(&self.resources)
    }

    /// Sends SIGTERM and waits up to `timeout`; true if it exited by
    /// itself.
    pub fn stop(&mut self, timeout: Duration) -> bool {
        self.process.terminate(timeout)
    }

    /// The BIRD-protocol socket (IPv4; `bird6.ctl` beside it for IPv6).
    pub fn bird_socket(&self) -> PathBuf {
        self.dir.join("bird.ctl")
    }

    /// Runs `bgplet ARGS --control-socket SOCK` and returns stdout.
    pub fn cli(&self, args: &[&str]) -> Result<String> {
        let mut all = args.to_vec();
        all.extend(["--control-socket", path_str(&self.socket)?]);
        process::run_cli(path_str(&self.binary)?, &all)
    }

    fn cli_json(&self, args: &[&str]) -> Result<Value> {
        let out = self.cli(args)?;
        serde_json::from_str(&out).with_context(|| {
            format!("bgplet {}: bad JSON {out:?}", args.join(" "))
        })
    }

    /// `bgplet status -o json`.
    pub fn status(&self) -> Result<BgpletStatus> {
        let raw = self.cli_json(&["status", "-o", "json"])?;
        let text = |v: &Value, k: &str| v[k].as_str().unwrap_or("").to_string();
        let peers = raw["peers"]
            .as_array()
            .context("status: no peers list")?
            .iter()
            .map(|p| BgpletPeer {
                name: text(p, "name"),
                peer_address: text(p, "peer_address"),
                kind: text(p, "type"),
                state: text(p, "state"),
                since: text(p, "since"),
                info: text(p, "info"),
            })
            .collect();
        Ok(BgpletStatus { peers, raw })
    }

    /// Every path of `bgplet routes -o json`.
    pub fn paths(&self) -> Result<Vec<BgpletPath>> {
        let v = self.cli_json(&["routes", "-o", "json"])?;
        parse_routes(&v)
    }
}

impl Speaker for Bgplet {
    fn label(&self) -> String {
        format!("bgplet in {}", self.ns.name())
    }

    fn session_state(&self, neighbor: &str) -> Result<Option<String>> {
        Ok(self
            .status()?
            .peers
            .into_iter()
            .find(|p| p.peer_address == neighbor)
            .map(|p| p.state))
    }

    fn routes(&self, family: Family) -> Result<Vec<Route>> {
        Ok(self
            .paths()?
            .into_iter()
            .filter(|p| p.best && p.route.family() == family)
            .map(|p| p.route)
            .collect())
    }

    fn log_tail(&self, lines: usize) -> String {
        process::tail_file(&self.log, lines)
    }
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .with_context(|| format!("non-UTF-8 path {}", p.display()))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|s| match s.as_str() {
            Some(s) => s.to_string(),
            None => s.to_string(),
        })
        .collect()
}

fn opt_u32(v: &Value) -> Option<u32> {
    v.as_u64().and_then(|n| u32::try_from(n).ok())
}

/// Parses `bgplet routes -o json`.
fn parse_routes(v: &Value) -> Result<Vec<BgpletPath>> {
    let routes = v["routes"].as_array().context("routes: no routes list")?;
    let mut out = Vec::new();
    for r in routes {
        let prefix = r["prefix"].as_str().unwrap_or("").to_string();
        for p in r["paths"].as_array().into_iter().flatten() {
            let route = Route {
                prefix: prefix.clone(),
                next_hop: p["next_hop"].as_str().unwrap_or("").to_string(),
                as_path: p["as_path"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(opt_u32)
                    .collect(),
                communities: strings(&p["communities"]),
                large_communities: strings(&p["large_communities"]),
                local_pref: opt_u32(&p["local_pref"]),
                med: opt_u32(&p["med"]),
            };
            out.push(BgpletPath {
                route: route.normalize(),
                peer: p["peer"].as_str().unwrap_or("").to_string(),
                peer_address: p["peer_address"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                path_id: opt_u32(&p["path_id"]).unwrap_or(0),
                best: p["best"].as_bool().unwrap_or(false),
                origin: p["origin"].as_str().unwrap_or("").to_string(),
                ext_communities: strings(&p["ext_communities"]),
                originator_id: p["originator_id"].as_str().map(str::to_string),
                cluster_list: strings(&p["cluster_list"]),
                unknown: strings(&p["unknown"]),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn routes_json_contract_maps_into_common_routes() {
        let v: Value = serde_json::from_str(
            r#"{"routes":[{"prefix":"10.1.0.0/24","paths":[{"peer":"Global_10_0_0_2",
            "peer_address":"10.0.0.2","path_id":0,"best":true,"origin":"igp",
            "as_path":[65000],"next_hop":"10.0.0.2","med":null,"local_pref":null,
            "communities":["65000:1"],"large_communities":["4200000001:1:2"],
            "ext_communities":[],"originator_id":null,"cluster_list":[],
            "unknown":[]}]}]}"#,
        )
        .unwrap();
        let p = parse_routes(&v).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].route.as_path, vec![65000]);
        assert_eq!(p[0].route.large_communities, vec!["4200000001:1:2"]);
        assert_eq!(p[0].route.med, None);
        assert!(p[0].best);
        assert_eq!(p[0].peer, "Global_10_0_0_2");
    }
}
