//! A list/watch API server on a loopback address that speaks the
//! Kubernetes wire format well enough for `kube`'s client and watcher:
//!
//! * `GET /apis` (APIGroupList) and `GET /apis/{group}/{version}`
//!   (APIResourceList) for discovery;
//! * `GET <collection>` returns a `…List` whose `metadata.resourceVersion`
//!   is the current global revision (items of core kinds carry no
//!   apiVersion/kind, as the real server sends them);
//! * `GET <collection>?watch=true&resourceVersion=N` streams
//!   newline-delimited `{"type":…,"object":…}` events with chunked
//!   transfer encoding: every recorded event after N, then live ones;
//!   `BOOKMARK` events on request; `ERROR` with a 410 `Status` when N is
//!   older than the compaction floor;
//! * `fieldSelector=metadata.name=X` on lists and watches;
//! * Services and EndpointSlices both per namespace and across all
//!   namespaces (`/api/v1/services`,
//!   `/apis/discovery.k8s.io/v1/endpointslices`), as the real server
//!   serves them.
//!
//! Tests can change objects live or "unseen" (recorded, but not sent to
//! open watches, like events a dropped connection missed), drop every
//! watch connection mid-stream, compact history and delay lists.
//!
//! This is not a kube-apiserver: no test runs against a real cluster.
//! The object shapes tests feed it come from `kubectl get -o yaml`
//! output of Calico's CRDs and Kubernetes Nodes/Secrets/ConfigMaps.
//!
//! Two users: host/kube's tests (async, a `kube::Client` pointed at
//! [`FakeApi::url`]; they include this file by path, so it depends on
//! nothing but tokio and serde_json) and the end-to-end tests here,
//! through [`KubeApiServer`], which runs it inside a lab namespace for a
//! `bgplet` process given a kubeconfig.

// A test server: a panic here is a bug in the test that feeds it.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

/// A collection: where objects of one kind live.
#[derive(Clone, Debug)]
struct Collection {
    api_version: String,
    kind: String,
    core: bool,
    objects: BTreeMap<String, Value>,
}

/// One recorded change.
#[derive(Clone, Debug)]
struct Recorded {
    rv: u64,
    path: String,
    kind: &'static str,
    object: Value,
}

#[derive(Clone, Debug)]
enum Notice {
    Event(Recorded),
    Bookmark(u64),
    DropWatches,
}

/// A served resource: plural, kind, namespaced.
type Served = (String, String, bool);

#[derive(Default)]
struct State {
    rv: u64,
    floor: u64,
    collections: BTreeMap<String, Collection>,
    history: Vec<Recorded>,
    /// (group, version) -> [(plural, kind, namespaced)]
    groups: BTreeMap<(String, String), Vec<Served>>,
    list_delay: HashMap<String, Duration>,
    forbidden: Vec<String>,
    log: Vec<String>,
}

/// The running fake server.
#[derive(Clone)]
pub struct FakeApi {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    notices: broadcast::Sender<Notice>,
}

/// Every Service, in all namespaces.
pub const SERVICES: &str = "/api/v1/services";
/// Every EndpointSlice, in all namespaces.
pub const ENDPOINT_SLICES: &str = "/apis/discovery.k8s.io/v1/endpointslices";

/// The all-namespaces collection mirroring a namespaced one, with the
/// object's key there (`namespace/name`).
fn all_namespaces(path: &str, name: &str) -> Option<(String, String)> {
    let (prefix, rest) = path.split_once("/namespaces/")?;
    let (ns, plural) = rest.split_once('/')?;
    Some((format!("{prefix}/{plural}"), format!("{ns}/{name}")))
}

/// The collection path an object lives at.
pub fn path_of(obj: &Value) -> String {
    let api_version = obj["apiVersion"].as_str().unwrap();
    let plural = plural(obj["kind"].as_str().unwrap());
    let prefix = if api_version.contains('/') {
        format!("/apis/{api_version}")
    } else {
        format!("/api/{api_version}")
    };
    match obj["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{prefix}/namespaces/{ns}/{plural}"),
        None => format!("{prefix}/{plural}"),
    }
}

