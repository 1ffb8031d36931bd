//! Scenarios: the fabric (two namespaces on one veth), the generator
//! side of each scenario, and one measured run.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bgplet_tests::{Netns, link};
use bgplet_wire::{
    AfiSafi, AsPath, Incoming, Ipv4Prefix, NextHop, Nlri, Origin,
    PathAttributes, Prefix, SessionContext, Update, UpdateOutcome,
    encode_announcements,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::dut::{self, Kind, Role, Spec};
use crate::measure;
use crate::session::{self, Session};

/// DUT address on the fabric (a /16 shared with the generator).
const DUT: Ipv4Addr = Ipv4Addr::new(10, 2, 0, 1);
const SENDER: Ipv4Addr = Ipv4Addr::new(10, 2, 0, 2);
const RECEIVER: Ipv4Addr = Ipv4Addr::new(10, 2, 0, 3);
/// Reflector clients are 10.2.0.16 upwards; their /26s are carved
/// out of this pool in order.
const POOL: &str = "10.128.0.0/16";
const POOL_BASE: u32 = 0x0A80_0000;

/// A scenario by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// One sender, the DUT, one receiver; this many prefixes.
    PassThrough(usize),
    /// This many simulated Calico nodes around the DUT as reflector.
    Reflector(usize),
    /// bgplet only: a plugin swap with this many prefixes held
    /// (src/reload.rs); `under_load` swaps while the sender streams.
    Reload {
        /// Prefixes in the table.
        prefixes: usize,
        /// Swap at half the table instead of after convergence.
        under_load: bool,
    },
}

impl Scenario {
    /// Parses `passthrough-100k`, `passthrough-1m`, `reflector-100`, ...
    pub fn parse(s: &str) -> Result<Scenario> {
        let (kind, n) = if let Some(n) = s.strip_prefix("reload-under-load-") {
            ("reload-under-load", n)
        } else {
            s.split_once('-').context("expected KIND-N")?
        };
        let n = n.to_ascii_lowercase();
        let num = if let Some(k) = n.strip_suffix('k') {
            k.parse::<usize>()? * 1000
        } else if let Some(m) = n.strip_suffix('m') {
            m.parse::<usize>()? * 1_000_000
        } else {
            n.parse()?
        };
        match kind {
            "passthrough" => Ok(Scenario::PassThrough(num)),
            "reflector" => Ok(Scenario::Reflector(num)),
            "reload" | "reload-under-load" => Ok(Scenario::Reload {
                prefixes: num,
                under_load: kind != "reload",
            }),
            _ => bail!("unknown scenario {s}"),
        }
    }

    /// Canonical name.
    pub fn name(self) -> String {
        let short = |n: usize| {
            if n.is_multiple_of(1_000_000) {
                format!("{}m", n / 1_000_000)
            } else if n.is_multiple_of(1000) {
                format!("{}k", n / 1000)
            } else {
                n.to_string()
            }
        };
        match self {
            Scenario::PassThrough(n) => format!("passthrough-{}", short(n)),
            Scenario::Reflector(n) => format!("reflector-{n}"),
            Scenario::Reload {
                prefixes,
                under_load: false,
            } => format!("reload-{}", short(prefixes)),
            Scenario::Reload {
                prefixes,
                under_load: true,
            } => format!("reload-under-load-{}", short(prefixes)),
        }
    }

    /// Whether only bgplet can run it (plugin reloads are bgplet's).
    pub fn bgplet_only(self) -> bool {
        matches!(self, Scenario::Reload { .. })
    }
}

/// Pre-encoded input shared by the repetitions of a scenario.
pub struct Input {
    /// The pass-through UPDATE stream (empty for the reflector).
    pub blob: Vec<u8>,
    /// Facts about it for the report.
    pub info: Value,
}

/// Builds the input for `sc` with `seed`.
pub fn prepare(sc: Scenario, seed: u64) -> Result<Input> {
    match sc {
        Scenario::PassThrough(n) | Scenario::Reload { prefixes: n, .. } => {
            let t0 = Instant::now();
            let table = crate::table::Table::generate(n, seed, 65001);
            let (blob, msgs) = table.encode(SENDER)?;
            Ok(Input {
                info: json!({
                    "prefixes": n, "attribute_sets": table.groups.len(),
                    "updates": msgs, "bytes": blob.len(), "seed": seed,
                    "generate_seconds": t0.elapsed().as_secs_f64(),
                }),
                blob,
            })
        }
        Scenario::Reflector(c) => Ok(Input {
            blob: Vec::new(),
            info: json!({ "clients": c, "routes_per_client": 1 }),
        }),
    }
}

fn client_addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(DUT) + 15 + i as u32)
}

