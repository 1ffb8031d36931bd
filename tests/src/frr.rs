//! FRR adapter: zebra + bgpd in a namespace under their own pathspace
//! (`-N <netns name>`), queries through `vtysh -N`.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::netns::{FRR_RUN, Netns};
use crate::process::{self, Process};
use crate::route::{Family, Route};
use crate::speaker::Speaker;
use crate::tempdir::TestDir;
use crate::wait::wait_for;

const ZEBRA: &str = "/usr/lib/frr/zebra";
const BGPD: &str = "/usr/lib/frr/bgpd";

/// One BGP neighbor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrrNeighbor {
    /// Neighbor address.
    pub address: IpAddr,
    /// Neighbor AS.
    pub remote_as: u32,
    /// `update-source` address.
    pub update_source: Option<IpAddr>,
    /// Only accept connections.
    pub passive: bool,
    /// TCP-MD5 password.
    pub password: Option<String>,
    /// `ebgp-multihop` TTL.
    pub multihop: Option<u8>,
    /// Hold time (keepalive is a third of it).
    pub hold_time: u16,
    /// Connect retry time.
    pub connect_retry: u16,
    /// Activate in address-family ipv4 unicast.
    pub ipv4: bool,
    /// Activate in address-family ipv6 unicast.
    pub ipv6: bool,
}

impl FrrNeighbor {
    /// A neighbor active for IPv4 and IPv6 unicast, hold 9, retry 2.
    pub fn new(address: impl Into<IpAddr>, remote_as: u32) -> FrrNeighbor {
        FrrNeighbor {
            address: address.into(),
            remote_as,
            update_source: None,
            passive: false,
            password: None,
            multihop: None,
            hold_time: 9,
            connect_retry: 2,
            ipv4: true,
            ipv6: true,
        }
    }

    /// Sets `update-source`.
    pub fn update_source(mut self, a: impl Into<IpAddr>) -> FrrNeighbor {
        self.update_source = Some(a.into());
        self
    }

    /// Only accepts incoming connections.
    pub fn passive(mut self) -> FrrNeighbor {
        self.passive = true;
        self
    }

    /// Sets a TCP-MD5 password.
    pub fn password(mut self, p: &str) -> FrrNeighbor {
        self.password = Some(p.to_string());
        self
    }

    /// Sets `ebgp-multihop`.
    pub fn multihop(mut self, ttl: u8) -> FrrNeighbor {
        self.multihop = Some(ttl);
        self
    }

    /// Sets the hold time.
    pub fn hold_time(mut self, secs: u16) -> FrrNeighbor {
        self.hold_time = secs;
        self
    }

    /// IPv4 unicast only.
    pub fn ipv4_only(mut self) -> FrrNeighbor {
        self.ipv6 = false;
        self
    }

    /// IPv6 unicast only.
    pub fn ipv6_only(mut self) -> FrrNeighbor {
        self.ipv4 = false;
        self
    }
}

/// A `network` statement with attributes set through a route-map.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrrNetwork {
    /// Prefix, IPv4 or IPv6.
    pub prefix: String,
    /// Standard communities.
    pub communities: Vec<String>,
    /// Large communities.
    pub large_communities: Vec<String>,
    /// MED (`set metric`).
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
}

impl FrrNetwork {
    /// A network for `prefix` with no attributes.
    pub fn new(prefix: &str) -> FrrNetwork {
        FrrNetwork {
            prefix: prefix.to_string(),
            ..FrrNetwork::default()
        }
    }

    /// Adds a standard community.
    pub fn community(mut self, c: &str) -> FrrNetwork {
        self.communities.push(c.to_string());
        self
    }

    /// Adds a large community.
    pub fn large_community(mut self, c: &str) -> FrrNetwork {
        self.large_communities.push(c.to_string());
        self
    }

    /// Sets the MED.
    pub fn med(mut self, m: u32) -> FrrNetwork {
        self.med = Some(m);
        self
    }

    /// Sets LOCAL_PREF.
    pub fn local_pref(mut self, lp: u32) -> FrrNetwork {
        self.local_pref = Some(lp);
        self
    }

    fn has_attributes(&self) -> bool {
        !self.communities.is_empty()
            || !self.large_communities.is_empty()
            || self.med.is_some()
            || self.local_pref.is_some()
    }

