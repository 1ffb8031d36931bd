//! Raw serde shapes → validated model. Each function records every
//! problem in the [`Ctx`] with its field path and returns `None` when
//! the resource has errors.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_yaml::Value;

use crate::encoding::base64_decode;
use crate::error::FieldError;
use crate::model::*;
use crate::raw::{self, BoolOrString, RawAsn, RawFilterRule};
use crate::selector::Selector;
use crate::types::{Asn, Cidr, Family, PeerAddr, parse_go_duration};

/// Error sink for one resource.
pub(crate) struct Ctx<'a> {
    kind: &'static str,
    name: String,
    errors: &'a mut Vec<FieldError>,
    start: usize,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        kind: &'static str,
        name: &str,
        errors: &'a mut Vec<FieldError>,
    ) -> Self {
        let start = errors.len();
        Self {
            kind,
            name: name.to_string(),
            errors,
            start,
        }
    }

    pub(crate) fn err(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            kind: self.kind.to_string(),
            name: self.name.clone(),
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// Whether this resource has recorded no error so far.
    fn ok(&self) -> bool {
        self.errors.len() == self.start
    }

    fn spec<T: DeserializeOwned + Default>(&mut self, spec: &Value) -> T {
        if spec.is_null() {
            return T::default();
        }
        match serde_yaml::from_value(spec.clone()) {
            Ok(t) => t,
            Err(e) => {
                // serde's message does not carry the path: find the
                // offending keys by parsing them one at a time.
                let mut named = false;
                if let Value::Mapping(map) = spec {
                    for (k, v) in map {
                        let mut one = serde_yaml::Mapping::new();
                        one.insert(k.clone(), v.clone());
                        if let Err(e) =
                            serde_yaml::from_value::<T>(Value::Mapping(one))
                        {
                            let key = k.as_str().unwrap_or("?");
                            self.err(&format!("spec.{key}"), e.to_string());
                            named = true;
                        }
                    }
                }
                if !named {
                    self.err("spec", e.to_string());
                }
                T::default()
            }
        }
    }

    fn asn(&mut self, field: &str, raw: Option<&RawAsn>) -> Option<Asn> {
        let r = match raw? {
            RawAsn::Int(n) => Asn::from_integer(i128::from(*n)),
            RawAsn::UInt(n) => Asn::from_integer(i128::from(*n)),
            RawAsn::Str(s) => Asn::parse(s),
            RawAsn::Float(f) => {
                Err(format!("{f} looks like asdot; write it quoted"))
            }
        };
        r.map_err(|m| self.err(field, m)).ok()
    }

    fn cidr(&mut self, field: &str, text: &str, bare: bool) -> Option<Cidr> {
        Cidr::parse(text.trim(), bare)
            .map_err(|m| self.err(field, m))
            .ok()
    }

    fn ip(&mut self, field: &str, text: &str) -> Option<IpAddr> {
        text.trim()
            .parse()
            .map_err(|_| {
                self.err(field, format!("{text:?} is not an IP address"))
            })
            .ok()
    }

    fn selector(
        &mut self,
        field: &str,
        text: Option<&String>,
    ) -> Option<Selector> {
        let text = text.filter(|t| !t.trim().is_empty())?;
        Selector::parse(text)
            .map_err(|e| self.err(field, format!("selector {text:?}: {e}")))
            .ok()
    }

    fn duration(
        &mut self,
        field: &str,
        text: Option<&String>,
    ) -> Option<Duration> {
        parse_go_duration(text?)
            .map_err(|m| self.err(field, m))
            .ok()
    }

    fn choice<T: Copy>(
        &mut self,
        field: &str,
        text: Option<&String>,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let text = text.filter(|t| !t.is_empty())?;
        let found = choices.iter().find(|(k, _)| *k == text).map(|c| c.1);
        if found.is_none() {
            let names: Vec<&str> = choices.iter().map(|c| c.0).collect();
            let msg = format!("{text:?} is not one of {}", names.join(", "));
            self.err(field, msg);
        }
        found
    }

    fn ranged(&mut self, field: &str, n: Option<i64>, max: i64) -> Option<u32> {
        let n = n?;
        if (0..=max).contains(&n) {
            u32::try_from(n).ok()
        } else {
            self.err(field, format!("{n} is outside 0..={max}"));
            None
        }
    }

    fn password(
        &mut self,
        field: &str,
        p: Option<&raw::RawPassword>,
    ) -> Option<SecretKeyRef> {
        let r = p?.secret_key_ref.as_ref()?;
        if r.name.is_empty() || r.key.is_empty() {
            self.err(field, "secretKeyRef needs both name and key");
            return None;
        }
        Some(SecretKeyRef {
            name: r.name.clone(),
            key: r.key.clone(),
        })
    }

    fn community(&mut self, field: &str, value: &str) -> bool {
        let ok = is_community(value);
        if !ok {
            let msg =
                format!("{value:?} is not a community (aa:nn or aa:nn:mm)");
            self.err(field, msg);
        }
        ok
    }
}

