//! `bgplet run`: wires the datastore, the sessions, the routing thread
//! (RIB and plugins), the FIB task and the control socket together, and
//! applies configuration changes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use bgplet_calico::{BindMode, NodePlan, PlanOptions, Resources};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use crate::control::ControlServer;
use crate::datastore;
use crate::kernel;
use crate::peer::{self, PeerSpec};
use crate::policy::Policies;
use crate::resources;
use crate::routing::{self, Event as StoreEvent, NodeInfo, PeerInfo};
use crate::transport::{self, AcceptRoutes};

/// Options of `bgplet run`.
pub struct Options {
    /// Where the resources come from.
    pub source: datastore::Source,
    /// Namespace of password Secrets (Kubernetes datastore).
    pub secret_namespace: String,
    /// Node name.
    pub node: String,
    /// Control socket path.
    pub control_socket: PathBuf,
    /// BIRD-protocol socket path (IPv4; the IPv6 one sits beside it).
    pub bird_socket: Option<PathBuf>,
    /// Address of /metrics, /healthz and /readyz.
    pub http_listen: Option<std::net::SocketAddr>,
    /// Leave the kernel alone.
    pub no_fib: bool,
    /// Host-local IPAM: the nodes' pod CIDRs are their blocks.
    pub use_pod_cidr: bool,
    /// Run the Calico policy natively instead of the wasm plugins.
    pub native_policy: bool,
    /// CALICO_ROUTER_ID.
    pub router_id: Option<String>,
    /// Where the plugin manifest comes from (`None`: embedded defaults).
    pub plugins: Option<PluginSource>,
}

/// A watched source of plugin manifests.
#[derive(Debug, Clone)]
pub enum PluginSource {
    /// A directory with `manifest.yaml` and wasm files.
    Dir(PathBuf),
    /// A ConfigMap read through the Kubernetes API.
    ConfigMap {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
}

/// A running session task and how to stop it.
struct Running {
    spec: PeerSpec,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    info: PeerInfo,
}

/// Runs the agent until SIGINT or SIGTERM.
pub async fn run(opts: Options) -> anyhow::Result<()> {
    let plan_opts = PlanOptions {
        router_id: opts.router_id.clone(),
        secret_namespace: match opts.source {
            datastore::Source::Kubernetes { .. } => {
                Some(opts.secret_namespace.clone())
            }
            datastore::Source::File(_) => None,
        },
    };
    let mut snapshots =
        datastore::start(opts.source.clone(), opts.use_pod_cidr).await?;
    // Nothing is planned before the datastore has a complete, valid view.
    let first = snapshots
        .recv()
        .await
        .context("the datastore ended before its first snapshot")?
        .map_err(anyhow::Error::msg)?;
    let plan = resources::plan(&first, &opts.node, &plan_opts)?;
    info!(
        node = %plan.local.name,
        router_id = %plan.local.router_id,
        as_number = plan.local.as_number.value(),
        sessions = plan.sessions.len(),
        "starting"
    );

    // Routes of a previous run stay in the kernel for as long as peers
    // keep ours under graceful restart (BIRD's `persist` plus the
    // default restart time), then the ones not re-learned go.
    let fib_counters = crate::observe::FibCounters::default();
    let kernel_tx =
        kernel::spawn(!opts.no_fib, STALE_ROUTE_WINDOW, fib_counters.clone())
            .await?;
    let (bundle, mut candidates) =
        crate::plugins::watch::start(opts.plugins.clone()).await?;
    let mut policies = Policies::start(&plan, &first, bundle)
        .context("loading the plugins")?;
    if opts.native_policy {
        warn!(
            "--native-policy: the Calico policy runs natively; plugin manifests and reloads do not apply"
        );
        policies.use_native();
    }
    let plugin_status = policies.status();
    let store_tx = routing::spawn(
        NodeInfo {
            node: plan.local.name.clone(),
            router_id: plan.local.router_id,
            as_number: plan.local.as_number.value(),
            cluster_id: plan.local.rr_cluster_id,
            addresses: [
                plan.local.ipv4.map(IpAddr::V4),
                plan.local.ipv6.map(IpAddr::V6),
            ]
            .into_iter()
            .flatten()
            .collect(),
            started: crate::time::rfc3339(SystemTime::now()),
        },
        policies.worker(),
        kernel_tx,
        !opts.no_fib,
    );
    crate::observe::start(
        crate::observe::Endpoints {
            bird_socket: opts.bird_socket.clone(),
            http: opts.http_listen,
        },
        store_tx.clone(),
        policies.host(),
        fib_counters,
    )
    .await;

    let control =
        ControlServer::bind(&opts.control_socket).with_context(|| {
            format!("binding control socket {}", opts.control_socket.display())
        })?;
    let (query_tx, mut query_rx) = mpsc::channel(16);
    tokio::spawn(control.serve(query_tx));
    let store_for_queries = store_tx.clone();
    tokio::spawn(async move {
        while let Some(q) = query_rx.recv().await {
            let q = crate::plugins::watch::with_status(q, &plugin_status);
            if store_for_queries.send(StoreEvent::Query(q)).await.is_err() {
                return;
            }
        }
    });

    let routes = AcceptRoutes::default();
    let listeners = bind(&plan)?;
    for l in &listeners {
        tokio::spawn(accept(l.clone(), routes.clone()));
    }

    let mut agent = Agent {
        running: HashMap::new(),
        routes,
        listeners,
        store: store_tx,
        plan: None,
        policies,
    };
    agent.apply(plan, &first).await;

    let mut sigterm = tokio::signal::unix::signal(
        tokio::signal::unix::SignalKind::terminate(),
    )
    .context("installing the SIGTERM handler")?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = sigterm.recv() => break,
            Some(candidate) = candidates.recv() => {
                agent.reload_plugins(candidate).await;
            }
            snapshot = snapshots.recv() => {
                let Some(snapshot) = snapshot else {
                    warn!("the datastore stopped; keeping the current configuration");
                    std::future::pending::<()>().await;
                    continue;
                };
                let planned = snapshot
                    .map_err(anyhow::Error::msg)
                    .and_then(|res| {
                        resources::plan(&res, &opts.node, &plan_opts)
                            .map(|plan| (plan, res))
                            .map_err(Into::into)
                    });
                match planned {
                    Ok((plan, res)) => {
                        info!("resources changed; applying");
                        agent.apply(plan, &res).await;
                    }
                    Err(e) => error!(
                        error = %e,
                        "resources rejected; keeping the last good configuration"
                    ),
                }
            }
        }
    }
    info!("shutting down");
    agent.stop_all().await;
    Ok(())
}