    /// Name of the route-map carrying this network's attributes.
    fn route_map(&self) -> String {
        let clean: String = self
            .prefix
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        format!("blt_net_{clean}")
    }

    /// vtysh config lines defining the route-map.
    fn route_map_lines(&self) -> Vec<String> {
        let mut l = vec![format!("route-map {} permit 10", self.route_map())];
        if !self.communities.is_empty() {
            l.push(format!(" set community {}", self.communities.join(" ")));
        }
        if !self.large_communities.is_empty() {
            l.push(format!(
                " set large-community {}",
                self.large_communities.join(" ")
            ));
        }
        if let Some(m) = self.med {
            l.push(format!(" set metric {m}"));
        }
        if let Some(lp) = self.local_pref {
            l.push(format!(" set local-preference {lp}"));
        }
        l
    }

    fn network_line(&self) -> String {
        if self.has_attributes() {
            format!("network {} route-map {}", self.prefix, self.route_map())
        } else {
            format!("network {}", self.prefix)
        }
    }
}

/// A bgpd configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrrConfig {
    /// Router ID.
    pub router_id: Ipv4Addr,
    /// Local AS.
    pub local_as: u32,
    /// Neighbors.
    pub neighbors: Vec<FrrNeighbor>,
    /// Networks to originate.
    pub networks: Vec<FrrNetwork>,
    /// Raw lines appended inside `router bgp`.
    pub extra: String,
}

impl FrrConfig {
    /// An empty config.
    pub fn new(router_id: Ipv4Addr, local_as: u32) -> FrrConfig {
        FrrConfig {
            router_id,
            local_as,
            neighbors: Vec::new(),
            networks: Vec::new(),
            extra: String::new(),
        }
    }

    /// Adds a neighbor.
    pub fn neighbor(mut self, n: FrrNeighbor) -> FrrConfig {
        self.neighbors.push(n);
        self
    }

    /// Adds a network to originate.
    pub fn network(mut self, n: FrrNetwork) -> FrrConfig {
        self.networks.push(n);
        self
    }

    /// The bgpd.conf text.
    pub fn render(&self, hostname: &str) -> String {
        let mut c = String::new();
        let _ = writeln!(c, "frr defaults traditional");
        let _ = writeln!(c, "hostname {hostname}");
        let _ = writeln!(c, "log stdout informational");
        let _ = writeln!(c, "!");
        for n in self.networks.iter().filter(|n| n.has_attributes()) {
            for l in n.route_map_lines() {
                let _ = writeln!(c, "{l}");
            }
            let _ = writeln!(c, "!");
        }
        let _ = writeln!(c, "router bgp {}", self.local_as);
        let _ = writeln!(c, " bgp router-id {}", self.router_id);
        // FRR's defaults drop all eBGP routes without a policy (RFC 8212)
        // and only originate prefixes already in the RIB.
        let _ = writeln!(c, " no bgp ebgp-requires-policy");
        let _ = writeln!(c, " no bgp network import-check");
        let _ = writeln!(c, " no bgp default ipv4-unicast");
        for n in &self.neighbors {
            let a = n.address;
            let _ = writeln!(c, " neighbor {a} remote-as {}", n.remote_as);
            let _ = writeln!(
                c,
                " neighbor {a} timers {} {}",
                (n.hold_time / 3).max(1),
                n.hold_time
            );
            let _ =
                writeln!(c, " neighbor {a} timers connect {}", n.connect_retry);
            if n.passive {
                let _ = writeln!(c, " neighbor {a} passive");
            }
            if let Some(p) = &n.password {
                let _ = writeln!(c, " neighbor {a} password {p}");
            }
            if let Some(ttl) = n.multihop {
                let _ = writeln!(c, " neighbor {a} ebgp-multihop {ttl}");
            }
            if let Some(src) = n.update_source {
                let _ = writeln!(c, " neighbor {a} update-source {src}");
            }
        }
        for fam in [Family::Ipv4, Family::Ipv6] {
            let _ = writeln!(c, " address-family {fam} unicast");
            for n in &self.neighbors {
                let on = match fam {
                    Family::Ipv4 => n.ipv4,
                    Family::Ipv6 => n.ipv6,
                };
                if on {
                    let _ = writeln!(c, "  neighbor {} activate", n.address);
                }
            }
            for n in self
                .networks
                .iter()
                .filter(|n| Family::of(&n.prefix) == fam)
            {
                let _ = writeln!(c, "  {}", n.network_line());
            }
            let _ = writeln!(c, " exit-address-family");
        }
        c.push_str(&self.extra);
        let _ = writeln!(c, "!");
        c
    }
}

