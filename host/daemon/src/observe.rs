//! The operators' read-only interfaces beside the JSON control socket:
//! the BIRD-compatible sockets calico-node's probes and `calicoctl node
//! status` read, and the HTTP endpoints (/metrics, /healthz, /readyz).
//! The routing thread builds the views ([`bird_view`], [`metrics_view`]);
//! this module serves them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bgplet_plugin::{FaultKind, Hook, PluginHost};
use bgplet_plugin_abi::Policy;
use bgplet_rib::Rib;
use bgplet_session::State;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use crate::birdctl::{
    self, BgpDetail, BgpRouteInfo, BgpState, BirdServer, BirdView, ChangeStats,
    DaemonPhase, Family, ProtoKind, ProtoState, ProtocolView, RouteCounts,
    RouteRow, RouteTarget,
};
use crate::control::Query;
use crate::metrics::{
    self, FamilyPrefixes, FibMetrics, FibOps, Health, HookErrors, HookMetrics,
    LoadCounts, MetricsServer, MetricsView, Probe, ReloadMetrics,
    SessionMetrics, SessionState,
};
use crate::routing::{Event, NodeInfo, PeerInfo};

/// BIRD's version string as calico-node records it ("BIRD v...").
pub const BIRD_VERSION: &str =
    concat!("v0.3.3+bgplet", env!("CARGO_PKG_VERSION"));

/// calico-node's readiness grace period after start: within it every
/// peer must be Established.
const READY_THRESHOLD: Duration = Duration::from_secs(30);

/// What the routing thread knows of an established session.
pub struct Facts {
    /// Negotiated hold time.
    pub hold_time: u16,
    /// Keepalive interval.
    pub keepalive_time: u16,
    /// Peer's BGP identifier.
    pub peer_id: Ipv4Addr,
    /// Our AS on the session.
    pub local_as: u32,
    /// Our end of the connection.
    pub source: Option<IpAddr>,
}

/// The BIRD view of the agent: the protocols calico-node's BIRD has,
/// one BGP protocol per session, and the route table.
pub fn bird_view<P: Policy>(
    node: &NodeInfo,
    peers: &[PeerInfo],
    rib: &Rib<P>,
    facts: impl Fn(&str) -> Option<Facts>,
    started: SystemTime,
    last_reconfig: SystemTime,
) -> BirdView {
    let counters: std::collections::HashMap<_, _> = rib
        .peers()
        .into_iter()
        .map(|p| (p.name.to_string(), (p.accepted, p.advertised)))
        .collect();
    let fixed = |name: &str, proto| ProtocolView {
        name: name.into(),
        proto,
        state: ProtoState::Up,
        since: started,
        info: String::new(),
        routes: RouteCounts::default(),
        changes: ChangeStats::default(),
        bgp: None,
    };
    let mut protocols = vec![
        fixed("device1", ProtoKind::Device),
        fixed("direct1", ProtoKind::Direct),
        fixed("kernel1", ProtoKind::Kernel),
        fixed("static1", ProtoKind::Static),
    ];
    for p in peers {
        let (state, since, info) = match p.row.lock() {
            Ok(r) => (r.state, r.since, r.info.clone()),
            Err(_) => (State::Idle, started, String::new()),
        };
        let f = facts(&p.name);
        let (imported, exported) =
            counters.get(&p.name).copied().unwrap_or_default();
        protocols.push(ProtocolView {
            name: p.name.clone(),
            proto: ProtoKind::Bgp,
            state: if state == State::Established {
                ProtoState::Up
            } else {
                ProtoState::Start
            },
            since,
            info: String::new(),
            routes: RouteCounts {
                imported,
                exported,
                preferred: 0,
            },
            changes: ChangeStats::default(),
            bgp: Some(BgpDetail {
                neighbor_address: p.address,
                neighbor_as: p.peer_as,
                local_as: f.as_ref().map_or(node.as_number, |f| f.local_as),
                neighbor_id: f.as_ref().map(|f| f.peer_id),
                bgp_state: bgp_state(state),
                hold_time: f.as_ref().map_or(240, |f| u32::from(f.hold_time)),
                hold_remaining: 0,
                keepalive_time: f
                    .as_ref()
                    .map_or(80, |f| u32::from(f.keepalive_time)),
                keepalive_remaining: 0,
                source_address: f.as_ref().and_then(|f| f.source),
                neighbor_caps: String::new(),
                last_error: (!info.is_empty()).then_some(info),
            }),
        });
    }
    let mut routes = Vec::new();
    for r in rib.routes() {
        let mut paths: Vec<&bgplet_rib::PathView> = r.paths.iter().collect();
        paths.sort_by_key(|p| !p.best);
        for p in paths {
            let local = p.peer_address.is_none();
            let next_hop = crate::routing::next_hop_of(p);
            let target = match (local, next_hop) {
                (true, _) | (false, None) => RouteTarget::Blackhole,
                (false, Some(gw)) => RouteTarget::Via {
                    gateway: gw,
                    iface: crate::ifaces::interface_for(gw)
                        .unwrap_or_else(|| "?".into()),
                },
            };
            let a = &p.attrs.attrs;
            routes.push(RouteRow {
                dst: r.prefix.addr(),
                len: r.prefix.len(),
                target,
                proto: if local {
                    "static1".into()
                } else {
                    p.source.to_string()
                },
                since: last_reconfig,
                primary: p.best,
                preference: if local { 200 } else { 100 },
                igp_metric: (!local).then_some(0),
                from: None,
                bgp: (!local).then(|| BgpRouteInfo {
                    origin_as: a.as_path.as_ref().and_then(|p| p.origin_as()),
                    origin: match a.origin {
                        Some(bgplet_wire::Origin::Egp) => birdctl::Origin::Egp,
                        Some(bgplet_wire::Origin::Incomplete) => {
                            birdctl::Origin::Incomplete
                        }
                        _ => birdctl::Origin::Igp,
                    },
                }),
            });
        }
    }
    BirdView {
        version: BIRD_VERSION.into(),
        router_id: node.router_id,
        server_time: SystemTime::now(),
        started,
        last_reconfig,
        graceful_restart: None,
        phase: DaemonPhase::Running,
        protocols,
        routes,
    }
}

