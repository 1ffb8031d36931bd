//! GoBGP adapter: gobgpd with a TOML config in a namespace, queries and
//! route injection through the `gobgp` CLI.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::netns::Netns;
use crate::process::{self, Process};
use crate::route::{Family, Route, community_from_u32};
use crate::speaker::Speaker;
use crate::tempdir::TestDir;
use crate::wait::wait_for;

/// gRPC API address of every gobgpd (each has its own namespace).
const API_HOST: &str = "127.0.0.1";
const API_PORT: &str = "50051";

/// One `[[neighbors]]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GobgpNeighbor {
    /// Neighbor address.
    pub address: IpAddr,
    /// Neighbor AS.
    pub remote_as: u32,
    /// Local address for the session (`transport.config.local-address`).
    pub local_address: Option<IpAddr>,
    /// Only accept connections (`passive-mode`).
    pub passive: bool,
    /// TCP-MD5 password (`auth-password`).
    pub password: Option<String>,
    /// eBGP multihop TTL.
    pub multihop: Option<u8>,
    /// Hold time in seconds (keepalive is a third of it).
    pub hold_time: u16,
    /// Connect retry in seconds.
    pub connect_retry: u16,
    /// Enable ipv4-unicast.
    pub ipv4: bool,
    /// Enable ipv6-unicast.
    pub ipv6: bool,
}

impl GobgpNeighbor {
    /// A neighbor with ipv4- and ipv6-unicast, hold 9, retry 2.
    pub fn new(address: impl Into<IpAddr>, remote_as: u32) -> GobgpNeighbor {
        GobgpNeighbor {
            address: address.into(),
            remote_as,
            local_address: None,
            passive: false,
            password: None,
            multihop: None,
            hold_time: 9,
            connect_retry: 2,
            ipv4: true,
            ipv6: true,
        }
    }

    /// Sets the local address.
    pub fn local_address(mut self, a: impl Into<IpAddr>) -> GobgpNeighbor {
        self.local_address = Some(a.into());
        self
    }

    /// Only accepts incoming connections.
    pub fn passive(mut self) -> GobgpNeighbor {
        self.passive = true;
        self
    }

    /// Sets a TCP-MD5 password.
    pub fn password(mut self, p: &str) -> GobgpNeighbor {
        self.password = Some(p.to_string());
        self
    }

    /// Enables eBGP multihop with the given TTL.
    pub fn multihop(mut self, ttl: u8) -> GobgpNeighbor {
        self.multihop = Some(ttl);
        self
    }

    /// Sets the hold time.
    pub fn hold_time(mut self, secs: u16) -> GobgpNeighbor {
        self.hold_time = secs;
        self
    }

    /// ipv4-unicast only.
    pub fn ipv4_only(mut self) -> GobgpNeighbor {
        self.ipv6 = false;
        self
    }

    /// ipv6-unicast only.
    pub fn ipv6_only(mut self) -> GobgpNeighbor {
        self.ipv4 = false;
        self
    }
}

/// A gobgpd configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GobgpConfig {
    /// Router ID.
    pub router_id: Ipv4Addr,
    /// Local AS.
    pub local_as: u32,
    /// BGP listen port (179 by default; -1 would disable, not offered).
    pub listen_port: u16,
    /// Addresses to listen on; empty means all.
    pub local_addresses: Vec<IpAddr>,
    /// Neighbors.
    pub neighbors: Vec<GobgpNeighbor>,
}

impl GobgpConfig {
    /// A config with no neighbors, listening on port 179.
    pub fn new(router_id: Ipv4Addr, local_as: u32) -> GobgpConfig {
        GobgpConfig {
            router_id,
            local_as,
            listen_port: 179,
            local_addresses: Vec::new(),
            neighbors: Vec::new(),
        }
    }

    /// Adds a neighbor.
    pub fn neighbor(mut self, n: GobgpNeighbor) -> GobgpConfig {
        self.neighbors.push(n);
        self
    }

