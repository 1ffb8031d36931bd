//! The hot-reload measurement (issue 6): a plugin swap under a full
//! table. bgplet (release, `--plugins DIR`) holds N prefixes from the
//! generator's sender and passes them to the generator's receiver and to
//! a real BIRD; the manifest directory is then rewritten to add the
//! prepend example toward both. Measured: manifest write to the last
//! prefix re-announced with the prepended AS_PATH at the receiver, and
//! to BIRD showing every prefix prepended at its CLI; routes lost
//! (withdrawn at the receiver, or missing at either peer at the end) and
//! session resets (bgplet's `since`, BIRD's protocol line, the
//! receiver's TCP session), all of which must be zero.
//!
//! `reload-N`: the sender writes the table at full speed and the swap
//! happens after everything converged.
//! `reload-under-load-N`: the sender streams the table evenly over
//! [`STREAM`] (a full-table peer, not a burst), and the swap happens
//! when half of it has been written, so the RIB is both being filled
//! and re-evaluated.
//!
//! This is a measurement, not an assertion: the numbers go to the JSON
//! results and docs/benchmarks.md.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use bgplet_tests::{
    Bgplet, BgpletOptions, Bird, BirdConfig, BirdExport, BirdNeighbor, Netns,
    Resources, Speaker, TestDir, link, prepend_manifest, write_manifest,
};
use bgplet_wire::{Incoming, Ipv4Prefix, Prefix};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::measure;
use crate::scenario::Input;
use crate::session::{self, Session};

const DUT: Ipv4Addr = Ipv4Addr::new(10, 2, 0, 1);
const SENDER: Ipv4Addr = Ipv4Addr::new(10, 2, 0, 2);
const RECEIVER: Ipv4Addr = Ipv4Addr::new(10, 2, 0, 3);
const DUT_AS: u32 = 65000;
const SENDER_AS: u32 = 65001;
const RECEIVER_AS: u32 = 65002;
const BIRD_AS: u32 = 65003;
/// Our AS this many extra times in front of the path after the swap.
const PREPEND: usize = 2;
/// How long the sender takes to stream the table under load.
const STREAM: Duration = Duration::from_secs(4);
/// Pieces the paced stream is cut into.
const STREAM_STEPS: u32 = 80;

/// What the receiver reports, in order.
#[derive(Debug)]
enum Mark {
    /// Half the table is held.
    Half,
    /// The whole table is held.
    Full,
    /// Every prefix's latest announcement carries the prepended path.
    AllPrepended(Instant),
}

/// What the receiver has seen so far.
#[derive(Debug, Default)]
struct Seen {
    /// Prefixes held.
    held: usize,
    /// Of those, prefixes whose latest announcement is prepended.
    prepended: usize,
    /// Withdrawals of held prefixes.
    withdrawn: usize,
    /// UPDATEs received.
    updates: u64,
    /// Why the session ended, if it did.
    ended: Option<String>,
}

type Shared = std::sync::Arc<std::sync::Mutex<Seen>>;

