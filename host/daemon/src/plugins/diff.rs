//! `bgplet plugin diff`, the agent's side: validate a candidate exactly
//! as a reload would, build scratch chains from it and the running ones,
//! and have the routing thread evaluate every route under them
//! (`Rib::what_if`) without activating anything.
//!
//! What is replaced (docs/plugins.md, "What a plugin would change"):
//!
//! - a plugin (a wasm component or an embedded plugin's name) takes the
//!   place of the running plugin of the same name in every chain that
//!   has it, and is appended to the end of the chain of every other
//!   hook its `describe` declares; a running chain holding its name for
//!   a hook it does not declare rejects it, as a reload would;
//! - a manifest (a directory or `manifest.yaml`) describes the complete
//!   candidate chains, as the reload path reads them.

use std::collections::BTreeMap;

use bgplet_plugin::{ChainSpec, Hook, LoadedPlugin, PluginHost, PolicyChains};
use k8s_openapi::ByteString;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::ChainStatus;
use super::load::{self, Bundle, Mode, ReloadError};
use super::manifest::{API_VERSION, Entry, HookLists, Manifest};
use crate::control::Query;

/// What to evaluate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Candidate {
    /// One plugin, in place of the running plugin of its name.
    Plugin {
        /// The name it runs under (its metric label and identity).
        name: String,
        /// The component's bytes; `None` with `builtin`.
        #[serde(default)]
        wasm: Option<ByteString>,
        /// An embedded plugin instead of `wasm`.
        #[serde(default)]
        builtin: Option<String>,
        /// Its config (the `plugin` key of the context); `None` keeps
        /// the running plugin's of that name, or `null` for a new one.
        #[serde(default)]
        config: Option<serde_json::Value>,
        /// Golden vectors to self-test it with.
        #[serde(default)]
        vectors: Option<ByteString>,
    },
    /// Complete chains: a manifest and the files it names.
    Manifest {
        /// `manifest.yaml`'s text.
        manifest: String,
        /// File name to contents.
        files: BTreeMap<String, ByteString>,
        /// Where the client read it.
        origin: String,
    },
}

/// The chains a diff evaluated, beside the running ones.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DiffReply {
    /// The running chain generation the candidate was compared with.
    pub generation: u64,
    /// The running chains, `name@sha256-prefix` per hook.
    pub running: Vec<ChainStatus>,
    /// The candidate chains.
    pub candidate: Vec<ChainStatus>,
    /// Prefixes evaluated.
    pub prefixes: usize,
    /// Paths run through import.
    pub paths: usize,
    /// Validation time (compile, init, self-test), milliseconds.
    pub validate_ms: u64,
    /// Evaluation time on the routing thread, milliseconds.
    pub evaluate_ms: u64,
    /// Failed hook batches of the candidate chains per hook (the RIB's
    /// fallback was applied, as after a reload).
    pub hook_failures: BTreeMap<String, u64>,
    /// The last such failure.
    pub last_failure: Option<String>,
    /// One row per difference, by prefix.
    pub changes: Vec<super::diff_view::ChangeRow>,
}

/// Evaluates `candidate` against the running agent. `Err` is the text
/// the client prints (a rejected candidate says why).
pub async fn serve(
    queries: &mpsc::Sender<Query>,
    candidate: Candidate,
) -> Result<DiffReply, String> {
    let (tx, rx) = oneshot::channel();
    ask(queries, Query::Chains(tx)).await?;
    let (generation, running) =
        rx.await.map_err(|_| "agent dropped the query".to_owned())?;
    let started = std::time::Instant::now();
    let run = running.clone();
    let built = tokio::task::spawn_blocking(move || scratch(&run, candidate))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("candidate rejected: {e}"))?;
    let validate_ms = millis(started.elapsed());
    let policy = PolicyChains::new(built.clone()).worker();
    let (tx, rx) = oneshot::channel();
    ask(queries, Query::WhatIf(Box::new(policy), tx)).await?;
    let (what, took) =
        rx.await.map_err(|_| "agent dropped the query".to_owned())?;
    let e = what.policy_errors;
    let hook_failures = [
        ("import", e.import),
        ("selection", e.select),
        ("export", e.export),
        ("kernel", e.kernel),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(h, n)| (h.to_owned(), n))
    .collect();
    Ok(DiffReply {
        generation,
        running: super::chain_status(&running),
        candidate: super::chain_status(&built),
        prefixes: what.prefixes,
        paths: what.paths,
        validate_ms,
        evaluate_ms: millis(took),
        hook_failures,
        last_failure: what.last_policy_error.map(|e| e.to_string()),
        changes: super::diff_view::rows(&what.changes),
    })
}

