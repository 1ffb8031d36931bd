//! The devices under test: minimal configurations for BIRD 2, GoBGP,
//! FRR and bgplet, each started in the DUT namespace, passive on every
//! session (the generator connects), and never touching the kernel FIB.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use bgplet_tests::{Bgplet, BgpletOptions, Netns, Process, Resources, TestDir};
use serde_json::json;

/// Which daemon is under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// BIRD 2 (`bird -f`).
    Bird,
    /// FRR (`bgpd -Z`: bgpd alone, no zebra, so no FIB).
    Frr,
    /// GoBGP (`gobgpd`).
    Gobgp,
    /// bgplet (`bgplet run --no-fib`), with the embedded Calico plugin
    /// in wasm.
    Bgplet,
    /// bgplet with the same Calico policy compiled natively
    /// (`--native-policy`): the plugin-cost comparison.
    BgpletNative,
    /// bgplet with the do-nothing `accept-all` plugin on every hook: the
    /// floor of the plugin-cost comparison.
    BgpletNoop,
}

impl Kind {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bird => "bird",
            Kind::Frr => "frr",
            Kind::Gobgp => "gobgp",
            Kind::Bgplet => "bgplet",
            Kind::BgpletNative => "bgplet-native",
            Kind::BgpletNoop => "bgplet-noop",
        }
    }
}

/// What the DUT is configured for.
#[derive(Clone, Debug)]
pub enum Role {
    /// eBGP: routes from `sender` are passed on to `receiver`.
    PassThrough {
        /// The sending peer and its AS.
        sender: (Ipv4Addr, u32),
        /// The receiving peer and its AS.
        receiver: (Ipv4Addr, u32),
    },
    /// iBGP route reflector; every address is a client in the DUT's AS.
    Reflector {
        /// Client addresses.
        clients: Vec<Ipv4Addr>,
    },
}

/// The plugin manifest of [`Kind::BgpletNoop`]: the embedded do-nothing
/// plugin on every hook.
const ACCEPT_ALL_MANIFEST: &str = "apiVersion: bgplet.dev/v1
hooks:
  import: [{name: accept-all, builtin: accept-all}]
  selection: [{name: accept-all, builtin: accept-all}]
  export: [{name: accept-all, builtin: accept-all}]
  kernel: [{name: accept-all, builtin: accept-all}]
";

/// Cluster id used by every reflector configuration.
const CLUSTER_ID: &str = "1.1.1.1";

/// The DUT's address and AS and its role.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Its address on the fabric.
    pub addr: Ipv4Addr,
    /// Its AS.
    pub asn: u32,
    /// Pass-through or reflector.
    pub role: Role,
    /// The reflected pool (reflector only; bgplet needs an IPPool).
    pub pool: &'static str,
}

impl Spec {
    fn peer_count(&self) -> usize {
        match &self.role {
            Role::PassThrough { .. } => 2,
            Role::Reflector { clients } => clients.len(),
        }
    }

    /// `(address, AS)` of every neighbor.
    fn neighbors(&self) -> Vec<(Ipv4Addr, u32)> {
        match &self.role {
            Role::PassThrough { sender, receiver } => vec![*sender, *receiver],
            Role::Reflector { clients } => {
                clients.iter().map(|&c| (c, self.asn)).collect()
            }
        }
    }
}

/// A running DUT; dropping it kills it.
pub struct Dut {
    /// Pids whose CPU and memory are counted.
    pub pids: Vec<u32>,
    /// How long to wait after the sessions are up before starting the
    /// clock.
    pub settle: Duration,
    /// The exact command line, for the report.
    pub command: String,
    _procs: Vec<Process>,
    _bgplet: Option<Bgplet>,
    _dir: TestDir,
}

