//! `bgplet plugin diff`'s rows: a what-if result as one line per
//! difference (prefix, what changes, before, after), and the table.

use bgplet_rib::{AttrSet, KernelOp, KernelRoute, PathRef, PrefixChange};
use serde::{Deserialize, Serialize};

use super::diff::DiffReply;

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRow {
    /// The prefix, e.g. "10.244.0.0/26".
    pub prefix: String,
    /// `import`, `best`, `export` or `kernel`.
    pub change: String,
    /// Whose decision: `from SESSION` (import), `to SESSION,...`
    /// (export, the sessions of one update group); empty otherwise.
    pub subject: String,
    /// Now.
    pub before: String,
    /// Under the candidate.
    pub after: String,
    /// The attributes that differ (both sides present), e.g.
    /// `["as_path"]`.
    pub attributes: Vec<String>,
}

/// The rows of every prefix, in prefix order, each prefix's rows in
/// pipeline order.
pub fn rows(changes: &[PrefixChange]) -> Vec<ChangeRow> {
    let mut out = Vec::new();
    for c in changes {
        let prefix = c.prefix.to_string();
        let row = |change: &str, subject: String, pair: Pair| ChangeRow {
            prefix: prefix.clone(),
            change: change.to_owned(),
            subject,
            before: pair.before,
            after: pair.after,
            attributes: pair.attributes,
        };
        for i in &c.import {
            let pair =
                attrs_pair(i.before.as_deref(), i.after.as_deref(), "rejected");
            out.push(row(
                "import",
                format!("from {}{}", i.source, path_id(i.path_id)),
                pair,
            ));
        }
        if let Some(b) = &c.best {
            out.push(row(
                "best",
                String::new(),
                best_pair(b.before.as_ref(), b.after.as_ref()),
            ));
        }
        for e in &c.export {
            let pair = attrs_pair(
                e.before.as_deref(),
                e.after.as_deref(),
                "not announced",
            );
            let subject =
                format!("to {}{}", e.peers.join(","), path_id(e.path_id));
            out.push(row("export", subject, pair));
        }
        if let Some(k) = &c.kernel {
            out.push(row(
                "kernel",
                String::new(),
                Pair {
                    before: kernel_text(k.before.as_ref()),
                    after: kernel_text(k.after.as_ref()),
                    attributes: Vec::new(),
                },
            ));
        }
    }
    out
}

fn path_id(id: u32) -> String {
    if id == 0 {
        String::new()
    } else {
        format!(" (path id {id})")
    }
}

/// Both sides of one row.
struct Pair {
    before: String,
    after: String,
    attributes: Vec<String>,
}

/// Present attributes as (name, value text), in a fixed order.
fn fields(a: &AttrSet) -> Vec<(&'static str, String)> {
    let p = &a.attrs;
    let mut out = vec![(
        "next_hop",
        a.next_hop_ip()
            .map_or_else(|| "self".to_owned(), |ip| ip.to_string()),
    )];
    let path = p.as_path.as_ref().map(ToString::to_string);
    out.push((
        "as_path",
        path.filter(|s| !s.is_empty())
            .unwrap_or_else(|| "(empty)".into()),
    ));
    let optional: [(&'static str, Option<String>); 10] = [
        ("origin", p.origin.map(|o| o.to_string())),
        ("local_pref", p.local_pref.map(|v| v.to_string())),
        ("med", p.med.map(|v| v.to_string())),
        ("communities", words(&p.communities)),
        ("large_communities", words(&p.large_communities)),
        ("ext_communities", words(&p.ext_communities)),
        ("originator_id", p.originator_id.map(|v| v.to_string())),
        ("cluster_list", words(&p.cluster_list)),
        (
            "aggregator",
            p.aggregator.map(|g| format!("{} {}", g.asn, g.address)),
        ),
        (
            "atomic_aggregate",
            p.atomic_aggregate.then(|| "yes".to_owned()),
        ),
    ];
    out.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    if !p.unknown.is_empty() {
        let codes: Vec<String> =
            p.unknown.iter().map(|u| u.code.to_string()).collect();
        out.push(("unknown", codes.join(" ")));
    }
    out
}

/// A list attribute as space-separated values.
fn words<T: ToString>(v: &Option<Vec<T>>) -> Option<String> {
    v.as_ref().map(|v| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    })
}

