//! Which Calico API group to read, and which of its kinds are served.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIGroupList;
use kube::Client;

use crate::error::Error;
use crate::kinds::{CALICO_KINDS, WatchedKind};
use crate::options::CalicoApiGroup;

/// What discovery found.
#[derive(Debug)]
pub(crate) struct Discovered {
    /// The group in use.
    pub group: CalicoApiGroup,
    /// Calico kinds the group serves.
    pub kinds: Vec<WatchedKind>,
    /// Calico kinds it does not serve (older Calico has no BGPFilter):
    /// they count as empty until they appear.
    pub missing: Vec<WatchedKind>,
}

/// Calico's rule (`libcalico-go/lib/backend/k8s/discovery.go`, see
/// calico-bgp.md 2.1): an explicit choice wins; otherwise v3 only when
/// the v3 group is served and the v1 group is not.
pub(crate) fn choose_group(
    forced: Option<CalicoApiGroup>,
    groups: &APIGroupList,
) -> Result<CalicoApiGroup, Error> {
    if let Some(g) = forced {
        return Ok(g);
    }
    let served = |g: CalicoApiGroup| {
        groups.groups.iter().any(|grp| {
            grp.name == g.group()
                && grp.versions.iter().any(|v| v.version == g.version())
        })
    };
    match (served(CalicoApiGroup::CrdV1), served(CalicoApiGroup::V3)) {
        (false, true) => Ok(CalicoApiGroup::V3),
        (true, _) => Ok(CalicoApiGroup::CrdV1),
        (false, false) => Err(Error::NoCalicoGroup),
    }
}

/// Asks the API server for its groups, applies the rule, then lists the
/// chosen group's resources.
pub(crate) async fn discover(
    client: &Client,
    forced: Option<CalicoApiGroup>,
) -> Result<Discovered, Error> {
    let groups = client.list_api_groups().await.map_err(Error::Discovery)?;
    let group = choose_group(forced, &groups)?;
    let served = client
        .list_api_group_resources(&group.api_version())
        .await
        .map_err(Error::Discovery)?;
    let mut kinds = Vec::new();
    let mut missing = Vec::new();
    for (kind, plural) in CALICO_KINDS {
        let watched = WatchedKind::calico(group, kind, plural);
        if served.resources.iter().any(|r| r.name == plural) {
            kinds.push(watched);
        } else {
            missing.push(watched);
        }
    }
    Ok(Discovered {
        group,
        kinds,
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn groups(names: &[(&str, &str)]) -> APIGroupList {
        let groups: Vec<_> = names
            .iter()
            .map(|(name, version)| {
                let gv = format!("{name}/{version}");
                json!({
                    "name": name,
                    "versions": [{"groupVersion": gv, "version": version}],
                    "preferredVersion": {"groupVersion": gv,
                                         "version": version}
                })
            })
            .collect();
        serde_json::from_value(json!({"groups": groups})).unwrap()
    }

    #[test]
    fn v1_group_wins_when_both_are_served() {
        let g = groups(&[
            ("crd.projectcalico.org", "v1"),
            ("projectcalico.org", "v3"),
        ]);
        assert_eq!(choose_group(None, &g).unwrap(), CalicoApiGroup::CrdV1);
    }

    #[test]
    fn v3_group_is_used_only_when_v1_is_absent() {
        let g = groups(&[("apps", "v1"), ("projectcalico.org", "v3")]);
        assert_eq!(choose_group(None, &g).unwrap(), CalicoApiGroup::V3);
    }

    #[test]
    fn an_explicit_group_overrides_discovery() {
        let g = groups(&[("crd.projectcalico.org", "v1")]);
        let forced = Some(CalicoApiGroup::V3);
        assert_eq!(choose_group(forced, &g).unwrap(), CalicoApiGroup::V3);
    }

    #[test]
    fn no_calico_group_is_an_error() {
        let g = groups(&[("apps", "v1")]);
        assert!(matches!(choose_group(None, &g), Err(Error::NoCalicoGroup)));
    }
}
