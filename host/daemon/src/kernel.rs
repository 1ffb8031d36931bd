//! The FIB task: turns the RIB's kernel decisions into netlink requests
//! (through `bgplet-fib`), retries routes whose next hop is not yet
//! reachable, and removes routes left by a previous run once the
//! graceful-restart window has passed.

use std::collections::HashSet;
use std::time::Duration;

use bgplet_fib::{Fib, FibAction, FibChange, FibConfig, FibNextHop, FibRoute};
use bgplet_rib::{KernelChange, KernelOp};
use tokio::sync::mpsc;
use tracing::{info, warn};

/// The IPIP device Calico's BIRD fork installs onlink routes through.
const IPIP_DEVICE: &str = "tunl0";

/// Starts the FIB task. With `enabled` false (`--no-fib`) the kernel is
/// never touched and the decisions are only counted.
pub async fn spawn(
    enabled: bool,
    stale_after: Duration,
    counters: crate::observe::FibCounters,
) -> anyhow::Result<mpsc::UnboundedSender<Vec<KernelChange>>> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<KernelChange>>();
    if !enabled {
        tokio::spawn(async move { while rx.recv().await.is_some() {} });
        return Ok(tx);
    }
    let mut fib = Fib::new(FibConfig::default()).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot open netlink to program routes: {e} (run as root with \
             NET_ADMIN, or pass --no-fib)"
        )
    })?;
    let adopted = fib.adopt().await.map_err(|e| {
        anyhow::anyhow!("cannot read the kernel routing table: {e}")
    })?;
    if !adopted.is_empty() {
        info!(
            routes = adopted.len(),
            window = ?stale_after,
            "adopted routes of a previous run; stale ones go after the graceful-restart window"
        );
    }
    tokio::spawn(async move {
        let stale = tokio::time::sleep(stale_after);
        tokio::pin!(stale);
        let mut swept = adopted.is_empty();
        loop {
            tokio::select! {
                changes = rx.recv() => {
                    let Some(changes) = changes else { return };
                    let report = fib.apply(changes.iter().map(fib_change).collect()).await;
                    for failure in &report.failures {
                        warn!(prefix = ?failure.prefix, error = %failure.error, "kernel refused a route");
                    }
                    if let Ok(mut c) = counters.lock() {
                        *c = fib.counters();
                    }
                }
                event = fib.next_event() => {
                    if let Err(e) = event {
                        warn!(error = %e, "netlink notifications failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    let _ = fib.retry_pending().await;
                    if let Ok(mut c) = counters.lock() {
                        *c = fib.counters();
                    }
                }
                () = &mut stale, if !swept => {
                    swept = true;
                    let report = fib.remove_stale(&HashSet::new()).await;
                    info!(removed = report.removed, "removed stale routes of a previous run");
                }
            }
        }
    });
    Ok(tx)
}

fn fib_change(c: &KernelChange) -> FibChange {
    let prefix = (c.prefix.addr(), c.prefix.len());
    let action = match c.action {
        KernelOp::Remove => return FibChange::Remove(prefix),
        KernelOp::Blackhole => FibAction::Blackhole,
        KernelOp::Install => FibAction::Unicast(
            c.next_hops.iter().map(|gw| FibNextHop::via(*gw)).collect(),
        ),
        KernelOp::Onlink => FibAction::Unicast(
            c.next_hops
                .iter()
                .map(|gw| FibNextHop::onlink(*gw, IPIP_DEVICE))
                .collect(),
        ),
    };
    FibChange::Upsert(FibRoute {
        prefix,
        action,
        metric: c.metric,
    })
}