/// `aa:nn` (16-bit parts, RFC 1997) or `aa:nn:mm` (32-bit, RFC 8092).
pub(crate) fn is_community(value: &str) -> bool {
    let parts: Vec<&str> = value.split(':').collect();
    match parts.len() {
        2 => parts.iter().all(|p| p.parse::<u16>().is_ok()),
        3 => parts.iter().all(|p| p.parse::<u32>().is_ok()),
        _ => false,
    }
}

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

pub(crate) fn bgp_filter(ctx: &mut Ctx<'_>, spec: &Value) -> Option<BgpFilter> {
    let s: raw::BgpFilterSpec = ctx.spec(spec);
    let mut rules = |list: &[RawFilterRule], field: &str, fam: Family| {
        list.iter()
            .enumerate()
            .filter_map(|(i, r)| {
                filter_rule(ctx, &format!("spec.{field}[{i}]"), r, fam)
            })
            .collect::<Vec<_>>()
    };
    let export_v4 = rules(&s.export_v4, "exportV4", Family::V4);
    let import_v4 = rules(&s.import_v4, "importV4", Family::V4);
    let export_v6 = rules(&s.export_v6, "exportV6", Family::V6);
    let import_v6 = rules(&s.import_v6, "importV6", Family::V6);
    let f = BgpFilter {
        name: ctx.name.clone(),
        export_v4,
        import_v4,
        export_v6,
        import_v6,
    };
    ctx.ok().then_some(f)
}

