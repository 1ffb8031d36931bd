//! bgplet's Kubernetes datastore: the same Calico resources that the
//! file datastore reads, watched live from the API server.
//!
//! [`KubeDatastore`] discovers which Calico API group the cluster serves
//! (`crd.projectcalico.org/v1`, or `projectcalico.org/v3` per Calico's
//! discovery rule), then runs one `kube` [`watcher`](kube::runtime::watcher)
//! per kind: BGPConfiguration, BGPPeer, BGPFilter, IPPool, BlockAffinity,
//! the Kubernetes Nodes (a Calico Node is built from a Node's
//! `projectcalico.org/*` annotations, labels and pod CIDRs), one per
//! Secret that a BGPPeer password or the mesh password names, and, only
//! while the `default` BGPConfiguration sets a service range, one on
//! Services and one on EndpointSlices (service advertisement,
//! calico-bgp.md 4.9); they start and stop as that configuration
//! changes, and a snapshot waits for their initial lists too.
//!
//! It keeps the current objects and sends complete snapshots: nothing
//! until every watcher has finished its initial list (calico-bgp.md 2.1:
//! never render from a partial snapshot), then one snapshot per burst of
//! changes (debounced). A snapshot is rendered as a YAML multi-document
//! stream and loaded with [`Resources::from_yaml_str`], so validation is
//! exactly the file datastore's.
//!
//! ```no_run
//! use bgplet_kube::{KubeDatastore, KubeOptions};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // In-cluster service account, else $KUBECONFIG / ~/.kube/config.
//! let client = kube::Client::try_default().await?;
//! let datastore = KubeDatastore::new(client, KubeOptions::default());
//! let mut snapshots = datastore.run();
//! while let Some(snapshot) = snapshots.recv().await {
//!     match snapshot {
//!         Ok(resources) => { /* plan_node(&resources, ...) and apply */ }
//!         Err(e) => eprintln!("keeping the last good config: {e}"),
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! References to "calico-bgp.md" are to the project's Calico spec.

#![warn(missing_docs)]
// Tests may unwrap (house rule); library code may not.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod cache;
mod datastore;
mod discovery;
mod error;
mod kinds;
mod options;

pub use bgplet_calico::Resources;
pub use datastore::{KubeDatastore, Snapshots};
pub use error::Error;
pub use options::{CalicoApiGroup, DEFAULT_SECRET_NAMESPACE, KubeOptions};
