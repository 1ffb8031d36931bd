//! The policy context, parsed once at `init` into the shapes the hooks
//! test against.

use std::collections::BTreeMap;

use bgplet_sdk::context::{
    BgpFilterRule, EncapMode, FilterAction, MatchOperator,
    NORMAL_ROUTE_PRIORITY, PeerType, ProgramClusterRoutes,
};
use bgplet_sdk::{Community, Edit, PolicyContext, Prefix, host};

/// An IP pool.
#[derive(Debug, Clone)]
pub struct Pool {
    /// Pool CIDR.
    pub cidr: Prefix,
    /// IPIP mode.
    pub ipip: EncapMode,
    /// VXLAN mode.
    pub vxlan: EncapMode,
    /// `disableBGPExport`.
    pub disable_export: bool,
}

/// A compiled BGPFilter rule; `None` conditions are absent.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `cidr` with `matchOperator` and the `prefixLength` range.
    pub cidr: Option<(Prefix, MatchOperator, u8, u8)>,
    /// `source: RemotePeers`.
    pub remote_only: bool,
    /// `interface` glob: routes carry no interface in ABI v0.1, so a rule
    /// with one never matches (calico-bgp.md 2.5: "Routes with no
    /// interface never match").
    pub has_interface: bool,
    /// `peerType`.
    pub peer_type: Option<PeerType>,
    /// `communities.values[0]`.
    pub community: Option<Community>,
    /// `asPathPrefix`.
    pub as_path_prefix: Vec<u32>,
    /// `priority`.
    pub priority: Option<u32>,
    /// Accept or Reject.
    pub accept: bool,
    /// Edits of `operations`, in order.
    pub edits: Vec<Edit>,
}

/// The four rule lists of one BGPFilter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// `importV4`.
    pub import_v4: Vec<Rule>,
    /// `exportV4`.
    pub export_v4: Vec<Rule>,
    /// `importV6`.
    pub import_v6: Vec<Rule>,
    /// `exportV6`.
    pub export_v6: Vec<Rule>,
}

/// Everything the hooks need, parsed.
#[derive(Debug, Clone)]
pub struct Config {
    /// This node's IPv4 subnet.
    pub ipv4_subnet: Option<Prefix>,
    /// The node is a route reflector.
    pub is_rr: bool,
    /// Our route-reflector cluster id.
    pub cluster_id: Option<u32>,
    /// Pools, sorted by CIDR string (the order of BIRD's statements).
    pub pools: Vec<Pool>,
    /// Confirmed local blocks (aggregation).
    pub confirmed_blocks: Vec<Prefix>,
    /// Static (service) routes.
    pub static_routes: Vec<Prefix>,
    /// Never installed in the kernel.
    pub reject_cidrs: Vec<Prefix>,
    /// `serviceLoadBalancerIPs` and `serviceExternalIPs` (RR extras).
    pub rr_service_ranges: Vec<Prefix>,
    /// prefixAdvertisements.
    pub advertisements: Vec<(Prefix, Vec<Community>)>,
    /// BGPFilters by name.
    pub filters: BTreeMap<String, Filter>,
    /// Who programs pool routes.
    pub cluster_routes: ProgramClusterRoutes,
    /// Normal IPv4 priority.
    pub v4_priority: u32,
    /// Normal IPv6 priority.
    pub v6_priority: u32,
    /// Pre-v3.32 LOCAL_PREF handling.
    pub classic: bool,
}

fn prefix(s: &str) -> Result<Prefix, String> {
    s.parse::<Prefix>().map(|p| p.network())
}

fn prefixes(list: &[String]) -> Result<Vec<Prefix>, String> {
    list.iter().map(|s| prefix(s)).collect()
}

