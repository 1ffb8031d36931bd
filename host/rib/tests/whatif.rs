//! `Rib::what_if`: a candidate policy evaluated over the whole table
//! without activating it lists exactly the prefixes it would change
//! (golden), changes nothing, and predicts what a reevaluation under
//! that policy then does.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::IpAddr;

use bgplet_plugin_abi::{
    Edit, FilterResult, KernelAction, PeerInfo, Policy, PolicyError,
    RawAttributes, RouteAction, Routes, SourceFlags, Verdict, encode_kernel,
};
use bgplet_rib::{KernelOp, LocalRoute, Output, Rib, WhatIf};
use bgplet_wire::Prefix;
use bgplet_wire::attribute::AsPath;
use common::*;

/// The candidate: rejects chosen (session, prefix) pairs on import,
/// prepends one prefix twice toward one session, skips chosen kernel
/// routes.
/// Selection is the test policy's.
#[derive(Default)]
struct Candidate {
    base: TestPolicy,
    reject: Vec<(&'static str, Prefix)>,
    prepend: Option<(&'static str, Prefix)>,
    skip_kernel: HashSet<Prefix>,
    /// Calls per hook: import, select, export, kernel.
    calls: [u64; 4],
}

fn prefixes(
    attrs: &[u32],
    routes: &[u32],
) -> Result<Vec<(Prefix, SourceFlags)>, PolicyError> {
    let table = bgplet_plugin_abi::AttrTable::parse(attrs)
        .map_err(PolicyError::BadInput)?;
    let routes =
        Routes::parse(routes, table.len()).map_err(PolicyError::BadInput)?;
    Ok(routes
        .iter()
        .map(|r| (Prefix::new(r.prefix, r.len).unwrap(), r.source))
        .collect())
}

impl Policy for Candidate {
    fn import(
        &mut self,
        from: &PeerInfo,
        attrs: &[u32],
        routes: &[u32],
        _raw: &dyn RawAttributes,
    ) -> Result<FilterResult, PolicyError> {
        self.calls[0] += 1;
        let verdicts: Vec<Verdict> = prefixes(attrs, routes)?
            .into_iter()
            .map(|(p, _)| {
                if self.reject.iter().any(|(n, q)| *n == from.name && *q == p) {
                    Verdict::Reject
                } else {
                    Verdict::Accept
                }
            })
            .collect();
        Ok(FilterResult::encode(&verdicts))
    }

    fn select(
        &mut self,
        candidates: &[u32],
        counts: &[u32],
    ) -> Result<Vec<u32>, PolicyError> {
        self.calls[1] += 1;
        self.base.select(candidates, counts)
    }

    fn export(
        &mut self,
        to: &PeerInfo,
        attrs: &[u32],
        routes: &[u32],
        _raw: &dyn RawAttributes,
    ) -> Result<FilterResult, PolicyError> {
        self.calls[2] += 1;
        let verdicts: Vec<Verdict> = prefixes(attrs, routes)?
            .into_iter()
            .map(|(p, _)| {
                if self.prepend == Some((to.name.as_str(), p)) {
                    Verdict::AcceptWith(vec![Edit::Prepend {
                        asn: to.local_as,
                        count: 2,
                    }])
                } else {
                    Verdict::Accept
                }
            })
            .collect();
        Ok(FilterResult::encode(&verdicts))
    }

    fn kernel(
        &mut self,
        attrs: &[u32],
        routes: &[u32],
        _raw: &dyn RawAttributes,
    ) -> Result<Vec<u32>, PolicyError> {
        self.calls[3] += 1;
        let actions: Vec<KernelAction> = prefixes(attrs, routes)?
            .into_iter()
            .map(|(p, source)| KernelAction {
                action: if self.skip_kernel.contains(&p) {
                    RouteAction::Skip
                } else if source.contains(SourceFlags::OWN_BLOCK) {
                    RouteAction::Blackhole
                } else {
                    RouteAction::Install
                },
                metric: 0,
            })
            .collect();
        Ok(encode_kernel(&actions))
    }
}

/// The live policy or the candidate, switched by a flag, so a RIB can
/// be reevaluated under the candidate after the prediction.
#[derive(Default)]
struct Switch {
    live: TestPolicy,
    candidate: Candidate,
    use_candidate: bool,
}

impl Policy for Switch {
    fn import(
        &mut self,
        from: &PeerInfo,
        attrs: &[u32],
        routes: &[u32],
        raw: &dyn RawAttributes,
    ) -> Result<FilterResult, PolicyError> {
        if self.use_candidate {
            self.candidate.import(from, attrs, routes, raw)
        } else {
            self.live.import(from, attrs, routes, raw)
        }
    }

    fn select(
        &mut self,
        candidates: &[u32],
        counts: &[u32],
    ) -> Result<Vec<u32>, PolicyError> {
        if self.use_candidate {
            self.candidate.select(candidates, counts)
        } else {
            self.live.select(candidates, counts)
        }
    }

    fn export(
        &mut self,
        to: &PeerInfo,
        attrs: &[u32],
        routes: &[u32],
        raw: &dyn RawAttributes,
    ) -> Result<FilterResult, PolicyError> {
        if self.use_candidate {
            self.candidate.export(to, attrs, routes, raw)
        } else {
            self.live.export(to, attrs, routes, raw)
        }
    }

    fn kernel(
        &mut self,
        attrs: &[u32],
        routes: &[u32],
        raw: &dyn RawAttributes,
    ) -> Result<Vec<u32>, PolicyError> {
        if self.use_candidate {
            self.candidate.kernel(attrs, routes, raw)
        } else {
            self.live.kernel(attrs, routes, raw)
        }
    }
}

fn candidate() -> Candidate {
    Candidate {
        reject: vec![("tor", pfx("10.9.0.0/16")), ("tor", pfx("10.7.0.0/16"))],
        prepend: Some(("tor2", pfx("10.8.0.0/16"))),
        skip_kernel: [pfx("10.6.0.0/16")].into_iter().collect(),
        ..Candidate::default()
    }
}

/// A mesh peer m, two external peers (tor, tor2) and an own block.
fn table<P: Policy>(rib: &mut Rib<P>) {
    rib.peer_up(peer("m", "10.0.0.2", LOCAL_AS)).unwrap();
    rib.peer_up(peer("tor", "192.0.2.1", 65001)).unwrap();
    rib.peer_up(peer("tor2", "192.0.2.2", 65002)).unwrap();
    let tor = &["10.9.0.0/16", "10.8.0.0/16", "10.7.0.0/16", "10.5.0.0/16"];
    rib.update("tor", announce("192.0.2.1", tor, attrs(&[65001])))
        .unwrap();
    rib.update(
        "tor2",
        announce("192.0.2.2", &["10.7.0.0/16"], attrs(&[65002, 65003])),
    )
    .unwrap();
    rib.update("m", announce("10.0.0.2", &["10.6.0.0/16"], attrs(&[])))
        .unwrap();
    rib.set_local(vec![LocalRoute {
        prefix: pfx("10.244.1.0/26"),
        communities: Vec::new(),
        large_communities: Vec::new(),
        is_own_block: true,
    }]);
}

/// What the RIB decides now: best source per prefix, what each peer is
/// advertised (prefix, AS path, next hop), the kernel routes.
type Snapshot = (
    BTreeMap<Prefix, String>,
    BTreeMap<String, BTreeSet<(Prefix, String)>>,
);

fn snapshot<P: Policy>(rib: &Rib<P>) -> Snapshot {
    let best = rib
        .routes()
        .into_iter()
        .map(|r| (r.prefix, r.paths[0].source.to_string()))
        .collect();
    let adv = ["m", "tor", "tor2"]
        .iter()
        .map(|p| {
            let set = rib
                .advertised(p)
                .unwrap()
                .into_iter()
                .map(|(prefix, _, a)| {
                    (prefix, format!("{:?} {:?}", a.attrs.as_path, a.next_hop))
                })
                .collect();
            (p.to_string(), set)
        })
        .collect();
    (best, adv)
}

fn kinds(w: &WhatIf) -> BTreeMap<String, (bool, bool, Vec<String>, bool)> {
    w.changes
        .iter()
        .map(|c| {
            let mut groups: Vec<String> =
                c.export.iter().map(|e| e.peers.join(",")).collect();
            groups.sort();
            (
                c.prefix.to_string(),
                (
                    !c.import.is_empty(),
                    c.best.is_some(),
                    groups,
                    c.kernel.is_some(),
                ),
            )
        })
        .collect()
}

#[test]
fn what_if_lists_exactly_the_prefixes_a_candidate_changes() {
    let mut rib = rib();
    table(&mut rib);
    let before = snapshot(&rib);
    let calls = rib.policy_mut().calls;
    let mut cand = candidate();
    let w = rib.what_if(&mut cand);

    let expected: BTreeMap<String, (bool, bool, Vec<String>, bool)> = [
        // Rejected from its only source: gone everywhere.
        ("10.9.0.0/16", (true, true, vec!["m", "tor2"], true)),
        // Rejected from tor: tor2's longer path wins; m sees another
        // path, tor now gets tor2's, tor2 no longer gets tor's.
        ("10.7.0.0/16", (true, true, vec!["m", "tor", "tor2"], true)),
        // Prepended toward tor2 only.
        ("10.8.0.0/16", (false, false, vec!["tor2"], false)),
        // Not installed any more.
        ("10.6.0.0/16", (false, false, vec![], true)),
    ]
    .into_iter()
    .map(|(p, (i, b, g, k))| {
        let g = g.into_iter().map(String::from).collect();
        (pfx(p).to_string(), (i, b, g, k))
    })
    .collect();
    assert_eq!(kinds(&w), expected, "{w:#?}");
    assert_eq!(w.prefixes, 6);
    assert_eq!(w.paths, 7);
    assert_eq!(w.policy_errors, Default::default());

    let c7 = &w
        .changes
        .iter()
        .find(|c| c.prefix == pfx("10.7.0.0/16"))
        .unwrap();
    let best = c7.best.as_ref().unwrap();
    assert_eq!(&*best.before.as_ref().unwrap().source, "tor");
    assert_eq!(&*best.after.as_ref().unwrap().source, "tor2");
    let k = c7.kernel.as_ref().unwrap();
    let hop = |ip: &str| vec![ip.parse::<IpAddr>().unwrap()];
    assert_eq!(k.before.as_ref().unwrap().next_hops, hop("192.0.2.1"));
    assert_eq!(k.after.as_ref().unwrap().next_hops, hop("192.0.2.2"));
    let c8 = w
        .changes
        .iter()
        .find(|c| c.prefix == pfx("10.8.0.0/16"))
        .unwrap();
    let e = &c8.export[0];
    assert_eq!(
        e.before.as_ref().unwrap().attrs.as_path,
        Some(AsPath::sequence([LOCAL_AS, 65001]))
    );
    assert_eq!(
        e.after.as_ref().unwrap().attrs.as_path,
        Some(AsPath::sequence([LOCAL_AS, LOCAL_AS, LOCAL_AS, 65001]))
    );
    let c6 = w
        .changes
        .iter()
        .find(|c| c.prefix == pfx("10.6.0.0/16"))
        .unwrap();
    let k = c6.kernel.as_ref().unwrap();
    assert_eq!(k.before.as_ref().unwrap().action, KernelOp::Install);
    assert!(k.after.is_none());

    // Nothing changed and the RIB's own policy was not called.
    assert_eq!(snapshot(&rib), before);
    assert_eq!(rib.policy_mut().calls, calls);
    // Every prefix has one path left under the candidate: no selection
    // call is needed.
    assert_eq!(cand.calls[1], 0);
    assert!(
        [0, 2, 3].iter().all(|&h| cand.calls[h] > 0),
        "{:?}",
        cand.calls
    );
}

#[test]
fn the_same_policy_predicts_no_change() {
    let mut rib = rib();
    table(&mut rib);
    let w = rib.what_if(&mut TestPolicy::default());
    assert!(w.changes.is_empty(), "{w:#?}");
    assert_eq!(w.prefixes, 6);
}

#[test]
fn the_prediction_matches_a_reevaluation_under_the_candidate() {
    let mut rib = Rib::new(rib_config(), Switch::default());
    table(&mut rib);
    let (best0, adv0) = snapshot(&rib);
    let kernel0: BTreeSet<Prefix> =
        rib.routes().iter().map(|r| r.prefix).collect();
    let mut cand = candidate();
    let w = rib.what_if(&mut cand);

    rib.policy_mut().candidate = candidate();
    rib.policy_mut().use_candidate = true;
    let out = rib.reevaluate();
    let (best1, adv1) = snapshot(&rib);

    let best_changed: BTreeSet<Prefix> = best0
        .keys()
        .chain(best1.keys())
        .filter(|p| best0.get(p) != best1.get(p))
        .copied()
        .collect();
    let predicted: BTreeSet<Prefix> = w
        .changes
        .iter()
        .filter(|c| c.best.is_some())
        .map(|c| c.prefix)
        .collect();
    assert_eq!(predicted, best_changed);

    for peer in ["m", "tor", "tor2"] {
        let (a, b) = (&adv0[peer], &adv1[peer]);
        let changed: BTreeSet<Prefix> =
            a.symmetric_difference(b).map(|(p, _)| *p).collect();
        let predicted: BTreeSet<Prefix> = w
            .changes
            .iter()
            .filter(|c| {
                c.export
                    .iter()
                    .any(|e| e.peers.iter().any(|n| &**n == peer))
            })
            .map(|c| c.prefix)
            .collect();
        assert_eq!(predicted, changed, "{peer}");
    }

    let programmed: BTreeSet<Prefix> =
        kernel(&out).iter().map(|k| k.prefix).collect();
    let predicted: BTreeSet<Prefix> = w
        .changes
        .iter()
        .filter(|c| c.kernel.is_some())
        .map(|c| c.prefix)
        .collect();
    assert_eq!(predicted, programmed);
    for k in kernel(&out) {
        let c = w.changes.iter().find(|c| c.prefix == k.prefix).unwrap();
        let after = c.kernel.as_ref().unwrap().after.as_ref();
        match after {
            Some(r) => {
                assert_eq!((r.action, &r.next_hops), (k.action, &k.next_hops))
            }
            None => assert_eq!(k.action, KernelOp::Remove),
        }
    }
    assert!(kernel0.contains(&pfx("10.6.0.0/16")));
    assert!(out.iter().any(|o| matches!(o, Output::Send { .. })));
}

#[test]
fn a_failing_candidate_is_counted_and_its_fallbacks_predicted() {
    let mut rib = rib();
    table(&mut rib);
    let mut broken = TestPolicy {
        broken: true,
        ..TestPolicy::default()
    };
    let w = rib.what_if(&mut broken);
    assert!(w.policy_errors.import > 0, "{:?}", w.policy_errors);
    assert!(w.last_policy_error.is_some());
    // Every path is rejected on import: every prefix changes.
    assert_eq!(w.changes.len(), 6);
    assert!(w.changes.iter().all(|c| c.best.is_some()));
}

/// Not a check: prints how long a what-if takes against a reevaluation
/// of the same table (`cargo test --release -p bgplet-rib --test whatif
/// -- --ignored --nocapture`).
#[test]
#[ignore]
fn what_if_costs_about_a_reevaluation() {
    let mut rib = rib();
    table(&mut rib);
    let n = 100_000u32;
    let prefixes: Vec<String> = (0..n)
        .map(|i| {
            let b = i.to_be_bytes();
            format!("{}.{}.{}.0/24", 100 + b[1], b[2], b[3])
        })
        .collect();
    for chunk in prefixes.chunks(1000) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        rib.update("tor", announce("192.0.2.1", &refs, attrs(&[65001])))
            .unwrap();
        rib.update("tor2", announce("192.0.2.2", &refs, attrs(&[65002, 1])))
            .unwrap();
    }
    let mut cand = candidate();
    let t = std::time::Instant::now();
    let w = rib.what_if(&mut cand);
    let what_if = t.elapsed();
    let t = std::time::Instant::now();
    let out = rib.reevaluate();
    let reevaluate = t.elapsed();
    eprintln!(
        "{} prefixes, {} paths: what-if {what_if:?} ({} changes), \
         reevaluate {reevaluate:?} ({} outputs)",
        w.prefixes,
        w.paths,
        w.changes.len(),
        out.len()
    );
}
