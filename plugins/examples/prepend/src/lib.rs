//! Example plugin: AS_PATH prepending toward selected peers.
//!
//! Configuration (the `plugin` key of the policy context):
//!
//! ```json
//! { "peers": ["Global_10_0_0_1", "10.0.0.2"], "count": 3 }
//! ```
//!
//! Every route exported to a session whose name or address is listed
//! gets our AS prepended `count` times (1-32), on top of the one prepend
//! every eBGP export gets, so the peer prefers other paths to us. iBGP
//! sessions are left alone: a speaker does not modify AS_PATH toward
//! internal peers (RFC 4271 5.1.2).

use bgplet_sdk::{
    Edit, ExportPolicy, PeerInfo, Plugin, PluginInfo, RouteRef, Verdict,
    abi::MAX_PREPEND, parse_config,
};
use serde::Deserialize;

/// The plugin's own configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrependConfig {
    /// Session names ("Global_10_0_0_1") or peer addresses ("10.0.0.1").
    pub peers: Vec<String>,
    /// How many extra times to prepend our AS.
    pub count: u8,
}

/// The plugin.
#[derive(Debug, Clone)]
pub struct Prepend {
    config: PrependConfig,
}

impl Prepend {
    fn selects(&self, peer: &PeerInfo) -> bool {
        self.config
            .peers
            .iter()
            .any(|p| *p == peer.name || *p == peer.address)
    }
}

impl Plugin for Prepend {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "prepend",
            env!("CARGO_PKG_VERSION"),
            "prepend our AS N times toward selected eBGP peers",
        )
    }

    fn init(config: &str) -> Result<Self, String> {
        let config = parse_config::<PrependConfig>(config)?.plugin;
        if !(1..=MAX_PREPEND).contains(&config.count) {
            return Err(format!(
                "count must be 1-{MAX_PREPEND}, got {}",
                config.count
            ));
        }
        Ok(Self { config })
    }
}

impl ExportPolicy for Prepend {
    fn export(&mut self, to: &PeerInfo, _route: &RouteRef<'_>) -> Verdict {
        if to.ibgp || !self.selects(to) {
            return Verdict::Accept;
        }
        Verdict::AcceptWith(vec![Edit::Prepend {
            asn: to.local_as,
            count: self.config.count,
        }])
    }
}

bgplet_sdk::export_plugin!(Prepend);

#[cfg(test)]
mod tests {
    use bgplet_sdk::testing::OwnedRoute;
    use bgplet_sdk::{AttrSet, SourceFlags};

    use super::*;

    const CONFIG: &str =
        r#"{"plugin": {"peers": ["Global_10_0_0_1", "10.0.0.2"], "count": 3}}"#;

    fn peer(name: &str, address: &str, peer_as: u32) -> PeerInfo {
        PeerInfo {
            name: name.into(),
            address: address.into(),
            peer_as,
            local_as: 64512,
            ibgp: peer_as == 64512,
            ..PeerInfo::default()
        }
    }

    fn export(p: &mut Prepend, to: &PeerInfo) -> Verdict {
        let r = OwnedRoute::new(
            "10.244.0.0/26",
            SourceFlags::LOCAL,
            &AttrSet::default(),
        );
        r.with(|r| p.export(to, r))
    }

    fn init(config: &str) -> Result<Prepend, String> {
        Prepend::init(config)
    }

    #[test]
    fn a_listed_peer_name_gets_our_as_prepended_count_times() {
        let mut p = init(CONFIG).unwrap_or_else(|e| panic!("{e}"));
        let v = export(&mut p, &peer("Global_10_0_0_1", "10.0.0.1", 65000));
        assert_eq!(
            v,
            Verdict::AcceptWith(vec![Edit::Prepend {
                asn: 64512,
                count: 3
            }])
        );
    }

    #[test]
    fn a_listed_peer_address_matches_too() {
        let mut p = init(CONFIG).unwrap_or_else(|e| panic!("{e}"));
        let v = export(&mut p, &peer("Node_10_0_0_2", "10.0.0.2", 65001));
        assert!(matches!(v, Verdict::AcceptWith(_)));
    }

    #[test]
    fn other_peers_and_ibgp_peers_are_left_alone() {
        let mut p = init(CONFIG).unwrap_or_else(|e| panic!("{e}"));
        let other = peer("Global_10_0_0_9", "10.0.0.9", 65000);
        assert_eq!(export(&mut p, &other), Verdict::Accept);
        let ibgp = peer("Global_10_0_0_1", "10.0.0.1", 64512);
        assert_eq!(export(&mut p, &ibgp), Verdict::Accept);
    }

    #[test]
    fn a_count_out_of_range_or_an_unknown_key_rejects_the_config() {
        assert!(init(r#"{"plugin": {"peers": [], "count": 0}}"#).is_err());
        assert!(init(r#"{"plugin": {"peers": [], "count": 33}}"#).is_err());
        assert!(init(r#"{"plugin": {"peer": [], "count": 1}}"#).is_err());
        assert!(init("").is_err(), "count defaults to 0");
    }

    #[test]
    fn the_native_policy_runs_the_same_logic_on_packed_words() {
        use bgplet_sdk::abi::{
            AttrTableWriter, NoRawAttributes, Route, encode_routes,
            validate_filter_result,
        };
        use bgplet_sdk::native::NativePolicy;
        use bgplet_sdk::{Hook, Policy};

        let mut policy = NativePolicy::<Prepend>::new(CONFIG)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(policy.describe().1, vec![Hook::Export]);
        let mut table = AttrTableWriter::new();
        let attr = table.push(&AttrSet::default());
        let routes = encode_routes(&[Route {
            attr,
            prefix: [10, 244, 0, 0].into(),
            len: 26,
            source: SourceFlags::LOCAL,
            path_id: 0,
        }]);
        let to = peer("Global_10_0_0_1", "10.0.0.1", 65000);
        let res = policy
            .export(&to, table.words(), &routes, &NoRawAttributes)
            .unwrap_or_else(|e| panic!("{e}"));
        let verdicts =
            validate_filter_result(1, &res).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(verdicts, vec![export(policy.plugin_mut(), &to)]);
    }
}
