//! IPPool, Node (both shapes), BlockAffinity and Secret.

use std::collections::BTreeMap;

use serde_yaml::Value;

use super::Ctx;
use crate::encoding::base64_decode;
use crate::model::*;
use crate::raw::{self, BoolOrString, RawAsn};
use crate::types::Family;

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
        pod_cidrs: Vec::new(),
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
        pod_cidrs: Vec::new(),
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
