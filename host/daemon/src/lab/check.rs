//! Convergence (sessions up, every node's kernel holding every other
//! node's block and its own blackhole), the report, and the pings.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::Value;

use super::net;
use super::state::{Agent, AgentKind, State};

/// What is still missing for `agent`'s node, empty once it converged.
fn node_problems(state: &State, agent: &Agent) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(node) = state.plan.nodes.iter().find(|n| n.name == agent.node)
    else {
        return vec![format!("{}: not in the plan", agent.node)];
    };
    match sessions_down(agent) {
        Ok(down) => problems
            .extend(down.into_iter().map(|s| {
                format!("{}: session {s} not Established", node.name)
            })),
        Err(e) => problems.push(format!("{}: {e:#}", node.name)),
    }
    for v6 in [false, true] {
        let routes = match kernel_routes(&node.netns, v6) {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{}: {e:#}", node.name));
                continue;
            }
        };
        let own = if v6 { &node.block6 } else { &node.block };
        if !routes.iter().any(|r| is_blackhole(r, own)) {
            problems.push(format!(
                "{}: no `blackhole {own} proto bird` for its own block",
                node.name
            ));
        }
        for peer in state.plan.nodes.iter().filter(|p| p.name != node.name) {
            let (block, via) = if v6 {
                (&peer.block6, peer.ip6.to_string())
            } else {
                (&peer.block, peer.ip.to_string())
            };
            if !routes.iter().any(|r| is_route_via(r, block, &via)) {
                problems.push(format!(
                    "{}: no `{block} via {via} dev eth0 proto bird` ({}'s \
                     block)",
                    node.name, peer.name
                ));
            }
        }
    }
    problems
}

/// Everything still missing in the lab, empty once it converged.
pub fn problems(state: &State) -> Vec<String> {
    state
        .agents
        .iter()
        .flat_map(|a| node_problems(state, a))
        .collect()
}