async fn ask(queries: &mpsc::Sender<Query>, q: Query) -> Result<(), String> {
    queries
        .send(q)
        .await
        .map_err(|_| "agent is shutting down".to_owned())
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The running plugins' host and policy context: every plugin was
/// initialised with the node's context plus its own `plugin` key.
fn host_and_context(
    running: &ChainSpec,
) -> Result<(PluginHost, serde_json::Value), ReloadError> {
    let any = Hook::ALL
        .iter()
        .find_map(|&h| running.chain(h).first())
        .ok_or_else(|| {
            ReloadError::Source(
                "no plugin runs in the agent, so there is no policy \
                 context to initialise the candidate with"
                    .into(),
            )
        })?;
    let context = serde_json::from_str(any.config()).map_err(|e| {
        ReloadError::Source(format!("running policy context: {e}"))
    })?;
    Ok((any.host(), context))
}

/// Validates the candidate (every reload stage, detached from the live
/// plugins' counters) and returns the scratch chains.
fn scratch(
    running: &ChainSpec,
    candidate: Candidate,
) -> Result<ChainSpec, ReloadError> {
    let (host, context) = host_and_context(running)?;
    match candidate {
        Candidate::Manifest {
            manifest,
            files,
            origin,
        } => {
            let files = files.into_iter().map(|(k, v)| (k, v.0)).collect();
            let bundle = Bundle::from_parts(&manifest, files, origin)?;
            load::build_with(&host, Some(&bundle), &context, Mode::Detached)
        }
        Candidate::Plugin {
            name,
            wasm,
            builtin,
            config,
            vectors,
        } => {
            let config =
                config.unwrap_or_else(|| running_config(running, &name));
            let mut files = BTreeMap::new();
            let wasm_file = format!("{name}.wasm");
            let vectors_file = format!("{name}.vectors.json");
            let sha256 = wasm.as_ref().map(|w| load::sha256_hex(&w.0));
            if let Some(w) = wasm {
                files.insert(wasm_file.clone(), w.0);
            }
            let has_vectors = vectors.is_some();
            if let Some(v) = vectors {
                files.insert(vectors_file.clone(), v.0);
            }
            let entry = Entry {
                name: name.clone(),
                wasm: sha256.is_some().then_some(wasm_file),
                sha256,
                builtin,
                config,
                vectors: has_vectors.then_some(vectors_file),
            };
            let bundle = Bundle {
                manifest: Manifest {
                    api_version: API_VERSION.into(),
                    hooks: HookLists::default(),
                },
                files,
                origin: "plugin diff".into(),
            };
            let plugin = load::load_entry(
                &host,
                &entry,
                Some(&bundle),
                &context,
                Mode::Detached,
            )?;
            replace(running, &plugin)
        }
    }
}

/// The `plugin` key of the running plugin called `name`, or `null`.
fn running_config(running: &ChainSpec, name: &str) -> serde_json::Value {
    Hook::ALL
        .iter()
        .flat_map(|&h| running.chain(h))
        .find(|p| p.name() == name)
        .and_then(|p| {
            serde_json::from_str::<serde_json::Value>(p.config()).ok()
        })
        .and_then(|c| c.get("plugin").cloned())
        .unwrap_or(serde_json::Value::Null)
}

/// The running chains with `plugin` in place of its namesake, appended
/// to the other chains of hooks it declares. The running plugins are
/// detached copies: the what-if's calls do not count as theirs.
fn replace(
    running: &ChainSpec,
    plugin: &LoadedPlugin,
) -> Result<ChainSpec, ReloadError> {
    let mut copies: BTreeMap<String, LoadedPlugin> = BTreeMap::new();
    let mut spec = ChainSpec::default();
    for hook in Hook::ALL {
        let chain = running.chain(hook);
        let present = chain.iter().any(|p| p.name() == plugin.name());
        if present && !plugin.implements(hook) {
            return Err(ReloadError::Hook {
                plugin: plugin.name().to_owned(),
                hook,
            });
        }
        let mut plugins: Vec<LoadedPlugin> = chain
            .iter()
            .map(|p| {
                if p.name() == plugin.name() {
                    plugin.clone()
                } else {
                    copies
                        .entry(p.name().to_owned())
                        .or_insert_with(|| p.detached())
                        .clone()
                }
            })
            .collect();
        if !present && plugin.implements(hook) {
            plugins.push(plugin.clone());
        }
        spec = spec.with_hook(hook, plugins);
    }
    Ok(spec)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use bgplet_plugin::HostConfig;

    use super::*;

    /// The embedded defaults (calico on every hook), as an agent
    /// without a manifest runs them.
    fn running() -> ChainSpec {
        let host = PluginHost::new(HostConfig::default()).unwrap();
        let context = serde_json::json!({"node": {"name": "n1"}});
        load::build(&host, None, &context).unwrap()
    }

    fn names(spec: &ChainSpec, hook: Hook) -> Vec<String> {
        spec.chain(hook)
            .iter()
            .map(|p| p.name().to_owned())
            .collect()
    }

    fn builtin(name: &str, config: Option<serde_json::Value>) -> Candidate {
        Candidate::Plugin {
            name: name.into(),
            wasm: None,
            builtin: Some(name.into()),
            config,
            vectors: None,
        }
    }

    #[test]
    fn a_plugin_of_a_new_name_is_appended_to_the_chains_of_its_hooks() {
        let run = running();
        let config = serde_json::json!({"peers": ["p"], "count": 2});
        let spec = scratch(&run, builtin("prepend", Some(config))).unwrap();
        assert_eq!(names(&spec, Hook::Export), ["calico", "prepend"]);
        for hook in [Hook::Import, Hook::Selection, Hook::Kernel] {
            assert_eq!(names(&spec, hook), ["calico"], "{hook}");
        }
        // The candidate got the node's context with its config.
        let p = &spec.chain(Hook::Export)[1];
        let init: serde_json::Value = serde_json::from_str(p.config()).unwrap();
        assert_eq!(init["node"]["name"], "n1");
        assert_eq!(init["plugin"]["count"], 2);
    }

    #[test]
    fn the_running_plugins_are_detached_copies_and_tried_ones_unlisted() {
        let run = running();
        let host = run.chain(Hook::Import)[0].host();
        let config = serde_json::json!({"peers": ["p"], "count": 2});
        let spec = scratch(&run, builtin("prepend", Some(config))).unwrap();
        let (live, copy) =
            (&run.chain(Hook::Export)[0], &spec.chain(Hook::Export)[0]);
        assert_eq!(copy.name(), "calico");
        assert_eq!(copy.sha256(), live.sha256());
        assert_ne!(copy.generation(), live.generation());
        // One copy per plugin, shared by its chains.
        let import = &spec.chain(Hook::Import)[0];
        assert_eq!(import.generation(), copy.generation());
        assert!(host.metrics_of("prepend").is_none());
    }

    #[test]
    fn a_plugin_takes_the_place_of_its_namesake_and_keeps_its_config() {
        let run = running();
        let spec = scratch(&run, builtin("calico", None)).unwrap();
        for hook in Hook::ALL {
            assert_eq!(names(&spec, hook), ["calico"], "{hook}");
            let (old, new) = (&run.chain(hook)[0], &spec.chain(hook)[0]);
            assert_ne!(old.generation(), new.generation());
            assert_eq!(old.config(), new.config());
        }
    }

    #[test]
    fn a_candidate_lacking_a_hook_its_namesake_runs_is_rejected() {
        let run = running();
        let gs = Candidate::Plugin {
            name: "calico".into(),
            wasm: None,
            builtin: Some("graceful-shutdown".into()),
            config: None,
            vectors: None,
        };
        let err = scratch(&run, gs).unwrap_err();
        assert!(matches!(err, ReloadError::Hook { .. }), "{err}");
        assert_eq!(err.reason(), "hook");
    }

    #[test]
    fn a_candidate_its_init_refuses_is_rejected_with_the_stage() {
        let run = running();
        let bad = serde_json::json!({"peers": [], "count": 0});
        let err = scratch(&run, builtin("prepend", Some(bad))).unwrap_err();
        assert_eq!(err.reason(), "init");
        assert!(err.to_string().contains("count must be"), "{err}");
    }

    #[test]
    fn a_wasm_candidate_is_pinned_to_itself_and_corrupt_bytes_are_refused() {
        let run = running();
        let wasm = |bytes: &[u8]| Candidate::Plugin {
            name: "prepend".into(),
            wasm: Some(ByteString(bytes.to_vec())),
            builtin: None,
            config: Some(serde_json::json!({"peers": ["p"], "count": 1})),
            vectors: None,
        };
        let spec = scratch(&run, wasm(bgplet_plugins_bundle::PREPEND)).unwrap();
        assert_eq!(names(&spec, Hook::Export), ["calico", "prepend"]);
        let err = scratch(&run, wasm(b"not wasm")).unwrap_err();
        assert_eq!(err.reason(), "compile", "{err}");
    }

    /// Not a check: a what-if through the real plugins against a
    /// reevaluation of the same 100,000 routes (`cargo nextest run -p
    /// bgplet --run-ignored only what_if_with`).
    #[test]
    #[ignore]
    fn what_if_with_the_calico_plugin_costs_about_a_reevaluation() {
        use bgplet_rib::{PeerConfig, PeerKind, Rib, RibConfig, RouteUpdate};
        use bgplet_wire::attribute::{AsPath, Community, Origin};
        use bgplet_wire::{
            AfiSafi, NextHop, Nlri, PathAttributes, Prefix, SessionContext,
        };

        let run = running();
        let live = PolicyChains::new(run.clone());
        let mut rib = Rib::new(
            RibConfig {
                router_id: "10.0.0.1".parse().unwrap(),
                local_as: 64512,
                cluster_id: None,
                own_addresses: vec!["10.0.0.1".parse().unwrap()],
            },
            live.worker(),
        );
        let peer = |name: &str, addr: &str| PeerConfig {
            name: name.into(),
            kind: PeerKind::Global,
            address: addr.parse().unwrap(),
            local_v4: Some("10.0.0.1".parse().unwrap()),
            local_v6: None,
            router_id: addr.parse().unwrap(),
            local_as: 64512,
            peer_as: 65001,
            ibgp: false,
            rr_client: false,
            check_cluster_list: false,
            allow_local_as: 0,
            next_hop_mode: bgplet_rib::NextHopMode::Auto,
            filters: Vec::new(),
            ctx: SessionContext {
                four_octet_as: true,
                ..Default::default()
            },
            families: [AfiSafi::IPV4_UNICAST].into_iter().collect(),
            enhanced_route_refresh: false,
        };
        rib.peer_up(peer("tor", "192.0.2.1")).unwrap();
        rib.peer_up(peer("tor2", "192.0.2.2")).unwrap();
        let n = 100_000u32;
        let prefixes: Vec<Prefix> = (0..n)
            .map(|i| {
                let b = i.to_be_bytes();
                format!("{}.{}.{}.0/24", 100 + b[1], b[2], b[3])
                    .parse()
                    .unwrap()
            })
            .collect();
        for chunk in prefixes.chunks(1000) {
            let update = RouteUpdate {
                announced: vec![(
                    NextHop::V4("192.0.2.1".parse().unwrap()),
                    chunk.iter().map(|p| Nlri::new(*p)).collect(),
                )],
                attributes: PathAttributes {
                    origin: Some(Origin::Igp),
                    as_path: Some(AsPath::sequence([65001])),
                    communities: Some(vec![Community::GRACEFUL_SHUTDOWN]),
                    ..PathAttributes::default()
                },
                ..RouteUpdate::default()
            };
            rib.update("tor", update).unwrap();
        }
        // LOCAL_PREF 0 for every route: an import change, a best path
        // change and another kernel metric per prefix.
        let spec_again =
            || scratch(&run, builtin("graceful-shutdown", None)).unwrap();
        let mut cand = PolicyChains::new(spec_again()).worker();
        let time = |what: &str, f: &mut dyn FnMut() -> usize| {
            let t = std::time::Instant::now();
            let n = f();
            eprintln!("{what}: {:?} ({n})", t.elapsed());
        };
        let mut same = PolicyChains::new(run.clone()).worker();
        for _ in 0..2 {
            time("reevaluate, nothing changes (outputs)", &mut || {
                rib.reevaluate().len()
            });
            time("what-if, the running chains (changes)", &mut || {
                rib.what_if(&mut same).changes.len()
            });
            time("what-if, the candidate (changes)", &mut || {
                let w = rib.what_if(&mut cand);
                assert_eq!(w.changes.len(), prefixes.len());
                w.changes.len()
            });
        }
        // What the reload itself costs the routing thread.
        live.swap(spec_again());
        time("reevaluate after the swap (outputs)", &mut || {
            rib.reevaluate().len()
        });
    }

    #[test]
    fn a_manifest_candidate_is_built_as_a_reload_would() {
        let run = running();
        let manifest = "apiVersion: bgplet.dev/v1\n\
                        hooks: {import: [{name: gs, builtin: graceful-shutdown}]}\n";
        let c = Candidate::Manifest {
            manifest: manifest.into(),
            files: BTreeMap::new(),
            origin: "test".into(),
        };
        let spec = scratch(&run, c).unwrap();
        assert_eq!(names(&spec, Hook::Import), ["gs"]);
        assert_eq!(names(&spec, Hook::Export), ["calico"]);
        let c = Candidate::Manifest {
            manifest: "apiVersion: v9\n".into(),
            files: BTreeMap::new(),
            origin: "test".into(),
        };
        assert_eq!(scratch(&run, c).unwrap_err().reason(), "manifest");
    }
}
