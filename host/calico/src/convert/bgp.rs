//! BGPConfiguration and BGPPeer.

use serde_yaml::Value;

use super::Ctx;
use crate::model::*;
use crate::raw;
use crate::types::{Cidr, Family, PeerAddr};

fn cidr_list(
    ctx: &mut Ctx<'_>,
    field: &str,
    v: &[raw::CidrEntry],
) -> Vec<Cidr> {
    v.iter()
        .enumerate()
        .filter_map(|(i, e)| {
            ctx.cidr(&format!("{field}[{i}].cidr"), &e.cidr, false)
        })
        .collect()
}

pub(crate) fn bgp_configuration(
    ctx: &mut Ctx<'_>,
    spec: &Value,
) -> Option<BgpConfiguration> {
    let s: raw::BgpConfigurationSpec = ctx.spec(spec);
    let as_number = ctx.asn("spec.asNumber", s.as_number.as_ref());
    let listen_port = s.listen_port.and_then(|p| match u16::try_from(p) {
        Ok(p) if p > 0 => Some(p),
        _ => {
            ctx.err("spec.listenPort", format!("{p} is outside 1..=65535"));
            None
        }
    });
    let levels = [
        ("Debug", ()),
        ("Info", ()),
        ("Warning", ()),
        ("Error", ()),
        ("Fatal", ()),
        ("None", ()),
    ];
    if let Some(l) = &s.log_severity_screen {
        let canon = capitalise(l);
        ctx.choice("spec.logSeverityScreen", Some(&canon), &levels);
    }
    let bind_mode = ctx
        .choice(
            "spec.bindMode",
            s.bind_mode.as_ref(),
            &[("None", BindMode::None), ("NodeIP", BindMode::NodeIp)],
        )
        .unwrap_or_default();
    let node_mesh_password =
        ctx.password("spec.nodeMeshPassword", s.node_mesh_password.as_ref());
    let node_mesh_max_restart_time = ctx.duration(
        "spec.nodeMeshMaxRestartTime",
        s.node_mesh_max_restart_time.as_ref(),
    );
    let service_cluster_ips =
        cidr_list(ctx, "spec.serviceClusterIPs", &s.service_cluster_ips);
    let service_external_ips =
        cidr_list(ctx, "spec.serviceExternalIPs", &s.service_external_ips);
    let service_load_balancer_ips = cidr_list(
        ctx,
        "spec.serviceLoadBalancerIPs",
        &s.service_load_balancer_ips,
    );
    let service_load_balancer_aggregation = ctx.choice(
        "spec.serviceLoadBalancerAggregation",
        s.service_load_balancer_aggregation.as_ref(),
        &[("Enabled", true), ("Disabled", false)],
    );
    let mut communities = Vec::new();
    for (i, c) in s.communities.iter().enumerate() {
        let f = format!("spec.communities[{i}]");
        if c.name.is_empty() {
            ctx.err(&format!("{f}.name"), "is required");
        }
        if ctx.community(&format!("{f}.value"), &c.value) {
            communities.push(NamedCommunity {
                name: c.name.clone(),
                value: c.value.clone(),
            });
        }
    }
    let mut prefix_advertisements = Vec::new();
    for (i, p) in s.prefix_advertisements.iter().enumerate() {
        let f = format!("spec.prefixAdvertisements[{i}]");
        let cidr = ctx.cidr(&format!("{f}.cidr"), &p.cidr, false);
        for (j, c) in p.communities.iter().enumerate() {
            // Text with a colon is a literal value and must be valid;
            // anything else is a name, resolved (or warned about) when
            // planning, since a per-node entry may name a `default` one.
            let named = communities.iter().any(|n| &n.name == c);
            if !named && c.contains(':') {
                ctx.community(&format!("{f}.communities[{j}]"), c);
            }
        }
        if let Some(cidr) = cidr {
            prefix_advertisements.push(PrefixAdvertisement {
                cidr,
                communities: p.communities.clone(),
            });
        }
    }
    let local_workload_peering_ipv4 = s
        .local_workload_peering_ipv4
        .as_ref()
        .and_then(|t| ctx.ip("spec.localWorkloadPeeringIPV4", t));
    let local_workload_peering_ipv6 = s
        .local_workload_peering_ipv6
        .as_ref()
        .and_then(|t| ctx.ip("spec.localWorkloadPeeringIPV6", t));
    // Unknown values fall back to the default, as Calico v3.33 does.
    let program_cluster_routes =
        s.program_cluster_routes.as_ref().map(|v| match v.as_str() {
            "Disabled" => ProgramClusterRoutes::Disabled,
            "EnabledIPIPOnly" => ProgramClusterRoutes::EnabledIpipOnly,
            "Enabled" => ProgramClusterRoutes::Enabled,
            _ => ProgramClusterRoutes::EnabledNoEncapOnly,
        });
    let max = i64::from(i32::MAX);
    let ipv4_normal_route_priority = ctx.ranged(
        "spec.ipv4NormalRoutePriority",
        s.ipv4_normal_route_priority,
        max,
    );
    let ipv6_normal_route_priority = ctx.ranged(
        "spec.ipv6NormalRoutePriority",
        s.ipv6_normal_route_priority,
        max,
    );
    let cfg = BgpConfiguration {
        name: ctx.name.clone(),
        as_number,
        node_to_node_mesh_enabled: s.node_to_node_mesh_enabled,
        listen_port,
        bind_mode,
        log_severity_screen: s.log_severity_screen.clone(),
        node_mesh_password,
        node_mesh_max_restart_time,
        service_cluster_ips,
        service_external_ips,
        service_load_balancer_ips,
        service_load_balancer_aggregation,
        communities,
        prefix_advertisements,
        ignored_interfaces: s.ignored_interfaces.clone(),
        local_workload_peering_ipv4,
        local_workload_peering_ipv6,
        program_cluster_routes,
        ipv4_normal_route_priority,
        ipv6_normal_route_priority,
    };
    ctx.ok().then_some(cfg)
}

