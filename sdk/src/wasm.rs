//! The wasm exports: the `full-plugin` world, implemented once for every
//! plugin type.

use core::marker::PhantomData;

use bgplet_plugin_abi::{NextHopMode, PeerInfo, PeerKind, RawAttributes};

use crate::hooks::{Exported, Hook};
use crate::{host, runtime};

/// Generated guest bindings of `wit/v0.1`, world `full-plugin`.
#[allow(missing_docs, unsafe_code, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/v0.1",
        world: "full-plugin",
        pub_export_macro: true,
        default_bindings_module: "bgplet_sdk::wasm::bindings",
    });
}

use bindings::bgplet::plugin::types as wit;
use bindings::exports::bgplet::plugin::{
    export_policy, import_policy, kernel, lifecycle, selection,
};

/// The exported component for plugin type `P`.
pub struct Exports<P>(PhantomData<P>);

/// Raw attributes through the host import.
struct HostRaw;

impl RawAttributes for HostRaw {
    fn attribute(&self, set: u32, type_code: u8) -> Option<Vec<u8>> {
        host::attribute(set, type_code)
    }
}

fn peer(p: wit::Peer) -> PeerInfo {
    PeerInfo {
        name: p.name,
        kind: match p.kind {
            wit::PeerKind::Mesh => PeerKind::Mesh,
            wit::PeerKind::Node => PeerKind::Node,
            wit::PeerKind::Global => PeerKind::Global,
            wit::PeerKind::Local => PeerKind::Local,
        },
        address: p.address,
        peer_as: p.peer_as,
        local_as: p.local_as,
        ibgp: p.ibgp,
        rr_client: p.rr_client,
        next_hop_mode: match p.next_hop_mode {
            wit::NextHopMode::Auto => NextHopMode::Auto,
            wit::NextHopMode::SelfAddr => NextHopMode::SelfAddr,
            wit::NextHopMode::Keep => NextHopMode::Keep,
        },
        filters: p.filters,
    }
}

/// A malformed batch from the host: log it and answer with an empty list,
/// which the host rejects as malformed rather than trapping.
fn bad_batch(e: bgplet_plugin_abi::AbiError) {
    host::log(host::Level::Error, &format!("malformed batch: {e}"));
}

/// Runs `f` on the instance; before a successful `init` there is none,
/// and the call answers with `fallback`.
fn with<P: Exported, R>(fallback: R, f: impl FnOnce(&mut P) -> R) -> R {
    P::with_instance(|slot| match slot {
        Some(p) => f(p),
        None => {
            host::log(host::Level::Error, "hook called before init");
            fallback
        }
    })
}

impl<P: Exported> lifecycle::Guest for Exports<P> {
    fn describe() -> lifecycle::Info {
        let info = P::describe();
        let hooks = P::hooks()
            .hooks()
            .into_iter()
            .map(|h| match h {
                Hook::Import => lifecycle::Hook::Import,
                Hook::Selection => lifecycle::Hook::Selection,
                Hook::Export => lifecycle::Hook::Export,
                Hook::Kernel => lifecycle::Hook::Kernel,
            })
            .collect();
        lifecycle::Info {
            name: info.name,
            version: info.version,
            description: info.description,
            hooks,
        }
    }

    fn init(config: String) -> Result<(), String> {
        let p = P::init(&config)?;
        P::with_instance(|slot| *slot = Some(p));
        Ok(())
    }
}

fn filter_result(r: bgplet_plugin_abi::FilterResult) -> wit::FilterResult {
    wit::FilterResult {
        verdicts: r.verdicts,
        edits: r.edits,
    }
}

impl<P: Exported> import_policy::Guest for Exports<P> {
    fn filter(
        from: wit::Peer,
        attrs: Vec<u32>,
        routes: Vec<u32>,
    ) -> wit::FilterResult {
        let from = peer(from);
        let hook = P::hooks().import;
        let empty = bgplet_plugin_abi::FilterResult::default();
        filter_result(with::<P, _>(empty.clone(), |p| {
            runtime::filter(p, hook, &from, &attrs, &routes, &HostRaw)
                .unwrap_or_else(|e| {
                    bad_batch(e);
                    empty
                })
        }))
    }
}

impl<P: Exported> export_policy::Guest for Exports<P> {
    fn filter(
        to: wit::Peer,
        attrs: Vec<u32>,
        routes: Vec<u32>,
    ) -> wit::FilterResult {
        let to = peer(to);
        let hook = P::hooks().export;
        let empty = bgplet_plugin_abi::FilterResult::default();
        filter_result(with::<P, _>(empty.clone(), |p| {
            runtime::filter(p, hook, &to, &attrs, &routes, &HostRaw)
                .unwrap_or_else(|e| {
                    bad_batch(e);
                    empty
                })
        }))
    }
}

impl<P: Exported> selection::Guest for Exports<P> {
    fn select(candidates: Vec<u32>, counts: Vec<u32>) -> Vec<u32> {
        let hook = P::hooks().selection;
        with::<P, _>(Vec::new(), |p| {
            runtime::select(p, hook, &candidates, &counts).unwrap_or_else(|e| {
                bad_batch(e);
                Vec::new()
            })
        })
    }
}

impl<P: Exported> kernel::Guest for Exports<P> {
    fn program(attrs: Vec<u32>, routes: Vec<u32>) -> Vec<u32> {
        let hook = P::hooks().kernel;
        with::<P, _>(Vec::new(), |p| {
            runtime::kernel(p, hook, &attrs, &routes, &HostRaw).unwrap_or_else(
                |e| {
                    bad_batch(e);
                    Vec::new()
                },
            )
        })
    }
}
