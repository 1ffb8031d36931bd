//! Namespaces, the fabric bridge and the pod veths, through iproute2.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::plan::{LabPlan, NodeSpec};

/// The MAC Felix gives every host-side workload veth; pods reach their
/// node through it with a link-local default gateway.
const HOST_VETH_MAC: &str = "ee:ee:ee:ee:ee:ee";
/// The gateway every Calico pod routes through.
const POD_GATEWAY: &str = "169.254.1.1";
/// The IPv6 one: the link-local address of that MAC.
const POD_GATEWAY6: &str = "fe80::ecee:eeff:feee:eeee";

/// Runs `prog args` to completion; fails with its stderr.
pub fn run(prog: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {prog}"))?;
    if !out.status.success() {
        bail!(
            "`{prog} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `ip -n NS args...`.
pub fn ip(ns: &str, args: &[&str]) -> anyhow::Result<String> {
    run("ip", &[&["-n", ns], args].concat())
}

/// `ip netns exec NS args...`.
pub fn exec(ns: &str, args: &[&str]) -> anyhow::Result<String> {
    run("ip", &[&["netns", "exec", ns], args].concat())
}

fn sysctl(ns: &str, setting: &str) -> anyhow::Result<()> {
    exec(ns, &["sysctl", "-qw", setting]).map(drop)
}

/// Creates a namespace with `lo` up and IPv6 duplicate address
/// detection off (the lab's addresses are unique by construction, and
/// DAD would delay every address by a second or more).
fn add_netns(ns: &str) -> anyhow::Result<()> {
    run("ip", &["netns", "add", ns])?;
    sysctl(ns, "net.ipv6.conf.all.accept_dad=0")?;
    sysctl(ns, "net.ipv6.conf.default.accept_dad=0")?;
    ip(ns, &["link", "set", "lo", "up"]).map(drop)
}

/// Builds every namespace, link and address of `plan`: the fabric
/// bridge, each node's `eth0` on 10.0.0.0/24 with forwarding on, and
/// each pod wired the way Calico wires one (a /32, a host-side `cali`
/// veth with Felix's MAC, a /32 route on the node, a default route via
/// 169.254.1.1 in the pod).
pub fn build(plan: &LabPlan) -> anyhow::Result<()> {
    add_netns(&plan.fabric)?;
    ip(&plan.fabric, &["link", "add", "br0", "type", "bridge"]).context(
        "creating the fabric bridge (is the bridge module available?)",
    )?;
    ip(&plan.fabric, &["link", "set", "br0", "up"])?;
    for node in &plan.nodes {
        build_node(plan, node)?;
    }
    Ok(())
}

fn build_node(plan: &LabPlan, node: &NodeSpec) -> anyhow::Result<()> {
    let ns = node.netns.as_str();
    add_netns(ns)?;
    sysctl(ns, "net.ipv4.ip_forward=1")?;
    sysctl(ns, "net.ipv6.conf.all.forwarding=1")?;
    // Pod traffic enters on one cali veth and leaves on eth0; strict
    // reverse-path filtering would drop nothing here, but a host may
    // have it as the default for new namespaces.
    sysctl(ns, "net.ipv4.conf.all.rp_filter=0")?;
    sysctl(ns, "net.ipv4.conf.default.rp_filter=0")?;
    let port = node.name.replace("node", "n");
    run(
        "ip",
        &[
            "link",
            "add",
            "eth0",
            "netns",
            ns,
            "type",
            "veth",
            "peer",
            "name",
            &port,
            "netns",
            &plan.fabric,
        ],
    )?;
    ip(&plan.fabric, &["link", "set", &port, "master", "br0", "up"])?;
    let cidr = format!("{}/24", node.ip);
    ip(ns, &["addr", "add", &cidr, "dev", "eth0"])?;
    let cidr6 = format!("{}/64", node.ip6);
    ip(ns, &["addr", "add", &cidr6, "dev", "eth0", "nodad"])?;
    ip(ns, &["link", "set", "eth0", "up"])?;
    for pod in &node.pods {
        add_netns(&pod.netns)?;
        run(
            "ip",
            &[
                "link",
                "add",
                &pod.host_if,
                "netns",
                ns,
                "address",
                HOST_VETH_MAC,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                &pod.netns,
            ],
        )?;
        let pod_ip = format!("{}/32", pod.ip);
        ip(&pod.netns, &["addr", "add", &pod_ip, "dev", "eth0"])?;
        let pod_ip6 = format!("{}/128", pod.ip6);
        ip(
            &pod.netns,
            &["addr", "add", &pod_ip6, "dev", "eth0", "nodad"],
        )?;
        ip(&pod.netns, &["link", "set", "eth0", "up"])?;
        ip(ns, &["link", "set", &pod.host_if, "up"])?;
        // Felix's workload route: scope link, the kernel's default
        // protocol (not bird), so BGP never owns it.
        ip(ns, &["route", "add", &pod_ip, "dev", &pod.host_if])?;
        ip(ns, &["-6", "route", "add", &pod_ip6, "dev", &pod.host_if])?;
        ip(
            &pod.netns,
            &[
                "-6",
                "route",
                "add",
                "default",
                "via",
                POD_GATEWAY6,
                "dev",
                "eth0",
            ],
        )?;
        ip(
            &pod.netns,
            &[
                "-6",
                "neigh",
                "replace",
                POD_GATEWAY6,
                "lladdr",
                HOST_VETH_MAC,
                "dev",
                "eth0",
                "nud",
                "permanent",
            ],
        )?;
        ip(
            &pod.netns,
            &[
                "route",
                "add",
                "default",
                "via",
                POD_GATEWAY,
                "dev",
                "eth0",
                "onlink",
            ],
        )?;
        ip(
            &pod.netns,
            &[
                "neigh",
                "replace",
                POD_GATEWAY,
                "lladdr",
                HOST_VETH_MAC,
                "dev",
                "eth0",
                "nud",
                "permanent",
            ],
        )?;
    }
    Ok(())
}

/// Names of the namespaces starting with `prefix-`.
pub fn namespaces_with_prefix(prefix: &str) -> Vec<String> {
    let want = format!("{prefix}-");
    run("ip", &["netns", "list"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&want))
        .map(str::to_string)
        .collect()
}

/// Pids of the processes inside namespace `ns`.
pub fn pids_in(ns: &str) -> Vec<i32> {
    run("ip", &["netns", "pids", ns])
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Sends `signal` to `pid`.
pub fn kill(pid: i32, signal: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Kills everything in `ns` (TERM, then KILL after a second) and
/// deletes it.
pub fn destroy(ns: &str) {
    for pid in pids_in(ns) {
        kill(pid, "TERM");
    }
    let start = Instant::now();
    loop {
        let pids = pids_in(ns);
        if pids.is_empty() {
            break;
        }
        if start.elapsed() > Duration::from_secs(1) {
            for pid in pids {
                kill(pid, "KILL");
            }
        }
        if start.elapsed() > Duration::from_secs(5) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = run("ip", &["netns", "del", ns]);
}

/// Whether `prog` is in `PATH`.
pub fn have(prog: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|d| d.join(prog).is_file())
        || Path::new(prog).is_file()
}