/// One run of `reload-N` (`under_load`: `reload-under-load-N`).
pub fn run_once(
    n: usize,
    under_load: bool,
    input: &Input,
    bgplet_bin: &Path,
    timeout: Duration,
) -> Result<Value> {
    let dut_ns = Netns::new()?;
    let gen_ns = Netns::new()?;
    let bird_ns = Netns::new()?;
    let fabric = link(&dut_ns, &gen_ns, 0)?;
    let to_bird = link(&dut_ns, &bird_ns, 1)?;
    dut_ns.ip(&["addr", "add", &format!("{DUT}/16"), "dev", &fabric.a_if])?;
    for a in [SENDER, RECEIVER] {
        gen_ns.ip(&["addr", "add", &format!("{a}/16"), "dev", &fabric.b_if])?;
    }

    // Start on the embedded defaults; the prepend component waits beside
    // the manifest, as it would in a ConfigMap.
    let plugins = TestDir::new("reload-plugins")?;
    let dir = plugins.path();
    write_manifest(dir, "apiVersion: bgplet.dev/v1\nhooks: {}\n")?;
    let wasm = dir.join("prepend.wasm");
    let out = std::process::Command::new(bgplet_bin)
        .args(["plugin", "builtin", "prepend", "--output"])
        .arg(&wasm)
        .output()?;
    ensure!(out.status.success(), "bgplet plugin builtin: {out:?}");
    let pin = String::from_utf8(out.stdout)?
        .split_whitespace()
        .next()
        .context("no sha256 from bgplet plugin builtin")?
        .to_owned();

    let bird = Bird::start(
        &bird_ns,
        BirdConfig::new(to_bird.b_v4, BIRD_AS).neighbor(
            BirdNeighbor::new("dut", to_bird.a_v4, DUT_AS)
                .local_address(to_bird.b_v4)
                .ipv4_only()
                .hold_time(90)
                .export(BirdExport::None),
        ),
    )?;
    let opts = BgpletOptions {
        binary: Some(bgplet_bin.to_path_buf()),
        args: vec![
            "--no-fib".into(),
            "--plugins".into(),
            dir.display().to_string(),
            "--http-listen".into(),
            "none".into(),
        ],
        ..BgpletOptions::default()
    };
    let mut bgplet =
        Bgplet::start_with(&dut_ns, &resources(to_bird.b_v4), "dut", &opts)?;
    let pid = bgplet.process_mut().pid();
    let bird_peer = to_bird.b_v4.to_string();
    bgplet.wait_established(&bird_peer, Duration::from_secs(60))?;
    let targets = [
        format!("Global_{}", RECEIVER.to_string().replace('.', "_")),
        format!("Global_{}", bird_peer.replace('.', "_")),
    ];
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    let manifest = prepend_manifest(&pin, &targets, PREPEND as u32);

    let load_before = measure::load1();
    let v = gen_ns.in_ns(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let deadline = Instant::now() + Duration::from_secs(60);
        let (sender, receiver) = rt.block_on(async {
            let s = session::establish(SENDER, DUT, SENDER_AS, false, deadline)
                .await?;
            let r =
                session::establish(RECEIVER, DUT, RECEIVER_AS, false, deadline)
                    .await?;
            anyhow::Ok((s, r))
        })?;
        let (tx, mut marks) = mpsc::unbounded_channel();
        let seen = Shared::default();
        let tracker = {
            let seen = seen.clone();
            rt.spawn(async move {
                let end = track(receiver, n, tx, &seen).await;
                if let Ok(mut s) = seen.lock() {
                    s.ended = Some(match end {
                        Ok(()) => "closed".into(),
                        Err(e) => format!("{e:#}"),
                    });
                }
            })
        };
        let mut recv_mark = |what: &str| -> Result<Mark> {
            rt.block_on(async {
                tokio::time::timeout(timeout, marks.recv()).await
            })
            .with_context(|| format!("{what}: timeout after {timeout:?}"))?
            .with_context(|| format!("{what}: the receiver ended"))
        };

        let (half_tx, half_rx) = std::sync::mpsc::channel();
        let blast = {
            let w = sender.writer.clone();
            let blob = input.blob.clone();
            rt.spawn(async move {
                if under_load {
                    stream(&w, &blob, half_tx).await
                } else {
                    session::blast(&w, &blob).await?;
                    Ok(Instant::now())
                }
            })
        };
        if under_load {
            half_rx
                .recv_timeout(timeout)
                .context("the sender did not get half way")?;
        } else {
            let _half = recv_mark("half the table")?;
            let Mark::Full = recv_mark("the whole table")? else {
                bail!("marks out of order");
            };
            wait_bird(&bird, None, n, timeout)
                .context("BIRD to hold the table")?;
            std::thread::sleep(Duration::from_secs(1));
        }
        let sinces = sessions(&bgplet)?;
        let (bird_line, bird_withdraws) = bird_session(&bird)?;
        let cpu0 = measure::cpu_seconds(pid)?;
        let held_at_swap = seen.lock().map(|s| s.held).unwrap_or_default();
        let t0 = Instant::now();
        write_manifest(dir, &manifest)?;
        let at_receiver = loop {
            match recv_mark("every prefix prepended at the receiver")? {
                Mark::AllPrepended(at) => break at,
                _ => continue,
            }
        };
        let cpu1 = measure::cpu_seconds(pid)?;
        wait_bird(&bird, Some(&prepended_filter()), n, timeout)
            .context("every prefix prepended at BIRD")?;
        let at_bird = Instant::now();
        let stream_end = rt.block_on(blast)??;
        let rss = measure::peak_rss(pid)?;

        // Afterwards: nothing reset, nothing lost.
        std::thread::sleep(Duration::from_secs(1));
        let resets = sinces
            .iter()
            .zip(sessions(&bgplet)?)
            .filter(|(a, b)| **a != *b)
            .count();
        let (bird_line_after, bird_withdraws_after) = bird_session(&bird)?;
        let bird_count = bird_route_count(&bird, None)?;
        let sample = first_prefix(&input.blob)?;
        let bird_sample = bird.route(&sample)?;
        let status = bgplet.status()?;
        let last_reload = status.raw["plugins"]["last_reload"].clone();
        tracker.abort();
        let seen = std::mem::take(
            &mut *seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?,
        );
        drop(sender);
        let lost = n.saturating_sub(seen.held) + seen.withdrawn;
        let bird_lost = n.saturating_sub(bird_count);
        let bird_withdrawn =
            bird_withdraws_after.saturating_sub(bird_withdraws);
        let bird_reset = bird_line_after != bird_line;
        // What issue 6 requires of every run; the numbers say which part
        // failed.
        let clean = lost == 0
            && bird_lost == 0
            && bird_withdrawn == 0
            && resets == 0
            && !bird_reset
            && seen.ended.is_none();
        Ok(json!({
            "clean": clean,
            "seconds": at_receiver.duration_since(t0).as_secs_f64(),
            "bird_seconds": at_bird.duration_since(t0).as_secs_f64(),
            // Under load: how much of the stream was still to come
            // after the swap (0 when it had ended before).
            "stream_left_seconds": stream_end
                .saturating_duration_since(t0)
                .as_secs_f64(),
            "receiver_held_at_swap": held_at_swap,
            "cpu_seconds": cpu1 - cpu0,
            "peak_rss_bytes": rss,
            "routes_lost_at_receiver": lost,
            "receiver_withdrawals": seen.withdrawn,
            "receiver_updates": seen.updates,
            "receiver_session_ended": seen.ended,
            "bird_routes": bird_count,
            "bird_routes_lost": bird_lost,
            "bird_withdraws_received": bird_withdrawn,
            "bgplet_session_resets": resets,
            "bird_session_reset": bird_reset,
            "bird_sample": {
                "prefix": sample,
                "as_path": bird_sample.map(|r| r.as_path),
            },
            "last_reload": last_reload,
        }))
    });
    let load_after = measure::load1();
    let mut v = v?;
    v["daemon"] = json!("bgplet");
    v["load1_before"] = json!(load_before);
    v["load1_after"] = json!(load_after);
    v["dut_command"] = json!(format!(
        "{} run --resources FILE --node dut --control-socket SOCK \
         --no-fib --plugins DIR --http-listen none",
        bgplet_bin.display()
    ));
    drop(bgplet);
    drop(bird);
    Ok(v)
}

