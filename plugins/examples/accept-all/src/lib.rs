//! Example plugin that makes no decision of its own, on all four hooks:
//!
//! - import and export accept every route unchanged (the host still
//!   applies what BGP requires on export: next hop, AS_PATH, iBGP and
//!   route-reflection rules);
//! - selection takes the first candidate of each prefix;
//! - kernel installs every best route via its next hop.
//!
//! It is not a routing policy anyone should run with more than one path
//! per prefix: it exists to measure what crossing into a wasm plugin
//! costs, with (almost) no work on the plugin's side
//! (`bgplet-bench`'s plugin-cost scenario, docs/benchmarks.md).

use bgplet_sdk::{
    ExportPolicy, ImportPolicy, KernelAction, KernelPolicy, PeerInfo, Plugin,
    PluginInfo, RouteRef, Selection, SelectionKey, SelectionPolicy, Verdict,
};

/// The plugin. It has no configuration.
#[derive(Debug, Default)]
pub struct AcceptAll;

impl Plugin for AcceptAll {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "accept-all",
            env!("CARGO_PKG_VERSION"),
            "decides nothing: accept all, first candidate, install all",
        )
    }

    fn init(_config: &str) -> Result<Self, String> {
        Ok(Self)
    }
}

impl ImportPolicy for AcceptAll {
    fn import(&mut self, _from: &PeerInfo, _route: &RouteRef<'_>) -> Verdict {
        Verdict::Accept
    }
}

impl SelectionPolicy for AcceptAll {
    fn select(&mut self, _candidates: &[SelectionKey]) -> Selection {
        Selection::single(0)
    }
}

impl ExportPolicy for AcceptAll {
    fn export(&mut self, _to: &PeerInfo, _route: &RouteRef<'_>) -> Verdict {
        Verdict::Accept
    }
}

impl KernelPolicy for AcceptAll {
    fn kernel(&mut self, _route: &RouteRef<'_>) -> KernelAction {
        KernelAction::INSTALL
    }
}

bgplet_sdk::export_plugin!(AcceptAll);

#[cfg(test)]
mod tests {
    use bgplet_sdk::testing::OwnedRoute;
    use bgplet_sdk::{AttrSet, Hook, SourceFlags};

    use super::*;

    #[test]
    fn every_route_is_accepted_and_installed() {
        let attrs = AttrSet::default();
        let r = OwnedRoute::new("10.0.0.0/8", SourceFlags::EBGP, &attrs);
        let mut p = AcceptAll;
        assert_eq!(
            r.with(|r| p.import(&PeerInfo::default(), r)),
            Verdict::Accept
        );
        assert_eq!(
            r.with(|r| p.export(&PeerInfo::default(), r)),
            Verdict::Accept
        );
        assert_eq!(r.with(|r| p.kernel(r)), KernelAction::INSTALL);
    }

    #[test]
    fn selection_takes_the_first_candidate() {
        let keys = [SelectionKey::default(), SelectionKey::default()];
        assert_eq!(AcceptAll.select(&keys), Selection::single(0));
    }

    #[test]
    fn describe_reports_all_four_hooks() {
        let p = bgplet_sdk::native::NativePolicy::<AcceptAll>::new("")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            p.describe().1,
            vec![Hook::Import, Hook::Selection, Hook::Export, Hook::Kernel]
        );
    }
}
