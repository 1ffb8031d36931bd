//! BIRD 2 adapter: config from a struct, `bird -f` in a namespace,
//! queries through `birdc`.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::netns::Netns;
use crate::process::{self, Process};
use crate::route::{Family, Route};
use crate::speaker::Speaker;
use crate::tempdir::TestDir;
use crate::wait::wait_for;

/// What a BIRD BGP channel exports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BirdExport {
    /// Everything in the table (`export all`; device routes excluded).
    #[default]
    All,
    /// Only the static routes given in [`BirdConfig::static_routes`].
    Static,
    /// Nothing (`export none`).
    None,
    /// A raw BIRD export clause body, e.g. `where net ~ 10.0.0.0/8`.
    Filter(String),
}

/// A route BIRD originates (a blackhole static route with BGP
/// attributes set on it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StaticRoute {
    /// Prefix, IPv4 or IPv6.
    pub prefix: String,
    /// Standard communities `"asn:value"` to attach.
    pub communities: Vec<String>,
    /// Large communities `"global:l1:l2"` to attach.
    pub large_communities: Vec<String>,
    /// MED to attach.
    pub med: Option<u32>,
    /// LOCAL_PREF to attach (sent to iBGP peers only).
    pub local_pref: Option<u32>,
}

impl StaticRoute {
    /// A route for `prefix` with no extra attributes.
    pub fn new(prefix: &str) -> StaticRoute {
        StaticRoute {
            prefix: prefix.to_string(),
            ..StaticRoute::default()
        }
    }

    /// Adds a standard community `"asn:value"`.
    pub fn community(mut self, c: &str) -> StaticRoute {
        self.communities.push(c.to_string());
        self
    }

    /// Adds a large community `"global:l1:l2"`.
    pub fn large_community(mut self, c: &str) -> StaticRoute {
        self.large_communities.push(c.to_string());
        self
    }

    /// Sets the MED.
    pub fn med(mut self, med: u32) -> StaticRoute {
        self.med = Some(med);
        self
    }

    /// Sets LOCAL_PREF.
    pub fn local_pref(mut self, lp: u32) -> StaticRoute {
        self.local_pref = Some(lp);
        self
    }
}

/// One `protocol bgp` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BirdNeighbor {
    /// Protocol name (letters, digits, `_`), shown by `show protocols`.
    pub name: String,
    /// Neighbor address.
    pub address: IpAddr,
    /// Neighbor AS.
    pub remote_as: u32,
    /// Local address to bind (`local ADDR as ...`).
    pub local_address: Option<IpAddr>,
    /// Local AS for this session instead of [`BirdConfig::local_as`].
    pub local_as: Option<u32>,
    /// Only accept connections (`passive on`).
    pub passive: bool,
    /// TCP-MD5 password (RFC 2385).
    pub password: Option<String>,
    /// `multihop N`; `None` means a direct session.
    pub multihop: Option<u8>,
    /// Hold time in seconds (keepalive is a third of it).
    pub hold_time: u16,
    /// Connect retry time in seconds.
    pub connect_retry: u16,
    /// Enable the IPv4 unicast channel.
    pub ipv4: bool,
    /// Enable the IPv6 unicast channel.
    pub ipv6: bool,
    /// Export policy of both channels.
    pub export: BirdExport,
    /// `add paths on` (RFC 7911, both directions) on both channels.
    pub add_paths: bool,
    /// Raw lines added inside the protocol block.
    pub extra: String,
}

impl BirdNeighbor {
    /// A direct session named `name` to `address` in AS `remote_as`,
    /// IPv4 and IPv6 channels, import all, export all, hold 9, retry 2.
    pub fn new(
        name: &str,
        address: impl Into<IpAddr>,
        remote_as: u32,
    ) -> BirdNeighbor {
        BirdNeighbor {
            name: name.to_string(),
            address: address.into(),
            remote_as,
            local_address: None,
            local_as: None,
            passive: false,
            password: None,
            multihop: None,
            hold_time: 9,
            connect_retry: 2,
            ipv4: true,
            ipv6: true,
            export: BirdExport::All,
            add_paths: false,
            extra: String::new(),
        }
    }

