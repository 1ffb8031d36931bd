//! The Unix socket server. One task per client; each command line asks
//! the agent for a fresh [`BirdView`] and writes the rendered reply.
//! Clients may send many commands on one connection (calico-node's
//! CalicoNodeStatus populator sends `show protocols` and then one `show
//! protocols all NAME` per session on the same socket).

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::render::{answer, greeting, parse_command};
use super::{BirdView, Family};

/// A request for the current view: the agent answers on the sender.
pub type ViewRequest = oneshot::Sender<BirdView>;

/// BIRD refuses longer commands with 9000 (nest/cli.c); so do we, which
/// also bounds what a client can make us buffer.
const MAX_COMMAND: usize = 512;

/// How long a command waits for the agent before answering with an
/// error, so a wedged agent shows up as a failing probe, not a hang.
const VIEW_TIMEOUT: Duration = Duration::from_secs(2);

/// Serves BIRD's control protocol for one address family.
pub struct BirdServer {
    listener: UnixListener,
    path: PathBuf,
    family: Family,
}

impl BirdServer {
    /// Binds `path` (creating its directory and replacing a stale socket
    /// from an earlier run). Use [`super::DEFAULT_SOCKET_V4`] with
    /// [`Family::V4`] and [`super::DEFAULT_SOCKET_V6`] with
    /// [`Family::V6`] to stand in for `bird` and `bird6`.
    pub fn bind(path: &Path, family: Family) -> io::Result<Self> {
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
            family,
        })
    }

    /// Accepts clients until the task is dropped. Each command sends a
    /// [`ViewRequest`] on `views`; the agent answers with its view.
    pub async fn serve(self, views: mpsc::Sender<ViewRequest>) {
        loop {
            let stream = match self.listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "BIRD socket accept failed");
                    // Out of descriptors and the like: do not spin.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let views = views.clone();
            let family = self.family;
            tokio::spawn(async move {
                if let Err(e) = serve_client(stream, family, views).await {
                    tracing::debug!(error = %e, "BIRD socket client failed");
                }
            });
        }
    }
}

impl Drop for BirdServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn serve_client(
    stream: UnixStream,
    family: Family,
    views: mpsc::Sender<ViewRequest>,
) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let Some(first) = fetch(&views).await else {
        write.write_all(b"8999 agent is not answering\n").await?;
        return Ok(());
    };
    write.write_all(greeting(&first.version).as_bytes()).await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut lines)
            .take(MAX_COMMAND as u64 + 1)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(());
        }
        if line.len() > MAX_COMMAND && !line.ends_with(b"\n") {
            write.write_all(b"9000 Command too long\n").await?;
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let reply = match parse_command(&text) {
            Ok(None) => continue,
            Ok(Some(command)) => match fetch(&views).await {
                Some(view) => answer(&view, family, &command),
                None => "8999 agent is not answering\n".to_owned(),
            },
            Err(error) => error,
        };
        write.write_all(reply.as_bytes()).await?;
    }
}

async fn fetch(views: &mpsc::Sender<ViewRequest>) -> Option<BirdView> {
    let (tx, rx) = oneshot::channel();
    views.send(tx).await.ok()?;
    tokio::time::timeout(VIEW_TIMEOUT, rx).await.ok()?.ok()
}
