//! The policy side of the agent: the context plugins decide with (built
//! from the Calico plan), and the plugin host with the active chains.
//!
//! Every decision goes through the plugins; this module holds no routing
//! rule of its own. It only translates the node's configuration into the
//! `PolicyContext` the plugins receive as their config, and swaps in a
//! freshly initialised generation of the plugins whenever that context
//! changes.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use bgplet_calico::{
    BgpFilter, Cidr, EncapMode, FilterAction, FilterOperation, FilterRule,
    MatchOperator, NodePlan, PeerType, ProgramClusterRoutes, Resources,
};
use bgplet_plugin::{
    ChainSpec, HostConfig, NodeRecord, PluginHost, PolicyChains,
};
use bgplet_plugin_abi::context as ctx;

use crate::native::{NativeConfig, RibPolicy};
use crate::plugins::load::{self, Bundle, ReloadError};
use crate::plugins::{PluginsStatus, ReloadOutcome};

/// The loaded plugins and the chains the RIB calls through.
pub struct Policies {
    host: PluginHost,
    chains: PolicyChains,
    /// The node's context as JSON; each plugin gets it with its own
    /// config in the `plugin` key.
    context: serde_json::Value,
    /// The active manifest and files; `None` runs the embedded defaults.
    bundle: Option<Bundle>,
    /// `--native-policy`: the routing thread runs the Calico policy
    /// natively with this config instead of the chains.
    native: Option<NativeConfig>,
    status: Arc<Mutex<PluginsStatus>>,
}

