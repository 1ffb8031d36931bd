//! The control API: newline-delimited JSON over a Unix socket.
//!
//! One request per connection: the client writes a [`Request`] as one
//! JSON line, the agent answers with one JSON line and closes. `bgplet
//! status` and `bgplet routes` are its clients; the same types are the
//! `-o json` output, so scripts and tests read exactly what the agent
//! said.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

/// What a client asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    /// The peer table.
    Status,
    /// Every path of every prefix.
    Routes,
    /// What a plugin candidate would change, without activating it
    /// (`bgplet plugin diff`).
    PluginDiff {
        /// The candidate.
        candidate: crate::plugins::diff::Candidate,
    },
}

/// The answer to [`Request::Status`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StatusReply {
    /// This node's name.
    pub node: String,
    /// BGP identifier.
    pub router_id: String,
    /// This node's AS.
    pub as_number: u32,
    /// Agent version.
    pub version: String,
    /// When the agent started (RFC 3339, UTC).
    pub started: String,
    /// One row per configured session.
    pub peers: Vec<PeerStatus>,
    /// The active plugins and the last reload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugins: Option<crate::plugins::PluginsStatus>,
}

/// One row of the peer table, the columns of `calicoctl node status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerStatus {
    /// Session name (`Mesh_10_0_0_2`, `Global_...`, `Node_...`).
    pub name: String,
    /// The peer's address.
    pub peer_address: String,
    /// The peer's port.
    pub peer_port: u16,
    /// calicoctl's type label: "node-to-node mesh", "node specific",
    /// "global".
    #[serde(rename = "type")]
    pub peer_type: String,
    /// The peer's AS.
    pub peer_as: u32,
    /// BGP state (RFC 4271 names: Idle, Connect, Active, OpenSent,
    /// OpenConfirm, Established).
    pub state: String,
    /// When the session last changed state (RFC 3339, UTC).
    pub since: String,
    /// Extra information, e.g. the last error.
    pub info: String,
    /// Prefixes received and currently held from this peer.
    pub prefixes_received: u64,
    /// Prefixes advertised to this peer.
    pub prefixes_advertised: u64,
}

/// The answer to [`Request::Routes`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RoutesReply {
    /// Prefixes in order.
    pub routes: Vec<RouteEntry>,
}

/// All paths the agent holds for one prefix.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RouteEntry {
    /// The prefix, e.g. "10.244.0.0/26".
    pub prefix: String,
    /// Every path, received or local.
    pub paths: Vec<PathEntry>,
}

/// One path with every attribute as received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PathEntry {
    /// Session the path came from, or "local" for originated routes.
    pub peer: String,
    /// The peer's address ("" for local routes).
    pub peer_address: String,
    /// ADD-PATH path identifier (0 when not in use).
    pub path_id: u32,
    /// Whether this path is the one in use. Until route selection lands
    /// this is the first path received.
    pub best: bool,
    /// "igp", "egp" or "incomplete".
    pub origin: String,
    /// AS_PATH flattened (sets included in order).
    pub as_path: Vec<u32>,
    /// AS_PATH as text, sets in braces and confederations in brackets.
    pub as_path_text: String,
    /// NEXT_HOP or the MP_REACH next hop.
    pub next_hop: String,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// Whether ATOMIC_AGGREGATE is present.
    pub atomic_aggregate: bool,
    /// AGGREGATOR as "AS ip".
    pub aggregator: Option<String>,
    /// Standard communities as "a:b" (well-known ones by name).
    pub communities: Vec<String>,
    /// Large communities as "a:b:c".
    pub large_communities: Vec<String>,
    /// Extended communities as 16 hex digits.
    pub ext_communities: Vec<String>,
    /// ORIGINATOR_ID.
    pub originator_id: Option<String>,
    /// CLUSTER_LIST.
    pub cluster_list: Vec<String>,
    /// Attributes bgplet does not interpret, with their flags.
    pub unknown: Vec<UnknownAttribute>,
}

/// An attribute kept verbatim.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnknownAttribute {
    /// Type code.
    #[serde(rename = "type")]
    pub type_code: u8,
    /// Flags octet as hex, e.g. "0xe0".
    pub flags: String,
    /// Value as hex.
    pub value: String,
}

