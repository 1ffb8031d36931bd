// The behaviour shared by the switch and stranger plugins: the mode is
// chosen by the `init` config, "MODE" or "MODE:MARKER".
//
// Modes: ok (accept, best 0 or MARKER, install with metric MARKER; with
// a marker, accepted routes get LOCAL_PREF = MARKER), reject (reject
// and skip everything), trap, spin (loop forever), hog (allocate without
// bound), print (writes to stdout: a WASI call, stubbed as a trap by
// the host), miscount (wrong answer lengths), badedit (out-of-range
// edit, selection index and kernel action), init-trap; anything else
// makes init fail.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::bgplet::plugin::host::{self, Level};
use crate::bgplet::plugin::types::{FilterResult, Peer};
use crate::exports::bgplet::plugin::lifecycle::{Hook, Info};

const OK: u32 = 0;
const REJECT: u32 = 1;
const TRAP: u32 = 2;
const SPIN: u32 = 3;
const HOG: u32 = 4;
const MISCOUNT: u32 = 5;
const BADEDIT: u32 = 6;
const PRINT: u32 = 7;

static MODE: AtomicU32 = AtomicU32::new(OK);
static MARKER: AtomicU32 = AtomicU32::new(0);

fn mode() -> u32 {
    MODE.load(Ordering::Relaxed)
}

fn marker() -> u32 {
    MARKER.load(Ordering::Relaxed)
}

pub(crate) fn describe(name: &str) -> Info {
    Info {
        name: name.into(),
        version: "0.1.0".into(),
        description: "fault injection for the host tests".into(),
        hooks: vec![Hook::Import, Hook::Selection, Hook::Export, Hook::Kernel],
    }
}

pub(crate) fn init(config: String) -> Result<(), String> {
    // Loaded by the agent through a manifest, the config is the node's
    // policy context as JSON with the manifest's config under "plugin":
    // take the mode from there ("plugin":"trap").
    let config = match config.split_once("\"plugin\":\"") {
        Some((_, rest)) if config.trim_start().starts_with('{') => {
            rest.split('"').next().unwrap_or_default().to_owned()
        }
        _ => config,
    };
    let (m, marker) = config.split_once(':').unwrap_or((&config, "0"));
    let m = match m {
        "ok" => OK,
        "reject" => REJECT,
        "trap" => TRAP,
        "spin" => SPIN,
        "hog" => HOG,
        "miscount" => MISCOUNT,
        "badedit" => BADEDIT,
        "print" => PRINT,
        "init-trap" => core::arch::wasm32::unreachable(),
        _ => return Err(format!("unknown mode in config {config:?}")),
    };
    let marker = marker
        .parse()
        .map_err(|_| format!("bad marker {marker:?}"))?;
    MODE.store(m, Ordering::Relaxed);
    MARKER.store(marker, Ordering::Relaxed);
    let node = host::node_context();
    host::log(Level::Info, &format!("mode {config} on node {}", node.name));
    host::count("inits", 1);
    Ok(())
}

/// The faults that do not depend on the hook.
fn misbehave() {
    match mode() {
        TRAP => core::arch::wasm32::unreachable(),
        SPIN => {
            let mut i = 0u64;
            loop {
                i = std::hint::black_box(i.wrapping_add(1));
            }
        }
        HOG => {
            let mut held = Vec::new();
            loop {
                held.push(std::hint::black_box(vec![1u8; 1 << 20]));
            }
        }
        PRINT => println!("plugins have no stdout"),
        _ => {}
    }
}

pub(crate) fn filter(
    _peer: Peer,
    _attrs: Vec<u32>,
    routes: Vec<u32>,
) -> FilterResult {
    misbehave();
    let n = routes.len() / 7;
    host::count("routes", n as u64);
    if let Some(&set) = routes.first() {
        // AGGREGATOR (7) is never in the packed table.
        if let Some(v) = host::attribute(set, 7) {
            host::count("raw_bytes", v.len() as u64);
        }
    }
    let mut edits = Vec::new();
    let verdicts = match mode() {
        REJECT => vec![0; n],
        MISCOUNT => vec![1; n + 1],
        BADEDIT => {
            edits.extend([n as u32, 1, 100]);
            vec![2; n]
        }
        _ if marker() > 0 => {
            for i in 0..n as u32 {
                edits.extend([i, 1, marker()]);
            }
            vec![2; n]
        }
        _ => vec![1; n],
    };
    FilterResult { verdicts, edits }
}

pub(crate) fn select(_candidates: Vec<u32>, counts: Vec<u32>) -> Vec<u32> {
    misbehave();
    let mut out = Vec::with_capacity(counts.len() * 2);
    for &c in &counts {
        match mode() {
            MISCOUNT => out.push(0),
            BADEDIT => out.extend([c, 1]),
            _ => {
                let best = marker().min(c.saturating_sub(1));
                out.extend([best, 1u32.checked_shl(best).unwrap_or(0)]);
            }
        }
    }
    out
}

pub(crate) fn program(_attrs: Vec<u32>, routes: Vec<u32>) -> Vec<u32> {
    misbehave();
    let n = routes.len() / 7;
    match mode() {
        REJECT => vec![0; n * 2],
        MISCOUNT => vec![1; n],
        BADEDIT => [9, 0].repeat(n),
        _ => [1, marker()].repeat(n),
    }
}
