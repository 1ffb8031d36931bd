//! `bgplet plugin test PLUGIN --routes FILE`: runs a plugin's hooks over
//! a file of routes, offline, and prints every decision.
//!
//! The routes file (JSON) names the peer the routes come from and,
//! optionally, the peer they would be exported to:
//!
//! ```json
//! {
//!   "from": {"name": "Global_10_0_0_1", "kind": "global",
//!            "address": "10.0.0.1", "peer_as": 65000, "local_as": 64512},
//!   "to": {"name": "Mesh_10_0_0_12", "kind": "mesh",
//!          "address": "10.0.0.12", "peer_as": 64512, "local_as": 64512},
//!   "routes": [
//!     {"prefix": "192.0.2.0/24", "next_hop": "10.0.0.1",
//!      "as_path": [65000], "communities": ["65535:0"],
//!      "large_communities": ["65000:1:2"], "local_pref": 100,
//!      "med": 5, "origin": "igp"}
//!   ]
//! }
//! ```
//!
//! Every route goes through the import hook; the accepted ones (with
//! their edits applied) are grouped by prefix for the selection hook; the
//! best of each prefix goes through the export hook toward `to` (or back
//! toward `from`) and the kernel hook.

use std::net::IpAddr;
use std::path::Path;

use anyhow::{Context, bail};
use bgplet_plugin::{ChainSpec, HostConfig, PluginHost, PolicyChains};
use bgplet_plugin_abi::{
    AttrSet, AttrTableWriter, Edit, NextHopMode, NoRawAttributes, Origin,
    PeerInfo, PeerKind, Policy, PolicyError, Route, RouteAction, Segment,
    SegmentKind, Selection, SelectionKey, SourceFlags, Verdict,
    encode_candidates, encode_routes, validate_filter_result, validate_kernel,
    validate_selection,
};
use serde::Deserialize;

/// The routes file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutesFile {
    from: PeerSpec,
    #[serde(default)]
    to: Option<PeerSpec>,
    routes: Vec<RouteSpec>,
}

/// A peer as the hooks see it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PeerSpec {
    name: String,
    #[serde(default = "default_kind")]
    kind: String,
    #[serde(default)]
    address: String,
    peer_as: u32,
    local_as: u32,
    #[serde(default)]
    rr_client: bool,
    #[serde(default)]
    next_hop_mode: Option<String>,
    #[serde(default)]
    filters: Vec<String>,
}

fn default_kind() -> String {
    "global".into()
}

/// One route.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteSpec {
    prefix: String,
    #[serde(default)]
    next_hop: Option<IpAddr>,
    #[serde(default)]
    as_path: Vec<u32>,
    #[serde(default)]
    communities: Vec<String>,
    #[serde(default)]
    large_communities: Vec<String>,
    #[serde(default)]
    local_pref: Option<u32>,
    #[serde(default)]
    med: Option<u32>,
    #[serde(default)]
    origin: Option<String>,
}

