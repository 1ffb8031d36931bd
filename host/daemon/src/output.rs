//! Human-readable renderings of the control API's answers.

use anyhow::Context;

use crate::control::{RoutesReply, StatusReply};

/// Prints the peer table in the shape of `calicoctl node status`.
pub fn print_status(json: &str) -> anyhow::Result<()> {
    let status: StatusReply =
        serde_json::from_str(json).context("agent sent a bad status reply")?;
    println!(
        "bgplet {} on node {} (AS {}, router id {})",
        status.version, status.node, status.as_number, status.router_id
    );
    println!();
    let header = [
        "NAME",
        "PEER ADDRESS",
        "PEER TYPE",
        "STATE",
        "SINCE",
        "INFO",
    ];
    let rows: Vec<[String; 6]> = status
        .peers
        .iter()
        .map(|p| {
            [
                p.name.clone(),
                p.peer_address.clone(),
                p.peer_type.clone(),
                p.state.clone(),
                p.since.clone(),
                p.info.clone(),
            ]
        })
        .collect();
    print_table(&header, &rows);
    if let Some(p) = &status.plugins {
        println!();
        println!("plugins: generation {} from {}", p.generation, p.source);
        for c in &p.chains {
            println!("  {:<10} {}", c.hook, c.plugins.join(" -> "));
        }
        if let Some(r) = &p.last_reload {
            let result = match &r.error {
                None => "activated".to_owned(),
                Some(e) => format!("refused: {e}"),
            };
            println!("  last reload {} ({}): {result}", r.at, r.source);
        }
        println!(
            "  reloads: {} activated, {} refused",
            p.reloads_ok, p.reloads_failed
        );
    }
    Ok(())
}

/// Prints every path per prefix, one attribute per line, in the spirit
/// of `birdc show route all`.
pub fn print_routes(json: &str) -> anyhow::Result<()> {
    let reply: RoutesReply =
        serde_json::from_str(json).context("agent sent a bad routes reply")?;
    for route in &reply.routes {
        for (i, path) in route.paths.iter().enumerate() {
            let lead = if i == 0 { route.prefix.as_str() } else { "" };
            let mark = if path.best { "*" } else { " " };
            let from = if path.peer_address.is_empty() {
                path.peer.clone()
            } else {
                format!("{} ({})", path.peer, path.peer_address)
            };
            println!(
                "{lead:<20} {mark} via {} from {from} path-id {}",
                path.next_hop, path.path_id
            );
            println!("{:<22}origin {}", "", path.origin);
            println!("{:<22}as-path [{}]", "", path.as_path_text);
            if let Some(med) = path.med {
                println!("{:<22}med {med}", "");
            }
            if let Some(lp) = path.local_pref {
                println!("{:<22}local-pref {lp}", "");
            }
            if path.atomic_aggregate {
                println!("{:<22}atomic-aggregate", "");
            }
            if let Some(agg) = &path.aggregator {
                println!("{:<22}aggregator {agg}", "");
            }
            let lists = [
                ("communities", &path.communities),
                ("large-communities", &path.large_communities),
                ("ext-communities", &path.ext_communities),
                ("cluster-list", &path.cluster_list),
            ];
            for (name, list) in lists {
                if !list.is_empty() {
                    println!("{:<22}{name} {}", "", list.join(" "));
                }
            }
            if let Some(id) = &path.originator_id {
                println!("{:<22}originator-id {id}", "");
            }
            for attr in &path.unknown {
                println!(
                    "{:<22}attribute {} flags {} value {}",
                    "", attr.type_code, attr.flags, attr.value
                );
            }
        }
    }
    if reply.routes.is_empty() {
        println!("no routes");
    }
    Ok(())
}

fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let rule: String = widths
        .iter()
        .map(|w| format!("+{}", "-".repeat(w + 2)))
        .collect::<String>()
        + "+";
    println!("{rule}");
    let head: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    print_row(&head, &widths);
    println!("{rule}");
    for row in rows {
        print_row(row, &widths);
    }
    println!("{rule}");
}

fn print_row(cells: &[String], widths: &[usize]) {
    let mut line = String::new();
    for (cell, w) in cells.iter().zip(widths) {
        line.push_str(&format!("| {cell:<w$} "));
    }
    line.push('|');
    println!("{line}");
}