    /// The TOML text.
    pub fn render(&self) -> String {
        let mut c = String::new();
        let _ = writeln!(c, "[global.config]");
        let _ = writeln!(c, "  as = {}", self.local_as);
        let _ = writeln!(c, "  router-id = \"{}\"", self.router_id);
        let _ = writeln!(c, "  port = {}", self.listen_port);
        if !self.local_addresses.is_empty() {
            let list: Vec<String> = self
                .local_addresses
                .iter()
                .map(|a| format!("\"{a}\""))
                .collect();
            let _ = writeln!(c, "  local-address-list = [{}]", list.join(", "));
        }
        for n in &self.neighbors {
            let _ = writeln!(c, "\n[[neighbors]]");
            let _ = writeln!(c, "  [neighbors.config]");
            let _ = writeln!(c, "    neighbor-address = \"{}\"", n.address);
            let _ = writeln!(c, "    peer-as = {}", n.remote_as);
            if let Some(p) = &n.password {
                let _ = writeln!(c, "    auth-password = \"{p}\"");
            }
            let _ = writeln!(c, "  [neighbors.timers.config]");
            let _ = writeln!(c, "    hold-time = {}", n.hold_time);
            let _ = writeln!(
                c,
                "    keepalive-interval = {}",
                (n.hold_time / 3).max(1)
            );
            let _ = writeln!(c, "    connect-retry = {}", n.connect_retry);
            // The 30 s default pause after a reset makes tests slow.
            let _ = writeln!(c, "    idle-hold-time-after-reset = 1");
            if n.passive || n.local_address.is_some() {
                let _ = writeln!(c, "  [neighbors.transport.config]");
                if n.passive {
                    let _ = writeln!(c, "    passive-mode = true");
                }
                if let Some(a) = n.local_address {
                    let _ = writeln!(c, "    local-address = \"{a}\"");
                }
            }
            if let Some(ttl) = n.multihop {
                let _ = writeln!(c, "  [neighbors.ebgp-multihop.config]");
                let _ = writeln!(c, "    enabled = true");
                let _ = writeln!(c, "    multihop-ttl = {ttl}");
            }
            for (on, name) in
                [(n.ipv4, "ipv4-unicast"), (n.ipv6, "ipv6-unicast")]
            {
                if on {
                    let _ = writeln!(c, "  [[neighbors.afi-safis]]");
                    let _ = writeln!(c, "    [neighbors.afi-safis.config]");
                    let _ = writeln!(c, "      afi-safi-name = \"{name}\"");
                }
            }
        }
        c
    }
}

/// A route to inject with `gobgp global rib add`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GobgpRoute {
    /// Prefix, IPv4 or IPv6.
    pub prefix: String,
    /// Explicit next hop. Needed for IPv6 routes over an IPv4 session:
    /// GoBGP would otherwise send its IPv4 address, which peers drop.
    pub next_hop: Option<String>,
    /// Standard communities `"asn:value"`.
    pub communities: Vec<String>,
    /// Large communities `"global:l1:l2"`.
    pub large_communities: Vec<String>,
    /// MED.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
}

impl GobgpRoute {
    /// A route for `prefix` with no extra attributes.
    pub fn new(prefix: &str) -> GobgpRoute {
        GobgpRoute {
            prefix: prefix.to_string(),
            ..GobgpRoute::default()
        }
    }

    /// Sets the next hop.
    pub fn next_hop(mut self, nh: impl ToString) -> GobgpRoute {
        self.next_hop = Some(nh.to_string());
        self
    }

    /// Adds a standard community.
    pub fn community(mut self, c: &str) -> GobgpRoute {
        self.communities.push(c.to_string());
        self
    }

    /// Adds a large community.
    pub fn large_community(mut self, c: &str) -> GobgpRoute {
        self.large_communities.push(c.to_string());
        self
    }

    /// Sets the MED.
    pub fn med(mut self, m: u32) -> GobgpRoute {
        self.med = Some(m);
        self
    }

    /// Sets LOCAL_PREF.
    pub fn local_pref(mut self, lp: u32) -> GobgpRoute {
        self.local_pref = Some(lp);
        self
    }
}

/// One path of GoBGP's global RIB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GobgpPath {
    /// The common view of the path.
    pub route: Route,
    /// Whether GoBGP marks it best.
    pub best: bool,
    /// The neighbor it came from; `None` for local routes.
    pub neighbor: Option<String>,
}

/// A running gobgpd.
///
/// GoBGP makes its first outgoing connection 5 to 10 s after start
/// (a fixed minimum in gobgpd, whatever `connect-retry` says), so a
/// session comes up faster when the other side connects to it.
#[derive(Debug)]
pub struct Gobgp {
    config: GobgpConfig,
    log: PathBuf,
    process: Process,
    ns: Netns,
    dir: TestDir,
}