/// One run: fresh namespaces, the DUT, the generator, measurements.
pub fn run_once(
    sc: Scenario,
    kind: Kind,
    input: &Input,
    bgplet_bin: &Path,
    timeout: Duration,
) -> Result<Value> {
    if let Scenario::Reload {
        prefixes,
        under_load,
    } = sc
    {
        let mut v = crate::reload::run_once(
            prefixes, under_load, input, bgplet_bin, timeout,
        )?;
        v["scenario"] = json!(sc.name());
        return Ok(v);
    }
    let dut_ns = Netns::new()?;
    let gen_ns = Netns::new()?;
    let l = link(&dut_ns, &gen_ns, 0)?;
    let (spec, gen_addrs) = match sc {
        Scenario::PassThrough(_) => (
            Spec {
                addr: DUT,
                asn: 65000,
                role: Role::PassThrough {
                    sender: (SENDER, 65001),
                    receiver: (RECEIVER, 65002),
                },
                pool: POOL,
            },
            vec![SENDER, RECEIVER],
        ),
        Scenario::Reflector(c) => {
            let clients: Vec<Ipv4Addr> = (0..c).map(client_addr).collect();
            (
                Spec {
                    addr: DUT,
                    asn: 64512,
                    role: Role::Reflector {
                        clients: clients.clone(),
                    },
                    pool: POOL,
                },
                clients,
            )
        }
        Scenario::Reload { .. } => bail!("reload runs in reload.rs"),
    };
    // Addresses in bulk through `ip -batch`; a big neighbour table so
    // 1,000 peers on one segment do not hit gc_thresh3.
    for ns in [&dut_ns, &gen_ns] {
        for (k, v) in [
            ("gc_thresh1", "4096"),
            ("gc_thresh2", "8192"),
            ("gc_thresh3", "16384"),
        ] {
            let _ = ns.exec(&[
                "sysctl",
                "-qw",
                &format!("net.ipv4.neigh.default.{k}={v}"),
            ]);
        }
    }
    dut_ns.ip(&["addr", "add", &format!("{DUT}/16"), "dev", &l.a_if])?;
    let mut batch = String::new();
    for a in &gen_addrs {
        batch.push_str(&format!("addr add {a}/16 dev {}\n", l.b_if));
    }
    let bf =
        std::env::temp_dir().join(format!("bgplet-bench-{}.ip", gen_ns.name()));
    std::fs::write(&bf, batch)?;
    let added = gen_ns.ip(&["-batch", &bf.to_string_lossy()]);
    let _ = std::fs::remove_file(&bf);
    added?;

    let load_before = measure::load1();
    let dut = dut::start(kind, &dut_ns, &spec, bgplet_bin)?;
    let pids = dut.pids.clone();
    let settle = dut.settle;
    let outcome = gen_ns.in_ns(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        rt.block_on(async {
            match sc {
                Scenario::PassThrough(n) => {
                    passthrough(&input.blob, n, &pids, settle, timeout).await
                }
                Scenario::Reflector(c) => {
                    reflector(c, &pids, settle, timeout).await
                }
                Scenario::Reload { .. } => bail!("reload runs in reload.rs"),
            }
        })
    });
    let load_after = measure::load1();
    let mut v = outcome?;
    v["daemon"] = json!(kind.name());
    v["scenario"] = json!(sc.name());
    v["load1_before"] = json!(load_before);
    v["load1_after"] = json!(load_after);
    v["dut_command"] = json!(dut.command);
    drop(dut);
    Ok(v)
}

/// Counts announced minus withdrawn prefixes that `keep` accepts.
fn apply(
    update: &Update,
    held: &mut HashSet<Ipv4Prefix>,
    keep: &dyn Fn(Ipv4Prefix) -> bool,
) {
    for (_, w) in update.withdrawals() {
        for n in w {
            if let Prefix::V4(p) = n.prefix {
                held.remove(&p);
            }
        }
    }
    for a in update.announcements() {
        for n in a.nlri {
            if let Prefix::V4(p) = n.prefix
                && keep(p)
            {
                held.insert(p);
            }
        }
    }
}

fn update_of(o: &UpdateOutcome) -> &Update {
    match o {
        UpdateOutcome::Clean(u) => u,
        UpdateOutcome::TreatAsWithdraw { update, .. } => update,
        UpdateOutcome::AttributeDiscard { update, .. } => update,
    }
}

/// Reads `s` until `keep`-ed prefixes held reach `target`, reports the
/// moment on `done`, then keeps draining so the DUT is never blocked.
fn spawn_counter(
    mut s: Session,
    target: usize,
    keep: impl Fn(Ipv4Prefix) -> bool + Send + 'static,
    id: usize,
    done: mpsc::UnboundedSender<(usize, Instant)>,
) -> tokio::task::JoinHandle<Result<()>> {
    tokio::spawn(async move {
        let mut held = HashSet::with_capacity(target);
        let mut reported = target == 0;
        if reported {
            let _ = done.send((id, Instant::now()));
        }
        while let Some(m) = s.reader.next().await? {
            match m {
                Incoming::Update(o) => {
                    apply(update_of(&o), &mut held, &keep);
                    if !reported && held.len() >= target {
                        reported = true;
                        let _ = done.send((id, Instant::now()));
                    }
                }
                Incoming::Notification(n) => bail!("NOTIFICATION {n:?}"),
                _ => {}
            }
        }
        Ok(())
    })
}