/// Polls until the lab converged, `timeout` passed or the user
/// interrupted.
pub fn wait_converged(state: &State, timeout: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        super::check_interrupted()?;
        let left = problems(state);
        if left.is_empty() {
            return Ok(());
        }
        if start.elapsed() > timeout {
            bail!(
                "the lab did not converge within {}s; still missing:\n  {}\n\
                 (agent logs are in {})",
                timeout.as_secs(),
                left.join("\n  "),
                state.dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn is_blackhole(r: &Value, block: &str) -> bool {
    r["dst"] == block && r["type"] == "blackhole" && r["protocol"] == "bird"
}

fn is_route_via(r: &Value, block: &str, via: &str) -> bool {
    r["dst"] == block
        && r["gateway"] == via
        && r["dev"] == "eth0"
        && r["protocol"] == "bird"
}

/// `ip -j route` (or `ip -6 -j route`) of namespace `ns`.
pub fn kernel_routes(ns: &str, v6: bool) -> anyhow::Result<Vec<Value>> {
    let family = if v6 { "-6" } else { "-4" };
    let text = net::ip(ns, &[family, "-j", "route", "show", "table", "main"])?;
    Ok(serde_json::from_str::<Vec<Value>>(&text)?)
}

/// Names of the agent's BGP sessions that are not Established.
fn sessions_down(agent: &Agent) -> anyhow::Result<Vec<String>> {
    match agent.kind {
        AgentKind::Bgplet => {
            let text =
                bgplet(&["status", "-o", "json"], &agent.control_socket)?;
            let v: Value = serde_json::from_str(&text)?;
            let peers = v["peers"].as_array().cloned().unwrap_or_default();
            if peers.is_empty() {
                bail!("no sessions planned");
            }
            Ok(peers
                .iter()
                .filter(|p| p["state"] != "Established")
                .map(|p| p["name"].as_str().unwrap_or("?").to_string())
                .collect())
        }
        AgentKind::Bird => {
            let text = birdc(&agent.control_socket, &["show", "protocols"])?;
            Ok(text
                .lines()
                .filter(|l| l.contains(" BGP "))
                .filter(|l| !l.contains("Established"))
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_string)
                .collect())
        }
    }
}

/// Runs this binary's `bgplet SUBCOMMAND --control-socket SOCK`.
fn bgplet(args: &[&str], socket: &Path) -> anyhow::Result<String> {
    let exe = std::env::current_exe()?;
    let socket = socket.to_string_lossy();
    net::run(
        &exe.to_string_lossy(),
        &[args, &["--control-socket", &socket]].concat(),
    )
}

fn birdc(socket: &Path, args: &[&str]) -> anyhow::Result<String> {
    let socket = socket.to_string_lossy();
    net::run("birdc", &[&["-s", socket.as_ref()], args].concat())
}

/// Prints every node's sessions and kernel routes.
pub fn print_report(state: &State) {
    for agent in &state.agents {
        let Some(node) = state.plan.nodes.iter().find(|n| n.name == agent.node)
        else {
            continue;
        };
        let kind = match agent.kind {
            AgentKind::Bgplet => "bgplet",
            AgentKind::Bird => "BIRD 2",
        };
        println!(
            "\n=== {} ({kind}{}), netns {}, eth0 {} {}, blocks {} {}",
            node.name,
            if node.rr { ", route reflector" } else { "" },
            node.netns,
            node.ip,
            node.ip6,
            node.block,
            node.block6
        );
        let sessions = match agent.kind {
            AgentKind::Bgplet => bgplet(&["status"], &agent.control_socket),
            AgentKind::Bird => {
                birdc(&agent.control_socket, &["show", "protocols"])
            }
        };
        match sessions {
            Ok(text) => print!("{text}"),
            Err(e) => println!("(sessions unavailable: {e:#})"),
        }
        println!("--- ip route (netns {})", node.netns);
        match net::ip(&node.netns, &["route"]) {
            Ok(text) => print!("{text}"),
            Err(e) => println!("(routes unavailable: {e:#})"),
        }
        println!("--- ip -6 route, without link-local (netns {})", node.netns);
        match net::ip(&node.netns, &["-6", "route"]) {
            Ok(text) => text
                .lines()
                .filter(|l| !l.starts_with("fe80"))
                .for_each(|l| println!("{l}")),
            Err(e) => println!("(routes unavailable: {e:#})"),
        }
    }
}

/// Pings every pod from every pod on another node; prints one line per
/// source pod and fails naming the pairs that did not answer.
pub fn ping_all(state: &State) -> anyhow::Result<()> {
    println!("\n=== pod-to-pod pings across nodes");
    let mut failed = Vec::new();
    let mut total = 0;
    for a in &state.plan.nodes {
        for pa in &a.pods {
            for v6 in [false, true] {
                let from = if v6 {
                    pa.ip6.to_string()
                } else {
                    pa.ip.to_string()
                };
                let mut line = format!("{} {from:<16} ->", pa.netns);
                for b in state.plan.nodes.iter().filter(|b| b.name != a.name) {
                    for pb in &b.pods {
                        super::check_interrupted()?;
                        total += 1;
                        let to = if v6 {
                            pb.ip6.to_string()
                        } else {
                            pb.ip.to_string()
                        };
                        let ok = ping(&pa.netns, &to);
                        line.push_str(&format!(
                            " {to} {}",
                            if ok { "ok" } else { "FAIL" }
                        ));
                        if !ok {
                            failed.push(format!("{from} -> {to}"));
                        }
                    }
                }
                println!("{line}");
            }
        }
    }
    if !failed.is_empty() {
        bail!(
            "{} of {total} pod-to-pod pings failed: {}",
            failed.len(),
            failed.join(", ")
        );
    }
    println!("all {total} pings answered");
    Ok(())
}

/// One ICMP echo from namespace `ns` to `dst`, three tries (the first
/// one may wait for ARP on both nodes).
fn ping(ns: &str, dst: &str) -> bool {
    (0..3).any(|_| {
        net::exec(ns, &["ping", "-c", "1", "-W", "1", "-q", dst]).is_ok()
    })
}