/// Writes `blob` evenly over [`STREAM`] and says on `half` when half
/// of it is out; returns when the last byte was written.
async fn stream(
    w: &session::Writer,
    blob: &[u8],
    half: std::sync::mpsc::Sender<()>,
) -> Result<Instant> {
    use tokio::io::AsyncWriteExt;
    let step = blob.len().div_ceil(STREAM_STEPS as usize).max(1);
    let mut tick = tokio::time::interval(STREAM / STREAM_STEPS);
    let mut written = 0;
    let mut told = false;
    for chunk in blob.chunks(step) {
        tick.tick().await;
        w.lock().await.write_all(chunk).await?;
        written += chunk.len();
        if !told && written * 2 >= blob.len() {
            told = true;
            let _ = half.send(());
        }
    }
    Ok(Instant::now())
}

/// Reads the receiver's session to the end, tracking per prefix whether
/// its latest announcement carries the prepended path, and reports the
/// marks. A NOTIFICATION or a closed session is an error (a reset).
async fn track(
    mut s: Session,
    n: usize,
    marks: mpsc::UnboundedSender<Mark>,
    shared: &Shared,
) -> Result<()> {
    let mut prefixes: HashMap<Ipv4Prefix, bool> = HashMap::with_capacity(n);
    let mut seen = Seen::default();
    let (mut half, mut full, mut all) = (false, false, false);
    while let Some(m) = s.reader.next().await? {
        let update = match m {
            Incoming::Update(o) => match o {
                bgplet_wire::UpdateOutcome::Clean(u) => u,
                other => bail!("malformed UPDATE from the DUT: {other:?}"),
            },
            Incoming::Notification(note) => bail!("NOTIFICATION {note:?}"),
            _ => continue,
        };
        seen.updates += 1;
        for (_, w) in update.withdrawals() {
            for nlri in w {
                if let Prefix::V4(p) = nlri.prefix
                    && let Some(was) = prefixes.remove(&p)
                {
                    seen.withdrawn += 1;
                    seen.prepended -= usize::from(was);
                }
            }
        }
        let prepended = update.attributes.as_path.as_ref().is_some_and(|p| {
            let asns: Vec<u32> = p
                .segments
                .iter()
                .flat_map(|s| s.asns.iter().copied())
                .take(PREPEND + 2)
                .collect();
            asns.len() == PREPEND + 2
                && asns[..=PREPEND].iter().all(|&a| a == DUT_AS)
                && asns[PREPEND + 1] == SENDER_AS
        });
        for a in update.announcements() {
            for nlri in a.nlri {
                if let Prefix::V4(p) = nlri.prefix {
                    let was = prefixes.insert(p, prepended);
                    seen.prepended += usize::from(prepended);
                    seen.prepended -= usize::from(was == Some(true));
                }
            }
        }
        seen.held = prefixes.len();
        if let Ok(mut s) = shared.lock() {
            (s.held, s.prepended, s.withdrawn, s.updates) =
                (seen.held, seen.prepended, seen.withdrawn, seen.updates);
        }
        if !half && seen.held >= n / 2 {
            half = true;
            let _ = marks.send(Mark::Half);
        }
        if !full && seen.held >= n {
            full = true;
            let _ = marks.send(Mark::Full);
        }
        if !all && seen.prepended >= n {
            all = true;
            let _ = marks.send(Mark::AllPrepended(Instant::now()));
        }
    }
    Ok(())
}