fn capitalise(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

pub(crate) fn bgp_peer(ctx: &mut Ctx<'_>, spec: &Value) -> Option<BgpPeer> {
    let s: raw::BgpPeerSpec = ctx.spec(spec);
    let node = s.node.clone().filter(|n| !n.is_empty());
    let node_selector =
        ctx.selector("spec.nodeSelector", s.node_selector.as_ref());
    let peer_ip = s.peer_ip.as_ref().filter(|p| !p.is_empty()).and_then(|p| {
        PeerAddr::parse(p.trim())
            .map_err(|m| ctx.err("spec.peerIP", m))
            .ok()
    });
    let peer_selector =
        ctx.selector("spec.peerSelector", s.peer_selector.as_ref());
    let local_workload_selector = ctx.selector(
        "spec.localWorkloadSelector",
        s.local_workload_selector.as_ref(),
    );
    let as_number = ctx.asn("spec.asNumber", s.as_number.as_ref());
    let local_as_number =
        ctx.asn("spec.localASNumber", s.local_as_number.as_ref());
    let has = |o: &Option<String>| o.as_ref().is_some_and(|v| !v.is_empty());
    // Calico's CEL rules on the BGPPeer CRD.
    if node.is_some() && has(&s.node_selector) {
        ctx.err(
            "spec.nodeSelector",
            "node and nodeSelector are mutually exclusive",
        );
    }
    if has(&s.peer_ip) && has(&s.peer_selector) {
        ctx.err(
            "spec.peerSelector",
            "peerIP and peerSelector are mutually exclusive",
        );
    }
    if s.as_number.is_some() && has(&s.peer_selector) {
        ctx.err(
            "spec.asNumber",
            "must be empty when peerSelector is set (the remote node's AS \
             is used)",
        );
    }
    if has(&s.local_workload_selector) {
        if has(&s.peer_ip) || has(&s.peer_selector) {
            ctx.err(
                "spec.localWorkloadSelector",
                "peerIP and peerSelector must be empty with \
                 localWorkloadSelector",
            );
        }
        if s.as_number.is_none() {
            ctx.err("spec.asNumber", "is required with localWorkloadSelector");
        }
    }
    let keep_original_next_hop = s.keep_original_next_hop.unwrap_or(false);
    if s.keep_original_next_hop.is_some() && has(&s.next_hop_mode) {
        ctx.err(
            "spec.nextHopMode",
            "keepOriginalNextHop and nextHopMode are mutually exclusive",
        );
    }
    let next_hop_mode = ctx.choice(
        "spec.nextHopMode",
        s.next_hop_mode.as_ref(),
        &[
            ("Auto", NextHopMode::Auto),
            ("Self", NextHopMode::SetSelf),
            ("Keep", NextHopMode::Keep),
        ],
    );
    let password = ctx.password("spec.password", s.password.as_ref());
    let source_address = ctx
        .choice(
            "spec.sourceAddress",
            s.source_address.as_ref(),
            &[
                ("UseNodeIP", SourceAddress::UseNodeIp),
                ("None", SourceAddress::None),
            ],
        )
        .unwrap_or_default();
    let max_restart_time =
        ctx.duration("spec.maxRestartTime", s.max_restart_time.as_ref());
    let keepalive_time =
        ctx.duration("spec.keepaliveTime", s.keepalive_time.as_ref());
    let num_allowed_local_as_numbers = ctx
        .ranged(
            "spec.numAllowedLocalASNumbers",
            s.num_allowed_local_as_numbers,
            i64::from(i32::MAX),
        )
        .unwrap_or(0);
    let ttl_security = ctx
        .ranged("spec.ttlSecurity", s.ttl_security, 255)
        .and_then(|n| u8::try_from(n).ok())
        .filter(|n| *n > 0);
    let reachable_by = s
        .reachable_by
        .as_ref()
        .filter(|r| !r.is_empty())
        .and_then(|r| ctx.ip("spec.reachableBy", r));
    if let Some(r) = reachable_by {
        match &peer_ip {
            None if !has(&s.peer_ip) => {
                ctx.err("spec.reachableBy", "requires peerIP");
            }
            Some(p) if Family::of(&p.ip) != Family::of(&r) => {
                ctx.err(
                    "spec.reachableBy",
                    "must be the same address family as peerIP",
                );
            }
            _ => {}
        }
    }
    for (i, f) in s.filters.iter().enumerate() {
        if f.is_empty() {
            ctx.err(&format!("spec.filters[{i}]"), "is empty");
        }
    }
    let reverse_peering = ctx
        .choice(
            "spec.reversePeering",
            s.reverse_peering.as_ref(),
            &[
                ("Auto", ReversePeering::Auto),
                ("Manual", ReversePeering::Manual),
            ],
        )
        .unwrap_or_default();
    let peer = BgpPeer {
        name: ctx.name.clone(),
        node,
        node_selector,
        peer_ip,
        peer_selector,
        as_number,
        local_as_number,
        keep_original_next_hop,
        next_hop_mode,
        password,
        source_address,
        max_restart_time,
        keepalive_time,
        num_allowed_local_as_numbers,
        ttl_security,
        reachable_by,
        filters: s.filters.clone(),
        reverse_peering,
        local_workload_selector,
    };
    ctx.ok().then_some(peer)
}
