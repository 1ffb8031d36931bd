//! Where Calico resources come from: a YAML file (watched) or the
//! Kubernetes API. Each source yields complete snapshots of the
//! resources; the agent plans from a snapshot and never from a partial
//! view.

use std::path::PathBuf;
use std::time::Duration;

use bgplet_calico::Resources;
use tokio::sync::mpsc;

/// How often the resources file is checked for changes.
const FILE_POLL: Duration = Duration::from_secs(1);

/// One snapshot, or why the source's current content was rejected (the
/// agent then keeps its last good configuration).
pub type Snapshot = Result<Resources, String>;

/// A snapshot as the planner should see it. With `use_pod_cidr`
/// (host-local IPAM, `--use-pod-cidr`, calico-node's `USE_POD_CIDR`)
/// each node's pod CIDRs are its blocks and BlockAffinities are ignored
/// (calico-bgp.md 2.7): in Calico a setting of the datastore client
/// (`K8sUsePodCIDR`) applied by its syncer, so applied here to every
/// snapshot, before planning.
fn prepare(snapshot: Snapshot, use_pod_cidr: bool) -> Snapshot {
    snapshot.map(|mut res| {
        if use_pod_cidr {
            res.use_pod_cidrs();
        }
        res
    })
}

/// Where Calico resources come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A YAML file, watched.
    File(PathBuf),
    /// The Kubernetes API.
    Kubernetes {
        /// Namespace of the Secrets that BGP passwords refer to.
        secret_namespace: String,
    },
}

/// Starts watching a source; `pod_cidr` turns on host-local IPAM.
pub async fn start(
    source: Source,
    pod_cidr: bool,
) -> anyhow::Result<mpsc::Receiver<Snapshot>> {
    match source {
        Source::File(path) => Ok(watch_file(path, pod_cidr)),
        Source::Kubernetes { secret_namespace } => {
            let client = kube::Client::try_default().await.map_err(|e| {
                anyhow::anyhow!(
                    "no Kubernetes API: {e} (in a pod the service account is \
                     used, elsewhere KUBECONFIG)"
                )
            })?;
            let opts = bgplet_kube::KubeOptions {
                secret_namespace,
                ..bgplet_kube::KubeOptions::default()
            };
            let mut kube_rx =
                bgplet_kube::KubeDatastore::new(client, opts).run();
            let (tx, rx) = mpsc::channel(4);
            tokio::spawn(async move {
                while let Some(snapshot) = kube_rx.recv().await {
                    let snapshot = snapshot.map_err(|e| e.to_string());
                    if tx.send(prepare(snapshot, pod_cidr)).await.is_err() {
                        return;
                    }
                }
            });
            Ok(rx)
        }
    }
}

/// Watches a YAML file of Calico resources: sends a snapshot at start
/// and whenever the file's content changes. With `use_pod_cidr` the
/// nodes' pod CIDRs are their blocks (host-local IPAM).
pub fn watch_file(
    path: PathBuf,
    use_pod_cidr: bool,
) -> mpsc::Receiver<Snapshot> {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let mut last: Option<u64> = None;
        let mut poll = tokio::time::interval(FILE_POLL);
        loop {
            poll.tick().await;
            let read = tokio::fs::read_to_string(&path).await;
            let snapshot = match read {
                Ok(text) => {
                    let stamp = content_hash(&text);
                    if last == Some(stamp) {
                        continue;
                    }
                    last = Some(stamp);
                    Resources::from_yaml_str(&text)
                        .map_err(|e| format!("{}: {e}", path.display()))
                }
                Err(e) => {
                    // A missing file is reported once per disappearance.
                    if last == Some(0) {
                        continue;
                    }
                    last = Some(0);
                    Err(format!("cannot read {}: {e}", path.display()))
                }
            };
            if tx.send(prepare(snapshot, use_pod_cidr)).await.is_err() {
                return;
            }
        }
    });
    rx
}

fn content_hash(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    // 0 is reserved for "unreadable".
    h.finish().max(1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    const NODES: &str = "apiVersion: v1
kind: Node
metadata:
  name: n1
  annotations: {projectcalico.org/IPv4Address: 10.0.0.11/24}
spec: {podCIDR: 10.244.1.0/24, podCIDRs: [10.244.1.0/24]}
---
apiVersion: projectcalico.org/v3
kind: BlockAffinity
metadata: {name: n1-ipam}
spec: {node: n1, cidr: 10.244.9.0/26, state: confirmed}
";

    fn blocks(snapshot: Snapshot) -> Vec<String> {
        let res = snapshot.unwrap();
        let opts = bgplet_calico::PlanOptions::default();
        let plan = bgplet_calico::plan_node(&res, "n1", &opts).unwrap();
        plan.local_blocks
            .iter()
            .map(|b| b.cidr.to_string())
            .collect()
    }

    #[test]
    fn use_pod_cidr_turns_pod_cidrs_into_the_blocks() {
        let res = || Ok(Resources::from_yaml_str(NODES).unwrap());
        assert_eq!(blocks(prepare(res(), false)), ["10.244.9.0/26"]);
        assert_eq!(blocks(prepare(res(), true)), ["10.244.1.0/24"]);
        let err = prepare(Err("broken".into()), true);
        assert_eq!(err.unwrap_err(), "broken");
    }
}