/// Calico resources: the pass-through of docs/benchmarks.md (export-all
/// BGPFilter toward the receiver) plus BIRD as a third eBGP peer with
/// the same filter.
fn resources(bird: Ipv4Addr) -> Resources {
    let peer = |name: &str, ip: Ipv4Addr, asn: u32, export_all: bool| {
        let mut spec = json!({ "peerIP": ip.to_string(), "asNumber": asn });
        if export_all {
            spec["filters"] = json!(["export-all"]);
        }
        json!({
            "apiVersion": "projectcalico.org/v3", "kind": "BGPPeer",
            "metadata": { "name": name }, "spec": spec,
        })
    };
    Resources::new()
        .bgp_configuration(DUT_AS, Some(179), false)
        .raw(json!({
            "apiVersion": "projectcalico.org/v3", "kind": "Node",
            "metadata": { "name": "dut" },
            "spec": { "bgp": { "ipv4Address": format!("{DUT}/16") } },
        }))
        .raw(json!({
            "apiVersion": "projectcalico.org/v3", "kind": "BGPFilter",
            "metadata": { "name": "export-all" },
            "spec": { "exportV4": [ { "action": "Accept" } ] },
        }))
        .raw(peer("sender", SENDER, SENDER_AS, false))
        .raw(peer("receiver", RECEIVER, RECEIVER_AS, true))
        .raw(peer("bird", bird, BIRD_AS, true))
}