    /// Sets the local address.
    pub fn local_address(mut self, a: impl Into<IpAddr>) -> BirdNeighbor {
        self.local_address = Some(a.into());
        self
    }

    /// Only accepts incoming connections.
    pub fn passive(mut self) -> BirdNeighbor {
        self.passive = true;
        self
    }

    /// Sets a TCP-MD5 password.
    pub fn password(mut self, p: &str) -> BirdNeighbor {
        self.password = Some(p.to_string());
        self
    }

    /// Makes the session multihop with the given TTL.
    pub fn multihop(mut self, ttl: u8) -> BirdNeighbor {
        self.multihop = Some(ttl);
        self
    }

    /// Sets the hold time (keepalive becomes a third of it).
    pub fn hold_time(mut self, secs: u16) -> BirdNeighbor {
        self.hold_time = secs;
        self
    }

    /// IPv4 channel only.
    pub fn ipv4_only(mut self) -> BirdNeighbor {
        self.ipv6 = false;
        self
    }

    /// IPv6 channel only.
    pub fn ipv6_only(mut self) -> BirdNeighbor {
        self.ipv4 = false;
        self
    }

    /// Sets the export policy.
    pub fn export(mut self, e: BirdExport) -> BirdNeighbor {
        self.export = e;
        self
    }

    /// Turns on ADD-PATH in both directions.
    pub fn add_paths(mut self) -> BirdNeighbor {
        self.add_paths = true;
        self
    }
}

/// A whole BIRD configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BirdConfig {
    /// Router ID.
    pub router_id: Ipv4Addr,
    /// Local AS (4-octet values allowed).
    pub local_as: u32,
    /// BGP sessions.
    pub neighbors: Vec<BirdNeighbor>,
    /// Routes to originate.
    pub static_routes: Vec<StaticRoute>,
    /// Raw config appended at the end.
    pub extra: String,
}

impl BirdConfig {
    /// An empty config for router `router_id` in AS `local_as`.
    pub fn new(router_id: Ipv4Addr, local_as: u32) -> BirdConfig {
        BirdConfig {
            router_id,
            local_as,
            neighbors: Vec::new(),
            static_routes: Vec::new(),
            extra: String::new(),
        }
    }

    /// Adds a neighbor.
    pub fn neighbor(mut self, n: BirdNeighbor) -> BirdConfig {
        self.neighbors.push(n);
        self
    }

    /// Adds a route to originate.
    pub fn static_route(mut self, r: StaticRoute) -> BirdConfig {
        self.static_routes.push(r);
        self
    }

