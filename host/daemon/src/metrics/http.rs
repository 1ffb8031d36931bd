//! A minimal HTTP/1.1 server for the scrape and probe endpoints: one
//! request per connection, GET or HEAD, `Connection: close`. Enough for
//! Prometheus and the kubelet, without a web framework.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use super::MetricsView;
use super::render::{CONTENT_TYPE, render};

/// Default listen address: loopback only, since metrics name peers.
pub const DEFAULT_ADDR: &str = "127.0.0.1:9179";

/// Longest request head read; anything longer is refused.
const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the agent may take to answer; past it the agent counts as
/// wedged, which is exactly what `/healthz` exists to report.
const AGENT_TIMEOUT: Duration = Duration::from_secs(2);

/// A question for the agent's state owner.
pub enum Probe {
    /// Answer with the current counters.
    Metrics(oneshot::Sender<MetricsView>),
    /// Answer with liveness and readiness.
    Health(oneshot::Sender<Health>),
}

/// The agent's own verdict for the probe endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// False when the agent knows a vital task died; answering at all
    /// already shows the main loop runs.
    pub alive: bool,
    /// Readiness, e.g. from `birdctl::bird_ready`; the error is the body
    /// of the 503.
    pub ready: Result<(), String>,
}

/// Serves `/metrics`, `/healthz` and `/readyz`.
pub struct MetricsServer {
    listener: TcpListener,
}

impl MetricsServer {
    /// Binds `addr` (see [`DEFAULT_ADDR`]; port 0 picks a free port).
    pub async fn bind(addr: SocketAddr) -> io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(addr).await?,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts clients until the task is dropped, asking the agent
    /// through `probes` for every request.
    pub async fn serve(self, probes: mpsc::Sender<Probe>) {
        loop {
            let stream = match self.listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let probes = probes.clone();
            tokio::spawn(async move {
                if let Err(e) = serve_one(stream, probes).await {
                    tracing::debug!(error = %e, "metrics client failed");
                }
            });
        }
    }
}

/// A response before framing.
struct Response {
    status: u16,
    content_type: &'static str,
    body: String,
    allow: bool,
}

impl Response {
    fn text(status: u16, body: impl Into<String>) -> Self {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
            allow: false,
        }
    }
}

async fn serve_one(
    mut stream: TcpStream,
    probes: mpsc::Sender<Probe>,
) -> io::Result<()> {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream))
        .await
    {
        Ok(Ok(Some(head))) => head,
        Ok(Ok(None)) => {
            let r = Response::text(431, "request head too large\n");
            return write_response(&mut stream, &r, false).await;
        }
        Ok(Err(e)) => return Err(e),
        Err(_) => return Ok(()),
    };
    let mut parts = head.lines().next().unwrap_or("").split(' ');
    let (method, target) = (parts.next(), parts.next());
    let (Some(method), Some(target), Some(version)) =
        (method, target, parts.next())
    else {
        let r = Response::text(400, "bad request\n");
        return write_response(&mut stream, &r, false).await;
    };
    if !version.starts_with("HTTP/1.") {
        let r = Response::text(400, "bad request\n");
        return write_response(&mut stream, &r, false).await;
    }
    let head_only = method == "HEAD";
    let response = if method != "GET" && !head_only {
        Response {
            allow: true,
            ..Response::text(405, "method not allowed\n")
        }
    } else {
        let path = target.split('?').next().unwrap_or("");
        route(path, &probes).await
    };
    write_response(&mut stream, &response, head_only).await
}

async fn route(path: &str, probes: &mpsc::Sender<Probe>) -> Response {
    match path {
        "/metrics" => match ask(probes, Probe::Metrics).await {
            Some(view) => Response {
                content_type: CONTENT_TYPE,
                ..Response::text(200, render(&view))
            },
            None => Response::text(503, "agent is not answering\n"),
        },
        "/healthz" => match ask(probes, Probe::Health).await {
            Some(Health { alive: true, .. }) => Response::text(200, "ok\n"),
            Some(_) => Response::text(503, "agent reports a dead task\n"),
            None => Response::text(503, "agent is not answering\n"),
        },
        "/readyz" => match ask(probes, Probe::Health).await {
            Some(Health { ready: Ok(()), .. }) => Response::text(200, "ok\n"),
            Some(Health {
                ready: Err(reason), ..
            }) => Response::text(503, format!("{reason}\n")),
            None => Response::text(503, "agent is not answering\n"),
        },
        _ => Response::text(404, "not found\n"),
    }
}

async fn ask<T>(
    probes: &mpsc::Sender<Probe>,
    probe: fn(oneshot::Sender<T>) -> Probe,
) -> Option<T> {
    let (tx, rx) = oneshot::channel();
    probes.send(probe(tx)).await.ok()?;
    tokio::time::timeout(AGENT_TIMEOUT, rx).await.ok()?.ok()
}

/// Reads up to the blank line ending the head; `None` if it is too
/// long. A body, if any, is ignored: no endpoint takes one.
async fn read_head(stream: &mut TcpStream) -> io::Result<Option<String>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.truncate(end);
            return Ok(Some(String::from_utf8_lossy(&buf).into_owned()));
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn write_response(
    stream: &mut TcpStream,
    r: &Response,
    head_only: bool,
) -> io::Result<()> {
    let reason = match r.status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let mut out = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
         Connection: close\r\n",
        r.status,
        r.content_type,
        r.body.len()
    );
    if r.allow {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    if !head_only {
        out.push_str(&r.body);
    }
    stream.write_all(out.as_bytes()).await?;
    stream.shutdown().await
}
