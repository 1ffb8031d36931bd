//! BGPFilter rules.

use serde_yaml::Value;

use super::Ctx;
use crate::model::*;
use crate::raw::{self, RawFilterRule};
use crate::types::{Asn, Family};

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