/// Starts `kind` in `ns` for `spec`.
pub fn start(
    kind: Kind,
    ns: &Netns,
    spec: &Spec,
    bgplet_bin: &Path,
) -> Result<Dut> {
    let dir = TestDir::new(kind.name())?;
    // Idle time before the clock starts; FRR holds its first
    // announcements about 1 s + 50 ms per peer after sessions come up
    // (subgroup coalesce time), so that is waited out for it.
    let mut settle = Duration::from_millis(500);
    let (procs, bgplet, pids, command) = match kind {
        Kind::Bird => {
            let conf = dir.write("bird.conf", &bird_conf(spec))?;
            let sock = dir.join("bird.ctl");
            let pidf = dir.join("bird.pid");
            let args = [
                "bird",
                "-f",
                "-c",
                s(&conf)?,
                "-s",
                s(&sock)?,
                "-P",
                s(&pidf)?,
            ];
            let p = ns.spawn("bird", &args, Some(&dir.join("bird.log")))?;
            (vec![p], None, None, args.join(" "))
        }
        Kind::Gobgp => {
            let conf = dir.write("gobgpd.toml", &gobgp_conf(spec))?;
            let args = [
                "gobgpd",
                "-f",
                s(&conf)?,
                "-p",
                "-l",
                "warn",
                "--api-hosts",
                "127.0.0.1:50051",
                "--pprof-disable",
            ];
            let p = ns.spawn("gobgpd", &args, Some(&dir.join("gobgpd.log")))?;
            (vec![p], None, None, args.join(" "))
        }
        Kind::Frr => {
            settle =
                Duration::from_millis(2000 + 50 * spec.peer_count() as u64);
            let conf = dir.write("bgpd.conf", &frr_conf(spec))?;
            let run = Path::new("/var/run/frr").join(ns.name());
            std::fs::create_dir_all(&run)?;
            bgplet_tests::require_tools(&["chown"])?;
            let st = std::process::Command::new("chown")
                .args(["-R", "frr:frr", "/var/run/frr"])
                .status()?;
            anyhow::ensure!(st.success(), "chown /var/run/frr failed");
            let pidf = run.join("bgpd.pid");
            let args = [
                "/usr/lib/frr/bgpd",
                "-Z",
                "-N",
                ns.name(),
                "-f",
                s(&conf)?,
                "-i",
                s(&pidf)?,
                "-P",
                "0",
            ];
            let p = ns.spawn("bgpd", &args, Some(&dir.join("bgpd.log")))?;
            (vec![p], None, None, args.join(" "))
        }
        Kind::Bgplet | Kind::BgpletNative | Kind::BgpletNoop => {
            let mut args = vec!["--no-fib".to_string()];
            match kind {
                Kind::BgpletNative => args.push("--native-policy".into()),
                Kind::BgpletNoop => {
                    let plugins = dir.join("plugins");
                    std::fs::create_dir_all(&plugins)?;
                    std::fs::write(
                        plugins.join("manifest.yaml"),
                        ACCEPT_ALL_MANIFEST,
                    )?;
                    args.push("--plugins".into());
                    args.push(s(&plugins)?.to_owned());
                }
                _ => {}
            }
            let opts = BgpletOptions {
                binary: Some(bgplet_bin.to_path_buf()),
                args: args.clone(),
                env: vec![("RUST_LOG".into(), "warn".into())],
                ..BgpletOptions::default()
            };
            let mut b =
                Bgplet::start_with(ns, &bgplet_resources(spec), "dut", &opts)?;
            let pid = b.process_mut().pid();
            let cmd = format!(
                "{} run --resources {} --node dut --control-socket SOCK {}",
                bgplet_bin.display(),
                b.resources_path().display(),
                args.join(" ")
            );
            (Vec::new(), Some(b), Some(vec![pid]), cmd)
        }
    };
    let pids = match pids {
        Some(p) => p,
        None => procs.iter().map(Process::pid).collect(),
    };
    Ok(Dut {
        pids,
        settle,
        command,
        _procs: procs,
        _bgplet: bgplet,
        _dir: dir,
    })
}

fn s(p: &Path) -> Result<&str> {
    p.to_str()
        .with_context(|| format!("non-UTF-8 {}", p.display()))
}

fn bird_conf(spec: &Spec) -> String {
    let mut c = format!(
        "router id {a};\nprotocol device {{ }}\n\
         template bgp dut {{\n  local {a} as {asn};\n  passive on;\n  \
         direct;\n  hold time 240;\n}}\n",
        a = spec.addr,
        asn = spec.asn
    );
    match &spec.role {
        Role::PassThrough { sender, receiver } => {
            let _ = writeln!(
                c,
                "protocol bgp sender from dut {{ neighbor {} as {}; \
                 ipv4 {{ import all; export none; }}; }}",
                sender.0, sender.1
            );
            let _ = writeln!(
                c,
                "protocol bgp receiver from dut {{ neighbor {} as {}; \
                 ipv4 {{ import none; export all; }}; }}",
                receiver.0, receiver.1
            );
        }
        Role::Reflector { clients } => {
            for (i, ip) in clients.iter().enumerate() {
                let _ = writeln!(
                    c,
                    "protocol bgp c{i} from dut {{ neighbor {ip} as {}; \
                     rr client; rr cluster id {CLUSTER_ID}; \
                     ipv4 {{ import all; export all; }}; }}",
                    spec.asn
                );
            }
        }
    }
    c
}

