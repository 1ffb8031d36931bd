//! From Calico resources to what the agent runs: sessions and the
//! routes this node originates.

use std::collections::HashMap;

use bgplet_calico::{
    Cidr, Family, NodePlan, PlanOptions, PlannedSession, Resources,
};
use bgplet_session::{GracefulRestartConfig, SessionConfig};
use bgplet_wire::attribute::{Community, LargeCommunity};
use bgplet_wire::{AddPathMode, AfiSafi, Prefix};

use crate::peer::PeerSpec;
use crate::store::LocalRoute;
use crate::transport::SocketSettings;

/// Plans this node from a snapshot of the resources; logs every
/// warning of loading and planning.
pub fn plan(
    resources: &Resources,
    node: &str,
    opts: &PlanOptions,
) -> Result<NodePlan, bgplet_calico::PlanError> {
    for warning in &resources.warnings {
        tracing::warn!(%warning, "resources");
    }
    let plan = bgplet_calico::plan_node(resources, node, opts)?;
    for warning in &plan.warnings {
        tracing::warn!(%warning, "planning");
    }
    Ok(plan)
}

/// The transport and FSM settings of one planned session.
pub fn peer_spec(plan: &NodePlan, s: &PlannedSession) -> PeerSpec {
    let mut session = SessionConfig::new(
        s.local_as.value(),
        s.remote_as.value(),
        plan.local.router_id,
    );
    session.passive = s.passive;
    session.keepalive_time = s
        .keepalive_secs
        .map(|k| u16::try_from(k).unwrap_or(u16::MAX));
    session.families = vec![match s.family {
        Family::V4 => AfiSafi::IPV4_UNICAST,
        Family::V6 => AfiSafi::IPV6_UNICAST,
    }];
    // Calico's BIRD template says `add paths on`: both directions.
    session.add_path = Some(AddPathMode::Both);
    session.graceful_restart = Some(GracefulRestartConfig {
        restart_time: u16::try_from(s.restart_time_secs.min(4095))
            .unwrap_or(4095),
        restarting: false,
        forwarding_preserved: false,
    });
    PeerSpec {
        name: s.name.clone(),
        type_label: s.kind.label().to_owned(),
        address: s.peer_ip,
        port: s.port,
        source: s.source_address,
        socket: SocketSettings {
            password: s.password.as_ref().map(|p| p.as_str().to_owned()),
            ttl_security: s.ttl_security,
        },
        session,
    }
}

/// The routes this node announces: its affine blocks and the service
/// ranges, except inside pools with `disableBGPExport`, each with the
/// communities of every `prefixAdvertisements` entry containing it
/// (calico-bgp.md 4.5 steps 2, 5, 6, 7 and 9).
pub fn local_routes(plan: &NodePlan) -> Vec<LocalRoute> {
    let mut cidrs: Vec<Cidr> =
        plan.local_blocks.iter().map(|b| b.cidr).collect();
    let services = &plan.services;
    cidrs.extend(services.cluster_ips.iter().copied());
    cidrs.extend(
        services
            .external_ips
            .iter()
            .filter(|c| !is_host(c))
            .copied(),
    );
    if services.load_balancer_aggregation {
        cidrs.extend(
            services
                .load_balancer_ips
                .iter()
                .filter(|c| !is_host(c))
                .copied(),
        );
    }
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    for cidr in cidrs {
        let disabled = plan
            .pools
            .iter()
            .any(|p| p.disable_bgp_export && p.cidr.contains(&cidr));
        if disabled || seen.insert(cidr, ()).is_some() {
            continue;
        }
        let Ok(prefix) = Prefix::new(cidr.addr(), cidr.len()) else {
            continue;
        };
        let mut route = LocalRoute {
            prefix,
            communities: Vec::new(),
            large_communities: Vec::new(),
        };
        for rule in &plan.prefix_advertisements {
            if !rule.cidr.contains(&cidr) {
                continue;
            }
            for value in &rule.communities {
                if let Ok(c) = value.parse::<Community>() {
                    route.communities.push(c);
                } else if let Ok(l) = value.parse::<LargeCommunity>() {
                    route.large_communities.push(l);
                } else {
                    tracing::warn!(community = %value, "unparseable community value; skipped");
                }
            }
        }
        out.push(route);
    }
    out
}

fn is_host(c: &Cidr) -> bool {
    c.len() == c.family().max_len()
}