/// Why plugins could not be (re)loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The wasm engine could not start.
    #[error("plugin host: {0}")]
    Host(#[from] bgplet_plugin::HostError),
    /// A plugin or the manifest was rejected; nothing changed.
    #[error(transparent)]
    Reload(#[from] ReloadError),
    /// The context could not be serialised.
    #[error("policy context: {0}")]
    Context(#[from] serde_json::Error),
}

/// The init text of the native Calico policy: the context with an empty
/// plugin config, as the embedded wasm plugin gets it.
fn native_config(context: &serde_json::Value) -> String {
    load::plugin_config(context, &serde_json::json!({}))
}

/// What the status shows as the source without a manifest.
const DEFAULTS: &str = "embedded defaults";

impl Policies {
    /// Starts the plugin host and loads `bundle`'s plugins (the embedded
    /// defaults when `None`) with this node's context.
    pub fn start(
        plan: &NodePlan,
        res: &Resources,
        bundle: Option<Bundle>,
    ) -> Result<Self, PolicyError> {
        let host = PluginHost::new(HostConfig::default())?;
        host.set_node(node_record(plan));
        let context = serde_json::to_value(context(plan, res))?;
        Self::with_context(host, context, bundle)
    }

    /// [`Policies::start`] with a ready context.
    fn with_context(
        host: PluginHost,
        context: serde_json::Value,
        bundle: Option<Bundle>,
    ) -> Result<Self, PolicyError> {
        let spec = load::build(&host, bundle.as_ref(), &context)?;
        let chains = PolicyChains::new(spec.clone());
        let me = Self {
            host,
            chains,
            context,
            bundle,
            native: None,
            status: Arc::default(),
        };
        me.record(Some(&spec), None);
        Ok(me)
    }

    /// Runs the Calico policy natively from now on (`--native-policy`),
    /// configured with the node's context.
    pub fn use_native(&mut self) {
        let native = NativeConfig::default();
        native.set(native_config(&self.context));
        self.native = Some(native);
    }

    /// A policy handle for the RIB's thread.
    pub fn worker(&self) -> RibPolicy {
        match &self.native {
            Some(native) => RibPolicy::Native(native.worker()),
            None => RibPolicy::Plugins(self.chains.worker()),
        }
    }

    /// Re-initialises the plugins when the node's context changed.
    /// Returns whether a new generation was swapped in (the RIB must then
    /// re-evaluate). A plugin that rejects the new config leaves the old
    /// generation active.
    pub fn reconfigure(
        &mut self,
        plan: &NodePlan,
        res: &Resources,
    ) -> Result<bool, PolicyError> {
        self.host.set_node(node_record(plan));
        let context = serde_json::to_value(context(plan, res))?;
        if context == self.context {
            return Ok(false);
        }
        if let Some(native) = &self.native {
            native.set(native_config(&context));
        }
        let spec = load::build(&self.host, self.bundle.as_ref(), &context)?;
        self.chains.swap(spec.clone());
        self.context = context;
        self.record(Some(&spec), None);
        Ok(true)
    }

    /// Validates `bundle` (every stage of docs/plugins.md, including the
    /// plugins' self-tests) on a blocking thread, so that compiling a
    /// large plugin never starves the sessions' keepalives, and swaps it
    /// in; `None` goes back to the embedded defaults. On error nothing
    /// changes; either way the outcome is logged and kept for the
    /// status. Returns the new chain generation; the RIB must then
    /// re-evaluate.
    pub async fn reload(
        &mut self,
        bundle: Option<Bundle>,
    ) -> Result<u64, PolicyError> {
        let (host, context, candidate) =
            (self.host.clone(), self.context.clone(), bundle.clone());
        let t = Instant::now();
        let built = tokio::task::spawn_blocking(move || {
            load::build(&host, candidate.as_ref(), &context)
        })
        .await
        .unwrap_or_else(|e| Err(ReloadError::Source(e.to_string())));
        self.activate(bundle, built, t.elapsed())
    }

    /// Swaps in a validated candidate, or records why it was refused.
    fn activate(
        &mut self,
        bundle: Option<Bundle>,
        built: Result<ChainSpec, ReloadError>,
        took: std::time::Duration,
    ) -> Result<u64, PolicyError> {
        let source = source_of(bundle.as_ref());
        let validate_ms = took.as_millis() as u64;
        let mut outcome = ReloadOutcome {
            at: crate::time::rfc3339(std::time::SystemTime::now()),
            source: source.clone(),
            ok: built.is_ok(),
            error: None,
            validate_ms,
        };
        match built {
            Ok(spec) => {
                let generation = self.chains.swap(spec.clone());
                self.bundle = bundle;
                tracing::info!(%source, generation, validate_ms, "plugins reloaded");
                self.record(Some(&spec), Some(outcome));
                Ok(generation)
            }
            Err(e) => {
                tracing::error!(%source, error = %e, "plugin reload refused; the active plugins stay");
                outcome.error = Some(e.to_string());
                self.record(None, Some(outcome));
                Err(e.into())
            }
        }
    }

    /// Reports a candidate that could not even be read as a refused
    /// reload.
    pub fn refuse(&mut self, source: &str, error: &ReloadError) {
        tracing::error!(%source, %error, "plugin reload refused; the active plugins stay");
        self.record(
            None,
            Some(ReloadOutcome {
                at: crate::time::rfc3339(std::time::SystemTime::now()),
                source: source.to_owned(),
                ok: false,
                error: Some(error.to_string()),
                validate_ms: 0,
            }),
        );
    }

    /// The plugin host (for its counters).
    pub fn host(&self) -> PluginHost {
        self.host.clone()
    }

    /// A shared handle on the plugin status, updated on every reload.
    pub fn status(&self) -> Arc<Mutex<PluginsStatus>> {
        self.status.clone()
    }

    fn record(&self, spec: Option<&ChainSpec>, outcome: Option<ReloadOutcome>) {
        let Ok(mut s) = self.status.lock() else {
            return;
        };
        if let Some(o) = outcome {
            if o.ok {
                s.reloads_ok += 1;
            } else {
                s.reloads_failed += 1;
            }
            let failed = !o.ok;
            s.last_reload = Some(o);
            if failed {
                return;
            }
        }
        s.generation = self.chains.generation();
        s.source = source_of(self.bundle.as_ref());
        if let Some(spec) = spec {
            s.chains = crate::plugins::chain_status(spec);
        }
    }
}

fn source_of(bundle: Option<&Bundle>) -> String {
    bundle.map_or_else(|| DEFAULTS.to_owned(), |b| b.origin.clone())
}

fn node_record(plan: &NodePlan) -> NodeRecord {
    let l = &plan.local;
    NodeRecord {
        name: l.name.clone(),
        as_number: l.as_number.value(),
        router_id: l.router_id.to_string(),
        ipv4_address: l.ipv4.map(|a| a.to_string()).unwrap_or_default(),
        ipv6_address: l.ipv6.map(|a| a.to_string()).unwrap_or_default(),
        rr_cluster_id: l
            .rr_cluster_id
            .map(|a| a.to_string())
            .unwrap_or_default(),
    }
}

/// The configuration every plugin receives: the node and the Calico
/// resources that decide routes (calico-bgp.md sections 2 and 4).
pub fn context(plan: &NodePlan, res: &Resources) -> ctx::PolicyContext {
    let l = &plan.local;
    let s = &plan.services;
    let text = |c: &Cidr| c.to_string();
    // BIRD's /staticroutes (export step 7, and blackholes that the
    // kernel filter's rejectcidrs keep out, 4.8) and /rejectcidrs.
    let mut static_routes: Vec<String> =
        s.advertised().iter().map(text).collect();
    static_routes.extend(plan.service_addresses.iter().map(text));
    let ranges: Vec<String> = s.rejected().iter().map(text).collect();
    ctx::PolicyContext {
        node: ctx::NodeContext {
            name: l.name.clone(),
            as_number: l.as_number.value(),
            router_id: l.router_id.to_string(),
            ipv4_address: l.ipv4.map(|a| a.to_string()).unwrap_or_default(),
            ipv4_subnet: l.ipv4_subnet.as_ref().map(text).unwrap_or_default(),
            ipv6_address: l.ipv6.map(|a| a.to_string()).unwrap_or_default(),
            ipv6_subnet: l.ipv6_subnet.as_ref().map(text).unwrap_or_default(),
            rr_cluster_id: l
                .rr_cluster_id
                .map(|a| a.to_string())
                .unwrap_or_default(),
        },
        is_route_reflector: l.rr_cluster_id.is_some(),
        pools: plan
            .pools
            .iter()
            .map(|p| ctx::PoolContext {
                cidr: p.cidr.to_string(),
                block_size: p.block_size,
                ipip_mode: encap(p.ipip_mode),
                vxlan_mode: encap(p.vxlan_mode),
                disable_bgp_export: p.disable_bgp_export,
                disabled: p.disabled,
            })
            .collect(),
        local_blocks: plan
            .local_blocks
            .iter()
            .map(|b| ctx::LocalBlock {
                cidr: b.cidr.to_string(),
                pending_deletion: b.pending_deletion,
            })
            .collect(),
        services: ctx::ServiceContext {
            cluster_ips: s.cluster_ips.iter().map(text).collect(),
            external_ips: s.external_ips.iter().map(text).collect(),
            load_balancer_ips: s.load_balancer_ips.iter().map(text).collect(),
            lb_aggregation: s.load_balancer_aggregation,
        },
        static_routes,
        reject_cidrs: ranges,
        prefix_advertisements: plan
            .prefix_advertisements
            .iter()
            .map(|r| ctx::PrefixAdvertisement {
                cidr: r.cidr.to_string(),
                communities: r.communities.clone(),
            })
            .collect(),
        bgp_filters: res
            .filters
            .values()
            .map(|f| (f.name.clone(), filter(f)))
            .collect(),
        program_cluster_routes: match plan.program_cluster_routes {
            ProgramClusterRoutes::Disabled => {
                ctx::ProgramClusterRoutes::Disabled
            }
            ProgramClusterRoutes::EnabledNoEncapOnly => {
                ctx::ProgramClusterRoutes::EnabledNoEncapOnly
            }
            ProgramClusterRoutes::EnabledIpipOnly => {
                ctx::ProgramClusterRoutes::EnabledIpipOnly
            }
            ProgramClusterRoutes::Enabled => ctx::ProgramClusterRoutes::Enabled,
        },
        ipv4_normal_route_priority: plan.ipv4_normal_route_priority,
        ipv6_normal_route_priority: plan.ipv6_normal_route_priority,
        classic_local_pref: false,
        plugin: ctx::IgnoredConfig,
    }
}

fn encap(mode: EncapMode) -> ctx::EncapMode {
    match mode {
        EncapMode::Never => ctx::EncapMode::Never,
        EncapMode::Always => ctx::EncapMode::Always,
        EncapMode::CrossSubnet => ctx::EncapMode::CrossSubnet,
    }
}

fn filter(f: &BgpFilter) -> ctx::BgpFilterSpec {
    let rules = |rules: &[FilterRule]| rules.iter().map(rule).collect();
    ctx::BgpFilterSpec {
        export_v4: rules(&f.export_v4),
        import_v4: rules(&f.import_v4),
        export_v6: rules(&f.export_v6),
        import_v6: rules(&f.import_v6),
    }
}

fn rule(r: &FilterRule) -> ctx::BgpFilterRule {
    ctx::BgpFilterRule {
        cidr: r.cidr.map(|(c, _)| c.to_string()).unwrap_or_default(),
        match_operator: r.cidr.map(|(_, op)| match op {
            MatchOperator::Equal => ctx::MatchOperator::Equal,
            MatchOperator::NotEqual => ctx::MatchOperator::NotEqual,
            MatchOperator::In => ctx::MatchOperator::In,
            MatchOperator::NotIn => ctx::MatchOperator::NotIn,
        }),
        prefix_length: r
            .prefix_length
            .map(|(min, max)| ctx::PrefixLength { min, max }),
        source: r
            .source_remote_peers
            .then_some(ctx::RuleSource::RemotePeers),
        interface: r.interface.clone(),
        peer_type: r.peer_type.map(|t| match t {
            PeerType::Ibgp => ctx::PeerType::Ibgp,
            PeerType::Ebgp => ctx::PeerType::Ebgp,
        }),
        communities: r.community.as_ref().map(|c| ctx::CommunityMatch {
            values: vec![c.clone()],
        }),
        as_path_prefix: r.as_path_prefix.iter().map(|a| a.value()).collect(),
        priority: r.priority,
        action: match r.action {
            FilterAction::Accept => ctx::FilterAction::Accept,
            FilterAction::Reject => ctx::FilterAction::Reject,
        },
        operations: r
            .operations
            .iter()
            .map(|op| match op {
                FilterOperation::AddCommunity(v) => ctx::FilterOperation {
                    add_community: Some(ctx::CommunityValue {
                        value: v.clone(),
                    }),
                    ..Default::default()
                },
                FilterOperation::PrependAsPath(asns) => ctx::FilterOperation {
                    prepend_as_path: Some(ctx::AsPathPrepend {
                        prefix: asns.iter().map(|a| a.value()).collect(),
                    }),
                    ..Default::default()
                },
                FilterOperation::SetPriority(v) => ctx::FilterOperation {
                    set_priority: Some(ctx::PriorityValue { value: *v }),
                    ..Default::default()
                },
            })
            .collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
#[path = "plugins/reload_tests.rs"]
mod reload_tests;
