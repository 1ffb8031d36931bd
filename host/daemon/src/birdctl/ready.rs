//! calico-node's `-bird-ready` / `-bird6-ready` decision, as a pure
//! function of the view (calico-bgp.md §7, node/pkg/health).
//!
//! Calico decides from the `show protocols` text, so this works on the
//! same rendered rows: only BGP rows named `Global_`, `Node_` or
//! `Mesh_` count as peers, a peer's address is rebuilt from its name,
//! and its state is the first word of the info column. A row with no
//! info word (a session that is down with no error) is not a peer at all
//! to Calico, and so not here either.

use std::time::{Duration, SystemTime};

use super::render::protocol_row;
use super::{BirdView, Family, ProtoKind};

/// Whether calico-node's readiness probe would pass for `family`.
///
/// `started_at` stands for the mtime of `/var/lib/calico/nodename`
/// (when the node agent started); `threshold` is the probe's threshold
/// time. With no peers: ready. Within `threshold` of the start: every
/// peer must be Established and no graceful restart may be running.
/// After it: at least one peer must be Established. The error strings
/// are calico-node's.
pub fn bird_ready(
    view: &BirdView,
    family: Family,
    started_at: SystemTime,
    now: SystemTime,
    threshold: Duration,
) -> Result<(), String> {
    let view = view.for_family(family);
    let mut established = 0usize;
    let mut down = Vec::new();
    let mut peers = 0usize;
    for p in view.protocols.iter().filter(|p| p.proto == ProtoKind::Bgp) {
        let row = protocol_row(p, &view);
        let columns: Vec<&str> = row.split_whitespace().collect();
        if columns.len() < 6 {
            continue;
        }
        let Some(address) = calico_peer_address(columns[0], family) else {
            continue;
        };
        peers += 1;
        if columns[5] == "Established" {
            established += 1;
        } else {
            down.push(address);
        }
    }
    let not_established =
        || format!("BGP not established with {}", down.join(","));
    let young = now
        .duration_since(started_at)
        .map_or(true, |age| age < threshold);
    if peers == 0 {
        Ok(())
    } else if young {
        if !down.is_empty() {
            Err(not_established())
        } else if view.graceful_restart.is_some() {
            Err("graceful restart in progress".to_owned())
        } else {
            Ok(())
        }
    } else if established > 0 {
        Ok(())
    } else {
        Err(not_established())
    }
}

/// The peer address Calico derives from a session name: `Mesh_`,
/// `Node_` or `Global_` followed by the address with `_` for `.` (IPv4)
/// or `:` (IPv6). `None` for names Calico does not treat as peers.
pub fn calico_peer_address(name: &str, family: Family) -> Option<String> {
    let rest = ["Global_", "Node_", "Mesh_"]
        .iter()
        .find_map(|prefix| name.strip_prefix(prefix))?;
    if rest.is_empty() {
        return None;
    }
    let separator = match family {
        Family::V4 => ".",
        Family::V6 => ":",
    };
    Some(rest.replace('_', separator))
}