/// A request from a control client, handed to the agent's state owner
/// with a channel for the answer.
pub enum Query {
    /// Answer with the peer table.
    Status(oneshot::Sender<StatusReply>),
    /// Answer with the route table.
    Routes(oneshot::Sender<RoutesReply>),
    /// Answer with what the BIRD-compatible socket shows.
    Bird(oneshot::Sender<crate::birdctl::BirdView>),
    /// Answer with the session part of /metrics.
    Metrics(oneshot::Sender<crate::metrics::MetricsView>),
    /// Answer with the active plugin chains and their generation.
    Chains(oneshot::Sender<(u64, bgplet_plugin::ChainSpec)>),
    /// Evaluate every route under this policy without activating it;
    /// answer with the differences and the evaluation time.
    WhatIf(
        Box<bgplet_plugin::PolicyChain>,
        oneshot::Sender<(bgplet_rib::WhatIf, std::time::Duration)>,
    ),
}

/// Serves the control socket until the task is dropped.
pub struct ControlServer {
    listener: UnixListener,
    path: PathBuf,
}

impl ControlServer {
    /// Binds the socket, replacing a stale one left by a previous run.
    pub fn bind(path: &Path) -> io::Result<Self> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let listener = UnixListener::bind(path)?;
        Ok(Self {
            listener,
            path: path.to_owned(),
        })
    }

    /// Accepts clients forever, passing each query to `queries`.
    pub async fn serve(self, queries: mpsc::Sender<Query>) {
        loop {
            let stream = match self.listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "control socket accept failed");
                    continue;
                }
            };
            let queries = queries.clone();
            tokio::spawn(async move {
                if let Err(e) = serve_one(stream, queries).await {
                    tracing::debug!(error = %e, "control client failed");
                }
            });
        }
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn serve_one(
    stream: UnixStream,
    queries: mpsc::Sender<Query>,
) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let reply = match serde_json::from_str::<Request>(&line) {
        Ok(Request::Status) => {
            let (tx, rx) = oneshot::channel();
            answer(&queries, Query::Status(tx), rx).await
        }
        Ok(Request::Routes) => {
            let (tx, rx) = oneshot::channel();
            answer(&queries, Query::Routes(tx), rx).await
        }
        Ok(Request::PluginDiff { candidate }) => {
            crate::plugins::diff::serve(&queries, candidate)
                .await
                .and_then(|r| {
                    serde_json::to_string(&r).map_err(|e| e.to_string())
                })
        }
        Err(e) => Err(format!("bad request: {e}")),
    };
    let mut out = match reply {
        Ok(json) => json,
        Err(text) => serde_json::json!({ "error": text }).to_string(),
    };
    out.push('\n');
    write.write_all(out.as_bytes()).await?;
    write.shutdown().await
}

async fn answer<T: Serialize>(
    queries: &mpsc::Sender<Query>,
    query: Query,
    rx: oneshot::Receiver<T>,
) -> Result<String, String> {
    queries
        .send(query)
        .await
        .map_err(|_| "agent is shutting down".to_owned())?;
    let reply = rx.await.map_err(|_| "agent dropped the query".to_owned())?;
    serde_json::to_string(&reply).map_err(|e| e.to_string())
}

/// Client side: sends one request and returns the raw JSON answer.
pub async fn request(path: &Path, request: &Request) -> io::Result<String> {
    let stream = UnixStream::connect(path).await.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot reach the agent at {}: {e} (is `bgplet run` \
                 running with this --control-socket?)",
                path.display()
            ),
        )
    })?;
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_string(request)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    line.push('\n');
    write.write_all(line.as_bytes()).await?;
    let mut answer = String::new();
    BufReader::new(read).read_line(&mut answer).await?;
    if let Ok(serde_json::Value::Object(map)) =
        serde_json::from_str::<serde_json::Value>(&answer)
        && let Some(serde_json::Value::String(err)) = map.get("error")
    {
        return Err(io::Error::other(err.clone()));
    }
    Ok(answer)
}