fn plural(kind: &str) -> String {
    match kind {
        "BlockAffinity" => "blockaffinities".into(),
        k => format!("{}s", k.to_lowercase()),
    }
}

impl FakeApi {
    /// Starts serving `fixtures` (objects as `kubectl get -o yaml` shows
    /// them); `groups` are the Calico API groups to advertise, with the
    /// plurals each serves.
    pub async fn start(
        fixtures: &[Value],
        groups: &[(&str, &str, &[&str])],
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(listener, fixtures, groups)
    }

    /// Like [`FakeApi::start`] on a listener the caller bound (e.g.
    /// inside a network namespace); needs a tokio runtime.
    pub fn start_on(
        listener: TcpListener,
        fixtures: &[Value],
        groups: &[(&str, &str, &[&str])],
    ) -> Self {
        let addr = listener.local_addr().unwrap();
        let mut st = State::default();
        for (group, version, plurals) in groups {
            let kinds = plurals
                .iter()
                .map(|p| (p.to_string(), kind_of_plural(p), false))
                .collect();
            st.groups
                .insert((group.to_string(), version.to_string()), kinds);
            for p in *plurals {
                let path = format!("/apis/{group}/{version}/{p}");
                st.collections.insert(
                    path,
                    Collection {
                        api_version: format!("{group}/{version}"),
                        kind: kind_of_plural(p),
                        core: false,
                        objects: BTreeMap::new(),
                    },
                );
            }
        }
        let core = [
            ("/api/v1/nodes", "v1", "Node"),
            ("/api/v1/namespaces/calico-system/secrets", "v1", "Secret"),
            // Cluster-wide views of namespaced kinds.
            (SERVICES, "v1", "Service"),
            (ENDPOINT_SLICES, "discovery.k8s.io/v1", "EndpointSlice"),
        ];
        for (path, api_version, kind) in core {
            st.collections.insert(
                path.to_string(),
                Collection {
                    api_version: api_version.into(),
                    kind: kind.into(),
                    core: true,
                    objects: BTreeMap::new(),
                },
            );
        }
        let (notices, _) = broadcast::channel(1024);
        let api = Self {
            addr,
            state: Arc::new(Mutex::new(st)),
            notices,
        };
        for f in fixtures {
            api.record(f.clone(), false);
        }
        let served = api.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let api = served.clone();
                tokio::spawn(async move { api.serve(sock).await });
            }
        });
        api
    }

    /// The base URL for `kube::Config::new`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Creates or replaces an object, sending the event to open watches.
    pub fn put(&self, obj: Value) -> u64 {
        self.record(obj, true)
    }

    /// Creates or replaces an object without telling open watches (the
    /// event is in history for a watch that resumes from before it).
    pub fn put_unseen(&self, obj: Value) -> u64 {
        self.record(obj, false)
    }

    /// Deletes an object, sending the event to open watches.
    pub fn delete(&self, path: &str, name: &str) -> u64 {
        self.remove(path, name, true)
    }

    /// Deletes an object without telling open watches.
    pub fn delete_unseen(&self, path: &str, name: &str) -> u64 {
        self.remove(path, name, false)
    }

    /// Makes every revision before the current one too old to watch from
    /// (etcd compaction): such a watch gets 410 Gone.
    pub fn compact(&self) {
        let mut st = self.state.lock().unwrap();
        st.floor = st.rv;
        st.history.clear();
    }

    /// Closes every open watch connection mid-stream (no final chunk).
    pub fn drop_watches(&self) {
        let _ = self.notices.send(Notice::DropWatches);
    }

    /// Sends a BOOKMARK with the current revision to every open watch.
    pub fn bookmark(&self) -> u64 {
        let rv = self.state.lock().unwrap().rv;
        let _ = self.notices.send(Notice::Bookmark(rv));
        rv
    }

    /// Starts serving a kind that was not served before (a CRD
    /// installed while the client runs).
    pub fn serve_kind(&self, group: &str, version: &str, plural: &str) {
        let mut st = self.state.lock().unwrap();
        let key = (group.to_string(), version.to_string());
        let kind = kind_of_plural(plural);
        let entry = st.groups.entry(key).or_default();
        entry.push((plural.to_string(), kind.clone(), false));
        st.collections.insert(
            format!("/apis/{group}/{version}/{plural}"),
            Collection {
                api_version: format!("{group}/{version}"),
                kind,
                core: false,
                objects: BTreeMap::new(),
            },
        );
    }

    /// Makes list requests on `path` wait `delay` before answering.
    pub fn delay_lists(&self, path: &str, delay: Duration) {
        let mut st = self.state.lock().unwrap();
        st.list_delay.insert(path.to_string(), delay);
    }

    /// Answers 403 Forbidden to requests for the object `name` (by
    /// field selector), as RBAC does for a name outside resourceNames.
    pub fn forbid(&self, name: &str) {
        self.state.lock().unwrap().forbidden.push(name.to_string());
    }

    /// The request lines served so far (`GET /path?query`).
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    /// Lists (not watches) served on `path`.
    pub fn lists_of(&self, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| {
                let (p, q) = split_target(r);
                p == path && !q.contains("watch=true")
            })
            .count()
    }

    /// Watches requested on `path`, with their resourceVersion.
    pub fn watches_of(&self, path: &str) -> Vec<String> {
        self.requests()
            .iter()
            .filter_map(|r| {
                let (p, q) = split_target(r);
                let params = query(q);
                (p == path
                    && params.get("watch").map(String::as_str) == Some("true"))
                .then(|| {
                    params.get("resourceVersion").cloned().unwrap_or_default()
                })
            })
            .collect()
    }

    fn record(&self, mut obj: Value, live: bool) -> u64 {
        let path = path_of(&obj);
        let name = obj["metadata"]["name"].as_str().unwrap().to_string();
        let mut st = self.state.lock().unwrap();
        st.rv += 1;
        let rv = st.rv;
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let coll =
            st.collections
                .entry(path.clone())
                .or_insert_with(|| Collection {
                    api_version: obj["apiVersion"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    kind: obj["kind"].as_str().unwrap().to_string(),
                    core: !obj["apiVersion"].as_str().unwrap().contains('/'),
                    objects: BTreeMap::new(),
                });
        let kind = if coll.objects.contains_key(&name) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        coll.objects.insert(name.clone(), obj.clone());
        let mut recs = vec![Recorded {
            rv,
            path: path.clone(),
            kind,
            object: obj.clone(),
        }];
        if let Some((all, key)) = all_namespaces(&path, &name)
            && let Some(coll) = st.collections.get_mut(&all)
        {
            coll.objects.insert(key, obj.clone());
            recs.push(Recorded {
                rv,
                path: all,
                kind,
                object: obj,
            });
        }
        st.history.extend(recs.iter().cloned());
        drop(st);
        if live {
            for rec in recs {
                let _ = self.notices.send(Notice::Event(rec));
            }
        }
        rv
    }

    fn remove(&self, path: &str, name: &str, live: bool) -> u64 {
        let mut st = self.state.lock().unwrap();
        st.rv += 1;
        let rv = st.rv;
        let mut obj = st
            .collections
            .get_mut(path)
            .and_then(|c| c.objects.remove(name))
            .expect("deleting an object that does not exist");
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let mut recs = vec![Recorded {
            rv,
            path: path.to_string(),
            kind: "DELETED",
            object: obj.clone(),
        }];
        if let Some((all, key)) = all_namespaces(path, name)
            && let Some(coll) = st.collections.get_mut(&all)
        {
            coll.objects.remove(&key);
            recs.push(Recorded {
                rv,
                path: all,
                kind: "DELETED",
                object: obj,
            });
        }
        st.history.extend(recs.iter().cloned());
        drop(st);
        if live {
            for rec in recs {
                let _ = self.notices.send(Notice::Event(rec));
            }
        }
        rv
    }

    async fn serve(self, mut sock: TcpStream) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let head = String::from_utf8_lossy(&buf).to_string();
        let line = head.lines().next().unwrap_or_default().to_string();
        let mut parts = line.split(' ');
        let (method, target) =
            (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        self.state
            .lock()
            .unwrap()
            .log
            .push(format!("{method} {target}"));
        let (path, q) = split_target(target);
        let params = query(q);
        if method != "GET" {
            return respond(
                &mut sock,
                405,
                &status(405, "MethodNotAllowed", "only GET"),
            )
            .await;
        }
        if path == "/apis" {
            let body = self.api_groups();
            return respond(&mut sock, 200, &body).await;
        }
        if let Some(body) = self.group_resources(path) {
            return respond(&mut sock, 200, &body).await;
        }
        let exists = self.state.lock().unwrap().collections.contains_key(path);
        if !exists {
            return respond(
                &mut sock,
                404,
                &status(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                ),
            )
            .await;
        }
        let wanted = params
            .get("fieldSelector")
            .and_then(|s| s.strip_prefix("metadata.name="));
        let forbidden = wanted.is_some_and(|n| {
            self.state.lock().unwrap().forbidden.iter().any(|f| f == n)
        });
        if forbidden {
            let msg = "secrets is forbidden: User \"system:serviceaccount:\
                       bgplet-system:bgplet\" cannot list resource \
                       \"secrets\" in the namespace \"calico-system\"";
            let body = status(403, "Forbidden", msg);
            return respond(&mut sock, 403, &body).await;
        }
        if params.get("watch").map(String::as_str) == Some("true") {
            self.watch(sock, path, &params).await;
        } else {
            let delay =
                self.state.lock().unwrap().list_delay.get(path).copied();
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            let body = self.list(path, &params);
            respond(&mut sock, 200, &body).await;
        }
    }

    fn api_groups(&self) -> Value {
        let st = self.state.lock().unwrap();
        let mut groups = vec![group_json("apps", "v1")];
        for (g, v) in st.groups.keys() {
            groups.push(group_json(g, v));
        }
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    fn group_resources(&self, path: &str) -> Option<Value> {
        let rest = path.strip_prefix("/apis/")?;
        let (group, version) = rest.split_once('/')?;
        if version.contains('/') {
            return None;
        }
        let st = self.state.lock().unwrap();
        let kinds = st.groups.get(&(group.to_string(), version.to_string()))?;
        let resources: Vec<Value> = kinds
            .iter()
            .map(|(plural, kind, namespaced)| {
                json!({
                    "name": plural, "singularName": kind.to_lowercase(),
                    "namespaced": namespaced, "kind": kind,
                    "verbs": ["delete", "deletecollection", "get", "list",
                              "patch", "create", "update", "watch"],
                    "storageVersionHash": "AAAAAAAAAAA="
                })
            })
            .collect();
        Some(json!({
            "kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": format!("{group}/{version}"),
            "resources": resources
        }))
    }

    fn list(&self, path: &str, params: &HashMap<String, String>) -> Value {
        let st = self.state.lock().unwrap();
        let coll = &st.collections[path];
        let items: Vec<Value> = coll
            .objects
            .values()
            .filter(|o| selected(o, params))
            .map(|o| {
                let mut o = o.clone();
                if coll.core {
                    // The real server leaves TypeMeta off list items of
                    // built-in kinds.
                    let m = o.as_object_mut().unwrap();
                    m.remove("apiVersion");
                    m.remove("kind");
                }
                o
            })
            .collect();
        json!({
            "apiVersion": coll.api_version,
            "kind": format!("{}List", coll.kind),
            "metadata": {"resourceVersion": st.rv.to_string()},
            "items": items
        })
    }

    async fn watch(
        &self,
        mut sock: TcpStream,
        path: &str,
        params: &HashMap<String, String>,
    ) {
        let from: u64 = params
            .get("resourceVersion")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let bookmarks = params.get("allowWatchBookmarks").map(String::as_str)
            == Some("true");
        let (backlog, gone, mut rx, api_version, kind) = {
            let st = self.state.lock().unwrap();
            let coll = &st.collections[path];
            let backlog: Vec<Recorded> = st
                .history
                .iter()
                .filter(|r| r.path == path && r.rv > from)
                .filter(|r| selected(&r.object, params))
                .cloned()
                .collect();
            (
                backlog,
                from < st.floor,
                self.notices.subscribe(),
                coll.api_version.clone(),
                coll.kind.clone(),
            )
        };
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                    Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        if sock.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        if gone {
            let msg = format!(
                "too old resource version: {from} ({})",
                self.state.lock().unwrap().floor
            );
            let ev = json!({"type": "ERROR", "object": status(410, "Expired", &msg)});
            let _ = send_chunk(&mut sock, &ev).await;
            let _ = sock.write_all(b"0\r\n\r\n").await;
            return;
        }
        for r in backlog {
            let ev = json!({"type": r.kind, "object": r.object});
            if send_chunk(&mut sock, &ev).await.is_err() {
                return;
            }
        }
        loop {
            match rx.recv().await {
                Ok(Notice::Event(r)) => {
                    if r.path != path || !selected(&r.object, params) {
                        continue;
                    }
                    let ev = json!({"type": r.kind, "object": r.object});
                    if send_chunk(&mut sock, &ev).await.is_err() {
                        return;
                    }
                }
                // Like the real server, only to clients that asked.
                Ok(Notice::Bookmark(_)) if !bookmarks => {}
                Ok(Notice::Bookmark(rv)) => {
                    let ev = json!({"type": "BOOKMARK", "object": {
                        "kind": kind, "apiVersion": api_version,
                        "metadata": {"resourceVersion": rv.to_string(),
                                     "creationTimestamp": null}
                    }});
                    if send_chunk(&mut sock, &ev).await.is_err() {
                        return;
                    }
                }
                // Abrupt close: the body ends without its final chunk.
                Ok(Notice::DropWatches) | Err(_) => return,
            }
        }
    }
}

fn kind_of_plural(plural: &str) -> String {
    match plural {
        "bgpconfigurations" => "BGPConfiguration",
        "bgppeers" => "BGPPeer",
        "bgpfilters" => "BGPFilter",
        "ippools" => "IPPool",
        "blockaffinities" => "BlockAffinity",
        other => other,
    }
    .to_string()
}

fn group_json(group: &str, version: &str) -> Value {
    let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
    json!({"name": group, "versions": [gv.clone()], "preferredVersion": gv})
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason,
        "code": code
    })
}

fn selected(obj: &Value, params: &HashMap<String, String>) -> bool {
    match params.get("fieldSelector") {
        None => true,
        Some(sel) => match sel.strip_prefix("metadata.name=") {
            Some(name) => obj["metadata"]["name"].as_str() == Some(name),
            None => panic!("unsupported field selector {sel}"),
        },
    }
}

fn split_target(target: &str) -> (&str, &str) {
    let target = target.split_once(' ').map_or(target, |(_, t)| t);
    target.split_once('?').unwrap_or((target, ""))
}

fn query(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn respond(sock: &mut TcpStream, code: u16, body: &Value) {
    let body = body.to_string();
    let reason = if code == 200 { "OK" } else { "Error" };
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = sock.write_all(head.as_bytes()).await;
    let _ = sock.write_all(body.as_bytes()).await;
    let _ = sock.shutdown().await;
}

async fn send_chunk(sock: &mut TcpStream, ev: &Value) -> std::io::Result<()> {
    let line = format!("{ev}\n");
    let framed = format!("{:x}\r\n{line}\r\n", line.len());
    sock.write_all(framed.as_bytes()).await?;
    sock.flush().await
}
