//! The watch loop: one `kube` watcher per kind (and per referenced
//! Secret), one coordinator that owns every store and sends snapshots.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bgplet_calico::Resources;
use futures::StreamExt;
use kube::core::DynamicObject;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::cache::{Change, Store};
use crate::discovery::discover;
use crate::error::Error;
use crate::kinds::{Shape, WatchedKind, advertises_services, secret_refs};
use crate::options::KubeOptions;

/// Discovery retry: first delay and cap.
const DISCOVERY_RETRY: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(30));

/// What snapshots are sent on: a complete, validated set of resources,
/// or why the latest state could not be turned into one.
pub type Snapshots = mpsc::Receiver<Result<Resources, Error>>;

/// The Kubernetes datastore. Build it with [`KubeDatastore::new`], start
/// it with [`KubeDatastore::run`].
pub struct KubeDatastore {
    client: Client,
    opts: KubeOptions,
}

impl KubeDatastore {
    /// A datastore reading through `client` (from
    /// `kube::Client::try_default()`: the in-cluster service account,
    /// else `$KUBECONFIG`).
    pub fn new(client: Client, opts: KubeOptions) -> Self {
        Self { client, opts }
    }

    /// Starts watching on the current tokio runtime and returns the
    /// snapshot channel.
    ///
    /// The first item arrives once every watcher has listed its kind;
    /// after that, one item per burst of changes (gathered for
    /// [`KubeOptions::debounce`]); a state identical to the last one
    /// sent is not sent again. An `Err` item is informational: the
    /// datastore keeps going and the next change yields a new item.
    /// Dropping the receiver stops every watcher.
    pub fn run(self) -> Snapshots {
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(self.main(tx));
        rx
    }

    async fn main(self, tx: mpsc::Sender<Result<Resources, Error>>) {
        let mut delay = DISCOVERY_RETRY.0;
        let found = loop {
            let attempt = tokio::select! {
                r = discover(&self.client, self.opts.api_group) => r,
                () = tx.closed() => return,
            };
            match attempt {
                Ok(found) => break found,
                Err(e) => {
                    warn!(error = %e, retry_in = ?delay, "Calico discovery");
                    if tx.send(Err(e)).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(DISCOVERY_RETRY.1);
                }
            }
        };
        info!(
            group = %found.group.api_version(),
            "reading Calico resources"
        );
        for kind in &found.missing {
            warn!(
                kind = %kind.resource.kind,
                "not served by the API server; empty until it appears"
            );
        }
        // Kinds not served yet are watched too (kube's watcher retries
        // with backoff, up to every 30 s), so a CRD installed later by a
        // Calico upgrade is picked up without a restart.
        let mut kinds: Vec<(WatchedKind, bool)> =
            found.kinds.into_iter().map(|k| (k, false)).collect();
        kinds.extend(found.missing.into_iter().map(|k| (k, true)));
        kinds.push((WatchedKind::nodes(), false));
        Coordinator::new(self.client, self.opts, kinds)
            .run(tx)
            .await;
    }
}

/// Where a watcher event comes from.
#[derive(Clone, Debug)]
enum Source {
    /// Index into the coordinator's static kinds.
    Kind(usize),
    /// A Secret watch, by name and generation (a re-added name gets a
    /// new generation, so late events of the old watch are ignored).
    Secret(String, u64),
    /// The Services (0) or EndpointSlices (1) watch of a generation.
    Services(usize, u64),
}

struct Msg {
    source: Source,
    change: Result<Change, String>,
}