impl Gobgp {
    /// Dry-runs the config (`gobgpd -d`), starts gobgpd in `ns` and waits
    /// until its API answers.
    pub fn start(ns: &Netns, config: GobgpConfig) -> Result<Gobgp> {
        let dir = TestDir::new("gobgp")?;
        let conf = dir.write("gobgpd.toml", &config.render())?;
        let conf_s = conf.to_str().context("non-UTF-8 path")?;
        let check = process::output("gobgpd", &["-f", conf_s, "-d"])?;
        if !check.status.success() {
            bail!(
                "gobgpd rejected its config: {}{}\n{}",
                String::from_utf8_lossy(&check.stdout).trim(),
                String::from_utf8_lossy(&check.stderr).trim(),
                config.render()
            );
        }
        let log = dir.join("gobgpd.log");
        let api = format!("{API_HOST}:{API_PORT}");
        let process = ns.spawn(
            "gobgpd",
            &[
                "gobgpd",
                "-f",
                conf_s,
                "-p",
                "-l",
                "info",
                "--api-hosts",
                &api,
                "--pprof-disable",
            ],
            Some(&log),
        )?;
        let mut g = Gobgp {
            config,
            log,
            process,
            ns: ns.clone(),
            dir,
        };
        wait_for(
            "gobgpd API",
            Duration::from_secs(10),
            Duration::from_millis(100),
            || {
                g.process.check_running()?;
                Ok(g.gobgp(&["global"]).is_ok())
            },
        )?;
        Ok(g)
    }

    /// The config it runs.
    pub fn config(&self) -> &GobgpConfig {
        &self.config
    }

    /// The scratch directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The namespace it runs in.
    pub fn netns(&self) -> &Netns {
        &self.ns
    }

    /// The pid of the `gobgpd` process (e.g. to freeze it).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Runs `gobgp -u 127.0.0.1 -p 50051 args...` in the namespace.
    pub fn gobgp(&self, args: &[&str]) -> Result<String> {
        let mut all = vec![
            "timeout",
            "-k",
            "2",
            process::CLI_TIMEOUT,
            "gobgp",
            "-u",
            API_HOST,
            "-p",
            API_PORT,
        ];
        all.extend_from_slice(args);
        self.ns.exec(&all)
    }

    /// Like [`Gobgp::gobgp`] with `-j`, parsed as JSON.
    pub fn gobgp_json(&self, args: &[&str]) -> Result<Value> {
        let mut all = vec!["-j"];
        all.extend_from_slice(args);
        let out = self.gobgp(&all)?;
        serde_json::from_str(out.trim()).with_context(|| {
            format!("gobgp -j {}: bad JSON {out:?}", args.join(" "))
        })
    }

    /// Originates a route (`gobgp global rib add ...`).
    pub fn add_route(&self, r: &GobgpRoute) -> Result<()> {
        let mut args = vec!["global", "rib", "add", r.prefix.as_str()];
        let (med, lp, comms, large);
        if let Some(nh) = &r.next_hop {
            args.extend(["nexthop", nh.as_str()]);
        }
        args.extend(["origin", "igp"]);
        if let Some(m) = r.med {
            med = m.to_string();
            args.extend(["med", med.as_str()]);
        }
        if let Some(l) = r.local_pref {
            lp = l.to_string();
            args.extend(["local-pref", lp.as_str()]);
        }
        if !r.communities.is_empty() {
            comms = r.communities.join(",");
            args.extend(["community", comms.as_str()]);
        }
        if !r.large_communities.is_empty() {
            large = r.large_communities.join(",");
            args.extend(["large-community", large.as_str()]);
        }
        args.extend(["-a", Family::of(&r.prefix).as_str()]);
        self.gobgp(&args).map(|_| ())
    }

    /// Withdraws a route added with [`Gobgp::add_route`].
    pub fn del_route(&self, prefix: &str) -> Result<()> {
        self.gobgp(&[
            "global",
            "rib",
            "del",
            prefix,
            "-a",
            Family::of(prefix).as_str(),
        ])
        .map(|_| ())
    }

    /// Every path of the family's global RIB.
    pub fn paths(&self, family: Family) -> Result<Vec<GobgpPath>> {
        let v = self.gobgp_json(&["global", "rib", "-a", family.as_str()])?;
        parse_rib(&v)
    }
}

impl Speaker for Gobgp {
    fn label(&self) -> String {
        format!("gobgpd in {}", self.ns.name())
    }

    fn session_state(&self, neighbor: &str) -> Result<Option<String>> {
        let v = self.gobgp_json(&["neighbor"])?;
        let Some(list) = v.as_array() else {
            bail!("gobgp neighbor: not a list: {v}")
        };
        for n in list {
            if n["conf"]["neighbor_address"].as_str() == Some(neighbor) {
                return Ok(Some(session_state_name(
                    &n["state"]["session_state"],
                )));
            }
        }
        Ok(None)
    }