async fn passthrough(
    blob: &[u8],
    n: usize,
    pids: &[u32],
    settle: Duration,
    timeout: Duration,
) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let sender =
        session::establish(SENDER, DUT, 65001, false, deadline).await?;
    let receiver =
        session::establish(RECEIVER, DUT, 65002, false, deadline).await?;
    let up = Instant::now();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let counter = spawn_counter(receiver, n, |_| true, 0, tx);
    tokio::time::sleep(settle).await;
    let cpu0 = measure::cpu_total(pids)?;
    let t0 = Instant::now();
    session::blast(&sender.writer, blob).await?;
    let sent = t0.elapsed();
    let got = tokio::time::timeout(timeout, rx.recv()).await;
    let cpu1 = measure::cpu_total(pids)?;
    let rss = measure::rss_total(pids)?;
    counter.abort();
    let (_, at) = got
        .with_context(|| format!("timeout after {timeout:?}"))?
        .context("receiver ended before the full table arrived")?;
    Ok(json!({
        "seconds": at.duration_since(t0).as_secs_f64(),
        "send_seconds": sent.as_secs_f64(),
        "sessions_up_to_start_seconds": t0.duration_since(up).as_secs_f64(),
        "cpu_seconds": cpu1 - cpu0,
        "cpu_seconds_total": cpu1,
        "peak_rss_bytes": rss,
    }))
}

async fn reflector(
    c: usize,
    pids: &[u32],
    settle: Duration,
    timeout: Duration,
) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(180);
    let t_connect = Instant::now();
    // Connect in waves so the DUT's listen backlog is not overrun.
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(64));
    let mut joins = Vec::with_capacity(c);
    for i in 0..c {
        let sem = sem.clone();
        joins.push(tokio::spawn(async move {
            let _p = sem.acquire_owned().await?;
            session::establish(client_addr(i), DUT, 64512, true, deadline).await
        }));
    }
    let mut sessions = Vec::with_capacity(c);
    for j in joins {
        sessions.push(j.await??);
    }
    let up = Instant::now();
    let ctx = SessionContext {
        four_octet_as: true,
        ibgp: true,
        ..SessionContext::default()
    };
    let mut updates = Vec::with_capacity(c);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut writers = Vec::with_capacity(c);
    let mut counters = Vec::with_capacity(c);
    for (i, s) in sessions.into_iter().enumerate() {
        let own = own_block(i)?;
        let attrs = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::default()),
            local_pref: Some(100),
            ..PathAttributes::default()
        };
        let mut out = Vec::new();
        encode_announcements(
            &attrs,
            AfiSafi::IPV4_UNICAST,
            NextHop::V4(client_addr(i)),
            &[Nlri::new(own)],
            &ctx,
            &mut out,
        )?;
        updates.push(out);
        writers.push(s.writer.clone());
        let pool = Ipv4Prefix::new(Ipv4Addr::from(POOL_BASE), 16)?;
        counters.push(spawn_counter(
            s,
            c - 1,
            move |p| p != own && pool.contains(p),
            i,
            tx.clone(),
        ));
    }
    drop(tx);
    tokio::time::sleep(settle).await;
    let cpu0 = measure::cpu_total(pids)?;
    let t0 = Instant::now();
    for (w, u) in writers.iter().zip(&updates) {
        for m in u {
            session::blast(w, m).await?;
        }
    }
    let sent = t0.elapsed();
    let mut last = t0;
    let wait = async {
        let mut done = 0;
        while done < c {
            let Some((_, at)) = rx.recv().await else {
                bail!("{done} of {c} clients complete, the rest ended");
            };
            last = last.max(at);
            done += 1;
        }
        Ok(())
    };
    let got = tokio::time::timeout(timeout, wait).await;
    let cpu1 = measure::cpu_total(pids)?;
    let rss = measure::rss_total(pids)?;
    for k in &counters {
        k.abort();
    }
    got.with_context(|| format!("timeout after {timeout:?}"))??;
    Ok(json!({
        "seconds": last.duration_since(t0).as_secs_f64(),
        "send_seconds": sent.as_secs_f64(),
        "connect_seconds": up.duration_since(t_connect).as_secs_f64(),
        "cpu_seconds": cpu1 - cpu0,
        "cpu_seconds_total": cpu1,
        "peak_rss_bytes": rss,
    }))
}

fn own_block(i: usize) -> Result<Ipv4Prefix> {
    Ok(Ipv4Prefix::new(
        Ipv4Addr::from(POOL_BASE + 64 * i as u32),
        26,
    )?)
}