    /// The BIRD 2 config text.
    pub fn render(&self) -> String {
        let mut c = String::new();
        let multihop = self.neighbors.iter().any(|n| n.multihop.is_some());
        let _ = writeln!(c, "log stderr all;");
        let _ = writeln!(c, "router id {};", self.router_id);
        // Unix timestamps keep `show` output one token per time field.
        let _ = writeln!(c, "timeformat protocol \"%s\";");
        let _ = writeln!(c, "timeformat route \"%s\";");
        let _ = writeln!(c, "protocol device {{ scan time 2; }}");
        if multihop {
            // Recursive next hops of multihop sessions resolve through
            // the connected routes.
            let _ = writeln!(c, "protocol direct {{ ipv4; ipv6; }}");
        }
        for (name, fam) in
            [("blt_static4", Family::Ipv4), ("blt_static6", Family::Ipv6)]
        {
            let _ = writeln!(c, "protocol static {name} {{");
            let _ = writeln!(c, "  {fam};");
            for r in self
                .static_routes
                .iter()
                .filter(|r| Family::of(&r.prefix) == fam)
            {
                let _ = writeln!(c, "  route {} blackhole {{", r.prefix);
                for com in &r.communities {
                    let _ = writeln!(
                        c,
                        "    bgp_community.add(({}));",
                        com.replace(':', ",")
                    );
                }
                for com in &r.large_communities {
                    let _ = writeln!(
                        c,
                        "    bgp_large_community.add(({}));",
                        com.replace(':', ",")
                    );
                }
                if let Some(m) = r.med {
                    let _ = writeln!(c, "    bgp_med = {m};");
                }
                if let Some(lp) = r.local_pref {
                    let _ = writeln!(c, "    bgp_local_pref = {lp};");
                }
                let _ = writeln!(c, "  }};");
            }
            let _ = writeln!(c, "}}");
        }
        for n in &self.neighbors {
            let local_as = n.local_as.unwrap_or(self.local_as);
            let _ = writeln!(c, "protocol bgp {} {{", n.name);
            match n.local_address {
                Some(a) => {
                    let _ = writeln!(c, "  local {a} as {local_as};");
                }
                None => {
                    let _ = writeln!(c, "  local as {local_as};");
                }
            }
            let _ = writeln!(c, "  neighbor {} as {};", n.address, n.remote_as);
            let _ = writeln!(
                c,
                "  hold time {}; keepalive time {}; connect retry time {};",
                n.hold_time,
                (n.hold_time / 3).max(1),
                n.connect_retry
            );
            // Connect 1 s after start (default 5 s) and retry quickly after
            // a failed session instead of the default 60..300 s back-off.
            let _ = writeln!(c, "  connect delay time 1;");
            let _ = writeln!(c, "  error wait time 1, 4;");
            // State changes and connection events in the log, for the
            // tail printed when a wait fails.
            let _ = writeln!(c, "  debug {{ states, events }};");
            if n.passive {
                let _ = writeln!(c, "  passive on;");
            }
            if let Some(p) = &n.password {
                let _ = writeln!(c, "  password \"{p}\";");
            }
            match n.multihop {
                Some(ttl) => {
                    let _ = writeln!(c, "  multihop {ttl};");
                }
                None => {
                    let _ = writeln!(c, "  direct;");
                }
            }
            let export = match &n.export {
                BirdExport::All if multihop => {
                    "where source != RTS_DEVICE".to_string()
                }
                BirdExport::All => "all".to_string(),
                BirdExport::Static => "where source = RTS_STATIC".to_string(),
                BirdExport::None => "none".to_string(),
                BirdExport::Filter(f) => f.clone(),
            };
            for (on, fam) in [(n.ipv4, "ipv4"), (n.ipv6, "ipv6")] {
                if !on {
                    continue;
                }
                let add = if n.add_paths { " add paths on;" } else { "" };
                let _ = writeln!(
                    c,
                    "  {fam} {{ import all; export {export};{add} }};"
                );
            }
            if !n.extra.is_empty() {
                let _ = writeln!(c, "  {}", n.extra);
            }
            let _ = writeln!(c, "}}");
        }
        c.push_str(&self.extra);
        c
    }
}

/// One path from `show route all`, with BIRD-specific details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BirdRoute {
    /// The common view of the path.
    pub route: Route,
    /// Protocol that produced it (`peer1`, `blt_static4`, ...).
    pub protocol: String,
    /// Whether it is the selected (primary, `*`) path.
    pub primary: bool,
    /// Route source type, e.g. `BGP`, `static`, `device`.
    pub source: String,
    /// The `from` address BIRD shows for some BGP paths.
    pub from: Option<String>,
}

/// A running BIRD instance.
#[derive(Debug)]
pub struct Bird {
    config: BirdConfig,
    conf: PathBuf,
    socket: PathBuf,
    log: PathBuf,
    process: Process,
    ns: Netns,
    // Dropped last: the process must be gone before its files.
    dir: TestDir,
}