fn join(fields: &[(&str, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Only the differing attributes when both sides exist, else the whole
/// present side against `absent`.
fn attrs_pair(
    before: Option<&AttrSet>,
    after: Option<&AttrSet>,
    absent: &str,
) -> Pair {
    match (before, after) {
        (Some(a), Some(b)) => {
            let (fa, fb) = (fields(a), fields(b));
            let mut names: Vec<&'static str> =
                fa.iter().chain(&fb).map(|(k, _)| *k).collect();
            names.dedup();
            let mut seen = Vec::new();
            let mut left = Vec::new();
            let mut right = Vec::new();
            for name in names {
                if seen.contains(&name) {
                    continue;
                }
                seen.push(name);
                let get = |f: &[(&'static str, String)]| {
                    f.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
                };
                let (x, y) = (get(&fa), get(&fb));
                if x != y {
                    left.push((name, x.unwrap_or_else(|| "none".into())));
                    right.push((name, y.unwrap_or_else(|| "none".into())));
                }
            }
            Pair {
                before: join(&left),
                after: join(&right),
                attributes: seen
                    .into_iter()
                    .filter(|n| left.iter().any(|(k, _)| k == n))
                    .map(str::to_owned)
                    .collect(),
            }
        }
        (a, b) => Pair {
            before: a.map_or_else(|| absent.to_owned(), |a| join(&fields(a))),
            after: b.map_or_else(|| absent.to_owned(), |b| join(&fields(b))),
            attributes: Vec::new(),
        },
    }
}

fn best_pair(before: Option<&PathRef>, after: Option<&PathRef>) -> Pair {
    let mut pair =
        attrs_pair(before.map(|p| &*p.attrs), after.map(|p| &*p.attrs), "none");
    let name = |p: Option<&PathRef>, text: &str| match p {
        Some(p) if text.is_empty() => {
            format!("{}{}", p.source, path_id(p.path_id))
        }
        Some(p) => format!("{}{}: {text}", p.source, path_id(p.path_id)),
        None => text.to_owned(),
    };
    pair.before = name(before, &pair.before);
    pair.after = name(after, &pair.after);
    pair
}

fn kernel_text(r: Option<&KernelRoute>) -> String {
    let Some(r) = r else {
        return "not installed".into();
    };
    let hops: Vec<String> =
        r.next_hops.iter().map(ToString::to_string).collect();
    let mut text = match r.action {
        KernelOp::Blackhole => "blackhole".to_owned(),
        KernelOp::Install => format!("via {}", hops.join(" ")),
        KernelOp::Onlink => format!("via {} onlink", hops.join(" ")),
        KernelOp::Remove => "removed".to_owned(),
    };
    if r.metric != 0 {
        text.push_str(&format!(" metric {}", r.metric));
    }
    text
}

/// Prints a diff reply for people.
pub fn print(reply: &DiffReply) {
    let chains = |c: &[super::ChainStatus]| {
        c.iter()
            .map(|c| format!("  {:<10} {}", c.hook, c.plugins.join(" -> ")))
            .collect::<Vec<_>>()
    };
    println!("running (generation {}):", reply.generation);
    for l in chains(&reply.running) {
        println!("{l}");
    }
    println!("candidate:");
    for l in chains(&reply.candidate) {
        println!("{l}");
    }
    let mut changed: Vec<&str> =
        reply.changes.iter().map(|r| r.prefix.as_str()).collect();
    changed.dedup();
    println!(
        "{} of {} prefixes would change ({} paths evaluated in {} ms; \
         validated in {} ms); nothing was activated",
        changed.len(),
        reply.prefixes,
        reply.paths,
        reply.evaluate_ms,
        reply.validate_ms
    );
    if !reply.hook_failures.is_empty() {
        let f: Vec<String> = reply
            .hook_failures
            .iter()
            .map(|(h, n)| format!("{h} {n}"))
            .collect();
        println!(
            "candidate hook failures (batches): {}; last: {}",
            f.join(", "),
            reply.last_failure.as_deref().unwrap_or("")
        );
    }
    if reply.changes.is_empty() {
        return;
    }
    println!();
    let header = ["PREFIX", "CHANGE", "BEFORE", "AFTER"];
    let cells: Vec<[String; 4]> = reply
        .changes
        .iter()
        .map(|r| {
            let what = if r.subject.is_empty() {
                r.change.clone()
            } else {
                format!("{} {}", r.change, r.subject)
            };
            [
                r.prefix.clone(),
                what,
                r.before.clone(),
                format!("-> {}", r.after),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        println!("{}", s.trim_end());
    };
    line(&header.map(str::to_owned));
    for row in &cells {
        line(row);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use std::sync::Arc;

    use bgplet_rib::{BestChange, ExportChange, ImportChange, KernelDiff};
    use bgplet_wire::attribute::AsPath;
    use bgplet_wire::{NextHop, PathAttributes};

    use super::*;

    fn set(path: &[u32], nh: &str) -> Arc<AttrSet> {
        let attrs = PathAttributes {
            as_path: Some(AsPath::sequence(path.iter().copied())),
            ..PathAttributes::default()
        };
        Arc::new(AttrSet::new(attrs, Some(NextHop::V4(nh.parse().unwrap()))))
    }

    fn change() -> PrefixChange {
        let a = set(&[65001], "10.0.0.2");
        PrefixChange {
            prefix: "192.0.2.0/24".parse().unwrap(),
            import: vec![ImportChange {
                source: "tor".into(),
                path_id: 0,
                before: Some(a.clone()),
                after: None,
            }],
            best: Some(BestChange {
                before: Some(PathRef {
                    source: "tor".into(),
                    path_id: 0,
                    attrs: a.clone(),
                }),
                after: Some(PathRef {
                    source: "tor2".into(),
                    path_id: 3,
                    attrs: a.clone(),
                }),
            }),
            export: vec![ExportChange {
                group: 1,
                peers: vec!["m1".into(), "m2".into()],
                path_id: 0,
                before: Some(set(&[64512, 65001], "10.0.0.1")),
                after: Some(set(&[64512, 64512, 64512, 65001], "10.0.0.1")),
            }],
            kernel: Some(KernelDiff {
                before: Some(KernelRoute {
                    action: KernelOp::Install,
                    next_hops: vec!["10.0.0.2".parse().unwrap()],
                    metric: 5,
                }),
                after: None,
            }),
        }
    }

    #[test]
    fn each_difference_is_one_row_with_only_the_changed_attributes() {
        let rows = rows(&[change()]);
        let kinds: Vec<&str> = rows.iter().map(|r| r.change.as_str()).collect();
        assert_eq!(kinds, ["import", "best", "export", "kernel"]);
        let (import, best, export, kernel) =
            (&rows[0], &rows[1], &rows[2], &rows[3]);
        assert_eq!(import.subject, "from tor");
        assert_eq!(import.before, "next_hop 10.0.0.2, as_path 65001");
        assert_eq!(import.after, "rejected");
        assert_eq!(
            (best.before.as_str(), best.after.as_str()),
            ("tor", "tor2 (path id 3)")
        );
        assert_eq!(export.subject, "to m1,m2");
        assert_eq!(export.attributes, ["as_path"]);
        assert_eq!(export.before, "as_path 64512 65001");
        assert_eq!(export.after, "as_path 64512 64512 64512 65001");
        assert_eq!(kernel.before, "via 10.0.0.2 metric 5");
        assert_eq!(kernel.after, "not installed");
        assert!(rows.iter().all(|r| r.prefix == "192.0.2.0/24"));
    }

    #[test]
    fn an_attribute_only_one_side_has_shows_as_none() {
        let a = set(&[1], "10.0.0.2");
        let mut b = AttrSet::clone(&a);
        b.attrs.local_pref = Some(0);
        let pair = attrs_pair(Some(&a), Some(&b), "rejected");
        assert_eq!(
            (pair.before.as_str(), pair.after.as_str()),
            ("local_pref none", "local_pref 0")
        );
        assert_eq!(pair.attributes, ["local_pref"]);
    }
}
