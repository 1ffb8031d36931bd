//! From Calico resources to what the agent runs: sessions and the
//! routes this node originates.

use std::collections::HashSet;

use bgplet_calico::{
    Cidr, Family, NextHopMode, NodePlan, PeerKind, PlanOptions, PlannedSession,
    Resources,
};
use bgplet_rib::LocalRoute;
use bgplet_session::{GracefulRestartConfig, SessionConfig};
use bgplet_wire::{AddPathMode, AfiSafi, Prefix};

use crate::peer::PeerSpec;
use crate::routing::SessionPolicy;
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
        policy: SessionPolicy {
            kind: match s.kind {
                PeerKind::Mesh => bgplet_rib::PeerKind::Mesh,
                PeerKind::Node => bgplet_rib::PeerKind::Node,
                PeerKind::Global => bgplet_rib::PeerKind::Global,
            },
            rr_client: s.rr_client,
            allow_local_as: u8::try_from(s.allow_local_as).unwrap_or(u8::MAX),
            next_hop_mode: match s.next_hop {
                NextHopMode::Auto => bgplet_rib::NextHopMode::Auto,
                NextHopMode::SetSelf => bgplet_rib::NextHopMode::SelfAddr,
                NextHopMode::Keep => bgplet_rib::NextHopMode::Keep,
            },
            filters: s.filters.clone(),
        },
    }
}

/// The routes this node originates: its affine blocks (which the kernel
/// hook blackholes) and the service ranges of the `default`
/// BGPConfiguration. Whether and how each is exported (disabled pools,
/// communities of `prefixAdvertisements`, aggregation) is the export
/// plugin's decision, not this function's (calico-bgp.md 4.4, 4.5).
pub fn local_routes(plan: &NodePlan) -> Vec<LocalRoute> {
    let blocks: Vec<Cidr> = plan.local_blocks.iter().map(|b| b.cidr).collect();
    let services = &plan.services;
    let mut cidrs = blocks.clone();
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
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for cidr in cidrs {
        if !seen.insert(cidr) {
            continue;
        }
        let Ok(prefix) = Prefix::new(cidr.addr(), cidr.len()) else {
            continue;
        };
        out.push(LocalRoute {
            prefix,
            communities: Vec::new(),
            large_communities: Vec::new(),
            is_own_block: blocks.contains(&cidr),
        });
    }
    out
}

fn is_host(c: &Cidr) -> bool {
    c.len() == c.family().max_len()
}
