//! The import allow-list, checked before anything is linked.
//!
//! A plugin may import our `bgplet:plugin/*@0.1.x` interfaces, with only
//! the functions the host implements, and `wasi:*` interfaces (a Rust
//! `std` guest imports a dozen of them for its runtime; they are linked
//! as stubs that trap when called, so a plugin gets no WASI capability).
//! Anything else names a capability we do not grant and is rejected at
//! load with the import's name (shared/docs/wasm-plugins.md 1.8).

use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

/// Functions of `bgplet:plugin/host` the host provides.
const HOST_FUNCS: [&str; 4] = ["log", "count", "node-context", "attribute"];

/// The first import that is neither ours nor WASI, as a display name.
pub(crate) fn disallowed_import(
    engine: &Engine,
    component: &Component,
) -> Option<String> {
    let ty = component.component_type();
    for (name, item) in ty.imports(engine) {
        if name.starts_with("wasi:") {
            continue;
        }
        let Some((iface, version)) = ours(name) else {
            return Some(name.to_owned());
        };
        if !version.starts_with("0.1.") {
            return Some(name.to_owned());
        }
        let ComponentItem::ComponentInstance(inst) = item.ty else {
            return Some(name.to_owned());
        };
        for (member, item) in inst.exports(engine) {
            let ok = match item.ty {
                ComponentItem::ComponentFunc(_) => {
                    iface == "host" && HOST_FUNCS.contains(&member)
                }
                ComponentItem::Type(_) => iface == "host" || iface == "types",
                _ => false,
            };
            if !ok {
                return Some(format!("{name}#{member}"));
            }
        }
    }
    None
}

/// `bgplet:plugin/<iface>@<version>` split into its parts.
fn ours(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix("bgplet:plugin/")?;
    let (iface, version) = rest.split_once('@')?;
    match iface {
        "host" | "types" => Some((iface, version)),
        _ => None,
    }
}
