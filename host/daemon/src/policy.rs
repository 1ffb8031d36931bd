//! The policy side of the agent: the context plugins decide with (built
//! from the Calico plan), and the plugin host with the active chains.
//!
//! Every decision goes through the plugins; this module holds no routing
//! rule of its own. It only translates the node's configuration into the
//! `PolicyContext` the plugins receive as their config, and swaps in a
//! freshly initialised generation of the plugins whenever that context
//! changes.

use bgplet_calico::{
    BgpFilter, Cidr, EncapMode, FilterAction, FilterOperation, FilterRule,
    MatchOperator, NodePlan, PeerType, ProgramClusterRoutes, Resources,
};
use bgplet_plugin::{
    ChainSpec, HostConfig, LoadError, NodeRecord, PluginHost, PolicyChain,
    PolicyChains,
};
use bgplet_plugin_abi::context as ctx;

/// The loaded plugins and the chains the RIB calls through.
pub struct Policies {
    host: PluginHost,
    chains: PolicyChains,
    config: String,
}

/// Why plugins could not be (re)loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The wasm engine could not start.
    #[error("plugin host: {0}")]
    Host(#[from] bgplet_plugin::HostError),
    /// A plugin was rejected.
    #[error("plugin {name}: {source}")]
    Load {
        /// Plugin name.
        name: String,
        /// The stage that failed.
        source: LoadError,
    },
    /// The context could not be serialised.
    #[error("policy context: {0}")]
    Context(#[from] serde_json::Error),
}

/// The plugin every hook runs when no manifest says otherwise.
const DEFAULT_PLUGIN: &str = "calico";

impl Policies {
    /// Starts the plugin host and loads the embedded default plugin with
    /// this node's context.
    pub fn start(
        plan: &NodePlan,
        res: &Resources,
    ) -> Result<Self, PolicyError> {
        let host = PluginHost::new(HostConfig::default())?;
        host.set_node(node_record(plan));
        let config = serde_json::to_string(&context(plan, res))?;
        let calico = load_default(&host, &config)?;
        let chains = PolicyChains::new(ChainSpec::new(vec![calico]));
        Ok(Self {
            host,
            chains,
            config,
        })
    }

    /// A policy handle for the RIB's thread.
    pub fn worker(&self) -> PolicyChain {
        self.chains.worker()
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
        let config = serde_json::to_string(&context(plan, res))?;
        if config == self.config {
            return Ok(false);
        }
        let calico = load_default(&self.host, &config)?;
        self.chains.swap(ChainSpec::new(vec![calico]));
        self.config = config;
        Ok(true)
    }

    /// The plugin host (for its counters).
    pub fn host(&self) -> PluginHost {
        self.host.clone()
    }
}

fn load_default(
    host: &PluginHost,
    config: &str,
) -> Result<bgplet_plugin::LoadedPlugin, PolicyError> {
    host.load(DEFAULT_PLUGIN, bgplet_plugins_bundle::CALICO, config)
        .map_err(|source| PolicyError::Load {
            name: DEFAULT_PLUGIN.into(),
            source,
        })
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
    let ranges: Vec<String> = s
        .cluster_ips
        .iter()
        .chain(&s.external_ips)
        .chain(&s.load_balancer_ips)
        .map(text)
        .collect();
    let is_host = |c: &&Cidr| c.len() == c.family().max_len();
    let mut static_routes: Vec<String> =
        s.cluster_ips.iter().map(text).collect();
    static_routes
        .extend(s.external_ips.iter().filter(|c| !is_host(c)).map(text));
    if s.load_balancer_aggregation {
        static_routes.extend(
            s.load_balancer_ips.iter().filter(|c| !is_host(c)).map(text),
        );
    }
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
