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
/// hook blackholes), the service ranges of the `default`
/// BGPConfiguration and the per-service host routes of Kubernetes
/// Services (calico-bgp.md 4.4, 4.9). Whether and how each is exported
/// (disabled pools, communities of `prefixAdvertisements`, aggregation)
/// and whether it reaches the kernel (service ranges never do) is the
/// plugins' decision, not this function's (4.5, 4.8).
pub fn local_routes(plan: &NodePlan) -> Vec<LocalRoute> {
    let blocks: Vec<Cidr> = plan.local_blocks.iter().map(|b| b.cidr).collect();
    let mut cidrs = blocks.clone();
    cidrs.extend(plan.services.advertised());
    cidrs.extend(plan.service_addresses.iter().copied());
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    /// node-1 with a block, a cluster-IP range, an LB range and a
    /// Local Service whose one endpoint runs on node-1 (ready or not).
    fn plan(ready: bool, node_labels: &str) -> NodePlan {
        let yaml = format!(
            "apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {{name: default}}
spec:
  serviceClusterIPs: [{{cidr: 10.96.0.0/12}}]
  serviceLoadBalancerIPs: [{{cidr: 192.0.2.0/24}}]
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {{name: node-1, labels: {{{node_labels}}}}}
spec: {{bgp: {{ipv4Address: 10.0.0.11/24}}}}
---
apiVersion: projectcalico.org/v3
kind: BlockAffinity
metadata: {{name: b1}}
spec: {{node: node-1, cidr: 10.244.1.0/26, state: confirmed}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: shop}}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.10
  externalTrafficPolicy: Local
status: {{loadBalancer: {{ingress: [{{ip: 192.0.2.10}}]}}}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: shop
  labels: {{kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{{addresses: [10.244.1.5], nodeName: node-1,
              conditions: {{ready: {ready}}}}}]
"
        );
        let res = Resources::from_yaml_str(&yaml).unwrap();
        bgplet_calico::plan_node(&res, "node-1", &PlanOptions::default())
            .unwrap()
    }

    fn prefixes(routes: &[LocalRoute]) -> Vec<String> {
        routes.iter().map(|r| r.prefix.to_string()).collect()
    }

    #[test]
    fn per_service_host_routes_are_originated_beside_blocks_and_ranges() {
        let routes = local_routes(&plan(true, ""));
        assert_eq!(
            prefixes(&routes),
            [
                "10.244.1.0/26",
                "10.96.0.0/12",
                "192.0.2.0/24",
                "10.96.0.10/32",
                "192.0.2.10/32"
            ]
        );
        assert!(routes[0].is_own_block);
        assert!(routes[1..].iter().all(|r| !r.is_own_block));
        let not_ready = local_routes(&plan(false, ""));
        assert_eq!(
            prefixes(&not_ready),
            ["10.244.1.0/26", "10.96.0.0/12", "192.0.2.0/24"]
        );
    }

    #[test]
    fn an_opted_out_node_originates_only_its_blocks_and_keeps_rejects() {
        let p = plan(
            true,
            "node.kubernetes.io/exclude-from-external-load-balancers: 'true'",
        );
        assert_eq!(prefixes(&local_routes(&p)), ["10.244.1.0/26"]);
        let res = Resources::default();
        let ctx = crate::policy::context(&p, &res);
        assert!(ctx.static_routes.is_empty());
        assert_eq!(ctx.reject_cidrs, ["10.96.0.0/12", "192.0.2.0/24"]);
    }

    #[test]
    fn host_routes_are_static_routes_for_the_plugins() {
        let ctx =
            crate::policy::context(&plan(true, ""), &Resources::default());
        assert_eq!(
            ctx.static_routes,
            [
                "10.96.0.0/12",
                "192.0.2.0/24",
                "10.96.0.10/32",
                "192.0.2.10/32"
            ]
        );
        assert_eq!(ctx.reject_cidrs, ["10.96.0.0/12", "192.0.2.0/24"]);
    }
}
