//! Golden decision vectors: JSON files of inputs and expected decisions
//! that run against any [`Policy`], natively through
//! [`crate::native::NativePolicy`] or in wasm through the host.
//!
//! A file is one policy context and a list of cases:
//!
//! ```json
//! {
//!   "description": "three-node mesh, calico-bgp.md 6.1",
//!   "context": { "node": { "name": "n1", "as": 64512 }, "pools": [] },
//!   "cases": [
//!     { "name": "own block goes to the mesh", "hook": "export",
//!       "peer": { "name": "Mesh_10_0_0_12", "kind": "mesh",
//!                 "peer_as": 64512, "local_as": 64512, "ibgp": true },
//!       "routes": [ { "prefix": "10.244.0.0/26",
//!                     "source": ["local", "own_block"],
//!                     "attrs": { "origin": "Igp" } } ],
//!       "expect": [ { "AcceptWith": [ { "SetLocalPref": 2147482623 },
//!                                     "NextHopSelf" ] } ] }
//!   ]
//! }
//! ```
//!
//! - `context` is the plugin's `init` config (a `PolicyContext`).
//! - `hook` is `import`, `export`, `kernel` or `selection`.
//! - import/export: `peer` (a `PeerInfo`, every field defaulted),
//!   `routes`, and `expect`: one `Verdict` per route (`"Reject"`,
//!   `"Accept"`, `{"AcceptWith": [Edit, ...]}` with edits in the order
//!   the plugin emits them).
//! - kernel: `routes` and `expect`: one `{"action": "Install",
//!   "metric": 0}` per route (actions `Skip`, `Install`, `Blackhole`,
//!   `Onlink`).
//! - selection: `prefixes`: a list of candidate lists (`KeyCase`), and
//!   `expect`: one `{"best": i, "multipath": mask}` per prefix.
//! - A route is `prefix`, `source` (any of `ebgp`, `ibgp`, `rr_client`,
//!   `local`, `own_block`), `path_id` and `attrs` (an `AttrSet`: `origin`
//!   `"Igp"|"Egp"|"Incomplete"`, `med`, `local_pref`, `next_hop` as text,
//!   `as_path` `[{"kind": "Sequence", "asns": [..]}]`, `communities` as
//!   packed u32, ...). Routes of one case share one attribute table.

use std::collections::HashMap;
use std::net::IpAddr;

use bgplet_plugin_abi::{
    AttrSet, AttrTableWriter, KernelAction, NoRawAttributes, PeerInfo, Policy,
    Route, Selection, SelectionKey, SourceFlags, Verdict, encode_candidates,
    encode_routes, validate_filter_result, validate_kernel, validate_selection,
};
use serde::{Deserialize, Serialize};

use crate::Prefix;

/// One vector file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VectorFile {
    /// What the file covers.
    #[serde(default)]
    pub description: String,
    /// The policy context, passed to `init` as JSON.
    #[serde(default)]
    pub context: serde_json::Value,
    /// The cases.
    pub cases: Vec<Case>,
}

/// One case.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "hook", rename_all = "snake_case")]
pub enum Case {
    /// An import batch.
    Import {
        /// Case name.
        name: String,
        /// Sender.
        #[serde(default)]
        peer: PeerInfo,
        /// The batch.
        routes: Vec<RouteCase>,
        /// One verdict per route.
        expect: Vec<Verdict>,
    },
    /// An export batch.
    Export {
        /// Case name.
        name: String,
        /// Update group.
        #[serde(default)]
        peer: PeerInfo,
        /// The batch.
        routes: Vec<RouteCase>,
        /// One verdict per route.
        expect: Vec<Verdict>,
    },
    /// A kernel batch.
    Kernel {
        /// Case name.
        name: String,
        /// Best routes.
        routes: Vec<RouteCase>,
        /// One action per route.
        expect: Vec<KernelAction>,
    },
    /// A selection batch.
    Selection {
        /// Case name.
        name: String,
        /// Candidates per prefix.
        prefixes: Vec<Vec<KeyCase>>,
        /// One answer per prefix.
        expect: Vec<Selection>,
    },
}

impl Case {
    /// The case name.
    pub fn name(&self) -> &str {
        match self {
            Self::Import { name, .. }
            | Self::Export { name, .. }
            | Self::Kernel { name, .. }
            | Self::Selection { name, .. } => name,
        }
    }
}

/// A route of a case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RouteCase {
    /// "10.244.0.0/26".
    pub prefix: String,
    /// Source flags by name.
    #[serde(default)]
    pub source: Vec<String>,
    /// ADD-PATH id.
    #[serde(default)]
    pub path_id: u32,
    /// Attributes.
    #[serde(default)]
    pub attrs: AttrSet,
}

/// A selection candidate with readable defaults (preference 100,
/// LOCAL_PREF 100, everything else 0).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyCase {
    /// Preference.
    pub preference: u32,
    /// LOCAL_PREF.
    pub local_pref: u32,
    /// AS_PATH length.
    pub as_path_len: u32,
    /// ORIGIN.
    pub origin: u32,
    /// MED.
    pub med: u32,
    /// Neighbor AS.
    pub neighbor_as: u32,
    /// Learned over eBGP.
    pub ebgp: bool,
    /// Locally originated.
    pub local: bool,
    /// Stale.
    pub stale: bool,
    /// IGP cost.
    pub igp_cost: u32,
    /// Router id as a dotted quad.
    pub router_id: String,
    /// CLUSTER_LIST length.
    pub cluster_list_len: u32,
    /// Peer address.
    pub peer: String,
}

