//! bgplet's default policy plugin: Calico v3.33 semantics.
//!
//! - import: the peer's BGPFilter import rules, first match decides
//!   (calico-bgp.md 2.5, 4.3);
//! - selection: preference (raised to 200 for an elevated Calico
//!   priority), then RFC 4271 9.1.2.2 and RFC 4456 9; the multipath set
//!   is every candidate equal through the IGP cost (BIRD `merge paths`),
//!   never mixing stale and fresh paths;
//! - export: iBGP reflection rules (5.2), `calico_export_to_bgp_peers`
//!   (4.5) with BGPFilter export rules, next hop rules (5.3) and the
//!   LOCAL_PREF priority encoding of locally originated routes (4.7);
//! - kernel: `calico_kernel_programming` (4.8).
//!
//! `classic_local_pref: true` in the policy context switches to the
//! pre-v3.32 LOCAL_PREF handling (no priority encoding, no metrics).
//!
//! What ABI v0.1 cannot express is documented where it applies: route
//! interfaces (BGPFilter `interface`, export steps 3-4), WireGuard peers
//! (kernel step 3).

mod config;
mod export;
mod filter;
mod import;
mod kernel;
mod priority;
mod select;

use bgplet_sdk::context::IgnoredConfig;
use bgplet_sdk::{
    ExportPolicy, ImportPolicy, KernelAction, KernelPolicy, PeerInfo, Plugin,
    PluginInfo, RouteRef, Selection, SelectionKey, SelectionPolicy, Verdict,
    parse_config,
};

pub use config::{local_pref_to_priority, priority_to_local_pref};

/// The plugin: the parsed policy context.
#[derive(Debug, Clone)]
pub struct Calico {
    cfg: config::Config,
}

impl Plugin for Calico {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "calico",
            env!("CARGO_PKG_VERSION"),
            "Calico v3.33 BGP policy: BGPFilters, export and kernel rules, \
             RFC 4271/4456 selection",
        )
    }

    fn init(config: &str) -> Result<Self, String> {
        let ctx = parse_config::<IgnoredConfig>(config)?;
        Ok(Self {
            cfg: config::Config::new(&ctx)?,
        })
    }
}

impl ImportPolicy for Calico {
    fn import(&mut self, from: &PeerInfo, route: &RouteRef<'_>) -> Verdict {
        import::import(&self.cfg, from, route)
    }
}

impl SelectionPolicy for Calico {
    fn select(&mut self, candidates: &[SelectionKey]) -> Selection {
        select::select(&self.cfg, candidates)
    }
}

impl ExportPolicy for Calico {
    fn export(&mut self, to: &PeerInfo, route: &RouteRef<'_>) -> Verdict {
        export::export(&self.cfg, to, route)
    }
}

impl KernelPolicy for Calico {
    fn kernel(&mut self, route: &RouteRef<'_>) -> KernelAction {
        kernel::kernel(&self.cfg, route)
    }
}

bgplet_sdk::export_plugin!(Calico);
