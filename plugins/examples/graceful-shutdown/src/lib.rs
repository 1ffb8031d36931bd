//! Example plugin: graceful shutdown (RFC 8326).
//!
//! A route carrying the GRACEFUL_SHUTDOWN community 65535:0 is accepted
//! with LOCAL_PREF 0, so every other path wins while the sending router
//! drains. Everything else is accepted unchanged.

use bgplet_sdk::{
    Community, Edit, ImportPolicy, PeerInfo, Plugin, PluginInfo, RouteRef,
    Verdict, host,
};

/// The plugin. It has no configuration.
#[derive(Debug, Default)]
pub struct GracefulShutdown;

impl Plugin for GracefulShutdown {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "graceful-shutdown",
            env!("CARGO_PKG_VERSION"),
            "LOCAL_PREF 0 for routes tagged GRACEFUL_SHUTDOWN (RFC 8326)",
        )
    }

    fn init(_config: &str) -> Result<Self, String> {
        Ok(Self)
    }
}

impl ImportPolicy for GracefulShutdown {
    fn import(&mut self, _from: &PeerInfo, route: &RouteRef<'_>) -> Verdict {
        // RFC 8326 4: a receiver SHOULD lower the LOCAL_PREF of paths
        // carrying GRACEFUL_SHUTDOWN to 0.
        if route.has_community(Community::GRACEFUL_SHUTDOWN) {
            host::count("graceful_shutdown_routes", 1);
            return Verdict::AcceptWith(vec![Edit::SetLocalPref(0)]);
        }
        Verdict::Accept
    }
}

bgplet_sdk::export_plugin!(GracefulShutdown);

#[cfg(test)]
mod tests {
    use bgplet_sdk::testing::{OwnedRoute, take_recorder};
    use bgplet_sdk::{AttrSet, SourceFlags};

    use super::*;

    fn import(communities: Vec<u32>) -> Verdict {
        let attrs = AttrSet {
            communities,
            local_pref: Some(100),
            ..AttrSet::default()
        };
        let r = OwnedRoute::new("10.0.0.0/8", SourceFlags::EBGP, &attrs);
        r.with(|r| GracefulShutdown.import(&PeerInfo::default(), r))
    }

    #[test]
    fn a_route_tagged_graceful_shutdown_gets_local_pref_zero() {
        let v = import(vec![0xfde8_0001, 0xffff_0000]);
        assert_eq!(v, Verdict::AcceptWith(vec![Edit::SetLocalPref(0)]));
        assert_eq!(take_recorder().counters["graceful_shutdown_routes"], 1);
    }

    #[test]
    fn an_untagged_route_is_accepted_unchanged() {
        assert_eq!(import(vec![0xfde8_0001]), Verdict::Accept);
    }

    #[test]
    fn describe_reports_only_the_import_hook() {
        let p = bgplet_sdk::native::NativePolicy::<GracefulShutdown>::new("")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.describe().1, vec![bgplet_sdk::Hook::Import]);
    }
}