struct Agent {
    running: HashMap<String, Running>,
    routes: AcceptRoutes,
    listeners: Vec<Arc<TcpListener>>,
    store: mpsc::Sender<StoreEvent>,
    plan: Option<NodePlan>,
    policies: Policies,
}

/// How long routes found in the kernel at start are kept without being
/// re-learned: Calico's default graceful-restart time.
const STALE_ROUTE_WINDOW: Duration = Duration::from_secs(120);

impl Agent {
    /// Validates and activates a new plugin manifest, then has every
    /// route decided again; sessions are never touched.
    async fn reload_plugins(
        &mut self,
        candidate: crate::plugins::watch::Candidate,
    ) {
        match candidate {
            Ok(bundle) => {
                let outcome = self.policies.reload(bundle).await;
                crate::plugins::reloads::count(&outcome);
                if outcome.is_ok() {
                    let _ = self.store.send(StoreEvent::Reevaluate).await;
                }
            }
            Err(e) => {
                crate::plugins::reloads::unreadable(&e);
                self.policies.refuse("plugin source", &e)
            }
        }
    }

    /// Brings the running sessions in line with `plan`: sessions whose
    /// parameters did not change are left alone (calico-bgp.md 5.5).
    async fn apply(&mut self, plan: NodePlan, res: &Resources) {
        if self.plan.is_some() {
            // The plugins decide with the node's context (pools, blocks,
            // filters, communities): give them the new one first.
            match self.policies.reconfigure(&plan, res) {
                Ok(true) => {
                    let _ = self.store.send(StoreEvent::Reevaluate).await;
                }
                Ok(false) => {}
                Err(e) => error!(
                    error = %e,
                    "plugins rejected the new configuration; keeping their previous one"
                ),
            }
        }
        if let Some(old) = &self.plan
            && (old.local.listen_port != plan.local.listen_port
                || old.local.bind_mode != plan.local.bind_mode)
        {
            warn!("listenPort/bindMode changes need a restart of the agent");
        }
        let wanted: HashMap<String, PeerSpec> = plan
            .sessions
            .iter()
            .map(|s| (s.name.clone(), resources::peer_spec(&plan, s)))
            .collect();
        let stale: Vec<String> = self
            .running
            .iter()
            .filter(|(name, r)| wanted.get(*name) != Some(&r.spec))
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            if let Some(r) = self.running.remove(&name) {
                info!(session = %name, "stopping session (removed or changed)");
                self.routes.remove(r.spec.address);
                if r.spec.socket.password.is_some() {
                    self.set_listener_key(r.spec.address, "");
                }
                let _ = r.stop.send(true);
                let _ =
                    tokio::time::timeout(Duration::from_secs(2), r.task).await;
                let _ = self
                    .store
                    .send(StoreEvent::PeerDown {
                        name: name.clone(),
                        graceful: None,
                    })
                    .await;
            }
        }
        let mut names: Vec<&String> = wanted.keys().collect();
        names.sort();
        for name in names {
            if self.running.contains_key(name) {
                continue;
            }
            let spec = wanted[name].clone();
            info!(session = %name, peer = %spec.address, passive = spec.session.passive, "starting session");
            self.start(spec);
        }
        let infos: Vec<PeerInfo> = {
            let mut v: Vec<&Running> = self.running.values().collect();
            v.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
            v.into_iter().map(|r| r.info.clone()).collect()
        };
        let _ = self.store.send(StoreEvent::SetPeers(infos)).await;
        let _ = self
            .store
            .send(StoreEvent::SetLocal(resources::local_routes(&plan)))
            .await;
        self.plan = Some(plan);
    }

    fn start(&mut self, spec: PeerSpec) {
        let (inbound_tx, inbound_rx) = mpsc::channel(2);
        self.routes
            .insert(spec.address, inbound_tx, spec.socket.clone());
        if let Some(password) = &spec.socket.password {
            self.set_listener_key(spec.address, password);
        }
        let row = peer::new_row();
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(peer::run(
            spec.clone(),
            inbound_rx,
            self.store.clone(),
            row.clone(),
            stop_rx,
        ));
        let info = PeerInfo {
            name: spec.name.clone(),
            address: spec.address,
            port: spec.port,
            type_label: spec.type_label.clone(),
            peer_as: spec.session.remote_as,
            row,
        };
        self.running.insert(
            spec.name.clone(),
            Running {
                spec,
                stop,
                task,
                info,
            },
        );
    }

    fn set_listener_key(&self, peer: IpAddr, password: &str) {
        for l in &self.listeners {
            if let Err(e) = crate::sockopt::set_tcp_md5(
                l.as_ref(),
                peer,
                password.as_bytes(),
            ) {
                warn!(%peer, error = %e, "cannot set TCP-MD5 key on the listener");
            }
        }
    }

    async fn stop_all(&mut self) {
        for (_, r) in self.running.drain() {
            let _ = r.stop.send(true);
            let _ = tokio::time::timeout(Duration::from_secs(2), r.task).await;
        }
    }
}

fn bind(plan: &NodePlan) -> anyhow::Result<Vec<Arc<TcpListener>>> {
    let addresses: Vec<IpAddr> = if plan.local.bind_mode == BindMode::NodeIp {
        [
            plan.local.ipv4.map(IpAddr::V4),
            plan.local.ipv6.map(IpAddr::V6),
        ]
        .into_iter()
        .flatten()
        .collect()
    } else {
        Vec::new()
    };
    let listeners =
        transport::bind_listeners(&addresses, plan.local.listen_port)
            .with_context(|| {
                format!("listening on BGP port {}", plan.local.listen_port)
            })?;
    Ok(listeners.into_iter().map(Arc::new).collect())
}

async fn accept(listener: Arc<TcpListener>, routes: AcceptRoutes) {
    transport::accept_loop(listener, routes).await;
}