fn filter_rule(
    ctx: &mut Ctx<'_>,
    at: &str,
    r: &RawFilterRule,
    fam: Family,
) -> Option<FilterRule> {
    let field = |f: &str| format!("{at}.{f}");
    let cidr = r
        .cidr
        .as_ref()
        .filter(|c| !c.is_empty())
        .and_then(|c| ctx.cidr(&field("cidr"), c, false));
    if let Some(c) = &cidr
        && c.family() != fam
    {
        ctx.err(&field("cidr"), format!("{c} is not an {fam} CIDR"));
    }
    let op = ctx.choice(
        &field("matchOperator"),
        r.match_operator.as_ref(),
        &[
            ("Equal", MatchOperator::Equal),
            ("NotEqual", MatchOperator::NotEqual),
            ("In", MatchOperator::In),
            ("NotIn", MatchOperator::NotIn),
        ],
    );
    let cidr_written = r.cidr.as_ref().is_some_and(|c| !c.is_empty());
    if cidr_written != r.match_operator.as_ref().is_some_and(|o| !o.is_empty())
    {
        ctx.err(
            &field("matchOperator"),
            "cidr and matchOperator must be set together",
        );
    }
    let max = i64::from(fam.max_len());
    let prefix_length = r.prefix_length.as_ref().map(|p| {
        if !cidr_written {
            ctx.err(&field("prefixLength"), "requires cidr");
        }
        let lo = ctx.ranged(&field("prefixLength.min"), p.min, max);
        let hi = ctx.ranged(&field("prefixLength.max"), p.max, max);
        if let (Some(lo), Some(hi)) = (lo, hi)
            && lo > hi
        {
            ctx.err(&field("prefixLength"), "min is greater than max");
        }
        // Both are at most 128 after the range check.
        let narrow = |v: Option<u32>| v.and_then(|v| u8::try_from(v).ok());
        (narrow(lo), narrow(hi))
    });
    let source_remote_peers = ctx
        .choice(&field("source"), r.source.as_ref(), &[("RemotePeers", ())])
        .is_some();
    let peer_type = ctx.choice(
        &field("peerType"),
        r.peer_type.as_ref(),
        &[("iBGP", PeerType::Ibgp), ("eBGP", PeerType::Ebgp)],
    );
    let community = r.communities.as_ref().and_then(|c| {
        if c.values.len() != 1 {
            ctx.err(&field("communities.values"), "needs exactly one value");
            return None;
        }
        let v = &c.values[0];
        ctx.community(&field("communities.values[0]"), v)
            .then(|| v.clone())
    });
    let as_path_prefix = r
        .as_path_prefix
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            ctx.asn(&field(&format!("asPathPrefix[{i}]")), Some(a))
        })
        .collect();
    let priority =
        ctx.ranged(&field("priority"), r.priority, i64::from(i32::MAX));
    let action = match r.action.as_deref() {
        None | Some("") => {
            ctx.err(&field("action"), "is required (Accept or Reject)");
            None
        }
        a => ctx.choice(
            &field("action"),
            a.map(str::to_string).as_ref(),
            &[
                ("Accept", FilterAction::Accept),
                ("Reject", FilterAction::Reject),
            ],
        ),
    };
    if !r.operations.is_empty() && action != Some(FilterAction::Accept) {
        ctx.err(&field("operations"), "are only allowed with action Accept");
    }
    if r.operations.len() > 10 {
        ctx.err(&field("operations"), "at most 10 operations are allowed");
    }
    let mut operations = Vec::new();
    for (i, op) in r.operations.iter().enumerate() {
        let f = field(&format!("operations[{i}]"));
        let kinds = usize::from(op.add_community.is_some())
            + usize::from(op.prepend_as_path.is_some())
            + usize::from(op.set_priority.is_some());
        if kinds != 1 {
            ctx.err(
                &f,
                "needs exactly one of addCommunity, prependASPath, setPriority",
            );
            continue;
        }
        if let Some(c) = &op.add_community
            && ctx.community(&format!("{f}.addCommunity.value"), &c.value)
        {
            operations.push(FilterOperation::AddCommunity(c.value.clone()));
        }
        if let Some(p) = &op.prepend_as_path {
            let asns: Vec<Asn> = p
                .prefix
                .iter()
                .enumerate()
                .filter_map(|(j, a)| {
                    ctx.asn(&format!("{f}.prependASPath.prefix[{j}]"), Some(a))
                })
                .collect();
            operations.push(FilterOperation::PrependAsPath(asns));
        }
        if let Some(p) = &op.set_priority
            && let Some(v) = ctx.ranged(
                &format!("{f}.setPriority.value"),
                Some(p.value),
                i64::from(i32::MAX),
            )
        {
            operations.push(FilterOperation::SetPriority(v));
        }
    }
    Some(FilterRule {
        cidr: cidr.zip(op),
        prefix_length,
        source_remote_peers,
        interface: r.interface.clone().filter(|i| !i.is_empty()),
        peer_type,
        community,
        as_path_prefix,
        priority,
        action: action?,
        operations,
    })
}