impl Default for KeyCase {
    fn default() -> Self {
        Self {
            preference: 100,
            local_pref: 100,
            as_path_len: 0,
            origin: 0,
            med: 0,
            neighbor_as: 0,
            ebgp: false,
            local: false,
            stale: false,
            igp_cost: 0,
            router_id: "0.0.0.0".into(),
            cluster_list_len: 0,
            peer: "0.0.0.0".into(),
        }
    }
}

impl KeyCase {
    /// The packed key.
    pub fn key(&self) -> Result<SelectionKey, String> {
        let rid: std::net::Ipv4Addr = self
            .router_id
            .parse()
            .map_err(|_| format!("bad router_id {:?}", self.router_id))?;
        let peer: IpAddr = self
            .peer
            .parse()
            .map_err(|_| format!("bad peer {:?}", self.peer))?;
        let mut flags = 0;
        for (on, bit) in [
            (self.ebgp, SelectionKey::EBGP),
            (self.local, SelectionKey::LOCAL),
            (self.med != 0, SelectionKey::MED_PRESENT),
            (self.stale, SelectionKey::STALE),
        ] {
            if on {
                flags |= bit;
            }
        }
        Ok(SelectionKey {
            preference: self.preference,
            local_pref: self.local_pref,
            as_path_len: self.as_path_len,
            origin: self.origin,
            med: self.med,
            neighbor_as: self.neighbor_as,
            flags,
            igp_cost: self.igp_cost,
            router_id: u32::from(rid),
            cluster_list_len: self.cluster_list_len,
            peer_address: SelectionKey::peer(peer),
        })
    }
}

/// The source flags named in `names`.
pub fn source_flags(names: &[String]) -> Result<SourceFlags, String> {
    names.iter().try_fold(SourceFlags::default(), |acc, n| {
        let f = match n.as_str() {
            "ebgp" => SourceFlags::EBGP,
            "ibgp" => SourceFlags::IBGP,
            "rr_client" => SourceFlags::RR_CLIENT,
            "local" => SourceFlags::LOCAL,
            "own_block" => SourceFlags::OWN_BLOCK,
            _ => return Err(format!("unknown source flag {n:?}")),
        };
        Ok(acc | f)
    })
}

/// Packs a case's routes: the attribute table (identical sets shared)
/// and the route words.
pub fn encode_batch(
    routes: &[RouteCase],
) -> Result<(Vec<u32>, Vec<u32>), String> {
    let mut table = AttrTableWriter::new();
    let mut seen: HashMap<Vec<u32>, u32> = HashMap::new();
    let mut out = Vec::with_capacity(routes.len());
    for r in routes {
        let mut words = Vec::new();
        r.attrs.encode(&mut words);
        let attr = match seen.get(&words) {
            Some(&i) => i,
            None => {
                let i = table.push(&r.attrs);
                seen.insert(words, i);
                i
            }
        };
        let p: Prefix = r.prefix.parse()?;
        out.push(Route {
            attr,
            prefix: p.addr,
            len: p.len,
            source: source_flags(&r.source)?,
            path_id: r.path_id,
        });
    }
    Ok((table.finish(), encode_routes(&out)))
}

impl VectorFile {
    /// Reads and parses a file.
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The `init` config string.
    pub fn config(&self) -> String {
        self.context.to_string()
    }

    /// Runs every case against `policy` (already initialised with
    /// [`VectorFile::config`]). Returns one message per failed case.
    pub fn check(&self, policy: &mut dyn Policy) -> Vec<String> {
        self.cases
            .iter()
            .filter_map(|c| {
                run_case(policy, c)
                    .err()
                    .map(|e| format!("{}: {e}", c.name()))
            })
            .collect()
    }
}

/// Runs one case; `Err` says how the answer differs.
pub fn run_case(policy: &mut dyn Policy, case: &Case) -> Result<(), String> {
    let raw = NoRawAttributes;
    match case {
        Case::Import {
            peer,
            routes,
            expect,
            ..
        }
        | Case::Export {
            peer,
            routes,
            expect,
            ..
        } => {
            let (attrs, words) = encode_batch(routes)?;
            let res = if matches!(case, Case::Import { .. }) {
                policy.import(peer, &attrs, &words, &raw)
            } else {
                policy.export(peer, &attrs, &words, &raw)
            }
            .map_err(|e| e.to_string())?;
            let got = validate_filter_result(routes.len(), &res)
                .map_err(|e| e.to_string())?;
            compare(&got, expect)
        }
        Case::Kernel { routes, expect, .. } => {
            let (attrs, words) = encode_batch(routes)?;
            let res = policy
                .kernel(&attrs, &words, &raw)
                .map_err(|e| e.to_string())?;
            let got = validate_kernel(routes.len(), &res)
                .map_err(|e| e.to_string())?;
            compare(&got, expect)
        }
        Case::Selection {
            prefixes, expect, ..
        } => {
            let keys = prefixes
                .iter()
                .map(|p| p.iter().map(KeyCase::key).collect())
                .collect::<Result<Vec<Vec<_>>, _>>()?;
            let (cands, counts) = encode_candidates(&keys);
            let res =
                policy.select(&cands, &counts).map_err(|e| e.to_string())?;
            let got =
                validate_selection(&counts, &res).map_err(|e| e.to_string())?;
            compare(&got, expect)
        }
    }
}

fn compare<T: PartialEq + Serialize>(
    got: &[T],
    want: &[T],
) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let show = |v: &[T]| serde_json::to_string(v).unwrap_or_default();
    Err(format!("got {} want {}", show(got), show(want)))
}