impl Config {
    /// Parses the context. Malformed CIDRs or communities outside
    /// BGPFilters reject the config; a malformed BGPFilter rule never
    /// matches (logged), like a filter Calico would refuse.
    pub fn new<P>(ctx: &PolicyContext<P>) -> Result<Self, String> {
        let mut pools = ctx
            .pools
            .iter()
            .map(|p| {
                Ok(Pool {
                    cidr: prefix(&p.cidr)?,
                    ipip: p.ipip_mode,
                    vxlan: p.vxlan_mode,
                    disable_export: p.disable_bgp_export,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        // BIRD's kernel filter tests pools in the order of their sorted
        // CIDR strings (calico-bgp.md 4.8).
        pools.sort_by_key(|p| p.cidr.to_string());
        let confirmed_blocks = ctx
            .local_blocks
            .iter()
            .filter(|b| !b.pending_deletion)
            .map(|b| prefix(&b.cidr))
            .collect::<Result<_, _>>()?;
        let advertisements = ctx
            .prefix_advertisements
            .iter()
            .map(|a| {
                let c = a
                    .communities
                    .iter()
                    .map(|c| c.parse::<Community>())
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((prefix(&a.cidr)?, c))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let mut rr_service_ranges = prefixes(&ctx.services.load_balancer_ips)?;
        rr_service_ranges.extend(prefixes(&ctx.services.external_ips)?);
        let filters = ctx
            .bgp_filters
            .iter()
            .map(|(name, spec)| {
                let compile = |rules: &[BgpFilterRule], v6: bool| {
                    rules
                        .iter()
                        .enumerate()
                        .map(|(i, r)| {
                            compile_rule(r, v6).unwrap_or_else(|e| {
                                host::log(
                                    host::Level::Warn,
                                    &format!(
                                        "BGPFilter {name} rule {i} never \
                                         matches: {e}"
                                    ),
                                );
                                never()
                            })
                        })
                        .collect()
                };
                let f = Filter {
                    import_v4: compile(&spec.import_v4, false),
                    export_v4: compile(&spec.export_v4, false),
                    import_v6: compile(&spec.import_v6, true),
                    export_v6: compile(&spec.export_v6, true),
                };
                (name.clone(), f)
            })
            .collect();
        let subnet = &ctx.node.ipv4_subnet;
        let nz = |v: u32| if v == 0 { NORMAL_ROUTE_PRIORITY } else { v };
        Ok(Self {
            ipv4_subnet: if subnet.is_empty() {
                None
            } else {
                Some(prefix(subnet)?)
            },
            is_rr: ctx.is_route_reflector,
            cluster_id: cluster_id(&ctx.node.rr_cluster_id)?,
            pools,
            confirmed_blocks,
            static_routes: prefixes(&ctx.static_routes)?,
            reject_cidrs: prefixes(&ctx.reject_cidrs)?,
            rr_service_ranges,
            advertisements,
            filters,
            cluster_routes: ctx.program_cluster_routes,
            v4_priority: nz(ctx.ipv4_normal_route_priority),
            v6_priority: nz(ctx.ipv6_normal_route_priority),
            classic: ctx.classic_local_pref,
        })
    }

    /// The normal priority of `p`'s family.
    pub fn normal_priority(&self, p: &Prefix) -> u32 {
        if p.is_ipv4() {
            self.v4_priority
        } else {
            self.v6_priority
        }
    }
}

/// The cluster id as a dotted quad; "" when not an RR.
fn cluster_id(s: &str) -> Result<Option<u32>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<std::net::Ipv4Addr>()
        .map(|a| Some(u32::from(a)))
        .map_err(|_| format!("bad rr_cluster_id {s:?}"))
}

/// A rule that matches nothing.
fn never() -> Rule {
    Rule {
        cidr: None,
        remote_only: false,
        has_interface: true,
        peer_type: None,
        community: None,
        as_path_prefix: Vec::new(),
        priority: None,
        accept: false,
        edits: Vec::new(),
    }
}

fn compile_rule(r: &BgpFilterRule, v6: bool) -> Result<Rule, String> {
    let max = if v6 { 128 } else { 32 };
    let cidr = match (r.cidr.is_empty(), r.match_operator) {
        (true, None) => {
            if r.prefix_length.is_some() {
                return Err("prefixLength requires cidr".into());
            }
            None
        }
        (false, Some(op)) => {
            let p = prefix(&r.cidr)?;
            if p.is_ipv4() == v6 {
                return Err(format!("cidr {p} is of the wrong family"));
            }
            // calico-bgp.md 2.5: lengths from max(len(cidr), min) to
            // min(32 or 128, max).
            let pl = r.prefix_length.unwrap_or_default();
            let lo = pl.min.unwrap_or(0).max(p.len);
            let hi = pl.max.unwrap_or(max).min(max);
            Some((p, op, lo, hi))
        }
        _ => return Err("cidr and matchOperator go together".into()),
    };
    let community = match &r.communities {
        None => None,
        Some(c) => match &c.values[..] {
            [one] => Some(one.parse::<Community>()?),
            _ => return Err("communities takes exactly one value".into()),
        },
    };
    let accept = r.action == FilterAction::Accept;
    let mut edits = Vec::new();
    if accept {
        for op in &r.operations {
            if let Some(c) = &op.add_community {
                edits.push(c.value.parse::<Community>()?.add());
            }
            if let Some(p) = &op.prepend_as_path {
                // The path must begin with the ASNs in the order given:
                // prepend the last one first.
                for &asn in p.prefix.iter().rev() {
                    edits.push(Edit::Prepend { asn, count: 1 });
                }
            }
            if let Some(p) = &op.set_priority {
                edits.push(Edit::SetLocalPref(priority_to_local_pref(p.value)));
            }
        }
    }
    Ok(Rule {
        cidr,
        remote_only: r.source.is_some(),
        has_interface: r.interface.is_some(),
        peer_type: r.peer_type,
        community,
        as_path_prefix: r.as_path_prefix.clone(),
        priority: r.priority,
        accept,
        edits,
    })
}

/// LOCAL_PREF = 2147483647 - priority (calico-bgp.md 4.7).
pub fn priority_to_local_pref(priority: u32) -> u32 {
    bgplet_sdk::context::PRIORITY_BASE.saturating_sub(priority)
}

/// Priority = 2147483647 - LOCAL_PREF.
pub fn local_pref_to_priority(local_pref: u32) -> u32 {
    bgplet_sdk::context::PRIORITY_BASE.saturating_sub(local_pref)
}