pub(crate) fn ip_pool(ctx: &mut Ctx<'_>, spec: &Value) -> Option<IpPool> {
    let s: raw::IpPoolSpec = ctx.spec(spec);
    let cidr = match &s.cidr {
        Some(c) if !c.is_empty() => ctx.cidr("spec.cidr", c, false),
        _ => {
            ctx.err("spec.cidr", "is required");
            None
        }
    };
    let modes = [
        ("Never", EncapMode::Never),
        ("Always", EncapMode::Always),
        ("CrossSubnet", EncapMode::CrossSubnet),
    ];
    let ipip_mode = ctx
        .choice("spec.ipipMode", s.ipip_mode.as_ref(), &modes)
        .unwrap_or_default();
    let vxlan_mode = ctx
        .choice("spec.vxlanMode", s.vxlan_mode.as_ref(), &modes)
        .unwrap_or_default();
    if ipip_mode != EncapMode::Never && vxlan_mode != EncapMode::Never {
        ctx.err("spec.vxlanMode", "ipipMode and vxlanMode cannot both be on");
    }
    if s.ipip.is_some() {
        ctx.err("spec.ipip", "is an APIv1 field and must not be set");
    }
    if s.nat_outgoing_v1 == Some(true) {
        ctx.err("spec.nat-outgoing", "is an APIv1 field; use natOutgoing");
    }
    let node_selector =
        ctx.selector("spec.nodeSelector", s.node_selector.as_ref());
    ctx.selector("spec.namespaceSelector", s.namespace_selector.as_ref());
    for (i, u) in s.allowed_uses.iter().enumerate() {
        ctx.choice(
            &format!("spec.allowedUses[{i}]"),
            Some(u),
            &[("Workload", ()), ("Tunnel", ()), ("LoadBalancer", ())],
        );
    }
    let cidr = cidr?.network();
    let fam = cidr.family();
    if fam == Family::V6 && ipip_mode != EncapMode::Never {
        ctx.err("spec.ipipMode", "IPIP is not supported on an IPv6 pool");
    }
    let (default_block, min_block) = match fam {
        Family::V4 => (26, 20),
        Family::V6 => (122, 116),
    };
    let block_size = match s.block_size {
        None | Some(0) => default_block,
        Some(b) => {
            let max = i64::from(fam.max_len());
            match u8::try_from(b) {
                Ok(b)
                    if (i64::from(min_block)..=max).contains(&i64::from(b)) =>
                {
                    b
                }
                _ => {
                    let msg = format!("{b} is outside {min_block}..={max}");
                    ctx.err("spec.blockSize", msg);
                    default_block
                }
            }
        }
    };
    if block_size < cidr.len() {
        ctx.err(
            "spec.blockSize",
            format!("/{block_size} blocks do not fit in {cidr}"),
        );
    }
    let pool = IpPool {
        name: ctx.name.clone(),
        cidr,
        block_size,
        ipip_mode,
        vxlan_mode,
        disable_bgp_export: s.disable_bgp_export.unwrap_or(false),
        disabled: s.disabled.unwrap_or(false),
        nat_outgoing: s.nat_outgoing.unwrap_or(false),
        node_selector,
        allowed_uses: s.allowed_uses.clone(),
    };
    ctx.ok().then_some(pool)
}

/// The `spec.bgp` fields, shared by the v3 Node and the annotations of a
/// Kubernetes Node.
struct BgpText<'a> {
    v4: Option<&'a String>,
    v6: Option<&'a String>,
    asn: Option<RawAsn>,
    rr: Option<&'a String>,
    tunnel: Option<&'a String>,
}

fn nonempty(s: Option<&String>) -> Option<&String> {
    s.filter(|v| !v.trim().is_empty())
}

fn node_bgp(ctx: &mut Ctx<'_>, t: BgpText<'_>, names: [&str; 5]) -> NodeBgp {
    let mut fam_cidr = |field: &str, text: Option<&String>, fam: Family| {
        let c = ctx.cidr(field, nonempty(text)?, true)?;
        if c.family() != fam {
            ctx.err(field, format!("{c} is not an {fam} address"));
            return None;
        }
        Some(c)
    };
    let ipv4_address = fam_cidr(names[0], t.v4, Family::V4);
    let ipv6_address = fam_cidr(names[1], t.v6, Family::V6);
    let as_number = ctx.asn(names[2], t.asn.as_ref());
    let route_reflector_cluster_id = nonempty(t.rr).and_then(|r| {
        r.trim()
            .parse()
            .map_err(|_| {
                ctx.err(names[3], format!("{r:?} is not an IPv4 address"))
            })
            .ok()
    });
    let ipv4_ipip_tunnel_addr =
        nonempty(t.tunnel).and_then(|a| ctx.ip(names[4], a));
    NodeBgp {
        ipv4_address,
        ipv6_address,
        as_number,
        route_reflector_cluster_id,
        ipv4_ipip_tunnel_addr,
    }
}