/// Runs the test and prints the decisions.
pub fn run(plugin: &Path, routes: &Path, config: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(routes)
        .with_context(|| format!("reading {}", routes.display()))?;
    let file: RoutesFile = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a routes file", routes.display()))?;
    let wasm = match std::fs::read(plugin) {
        Ok(bytes) => bytes,
        Err(e) => {
            match plugin.to_str().and_then(crate::plugins::manifest::builtin) {
                Some(bytes) => bytes.to_vec(),
                None => bail!(
                    "{}: {e} (nor is it an embedded plugin: calico, \
                 graceful-shutdown, prepend)",
                    plugin.display()
                ),
            }
        }
    };
    let host = PluginHost::new(HostConfig::default())?;
    let name = plugin
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("plugin")
        .to_owned();
    let loaded = host
        .load(&name, &wasm, config)
        .with_context(|| format!("loading {}", plugin.display()))?;
    let chains = PolicyChains::new(ChainSpec::new(vec![loaded]));
    let mut policy = chains.worker();

    let from = peer_info(&file.from)?;
    let to = match &file.to {
        Some(p) => peer_info(p)?,
        None => from.clone(),
    };
    let source = if from.ibgp {
        SourceFlags::IBGP
    } else {
        SourceFlags::EBGP
    };
    let mut sets = Vec::new();
    let mut batch = Vec::new();
    for r in &file.routes {
        let (addr, len) = prefix(&r.prefix)?;
        sets.push(attr_set(r)?);
        batch.push(Route {
            attr: (sets.len() - 1) as u32,
            prefix: addr,
            len,
            source,
            path_id: 0,
        });
    }

    // Import.
    let (attrs, words) = encode(&sets, &batch);
    let answer = policy
        .import(&from, &attrs, &words, &NoRawAttributes)
        .map_err(|e| anyhow::anyhow!("import hook: {e}"))?;
    let verdicts = validate_filter_result(batch.len(), &answer)
        .map_err(|e| anyhow::anyhow!("import hook answered badly: {e}"))?;
    println!("import (from {}):", from.name);
    let mut accepted: Vec<(Route, AttrSet)> = Vec::new();
    for ((route, spec), verdict) in
        batch.iter().zip(&file.routes).zip(&verdicts)
    {
        println!("  {:<24} {}", spec.prefix, verdict_text(verdict));
        let mut set = sets[route.attr as usize].clone();
        match verdict {
            Verdict::Reject => continue,
            Verdict::Accept => {}
            Verdict::AcceptWith(edits) => {
                for e in edits {
                    e.apply(&mut set, None);
                }
            }
        }
        accepted.push((*route, set));
    }

    // Selection, per prefix.
    let mut prefixes: Vec<(IpAddr, u8)> = Vec::new();
    for (r, _) in &accepted {
        if !prefixes.contains(&(r.prefix, r.len)) {
            prefixes.push((r.prefix, r.len));
        }
    }
    let groups: Vec<Vec<usize>> = prefixes
        .iter()
        .map(|p| {
            (0..accepted.len())
                .filter(|&i| (accepted[i].0.prefix, accepted[i].0.len) == *p)
                .collect()
        })
        .collect();
    let keys: Vec<Vec<SelectionKey>> = groups
        .iter()
        .map(|g| g.iter().map(|&i| key(&accepted[i].1, &from)).collect())
        .collect();
    let (cand, counts) = encode_candidates(&keys);
    let selections = match policy.select(&cand, &counts) {
        Ok(answer) => validate_selection(&counts, &answer).map_err(|e| {
            anyhow::anyhow!("selection hook answered badly: {e}")
        })?,
        Err(PolicyError::NotImplemented(_)) => {
            println!(
                "selection: not a hook of this plugin (first candidate shown)"
            );
            counts.iter().map(|_| Selection::single(0)).collect()
        }
        Err(e) => bail!("selection hook: {e}"),
    };
    println!("selection:");
    let mut best: Vec<(Route, AttrSet)> = Vec::new();
    for ((p, g), s) in prefixes.iter().zip(&groups).zip(&selections) {
        println!(
            "  {:<24} best is candidate {} of {}, multipath mask {:#x}",
            format!("{}/{}", p.0, p.1),
            s.best,
            g.len(),
            s.multipath
        );
        if let Some(&i) = g.get(s.best as usize) {
            best.push(accepted[i].clone());
        }
    }

    // Export and kernel over the best routes.
    let best_sets: Vec<AttrSet> = best.iter().map(|(_, s)| s.clone()).collect();
    let best_routes: Vec<Route> = best
        .iter()
        .enumerate()
        .map(|(i, (r, _))| Route {
            attr: i as u32,
            ..*r
        })
        .collect();
    let (attrs, words) = encode(&best_sets, &best_routes);
    let answer = policy
        .export(&to, &attrs, &words, &NoRawAttributes)
        .map_err(|e| anyhow::anyhow!("export hook: {e}"))?;
    let verdicts = validate_filter_result(best_routes.len(), &answer)
        .map_err(|e| anyhow::anyhow!("export hook answered badly: {e}"))?;
    println!("export (to {}):", to.name);
    for (r, v) in best_routes.iter().zip(&verdicts) {
        println!(
            "  {:<24} {}",
            format!("{}/{}", r.prefix, r.len),
            verdict_text(v)
        );
    }
    let actions = match policy.kernel(&attrs, &words, &NoRawAttributes) {
        Ok(answer) => validate_kernel(best_routes.len(), &answer)
            .map_err(|e| anyhow::anyhow!("kernel hook answered badly: {e}"))?,
        Err(PolicyError::NotImplemented(_)) => {
            println!("kernel: not a hook of this plugin");
            return Ok(());
        }
        Err(e) => bail!("kernel hook: {e}"),
    };
    println!("kernel:");
    for (r, a) in best_routes.iter().zip(&actions) {
        let what = match a.action {
            RouteAction::Skip => "skip",
            RouteAction::Install => "install via next hop",
            RouteAction::Blackhole => "blackhole",
            RouteAction::Onlink => "install onlink via tunl0",
        };
        println!(
            "  {:<24} {what}, metric {}",
            format!("{}/{}", r.prefix, r.len),
            a.metric
        );
    }
    Ok(())
}

fn encode(sets: &[AttrSet], routes: &[Route]) -> (Vec<u32>, Vec<u32>) {
    let mut table = AttrTableWriter::new();
    for s in sets {
        table.push(s);
    }
    (table.finish(), encode_routes(routes))
}