fn bgp_state(state: State) -> BgpState {
    match state {
        State::Idle => BgpState::Idle,
        State::Connect => BgpState::Connect,
        State::Active => BgpState::Active,
        State::OpenSent => BgpState::OpenSent,
        State::OpenConfirm => BgpState::OpenConfirm,
        State::Established => BgpState::Established,
    }
}

/// The session part of /metrics.
pub fn metrics_view<P: Policy>(
    peers: &[PeerInfo],
    rib: &Rib<P>,
    counters: impl Fn(&str) -> (u64, u64),
) -> MetricsView {
    let views: std::collections::HashMap<_, _> = rib
        .peers()
        .into_iter()
        .map(|p| (p.name.to_string(), p))
        .collect();
    let sessions = peers
        .iter()
        .map(|p| {
            let state = p.row.lock().map_or(State::Idle, |r| r.state);
            let (updates_received, updates_sent) = counters(&p.name);
            let view = views.get(&p.name);
            SessionMetrics {
                name: p.name.clone(),
                address: p.address.to_string(),
                peer_as: p.peer_as,
                state: match state {
                    State::Idle => SessionState::Idle,
                    State::Connect => SessionState::Connect,
                    State::Active => SessionState::Active,
                    State::OpenSent => SessionState::OpenSent,
                    State::OpenConfirm => SessionState::OpenConfirm,
                    State::Established => SessionState::Established,
                },
                // Calico sessions carry one family each.
                families: vec![FamilyPrefixes {
                    family: if p.address.is_ipv4() {
                        "ipv4-unicast".into()
                    } else {
                        "ipv6-unicast".into()
                    },
                    received: view.map_or(0, |v| v.received),
                    accepted: view.map_or(0, |v| v.accepted),
                    advertised: view.map_or(0, |v| v.advertised),
                }],
                updates_received,
                updates_sent,
            }
        })
        .collect();
    MetricsView {
        version: env!("CARGO_PKG_VERSION").into(),
        sessions,
        plugins: Vec::new(),
        reloads: ReloadMetrics::default(),
        fib: FibMetrics::default(),
    }
}

/// Where the operators' interfaces listen.
pub struct Endpoints {
    /// BIRD-protocol socket for IPv4 (the IPv6 one sits beside it as
    /// `bird6.ctl`); `None` disables both.
    pub bird_socket: Option<PathBuf>,
    /// /metrics, /healthz, /readyz.
    pub http: Option<SocketAddr>,
}

/// Shared FIB counters, updated by the FIB task.
pub type FibCounters = Arc<Mutex<bgplet_fib::FibCounters>>;