pub(crate) fn node(ctx: &mut Ctx<'_>, spec: &Value) -> Option<Node> {
    let s: raw::NodeSpec = ctx.spec(spec);
    let b = s.bgp.unwrap_or_default();
    let text = BgpText {
        v4: b.ipv4_address.as_ref(),
        v6: b.ipv6_address.as_ref(),
        asn: b.as_number.clone(),
        rr: b.route_reflector_cluster_id.as_ref(),
        tunnel: b.ipv4_ipip_tunnel_addr.as_ref(),
    };
    let bgp = node_bgp(
        ctx,
        text,
        [
            "spec.bgp.ipv4Address",
            "spec.bgp.ipv6Address",
            "spec.bgp.asNumber",
            "spec.bgp.routeReflectorClusterID",
            "spec.bgp.ipv4IPIPTunnelAddr",
        ],
    );
    let node = Node {
        name: ctx.name.clone(),
        labels: Labels::new(),
        bgp,
    };
    ctx.ok().then_some(node)
}

/// A Kubernetes Node: Calico keeps `spec.bgp` in annotations.
pub(crate) fn k8s_node(
    ctx: &mut Ctx<'_>,
    ann: &BTreeMap<String, String>,
) -> Option<Node> {
    const A: [&str; 5] = [
        "projectcalico.org/IPv4Address",
        "projectcalico.org/IPv6Address",
        "projectcalico.org/ASNumber",
        "projectcalico.org/RouteReflectorClusterID",
        "projectcalico.org/IPv4IPIPTunnelAddr",
    ];
    let names = A.map(|a| format!("metadata.annotations[{a}]"));
    let text = BgpText {
        v4: ann.get(A[0]),
        v6: ann.get(A[1]),
        asn: ann.get(A[2]).map(|a| RawAsn::Str(a.clone())),
        rr: ann.get(A[3]),
        tunnel: ann.get(A[4]),
    };
    let bgp = node_bgp(ctx, text, names.each_ref().map(String::as_str));
    let node = Node {
        name: ctx.name.clone(),
        labels: Labels::new(),
        bgp,
    };
    ctx.ok().then_some(node)
}

pub(crate) fn block_affinity(
    ctx: &mut Ctx<'_>,
    spec: &Value,
) -> Option<BlockAffinity> {
    let s: raw::BlockAffinitySpec = ctx.spec(spec);
    let node = s.node.clone().unwrap_or_default();
    if node.is_empty() {
        ctx.err("spec.node", "is required");
    }
    let cidr = match &s.cidr {
        Some(c) => ctx.cidr("spec.cidr", c, false),
        None => {
            ctx.err("spec.cidr", "is required");
            None
        }
    };
    let state = ctx
        .choice(
            "spec.state",
            s.state.as_ref(),
            &[
                ("confirmed", AffinityState::Confirmed),
                ("pending", AffinityState::Pending),
                ("pendingDeletion", AffinityState::PendingDeletion),
            ],
        )
        .unwrap_or_default();
    let deleted = match &s.deleted {
        None => false,
        Some(BoolOrString::Bool(b)) => *b,
        Some(BoolOrString::Str(t)) => match t.as_str() {
            "" | "false" => false,
            "true" => true,
            _ => {
                ctx.err("spec.deleted", format!("{t:?} is not true or false"));
                false
            }
        },
    };
    let affinity = BlockAffinity {
        name: ctx.name.clone(),
        node,
        cidr: cidr?.network(),
        state,
        deleted,
    };
    ctx.ok().then_some(affinity)
}

pub(crate) fn secret(
    ctx: &mut Ctx<'_>,
    name: String,
    namespace: Option<String>,
    data: BTreeMap<String, String>,
    string_data: BTreeMap<String, String>,
) -> Option<Secret> {
    let mut out = BTreeMap::new();
    for (k, v) in data {
        let decoded = base64_decode(&v).and_then(|b| String::from_utf8(b).ok());
        match decoded {
            Some(text) => {
                out.insert(k, text);
            }
            None => {
                ctx.err(&format!("data.{k}"), "is not base64 of UTF-8 text")
            }
        }
    }
    // Kubernetes merges stringData over data on write.
    out.extend(string_data);
    let secret = Secret {
        name,
        namespace,
        data: out,
    };
    ctx.ok().then_some(secret)
}