/// One path from `show bgp <afi> unicast <prefix> json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrrPath {
    /// The common view of the path.
    pub route: Route,
    /// Whether FRR selected it.
    pub best: bool,
    /// The peer it came from (`peerId`); `None` for local routes.
    pub peer: Option<String>,
}

/// A running zebra + bgpd pair. One per namespace.
#[derive(Debug)]
pub struct Frr {
    config: FrrConfig,
    bgpd_log: PathBuf,
    // Field order is drop order: bgpd, zebra, then the namespace.
    bgpd: Process,
    zebra: Process,
    ns: Netns,
    run_dir: PathBuf,
    dir: TestDir,
}

impl Frr {
    /// Starts zebra and bgpd in `ns` with pathspace `ns.name()` and waits
    /// until bgpd answers vtysh.
    pub fn start(ns: &Netns, config: FrrConfig) -> Result<Frr> {
        let dir = TestDir::new("frr")?;
        let host = ns.name().to_string();
        let bgpd_conf = dir.write("bgpd.conf", &config.render(&host))?;
        let zebra_conf = dir.write(
            "zebra.conf",
            &format!("hostname {host}\nlog stdout informational\n"),
        )?;
        // The daemons drop to user frr and create their sockets here.
        let run_dir = Path::new(FRR_RUN).join(&host);
        std::fs::create_dir_all(&run_dir)?;
        process::run("chown", &["frr:frr", FRR_RUN, path_str(&run_dir)?])?;
        let pid = |d: &str| run_dir.join(format!("{d}.pid"));
        let zebra_log = dir.join("zebra.log");
        let bgpd_log = dir.join("bgpd.log");
        let mut zebra = ns.spawn(
            "zebra",
            &[
                ZEBRA,
                "-N",
                &host,
                "-f",
                path_str(&zebra_conf)?,
                "-i",
                path_str(&pid("zebra"))?,
                "-P",
                "0",
            ],
            Some(&zebra_log),
        )?;
        let zserv = run_dir.join("zserv.api");
        wait_for(
            "zebra socket",
            Duration::from_secs(10),
            Duration::from_millis(50),
            || {
                zebra.check_running()?;
                Ok(zserv.exists())
            },
        )?;
        let bgpd = ns.spawn(
            "bgpd",
            &[
                BGPD,
                "-N",
                &host,
                "-f",
                path_str(&bgpd_conf)?,
                "-i",
                path_str(&pid("bgpd"))?,
                "-P",
                "0",
            ],
            Some(&bgpd_log),
        )?;
        let mut frr = Frr {
            config,
            bgpd_log,
            bgpd,
            zebra,
            ns: ns.clone(),
            run_dir,
            dir,
        };
        wait_for(
            "bgpd via vtysh",
            Duration::from_secs(15),
            Duration::from_millis(100),
            || {
                frr.bgpd.check_running()?;
                Ok(frr.vtysh(&["show bgp summary json"]).is_ok())
            },
        )?;
        Ok(frr)
    }