/// Aborts the watcher task when dropped.
struct Task(JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct SecretWatch {
    generation: u64,
    store: Store,
    _task: Task,
}

/// Services and EndpointSlices, watched only while service
/// advertisement is configured (calico-bgp.md 2.1).
struct ServiceWatch {
    generation: u64,
    /// Services, then EndpointSlices.
    stores: [Store; 2],
    _tasks: [Task; 2],
}

/// A statically watched kind.
struct KindWatch {
    kind: WatchedKind,
    store: Store,
    /// Not served at discovery: a failing list counts as empty.
    optional: bool,
}

struct Coordinator {
    client: Client,
    opts: KubeOptions,
    kinds: Vec<KindWatch>,
    secrets: BTreeMap<String, SecretWatch>,
    services: Option<ServiceWatch>,
    next_generation: u64,
    events_tx: mpsc::Sender<Msg>,
    events_rx: mpsc::Receiver<Msg>,
    _tasks: Vec<Task>,
    dirty: bool,
    deadline: Option<Instant>,
    last_sent: Option<String>,
}

impl Coordinator {
    fn new(
        client: Client,
        opts: KubeOptions,
        kinds: Vec<(WatchedKind, bool)>,
    ) -> Self {
        let (events_tx, events_rx) = mpsc::channel(1024);
        let tasks = kinds
            .iter()
            .enumerate()
            .map(|(i, (kind, _))| {
                let api = Api::all_with(client.clone(), &kind.resource);
                spawn_watch(
                    api,
                    watcher::Config::default(),
                    kind.clone(),
                    Source::Kind(i),
                    events_tx.clone(),
                )
            })
            .collect();
        Self {
            client,
            opts,
            kinds: kinds
                .into_iter()
                .map(|(kind, optional)| KindWatch {
                    kind,
                    store: Store::default(),
                    optional,
                })
                .collect(),
            secrets: BTreeMap::new(),
            services: None,
            next_generation: 0,
            events_tx,
            events_rx,
            _tasks: tasks,
            dirty: false,
            deadline: None,
            last_sent: None,
        }
    }

    async fn run(mut self, tx: mpsc::Sender<Result<Resources, Error>>) {
        loop {
            let deadline = self.deadline;
            let due = async move {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                msg = self.events_rx.recv() => match msg {
                    Some(msg) => self.handle(msg),
                    None => return,
                },
                () = due => {
                    self.deadline = None;
                    if !self.flush(&tx).await {
                        return;
                    }
                }
                () = tx.closed() => return,
            }
            if self.dirty && self.deadline.is_none() && self.all_synced() {
                self.deadline = Some(Instant::now() + self.opts.debounce);
            }
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg.source {
            Source::Kind(i) => {
                let Some(w) = self.kinds.get_mut(i) else {
                    return;
                };
                let calico = w.kind.shape == Shape::Calico;
                match msg.change {
                    Ok(change) => {
                        if w.store.apply(change) {
                            self.dirty = true;
                            if calico {
                                self.update_secret_watches();
                                self.update_service_watches();
                            }
                        }
                    }
                    Err(e) if w.optional => {
                        if w.store.give_up_initial_list() {
                            self.dirty = true;
                        }
                        debug!(
                            kind = %w.kind.resource.kind,
                            error = %e,
                            "kind not served yet; retrying"
                        );
                    }
                    // kube's watcher retries with backoff on its own.
                    Err(e) => warn!(
                        kind = %w.kind.resource.kind,
                        error = %e,
                        "watch failed; retrying"
                    ),
                }
            }
            Source::Secret(name, generation) => {
                let Some(w) = self.secrets.get_mut(&name) else {
                    return;
                };
                if w.generation != generation {
                    return;
                }
                match msg.change {
                    Ok(change) => self.dirty |= w.store.apply(change),
                    Err(e) => {
                        warn!(
                            secret = %name,
                            namespace = %self.opts.secret_namespace,
                            error = %e,
                            "cannot read password Secret; retrying"
                        );
                        // Calico configures no password for a Secret it
                        // cannot read (calico-bgp.md 10); do not hold
                        // every other change back on it.
                        self.dirty |= w.store.give_up_initial_list();
                    }
                }
            }
            Source::Services(i, generation) => {
                let Some(w) = self.services.as_mut() else {
                    return;
                };
                let Some(store) = w.stores.get_mut(i) else {
                    return;
                };
                if w.generation != generation {
                    return;
                }
                match msg.change {
                    Ok(change) => self.dirty |= store.apply(change),
                    // Like Calico's own kinds: no snapshot until listed
                    // (a missing RBAC rule shows here); kube's watcher
                    // retries with backoff.
                    Err(e) => warn!(
                        kind = if i == 0 { "Service" } else { "EndpointSlice" },
                        error = %e,
                        "watch failed; retrying"
                    ),
                }
            }
        }
    }

    /// Starts the Service and EndpointSlice watches when the `default`
    /// BGPConfiguration gains a service range, stops them when it has
    /// none left.
    fn update_service_watches(&mut self) {
        let wanted = self
            .kinds
            .iter()
            .filter(|w| w.kind.shape == Shape::Calico)
            .flat_map(|w| w.store.objects())
            .any(advertises_services);
        match (wanted, self.services.is_some()) {
            (true, false) => {
                info!(
                    "service advertisement on: watching Services and EndpointSlices"
                );
                let generation = self.next_generation;
                self.next_generation += 1;
                let kinds =
                    [WatchedKind::services(), WatchedKind::endpoint_slices()];
                let tasks = kinds.map(|kind| {
                    let i = usize::from(kind.shape == Shape::EndpointSlice);
                    let api =
                        Api::all_with(self.client.clone(), &kind.resource);
                    spawn_watch(
                        api,
                        watcher::Config::default(),
                        kind,
                        Source::Services(i, generation),
                        self.events_tx.clone(),
                    )
                });
                self.services = Some(ServiceWatch {
                    generation,
                    stores: [Store::default(), Store::default()],
                    _tasks: tasks,
                });
            }
            (false, true) => {
                info!("service advertisement off: no longer watching Services");
                self.services = None;
                self.dirty = true;
            }
            _ => {}
        }
    }

    /// Starts a watch for each newly referenced Secret and stops the
    /// watches of Secrets no longer referenced.
    fn update_secret_watches(&mut self) {
        let wanted: BTreeSet<String> = self
            .kinds
            .iter()
            .filter(|w| w.kind.shape == Shape::Calico)
            .flat_map(|w| w.store.objects().flat_map(secret_refs))
            .collect();
        let before = self.secrets.len();
        self.secrets.retain(|name, _| wanted.contains(name));
        if self.secrets.len() != before {
            self.dirty = true;
        }
        for name in wanted {
            if self.secrets.contains_key(&name) {
                continue;
            }
            debug!(secret = %name, "watching password Secret");
            let generation = self.next_generation;
            self.next_generation += 1;
            let kind = WatchedKind::secrets();
            let api = Api::namespaced_with(
                self.client.clone(),
                &self.opts.secret_namespace,
                &kind.resource,
            );
            // Watching by name lets RBAC grant access to just the named
            // Secrets (resourceNames), as Calico's own docs do.
            let config = watcher::Config::default()
                .fields(&format!("metadata.name={name}"));
            let task = spawn_watch(
                api,
                config,
                kind,
                Source::Secret(name.clone(), generation),
                self.events_tx.clone(),
            );
            self.secrets.insert(
                name,
                SecretWatch {
                    generation,
                    store: Store::default(),
                    _task: task,
                },
            );
        }
    }

    fn all_synced(&self) -> bool {
        self.kinds.iter().all(|w| w.store.synced())
            && self.secrets.values().all(|w| w.store.synced())
            && self
                .services
                .iter()
                .all(|w| w.stores.iter().all(Store::synced))
    }

    /// Sends a snapshot if everything is listed and something changed.
    /// Returns false once the receiver is gone.
    async fn flush(
        &mut self,
        tx: &mpsc::Sender<Result<Resources, Error>>,
    ) -> bool {
        if !self.all_synced() {
            return true;
        }
        self.dirty = false;
        let item = match self.render() {
            Ok(text) if self.last_sent.as_deref() == Some(text.as_str()) => {
                return true;
            }
            Ok(text) => {
                let loaded = Resources::from_yaml_str(&text);
                if self.last_sent.is_none() {
                    info!("initial sync complete");
                }
                self.last_sent = Some(text);
                loaded.map_err(Error::from)
            }
            Err(e) => Err(e),
        };
        if let Err(e) = &item {
            warn!(error = %e, "snapshot rejected");
        }
        tx.send(item).await.is_ok()
    }

    /// Every current object as one YAML stream, in a fixed order (kinds,
    /// then Secrets, then Services and EndpointSlices; by name within
    /// each).
    fn render(&self) -> Result<String, Error> {
        let services = self
            .services
            .iter()
            .flat_map(|w| w.stores.iter().flat_map(|s| s.objects()));
        let objects = self
            .kinds
            .iter()
            .flat_map(|w| w.store.objects())
            .chain(self.secrets.values().flat_map(|w| w.store.objects()))
            .chain(services);
        let mut text = String::new();
        for obj in objects {
            text.push_str("---\n");
            text.push_str(&serde_yaml::to_string(obj)?);
        }
        Ok(text)
    }
}

fn spawn_watch(
    api: Api<DynamicObject>,
    config: watcher::Config,
    kind: WatchedKind,
    source: Source,
    tx: mpsc::Sender<Msg>,
) -> Task {
    Task(tokio::spawn(async move {
        // default_backoff: without it a failing list is retried in a
        // tight loop.
        let mut events =
            watcher::watcher(api, config).default_backoff().boxed();
        while let Some(item) = events.next().await {
            let change = match item {
                Ok(Event::Init) => Ok(Change::Init),
                Ok(Event::InitApply(obj)) => {
                    let (key, value) = kind.trim(&obj);
                    Ok(Change::InitApply(key, value))
                }
                Ok(Event::InitDone) => Ok(Change::InitDone),
                Ok(Event::Apply(obj)) => {
                    let (key, value) = kind.trim(&obj);
                    Ok(Change::Apply(key, value))
                }
                Ok(Event::Delete(obj)) => Ok(Change::Delete(kind.trim(&obj).0)),
                Err(e) => Err(e.to_string()),
            };
            let msg = Msg {
                source: source.clone(),
                change,
            };
            if tx.send(msg).await.is_err() {
                return;
            }
        }
    }))
}