/// Every session's `(name, state, since)` from `bgplet status`.
fn sessions(b: &Bgplet) -> Result<Vec<(String, String, String)>> {
    Ok(b.status()?
        .peers
        .into_iter()
        .map(|p| (p.name, p.state, p.since))
        .collect())
}

/// BIRD's `show protocols dut` line (state and since) and the
/// withdrawals it has received from bgplet.
fn bird_session(bird: &Bird) -> Result<(String, u64)> {
    let line = bird
        .birdc(&["show", "protocols", "dut"])?
        .lines()
        .find(|l| l.starts_with("dut"))
        .unwrap_or_default()
        .to_owned();
    let all = bird.birdc(&["show", "protocols", "all", "dut"])?;
    let withdraws = all
        .lines()
        .find_map(|l| l.trim().strip_prefix("Import withdraws:"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no import withdraws in\n{all}"))?;
    Ok((line, withdraws))
}

/// Routes in BIRD's table (all, or those matching a filter expression),
/// from `show route [where EXPR] count`.
fn bird_route_count(bird: &Bird, filter: Option<&str>) -> Result<usize> {
    let mut args = vec!["show", "route"];
    if let Some(f) = filter {
        args.extend(["where", f]);
    }
    args.push("count");
    let out = bird.birdc(&args)?;
    // "100000 of 100000 routes for 100000 networks in table master4"
    out.lines()
        .find_map(|l| l.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("birdc {}: {out}", args.join(" ")))
}

/// BIRD's filter for a path with our AS 1 + PREPEND times in front of
/// the sender's.
fn prepended_filter() -> String {
    format!(
        "bgp_path ~ [= {} {SENDER_AS} * =]",
        vec![DUT_AS.to_string(); PREPEND + 1].join(" ")
    )
}

/// Polls BIRD until at least `want` routes (matching `filter`, if any)
/// are in its table.
fn wait_bird(
    bird: &Bird,
    filter: Option<&str>,
    want: usize,
    timeout: Duration,
) -> Result<()> {
    let start = Instant::now();
    loop {
        let n = bird_route_count(bird, filter)?;
        if n >= want {
            return Ok(());
        }
        if start.elapsed() > timeout {
            bail!("{n} of {want} routes after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The first prefix of the first UPDATE of the stream, to look at in
/// BIRD.
fn first_prefix(blob: &[u8]) -> Result<String> {
    let ctx = bgplet_wire::SessionContext {
        four_octet_as: true,
        ..bgplet_wire::SessionContext::default()
    };
    let len = bgplet_wire::message_len(blob, ctx.max_message_len())?
        .context("empty stream")?;
    let Incoming::Update(o) = bgplet_wire::Message::decode(&blob[..len], &ctx)?
    else {
        bail!("the stream does not start with an UPDATE");
    };
    let bgplet_wire::UpdateOutcome::Clean(u) = o else {
        bail!("the stream's first UPDATE is not clean");
    };
    let p = u
        .announcements()
        .flat_map(|a| a.nlri.iter())
        .next()
        .context("no prefix in the first UPDATE")?
        .prefix;
    Ok(p.to_string())
}