fn verdict_text(v: &Verdict) -> String {
    match v {
        Verdict::Reject => "reject".into(),
        Verdict::Accept => "accept".into(),
        Verdict::AcceptWith(edits) => {
            let list: Vec<String> = edits.iter().map(edit_text).collect();
            format!("accept with {}", list.join(", "))
        }
    }
}

fn edit_text(e: &Edit) -> String {
    format!("{e:?}")
}

fn peer_info(p: &PeerSpec) -> anyhow::Result<PeerInfo> {
    let kind = match p.kind.to_ascii_lowercase().as_str() {
        "mesh" => PeerKind::Mesh,
        "node" => PeerKind::Node,
        "global" => PeerKind::Global,
        "local" => PeerKind::Local,
        other => bail!(
            "peer {}: unknown kind {other:?} (mesh, node, global, local)",
            p.name
        ),
    };
    let next_hop_mode = match p.next_hop_mode.as_deref() {
        None | Some("Auto") => NextHopMode::Auto,
        Some("Self") => NextHopMode::SelfAddr,
        Some("Keep") => NextHopMode::Keep,
        Some(other) => {
            bail!("peer {}: unknown next_hop_mode {other:?}", p.name)
        }
    };
    Ok(PeerInfo {
        name: p.name.clone(),
        kind,
        address: p.address.clone(),
        peer_as: p.peer_as,
        local_as: p.local_as,
        ibgp: p.peer_as == p.local_as,
        rr_client: p.rr_client,
        next_hop_mode,
        filters: p.filters.clone(),
    })
}

fn prefix(text: &str) -> anyhow::Result<(IpAddr, u8)> {
    let p: bgplet_wire::Prefix = text
        .parse()
        .map_err(|e| anyhow::anyhow!("prefix {text:?}: {e}"))?;
    Ok((p.addr(), p.len()))
}

fn attr_set(r: &RouteSpec) -> anyhow::Result<AttrSet> {
    let origin = match r.origin.as_deref().unwrap_or("igp") {
        "igp" | "i" => Origin::Igp,
        "egp" | "e" => Origin::Egp,
        "incomplete" | "?" => Origin::Incomplete,
        other => bail!("route {}: unknown origin {other:?}", r.prefix),
    };
    let communities = r
        .communities
        .iter()
        .map(|c| {
            c.parse::<bgplet_wire::Community>()
                .map(|c| c.0)
                .map_err(|e| {
                    anyhow::anyhow!("route {}: community {c:?}: {e}", r.prefix)
                })
        })
        .collect::<anyhow::Result<Vec<u32>>>()?;
    let large_communities = r
        .large_communities
        .iter()
        .map(|c| {
            c.parse::<bgplet_wire::LargeCommunity>()
                .map(|l| [l.global_admin, l.local_data_1, l.local_data_2])
                .map_err(|e| {
                    anyhow::anyhow!(
                        "route {}: large community {c:?}: {e}",
                        r.prefix
                    )
                })
        })
        .collect::<anyhow::Result<Vec<[u32; 3]>>>()?;
    Ok(AttrSet {
        origin: Some(origin),
        med: r.med,
        local_pref: r.local_pref,
        next_hop: r.next_hop,
        as_path: if r.as_path.is_empty() {
            Vec::new()
        } else {
            vec![Segment {
                kind: SegmentKind::Sequence,
                asns: r.as_path.clone(),
            }]
        },
        communities,
        large_communities,
        ..AttrSet::default()
    })
}

/// The selection keys the RIB would build (docs/plugin-abi.md).
fn key(set: &AttrSet, from: &PeerInfo) -> SelectionKey {
    let address = from.address.parse::<IpAddr>().ok();
    SelectionKey {
        preference: 100,
        local_pref: set.local_pref.unwrap_or(100),
        as_path_len: set.as_path_len(),
        origin: set.origin.map_or(0, Origin::code),
        med: set.med.unwrap_or(0),
        neighbor_as: set
            .as_path
            .first()
            .and_then(|s| s.asns.first().copied())
            .unwrap_or(0),
        flags: if from.ibgp { 0 } else { SelectionKey::EBGP }
            | if set.med.is_some() {
                SelectionKey::MED_PRESENT
            } else {
                0
            },
        igp_cost: 0,
        router_id: address.map_or(0, |a| match a {
            IpAddr::V4(v4) => u32::from(v4),
            IpAddr::V6(_) => 0,
        }),
        cluster_list_len: set.cluster_list.len() as u32,
        peer_address: address.map_or([0; 4], SelectionKey::peer),
    }
}