fn gobgp_conf(spec: &Spec) -> String {
    let mut c = format!(
        "[global.config]\n  as = {}\n  router-id = \"{a}\"\n  \
         local-address-list = [\"{a}\"]\n",
        spec.asn,
        a = spec.addr
    );
    let rr = matches!(spec.role, Role::Reflector { .. });
    for (ip, asn) in spec.neighbors() {
        let _ = write!(
            c,
            "[[neighbors]]\n  [neighbors.config]\n    \
             neighbor-address = \"{ip}\"\n    peer-as = {asn}\n  \
             [neighbors.transport.config]\n    passive-mode = true\n  \
             [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      \
             afi-safi-name = \"ipv4-unicast\"\n"
        );
        if rr {
            let _ = write!(
                c,
                "  [neighbors.route-reflector.config]\n    \
                 route-reflector-client = true\n    \
                 route-reflector-cluster-id = \"{CLUSTER_ID}\"\n"
            );
        }
    }
    c
}

fn frr_conf(spec: &Spec) -> String {
    let mut c = format!(
        "frr defaults traditional\nhostname dut\nrouter bgp {}\n \
         bgp router-id {}\n no bgp ebgp-requires-policy\n \
         no bgp network import-check\n",
        spec.asn, spec.addr
    );
    let rr = matches!(spec.role, Role::Reflector { .. });
    if rr {
        let _ = writeln!(c, " bgp cluster-id {CLUSTER_ID}");
    }
    for (ip, asn) in spec.neighbors() {
        let _ = writeln!(c, " neighbor {ip} remote-as {asn}");
        let _ = writeln!(c, " neighbor {ip} passive");
        // `defaults traditional` has a 30 s eBGP MRAI; the others send
        // at once, so FRR gets 0 too.
        let _ = writeln!(c, " neighbor {ip} advertisement-interval 0");
    }
    c.push_str(" address-family ipv4 unicast\n");
    if rr {
        for (ip, _) in spec.neighbors() {
            let _ = writeln!(c, "  neighbor {ip} route-reflector-client");
        }
    }
    c.push_str(" exit-address-family\n");
    c
}

/// Calico resources for bgplet. Pass-through: two explicit eBGP
/// BGPPeers; the receiver's BGPFilter has a bare export `Accept`, which
/// skips Calico's default export policy (calico-bgp.md 2.5) — without it
/// bgplet, like calico-node, exports only pool routes. Reflector: the
/// node has a cluster id, so every iBGP `peerIP` BGPPeer is an RR
/// client, and an IPPool covers the client /26s (an RR reflects only
/// pool routes).
fn bgplet_resources(spec: &Spec) -> Resources {
    let mut bgp = json!({ "ipv4Address": format!("{}/16", spec.addr) });
    if matches!(spec.role, Role::Reflector { .. }) {
        bgp["routeReflectorClusterID"] = json!(CLUSTER_ID);
    }
    let mut r = Resources::new()
        .bgp_configuration(spec.asn, Some(179), false)
        .raw(json!({
            "apiVersion": "projectcalico.org/v3", "kind": "Node",
            "metadata": { "name": "dut" }, "spec": { "bgp": bgp },
        }));
    match &spec.role {
        Role::PassThrough { sender, receiver } => {
            r = r
                .raw(json!({
                    "apiVersion": "projectcalico.org/v3", "kind": "BGPFilter",
                    "metadata": { "name": "export-all" },
                    "spec": { "exportV4": [ { "action": "Accept" } ] },
                }))
                .raw(peer("sender", sender.0, sender.1, false))
                .raw(peer("receiver", receiver.0, receiver.1, true));
        }
        Role::Reflector { clients } => {
            r = r.ip_pool("clients", spec.pool);
            for (i, ip) in clients.iter().enumerate() {
                r = r.raw(peer(&format!("c{i}"), *ip, spec.asn, false));
            }
        }
    }
    r
}

fn peer(
    name: &str,
    ip: Ipv4Addr,
    asn: u32,
    export_all: bool,
) -> serde_json::Value {
    let mut spec = json!({ "peerIP": ip.to_string(), "asNumber": asn });
    if export_all {
        spec["filters"] = json!(["export-all"]);
    }
    json!({
        "apiVersion": "projectcalico.org/v3", "kind": "BGPPeer",
        "metadata": { "name": name }, "spec": spec,
    })
}

/// `name version` lines for the report.
pub fn versions(bgplet_bin: &Path) -> Vec<(String, String)> {
    let run = |cmd: &str, arg: &str| -> String {
        std::process::Command::new(cmd)
            .arg(arg)
            .output()
            .map(|o| {
                let mut t = String::from_utf8_lossy(&o.stdout).to_string();
                t.push_str(&String::from_utf8_lossy(&o.stderr));
                t.lines().next().unwrap_or("").trim().to_string()
            })
            .unwrap_or_else(|e| format!("unavailable: {e}"))
    };
    let bin: PathBuf = bgplet_bin.to_path_buf();
    vec![
        ("bird".into(), run("bird", "--version")),
        ("frr".into(), run("/usr/lib/frr/bgpd", "--version")),
        ("gobgp".into(), run("gobgpd", "--version")),
        ("bgplet".into(), run(&bin.to_string_lossy(), "--version")),
    ]
}
