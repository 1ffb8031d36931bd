//! Watching a plugin source: a directory (polled; a mounted ConfigMap
//! volume swaps its `..data` symlink atomically, so a poll sees either
//! the old or the new set of files) or a ConfigMap through the
//! Kubernetes API (`data["manifest.yaml"]`, wasm in `binaryData`).

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::runtime::watcher::{self, Event};
use tokio::sync::mpsc;

use super::load::{Bundle, ReloadError};
use super::manifest::MANIFEST_FILE;

/// How often a plugin directory is checked.
pub const DIR_POLL: Duration = Duration::from_millis(250);

/// A new candidate from the source: a bundle, `None` for "no manifest
/// any more, use the embedded defaults", or why it could not be read.
pub type Candidate = Result<Option<Bundle>, ReloadError>;

/// Polls `dir` and sends a candidate whenever its files change. The
/// first state is taken as already loaded (the agent read it at start).
pub fn watch_dir(dir: PathBuf) -> mpsc::Receiver<Candidate> {
    let (tx, rx) = mpsc::channel(2);
    tokio::spawn(async move {
        let mut last = fingerprint(&dir);
        let mut poll = tokio::time::interval(DIR_POLL);
        loop {
            poll.tick().await;
            let now = fingerprint(&dir);
            if now == last {
                continue;
            }
            last = now;
            let d = dir.clone();
            let read =
                tokio::task::spawn_blocking(move || Bundle::from_dir(&d))
                    .await
                    .unwrap_or_else(|e| {
                        Err(ReloadError::Source(e.to_string()))
                    });
            if tx.send(read.map(Some)).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// The manifest's contents and every entry's name, size and mtime.
fn fingerprint(dir: &std::path::Path) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::fs::read(dir.join(MANIFEST_FILE)).ok().hash(&mut h);
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut rows: Vec<_> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                // Follows symlinks, so a kubelet swap shows as new files.
                let m = std::fs::metadata(e.path()).ok()?;
                Some((e.file_name(), m.len(), m.modified().ok()))
            })
            .collect();
        rows.sort();
        rows.hash(&mut h);
    }
    h.finish()
}