/// Starts the BIRD sockets and the HTTP server. Failures to bind are
/// logged, never fatal: routing matters more than its dashboards.
pub async fn start(
    endpoints: Endpoints,
    routing: mpsc::Sender<Event>,
    plugins: PluginHost,
    fib: FibCounters,
) {
    let started = SystemTime::now();
    if let Some(v4) = endpoints.bird_socket {
        let v6 = bird6_path(&v4);
        for (path, family) in [(v4, Family::V4), (v6, Family::V6)] {
            match BirdServer::bind(&path, family) {
                Ok(server) => {
                    info!(socket = %path.display(), "serving the BIRD control protocol");
                    let (tx, mut rx) =
                        mpsc::channel::<birdctl::ViewRequest>(16);
                    tokio::spawn(server.serve(tx));
                    let routing = routing.clone();
                    tokio::spawn(async move {
                        while let Some(reply) = rx.recv().await {
                            let _ = routing
                                .send(Event::Query(Query::Bird(reply)))
                                .await;
                        }
                    });
                }
                Err(e) => warn!(
                    socket = %path.display(),
                    error = %e,
                    "cannot serve the BIRD control protocol"
                ),
            }
        }
    }
    let Some(addr) = endpoints.http else { return };
    let server = match MetricsServer::bind(addr).await {
        Ok(s) => s,
        Err(e) => {
            warn!(%addr, error = %e, "cannot serve /metrics");
            return;
        }
    };
    info!(%addr, "serving /metrics, /healthz and /readyz");
    let (tx, mut rx) = mpsc::channel::<Probe>(16);
    tokio::spawn(server.serve(tx));
    tokio::spawn(async move {
        while let Some(probe) = rx.recv().await {
            match probe {
                Probe::Metrics(reply) => {
                    let (tx, rx) = oneshot::channel();
                    if routing
                        .send(Event::Query(Query::Metrics(tx)))
                        .await
                        .is_err()
                    {
                        continue;
                    }
                    let Ok(mut view) = rx.await else { continue };
                    view.plugins = plugin_metrics(&plugins);
                    view.reloads = reload_metrics();
                    view.fib = fib_metrics(&fib);
                    let _ = reply.send(view);
                }
                Probe::Health(reply) => {
                    let (tx, rx) = oneshot::channel();
                    let asked =
                        routing.send(Event::Query(Query::Bird(tx))).await;
                    let view = match (asked, rx.await) {
                        (Ok(()), Ok(view)) => view,
                        _ => {
                            let _ = reply.send(Health {
                                alive: false,
                                ready: Err(
                                    "routing thread is not answering".into()
                                ),
                            });
                            continue;
                        }
                    };
                    let now = SystemTime::now();
                    let ready =
                        [Family::V4, Family::V6].iter().try_for_each(|f| {
                            birdctl::bird_ready(
                                &view,
                                *f,
                                started,
                                now,
                                READY_THRESHOLD,
                            )
                        });
                    let _ = reply.send(Health { alive: true, ready });
                }
            }
        }
    });
}

/// calico-node's IPv6 socket sits beside the IPv4 one.
fn bird6_path(v4: &Path) -> PathBuf {
    match v4.file_name().and_then(|n| n.to_str()) {
        Some("bird.ctl") => v4.with_file_name("bird6.ctl"),
        Some(name) => v4.with_file_name(format!("{name}6")),
        None => v4.join("bird6.ctl"),
    }
}

fn plugin_metrics(host: &PluginHost) -> Vec<metrics::PluginMetrics> {
    host.metrics()
        .into_iter()
        .map(|m| {
            let hooks =
                [Hook::Import, Hook::Selection, Hook::Export, Hook::Kernel]
                    .into_iter()
                    .map(|hook| {
                        let of = |list: &[(Hook, u64)]| {
                            list.iter()
                                .filter(|(h, _)| *h == hook)
                                .map(|(_, n)| n)
                                .sum::<u64>()
                        };
                        let fault = |kind: FaultKind| {
                            m.faults
                                .iter()
                                .filter(|(h, k, _)| *h == hook && *k == kind)
                                .map(|(_, _, n)| n)
                                .sum::<u64>()
                        };
                        HookMetrics {
                            hook: hook.as_str().into(),
                            calls: of(&m.calls),
                            errors: HookErrors {
                                trap: fault(FaultKind::Trap)
                                    + fault(FaultKind::Instantiate),
                                timeout: fault(FaultKind::Timeout),
                                oom: fault(FaultKind::OutOfMemory),
                                malformed: fault(FaultKind::Malformed),
                            },
                            fallbacks: of(&m.fallbacks) + of(&m.defaults),
                            latency: {
                                let l = m.latency_of(hook);
                                metrics::Histogram::from_counts(
                                    &metrics::LATENCY_BUCKETS,
                                    &l.counts,
                                    l.sum_seconds(),
                                )
                            },
                        }
                    })
                    .collect();
            metrics::PluginMetrics {
                plugin: m.plugin.clone(),
                hooks,
                loads: LoadCounts {
                    ok: m.loads,
                    rejected: m.load_failures,
                },
            }
        })
        .collect()
}

fn reload_metrics() -> ReloadMetrics {
    let (applied, rejected) = crate::plugins::reloads::snapshot();
    ReloadMetrics {
        applied,
        rejected: rejected
            .into_iter()
            .map(|(r, n)| (r.to_owned(), n))
            .collect(),
    }
}

fn fib_metrics(fib: &FibCounters) -> FibMetrics {
    let c = fib.lock().map(|c| *c).unwrap_or_default();
    FibMetrics {
        operations: FibOps {
            add: c.installed,
            replace: c.replaced,
            delete: c.removed,
        },
        errors: FibOps {
            add: c.failed,
            replace: 0,
            delete: 0,
        },
        pending: c.pending,
    }
}
