//! Why a snapshot could not be produced.

/// What the datastore reports instead of a snapshot. None of these
/// stop it: it retries discovery and keeps watching, so a daemon logs
/// the error and keeps its last good configuration.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Asking the API server which groups and resources it serves
    /// failed; retried with backoff.
    #[error("API discovery failed: {0}")]
    Discovery(#[source] kube::Error),
    /// Neither `crd.projectcalico.org/v1` nor `projectcalico.org/v3` is
    /// served (Calico is not installed yet); retried with backoff.
    #[error(
        "no Calico API group is served (neither crd.projectcalico.org/v1 \
         nor projectcalico.org/v3)"
    )]
    NoCalicoGroup,
    /// The objects could not be rendered as YAML (should not happen:
    /// they came from JSON).
    #[error("rendering the snapshot as YAML: {0}")]
    Render(#[from] serde_yaml::Error),
    /// The snapshot failed the same validation as the file datastore.
    #[error("snapshot rejected: {0}")]
    Invalid(#[from] bgplet_calico::ConfigError),
}