/// Watches ConfigMap `namespace/name` and sends a candidate for every
/// version of it (including the first), `None` when it is deleted.
pub fn watch_configmap(
    client: kube::Client,
    namespace: String,
    name: String,
) -> mpsc::Receiver<Candidate> {
    let (tx, rx) = mpsc::channel(2);
    let origin = format!("configmap {namespace}/{name}");
    tokio::spawn(async move {
        let api: kube::Api<ConfigMap> =
            kube::Api::namespaced(client, &namespace);
        let cfg =
            watcher::Config::default().fields(&format!("metadata.name={name}"));
        let mut events = watcher::watcher(api, cfg).boxed();
        let mut last: Option<Option<String>> = None;
        let mut seen_in_list = false;
        while let Some(ev) = events.next().await {
            let cm = match ev {
                Ok(Event::Apply(cm)) | Ok(Event::InitApply(cm)) => {
                    seen_in_list = true;
                    Some(cm)
                }
                Ok(Event::Delete(_)) => None,
                Ok(Event::Init) => {
                    seen_in_list = false;
                    continue;
                }
                Ok(Event::InitDone) if !seen_in_list => None,
                Ok(Event::InitDone) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, %origin, "plugin ConfigMap watch");
                    continue;
                }
            };
            // Skip resyncs that did not change the object.
            let version = cm
                .as_ref()
                .and_then(|c| c.metadata.resource_version.clone());
            if last.as_ref() == Some(&version) {
                continue;
            }
            last = Some(version);
            let candidate = match cm {
                None => Ok(None),
                Some(cm) => from_configmap(&cm, &origin).map(Some),
            };
            if tx.send(candidate).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// A bundle from a ConfigMap's contents.
pub fn from_configmap(
    cm: &ConfigMap,
    origin: &str,
) -> Result<Bundle, ReloadError> {
    let manifest = cm
        .data
        .as_ref()
        .and_then(|d| d.get(MANIFEST_FILE))
        .ok_or_else(|| {
            ReloadError::Source(format!(
                "{origin}: no `{MANIFEST_FILE}` key in data"
            ))
        })?;
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (k, v) in cm.binary_data.iter().flatten() {
        files.insert(k.clone(), v.0.clone());
    }
    // Vector files are text and may sit in `data`.
    for (k, v) in cm.data.iter().flatten() {
        if k != MANIFEST_FILE {
            files
                .entry(k.clone())
                .or_insert_with(|| v.as_bytes().to_vec());
        }
    }
    Bundle::from_parts(manifest, files, origin.to_owned())
}

/// Reads the source's first state (fatal when unusable: the agent does
/// not start on a policy it was not asked for) and starts watching it.
/// Without a source: no bundle and a channel that never yields.
pub async fn start(
    source: Option<crate::agent::PluginSource>,
) -> anyhow::Result<(Option<Bundle>, mpsc::Receiver<Candidate>)> {
    use crate::agent::PluginSource;
    match source {
        None => Ok((None, mpsc::channel(1).1)),
        Some(PluginSource::Dir(dir)) => {
            let bundle = Bundle::from_dir(&dir)?;
            Ok((Some(bundle), watch_dir(dir)))
        }
        Some(PluginSource::ConfigMap { namespace, name }) => {
            let client = kube::Client::try_default().await.map_err(|e| {
                anyhow::anyhow!("--plugins-configmap: no Kubernetes API: {e}")
            })?;
            let mut rx = watch_configmap(client, namespace, name);
            let first = rx.recv().await.ok_or_else(|| {
                anyhow::anyhow!("the plugin ConfigMap watch ended")
            })??;
            Ok((first, rx))
        }
    }
}

/// Adds the plugin section to a status query's answer on its way back.
pub fn with_status(
    q: crate::control::Query,
    status: &std::sync::Arc<std::sync::Mutex<super::PluginsStatus>>,
) -> crate::control::Query {
    use crate::control::Query;
    let Query::Status(outer) = q else {
        return q;
    };
    let (tx, rx) =
        tokio::sync::oneshot::channel::<crate::control::StatusReply>();
    let status = status.clone();
    tokio::spawn(async move {
        if let Ok(mut reply) = rx.await {
            reply.plugins = status.lock().ok().map(|s| s.clone());
            let _ = outer.send(reply);
        }
    });
    Query::Status(tx)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use k8s_openapi::ByteString;

    use super::*;

    #[test]
    fn a_configmap_gives_the_manifest_from_data_and_wasm_from_binary_data() {
        let pin = crate::plugins::load::sha256_hex(b"wasm");
        let cm = ConfigMap {
            data: Some(BTreeMap::from([
                (
                    MANIFEST_FILE.to_owned(),
                    format!(
                        "apiVersion: bgplet.dev/v1\nhooks: {{export: \
                         [{{name: p, wasm: p.wasm, sha256: \"{pin}\"}}]}}\n"
                    ),
                ),
                ("p.vectors.json".to_owned(), "{}".to_owned()),
            ])),
            binary_data: Some(BTreeMap::from([(
                "p.wasm".to_owned(),
                ByteString(b"wasm".to_vec()),
            )])),
            ..ConfigMap::default()
        };
        let b = from_configmap(&cm, "configmap ns/p").unwrap();
        assert_eq!(b.origin, "configmap ns/p");
        assert_eq!(b.files["p.wasm"], b"wasm");
        assert_eq!(b.files["p.vectors.json"], b"{}");
        assert_eq!(b.manifest.plugins()[0].name, "p");
    }

    #[test]
    fn a_configmap_without_a_manifest_is_refused() {
        let err = from_configmap(&ConfigMap::default(), "cm").unwrap_err();
        assert!(err.to_string().contains("manifest.yaml"), "{err}");
    }

    #[test]
    fn a_directory_fingerprint_changes_with_the_manifest() {
        let dir = std::env::temp_dir()
            .join(format!("bgplet-fp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(MANIFEST_FILE), "a").unwrap();
        let one = fingerprint(&dir);
        assert_eq!(one, fingerprint(&dir));
        std::fs::write(dir.join(MANIFEST_FILE), "b").unwrap();
        assert_ne!(one, fingerprint(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