    /// The config bgpd started with.
    pub fn config(&self) -> &FrrConfig {
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

    /// The pid of `bgpd` (e.g. to freeze it).
    pub fn bgpd_pid(&self) -> u32 {
        self.bgpd.pid()
    }

    /// zebra's log tail (bgpd's is [`Speaker::log_tail`]).
    pub fn zebra_log_tail(&self, lines: usize) -> String {
        self.zebra.log_tail(lines)
    }

    /// Runs `vtysh -N NAME -c cmd1 -c cmd2 ...` and returns stdout.
    pub fn vtysh(&self, commands: &[&str]) -> Result<String> {
        let mut args = vec!["-N", self.ns.name()];
        for c in commands {
            args.extend(["-c", c]);
        }
        let out = process::run_cli("vtysh", &args)?;
        if out.contains("% Unknown command") || out.contains("% Invalid") {
            bail!("vtysh {commands:?}: {out}");
        }
        Ok(out)
    }

    /// Runs config commands inside `configure terminal`.
    pub fn configure(&self, lines: &[&str]) -> Result<()> {
        let mut cmds = vec!["configure terminal"];
        cmds.extend_from_slice(lines);
        self.vtysh(&cmds).map(|_| ())
    }

    /// Originates `net` at run time.
    pub fn add_network(&self, net: &FrrNetwork) -> Result<()> {
        let mut lines: Vec<String> = Vec::new();
        if net.has_attributes() {
            lines.extend(net.route_map_lines());
            lines.push("exit".into());
        }
        lines.push(format!("router bgp {}", self.config.local_as));
        lines.push(format!(
            "address-family {} unicast",
            Family::of(&net.prefix)
        ));
        lines.push(net.network_line());
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        self.configure(&refs)
    }

    /// Stops originating `prefix`.
    pub fn remove_network(&self, prefix: &str) -> Result<()> {
        self.configure(&[
            &format!("router bgp {}", self.config.local_as),
            &format!("address-family {} unicast", Family::of(prefix)),
            &format!("no network {prefix}"),
        ])
    }

    /// Every path of the family's table, with attributes.
    pub fn paths(&self, family: Family) -> Result<Vec<FrrPath>> {
        let table: Value = serde_json::from_str(
            &self.vtysh(&[&format!("show bgp {family} unicast json")])?,
        )
        .context("show bgp json")?;
        let prefixes: Vec<String> = table["routes"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        if prefixes.is_empty() {
            return Ok(Vec::new());
        }
        let cmds: Vec<String> = prefixes
            .iter()
            .map(|p| format!("show bgp {family} unicast {p} json"))
            .collect();
        let refs: Vec<&str> = cmds.iter().map(String::as_str).collect();
        let out = self.vtysh(&refs)?;
        let mut paths = Vec::new();
        // vtysh prints one JSON document per command, back to back.
        for doc in serde_json::Deserializer::from_str(&out).into_iter::<Value>()
        {
            let doc = doc.context("show bgp PREFIX json")?;
            paths.extend(parse_prefix(&doc));
        }
        Ok(paths)
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        self.bgpd.kill();
        self.zebra.kill();
        let _ = std::fs::remove_dir_all(&self.run_dir);
    }
}

impl Speaker for Frr {
    fn label(&self) -> String {
        format!("frr in {}", self.ns.name())
    }

    fn session_state(&self, neighbor: &str) -> Result<Option<String>> {
        let v: Value =
            serde_json::from_str(&self.vtysh(&["show bgp neighbors json"])?)
                .context("show bgp neighbors json")?;
        Ok(v[neighbor]["bgpState"].as_str().map(str::to_string))
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
        process::tail_file(&self.bgpd_log, lines)
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
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// Parses one `show bgp <afi> unicast <prefix> json` document.
fn parse_prefix(doc: &Value) -> Vec<FrrPath> {
    let prefix = doc["prefix"].as_str().unwrap_or("").to_string();
    let mut out = Vec::new();
    for p in doc["paths"].as_array().into_iter().flatten() {
        let mut r = Route {
            prefix: prefix.clone(),
            ..Route::default()
        };
        for seg in p["aspath"]["segments"].as_array().into_iter().flatten() {
            for asn in seg["list"].as_array().into_iter().flatten() {
                if let Some(n) =
                    asn.as_u64().and_then(|n| u32::try_from(n).ok())
                {
                    r.as_path.push(n);
                }
            }
        }
        r.communities = strings(&p["community"]["list"]);
        r.large_communities = strings(&p["largeCommunity"]["list"]);
        r.med = p["metric"].as_u64().and_then(|n| n.try_into().ok());
        r.local_pref = p["locPrf"]
            .as_u64()
            .or_else(|| p["localpref"].as_u64())
            .and_then(|n| n.try_into().ok());
        r.next_hop = p["nexthops"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["scope"].as_str() != Some("link-local"))
            .and_then(|n| n["ip"].as_str())
            .unwrap_or("")
            .to_string();
        let peer = p["peer"]["peerId"].as_str().filter(|s| *s != "(unspec)");
        out.push(FrrPath {
            route: r.normalize(),
            best: p["bestpath"]["overall"].as_bool().unwrap_or(false),
            peer: peer.map(str::to_string),
        });
    }
    out
}