    fn routes(&self, family: Family) -> Result<Vec<Route>> {
        Ok(self
            .paths(family)?
            .into_iter()
            .filter(|p| p.best)
            .map(|p| p.route)
            .collect())
    }

    fn log_tail(&self, lines: usize) -> String {
        process::tail_file(&self.log, lines)
    }
}

/// GoBGP's API enum (numbers in 3.x JSON, names in older releases).
fn session_state_name(v: &Value) -> String {
    let names = [
        "Unknown",
        "Idle",
        "Connect",
        "Active",
        "OpenSent",
        "OpenConfirm",
        "Established",
    ];
    if let Some(i) = v.as_u64() {
        return names
            .get(i as usize)
            .copied()
            .unwrap_or("Unknown")
            .to_string();
    }
    let s = v.as_str().unwrap_or("unknown").to_ascii_lowercase();
    names
        .iter()
        .find(|n| n.to_ascii_lowercase() == s)
        .map_or(s, |n| n.to_string())
}

/// Parses `gobgp -j global rib` output: `{prefix: [path, ...]}`.
fn parse_rib(v: &Value) -> Result<Vec<GobgpPath>> {
    let Some(map) = v.as_object() else {
        bail!("gobgp rib: not an object: {v}")
    };
    let mut out = Vec::new();
    for (prefix, paths) in map {
        for p in paths.as_array().into_iter().flatten() {
            let mut r = Route {
                prefix: prefix.clone(),
                ..Route::default()
            };
            for a in p["attrs"].as_array().into_iter().flatten() {
                match a["type"].as_u64() {
                    Some(2) => {
                        for seg in
                            a["as_paths"].as_array().into_iter().flatten()
                        {
                            for asn in
                                seg["asns"].as_array().into_iter().flatten()
                            {
                                if let Some(n) = asn
                                    .as_u64()
                                    .and_then(|n| u32::try_from(n).ok())
                                {
                                    r.as_path.push(n);
                                }
                            }
                        }
                    }
                    Some(3) | Some(14) => {
                        if let Some(nh) = a["nexthop"].as_str() {
                            r.next_hop = nh.to_string();
                        }
                    }
                    Some(4) => {
                        r.med =
                            a["metric"].as_u64().and_then(|n| n.try_into().ok())
                    }
                    Some(5) => {
                        r.local_pref =
                            a["value"].as_u64().and_then(|n| n.try_into().ok())
                    }
                    Some(8) => {
                        r.communities = a["communities"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_u64)
                            .map(community_from_u32)
                            .collect();
                    }
                    Some(32) => {
                        r.large_communities = a["value"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|c| {
                                format!(
                                    "{}:{}:{}",
                                    c["ASN"].as_u64().unwrap_or(0),
                                    c["LocalData1"].as_u64().unwrap_or(0),
                                    c["LocalData2"].as_u64().unwrap_or(0)
                                )
                            })
                            .collect();
                    }
                    _ => {}
                }
            }
            out.push(GobgpPath {
                route: r.normalize(),
                best: p["best"].as_bool().unwrap_or(false),
                neighbor: p["neighbor-ip"].as_str().map(str::to_string),
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
    fn global_rib_json_is_parsed_into_routes() {
        let v: Value = serde_json::from_str(
            r#"{"fd10:1::/64":[{"nlri":{"prefix":"fd10:1::/64"},"best":true,
            "attrs":[{"type":1,"value":0},
            {"type":2,"as_paths":[{"segment_type":2,"num":1,"asns":[4200000001]}]},
            {"type":4,"metric":20},{"type":5,"value":150},
            {"type":8,"communities":[4259840001]},
            {"type":32,"value":[{"ASN":4200000001,"LocalData1":1,"LocalData2":2}]},
            {"type":14,"nexthop":"fd00::1","afi":2,"safi":1}],
            "neighbor-ip":"10.0.0.1"}]}"#,
        )
        .unwrap();
        let p = parse_rib(&v).unwrap();
        assert_eq!(p.len(), 1);
        let r = &p[0].route;
        assert_eq!(r.as_path, vec![4200000001]);
        assert_eq!(r.communities, vec!["65000:1"]);
        assert_eq!(r.large_communities, vec!["4200000001:1:2"]);
        assert_eq!(r.next_hop, "fd00::1");
        assert_eq!((r.med, r.local_pref), (Some(20), Some(150)));
        assert_eq!(p[0].neighbor.as_deref(), Some("10.0.0.1"));
    }
}