impl Bird {
    /// Checks the config with `bird -p` (failing with BIRD's message and
    /// the numbered config), starts `bird -f` in `ns`, and waits until its
    /// control socket answers.
    pub fn start(ns: &Netns, config: BirdConfig) -> Result<Bird> {
        let dir = TestDir::new("bird")?;
        let conf = dir.write("bird.conf", &config.render())?;
        check_config(&conf)?;
        let socket = dir.join("bird.ctl");
        let log = dir.join("bird.log");
        let pid = dir.join("bird.pid");
        let process = ns.spawn(
            "bird",
            &[
                "bird",
                "-f",
                "-c",
                path_str(&conf)?,
                "-s",
                path_str(&socket)?,
                "-P",
                path_str(&pid)?,
            ],
            Some(&log),
        )?;
        let mut bird = Bird {
            config,
            conf,
            socket,
            log,
            process,
            ns: ns.clone(),
            dir,
        };
        wait_for(
            "bird control socket",
            Duration::from_secs(10),
            Duration::from_millis(50),
            || {
                bird.process.check_running()?;
                Ok(bird.birdc(&["show", "status"]).is_ok())
            },
        )?;
        Ok(bird)
    }

    /// The config it runs.
    pub fn config(&self) -> &BirdConfig {
        &self.config
    }

    /// The control socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The scratch directory (config, socket, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The log file (BIRD logs everything to stderr).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The namespace it runs in.
    pub fn netns(&self) -> &Netns {
        &self.ns
    }

    /// The pid of the `bird` process (e.g. to freeze it).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The `show protocols` line of `proto` (its state and since), or
    /// an empty string when BIRD has no such protocol.
    pub fn protocol_line(&self, proto: &str) -> Result<String> {
        let out = self.birdc(&["show", "protocols", proto])?;
        Ok(out
            .lines()
            .find(|l| l.starts_with(proto))
            .unwrap_or_default()
            .to_owned())
    }

    /// Runs `birdc -s SOCK args...` and returns its output without the
    /// banner line; fails if the reply is a BIRD error (codes 8xxx/9xxx).
    pub fn birdc(&self, args: &[&str]) -> Result<String> {
        let mut all = vec!["-s", path_str(&self.socket)?];
        all.extend_from_slice(args);
        let out = process::run_cli("birdc", &all)?;
        let body: Vec<&str> =
            out.lines().filter(|l| !l.starts_with("BIRD ")).collect();
        let body = body.join("\n");
        if body.lines().any(|l| l.starts_with("syntax error"))
            || body.contains("Unknown command")
        {
            bail!("birdc {}: {body}", args.join(" "));
        }
        Ok(body)
    }

    /// Replaces the config: checks it, writes it and runs
    /// `birdc configure`.
    pub fn reconfigure(&mut self, config: BirdConfig) -> Result<()> {
        let tmp = self.dir.write("bird.conf.new", &config.render())?;
        check_config(&tmp)?;
        std::fs::rename(&tmp, &self.conf)?;
        let out = self.birdc(&["configure"])?;
        if !out.contains("Reconfigured")
            && !out.contains("Reconfiguration in progress")
        {
            bail!("birdc configure: {out}");
        }
        self.config = config;
        Ok(())
    }

    /// The BGP state (`BGP state:` line) of protocol `name`.
    pub fn protocol_state(&self, name: &str) -> Result<Option<String>> {
        let out = self.birdc(&["show", "protocols", "all", name])?;
        Ok(out.lines().find_map(|l| {
            l.trim()
                .strip_prefix("BGP state:")
                .map(|s| s.trim().to_string())
        }))
    }

    /// Every path of the family's table (`show route all table masterN`).
    pub fn show_route_all(&self, family: Family) -> Result<Vec<BirdRoute>> {
        let table = match family {
            Family::Ipv4 => "master4",
            Family::Ipv6 => "master6",
        };
        let out = self.birdc(&["show", "route", "all", "table", table])?;
        Ok(parse_show_route(&out))
    }

