//! What a [`KubeDatastore`](crate::KubeDatastore) is told.

use std::time::Duration;

/// calico-node's namespace in an operator install.
pub const DEFAULT_SECRET_NAMESPACE: &str = "calico-system";

/// Which API group holds Calico's resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CalicoApiGroup {
    /// `crd.projectcalico.org/v1`: the CRDs Calico stores its resources
    /// in (the usual case).
    CrdV1,
    /// `projectcalico.org/v3`: served by the Calico API server, or as
    /// native CRDs in installs that have no v1 group.
    V3,
}

impl CalicoApiGroup {
    /// The API group name.
    pub fn group(self) -> &'static str {
        match self {
            Self::CrdV1 => "crd.projectcalico.org",
            Self::V3 => "projectcalico.org",
        }
    }

    /// The version within the group.
    pub fn version(self) -> &'static str {
        match self {
            Self::CrdV1 => "v1",
            Self::V3 => "v3",
        }
    }

    /// `group/version`, as objects carry it in `apiVersion`.
    pub fn api_version(self) -> String {
        format!("{}/{}", self.group(), self.version())
    }
}

/// Options of the Kubernetes datastore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeOptions {
    /// Force an API group (Calico's `CALICO_API_GROUP`); `None` applies
    /// Calico's discovery rule: v3 only if the v3 group is served and the
    /// v1 group is not.
    pub api_group: Option<CalicoApiGroup>,
    /// The namespace whose Secrets hold BGP passwords: calico-node's
    /// (default `calico-system`).
    pub secret_namespace: String,
    /// How long to gather changes before sending a snapshot: a burst of
    /// edits (a `kubectl apply` of many objects) becomes one snapshot.
    pub debounce: Duration,
}

impl Default for KubeOptions {
    fn default() -> Self {
        Self {
            api_group: None,
            secret_namespace: DEFAULT_SECRET_NAMESPACE.to_string(),
            debounce: Duration::from_millis(200),
        }
    }
}