    fn protocol_of(&self, neighbor: &str) -> Option<&str> {
        let addr: IpAddr = neighbor.parse().ok()?;
        self.config
            .neighbors
            .iter()
            .find(|n| n.address == addr)
            .map(|n| n.name.as_str())
    }
}

impl Speaker for Bird {
    fn label(&self) -> String {
        format!("bird in {}", self.ns.name())
    }

    fn session_state(&self, neighbor: &str) -> Result<Option<String>> {
        match self.protocol_of(neighbor) {
            Some(name) => self.protocol_state(name),
            None => Ok(None),
        }
    }

    fn routes(&self, family: Family) -> Result<Vec<Route>> {
        Ok(self
            .show_route_all(family)?
            .into_iter()
            .filter(|r| r.primary && r.source != "device")
            .map(|r| r.route)
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

fn check_config(conf: &Path) -> Result<()> {
    let out = process::output("bird", &["-p", "-c", path_str(conf)?])?;
    if !out.status.success() {
        let text = std::fs::read_to_string(conf).unwrap_or_default();
        let numbered: Vec<String> = text
            .lines()
            .enumerate()
            .map(|(i, l)| format!("{:4} {l}", i + 1))
            .collect();
        bail!(
            "bird rejected its config: {}\n{}",
            String::from_utf8_lossy(&out.stderr).trim(),
            numbered.join("\n")
        );
    }
    Ok(())
}

/// Parses BIRD 2 `show route all` output (banner already removed) into
/// paths. Unknown lines are skipped.
pub fn parse_show_route(text: &str) -> Vec<BirdRoute> {
    let mut out: Vec<BirdRoute> = Vec::new();
    let mut prefix = String::new();
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with("Table ") {
            continue;
        }
        if line.starts_with('\t') {
            if let Some(cur) = out.last_mut() {
                apply_attribute(cur, line.trim());
            }
            continue;
        }
        // A path header: "PREFIX kind [proto time ...] * (pref) [AS..]",
        // or the same without the prefix for further paths of a prefix.
        let Some(open) = line.find('[') else { continue };
        let head: Vec<&str> = line[..open].split_whitespace().collect();
        if let Some(p) = head.first().filter(|_| !line.starts_with(' ')) {
            prefix = (*p).to_string();
        }
        let rest = &line[open + 1..];
        let Some(close) = rest.find(']') else {
            continue;
        };
        let inside: Vec<&str> = rest[..close].split_whitespace().collect();
        let protocol = inside.first().copied().unwrap_or("").to_string();
        let from = inside
            .iter()
            .position(|t| *t == "from")
            .and_then(|i| inside.get(i + 1))
            .map(|s| s.to_string());
        let primary = rest[close + 1..].trim_start().starts_with('*');
        out.push(BirdRoute {
            route: Route {
                prefix: prefix.clone(),
                ..Route::default()
            },
            protocol,
            primary,
            source: String::new(),
            from,
        });
    }
    out.into_iter()
        .map(|mut r| {
            r.route = r.route.normalize();
            r
        })
        .collect()
}

fn apply_attribute(cur: &mut BirdRoute, line: &str) {
    let r = &mut cur.route;
    if let Some(v) = line.strip_prefix("via ") {
        if r.next_hop.is_empty() {
            r.next_hop = v.split_whitespace().next().unwrap_or("").to_string();
        }
    } else if let Some(v) = line.strip_prefix("Type: ") {
        cur.source = v.split_whitespace().next().unwrap_or("").to_string();
    } else if let Some(v) = line.strip_prefix("BGP.next_hop: ") {
        // IPv6 shows "global link-local"; keep the global one.
        if let Some(nh) = v.split_whitespace().find(|a| !a.starts_with("fe80"))
        {
            r.next_hop = nh.to_string();
        }
    } else if let Some(v) = line.strip_prefix("BGP.as_path: ") {
        r.as_path = v
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|t| t.parse().ok())
            .collect();
    } else if let Some(v) = line.strip_prefix("BGP.community: ") {
        r.communities = tuples(v);
    } else if let Some(v) = line.strip_prefix("BGP.large_community: ") {
        r.large_communities = tuples(v);
    } else if let Some(v) = line.strip_prefix("BGP.med: ") {
        r.med = v.trim().parse().ok();
    } else if let Some(v) = line.strip_prefix("BGP.local_pref: ") {
        r.local_pref = v.trim().parse().ok();
    }
}

/// `(65000,1) (4200000001, 1, 2)` into `["65000:1", "4200000001:1:2"]`.
fn tuples(v: &str) -> Vec<String> {
    v.split('(')
        .filter_map(|t| t.split(')').next())
        .map(|t| t.split(',').map(str::trim).collect::<Vec<_>>().join(":"))
        .filter(|t| !t.is_empty())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    const SAMPLE: &str = "Table master4:
10.1.0.0/24          blackhole [blt_static4 1795683471] * (200)
\tType: static univ
\tBGP.med: 5
\tBGP.community: (65000,1)
\tBGP.large_community: (4200000001, 1, 2)
10.2.0.0/24          unicast [p1 1795683482] * (100) [AS65002?]
\tvia 10.0.0.2 on va
\tType: BGP univ
\tBGP.origin: Incomplete
\tBGP.as_path: 65002 {65010 65011}
\tBGP.next_hop: 10.0.0.2
\tBGP.med: 20
\tBGP.local_pref: 100
\tBGP.community: (65002,7) (65000,1)
\tBGP.large_community: (4200000002, 3, 4)
                     unicast [p2 1795683483 from 10.0.1.2] (100) [AS65003i]
\tvia 10.0.1.2 on vb
\tType: BGP univ
\tBGP.as_path: 65003
\tBGP.next_hop: fd00:0:0:1::2 fe80::1
";

    #[test]
    fn show_route_all_output_is_parsed_into_paths() {
        let rs = parse_show_route(SAMPLE);
        assert_eq!(rs.len(), 3);
        assert_eq!(rs[0].route.prefix, "10.1.0.0/24");
        assert_eq!(rs[0].source, "static");
        assert_eq!(rs[0].route.med, Some(5));
        let r = &rs[1];
        assert!(r.primary);
        assert_eq!(r.protocol, "p1");
        assert_eq!(r.route.as_path, vec![65002, 65010, 65011]);
        assert_eq!(r.route.communities, vec!["65000:1", "65002:7"]);
        assert_eq!(r.route.large_communities, vec!["4200000002:3:4"]);
        assert_eq!(r.route.local_pref, Some(100));
        assert_eq!(r.route.next_hop, "10.0.0.2");
        let second = &rs[2];
        assert_eq!(second.route.prefix, "10.2.0.0/24");
        assert!(!second.primary);
        assert_eq!(second.from.as_deref(), Some("10.0.1.2"));
        assert_eq!(second.route.next_hop, "fd00:0:0:1::2");
    }

    #[test]
    fn rendered_config_has_sessions_and_static_attributes() {
        let c = BirdConfig::new(Ipv4Addr::new(10, 0, 0, 1), 4200000001)
            .neighbor(
                BirdNeighbor::new("peer1", Ipv4Addr::new(10, 0, 0, 2), 65002)
                    .password("s3cret")
                    .passive(),
            )
            .static_route(
                StaticRoute::new("10.1.0.0/24")
                    .community("65000:1")
                    .large_community("4200000001:1:2"),
            )
            .render();
        assert!(c.contains("neighbor 10.0.0.2 as 65002;"));
        assert!(c.contains("password \"s3cret\";"));
        assert!(c.contains("passive on;"));
        assert!(c.contains("bgp_community.add((65000,1));"));
        assert!(c.contains("bgp_large_community.add((4200000001,1,2));"));
    }
}
