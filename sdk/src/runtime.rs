//! Decoding batches, calling hooks, encoding answers: shared by the wasm
//! exports and [`crate::native::NativePolicy`].

use bgplet_plugin_abi::{
    AbiError, AttrTable, Candidates, FilterResult, KernelAction, PeerInfo,
    ROUTE_STRIDE, RawAttributes, Routes, Selection, SelectionKey,
    encode_kernel,
};

use crate::RouteRef;
use crate::hooks::{FilterFn, KernelFn, SelectFn};

/// Runs an import or export hook over a batch; pass-through accepts all.
pub fn filter<P>(
    plugin: &mut P,
    hook: Option<FilterFn<P>>,
    peer: &PeerInfo,
    attrs: &[u32],
    routes: &[u32],
    raw: &dyn RawAttributes,
) -> Result<FilterResult, AbiError> {
    let Some(hook) = hook else {
        return Ok(FilterResult::accept_all(routes.len() / ROUTE_STRIDE));
    };
    let mut out = FilterResult {
        verdicts: Vec::with_capacity(routes.len() / ROUTE_STRIDE),
        edits: Vec::new(),
    };
    each_route(attrs, routes, raw, |r| {
        let v = hook(plugin, peer, r);
        out.verdicts.push(v.code());
        let index = r.index() as u32;
        for e in v.edits() {
            e.encode(index, &mut out.edits);
        }
    })?;
    Ok(out)
}

/// Runs a selection hook per prefix; pass-through picks candidate 0.
pub fn select<P>(
    plugin: &mut P,
    hook: Option<SelectFn<P>>,
    candidates: &[u32],
    counts: &[u32],
) -> Result<Vec<u32>, AbiError> {
    let parsed = Candidates::parse(candidates, counts)?;
    let mut out = Vec::with_capacity(counts.len() * 2);
    let mut keys: Vec<SelectionKey> = Vec::new();
    for prefix in parsed.prefixes() {
        keys.clear();
        keys.extend(prefix);
        let s = match hook {
            Some(h) if !keys.is_empty() => h(plugin, &keys),
            _ => Selection::single(0),
        };
        out.extend_from_slice(&[s.best, s.multipath]);
    }
    Ok(out)
}

/// Runs a kernel hook over best routes; pass-through installs.
pub fn kernel<P>(
    plugin: &mut P,
    hook: Option<KernelFn<P>>,
    attrs: &[u32],
    routes: &[u32],
    raw: &dyn RawAttributes,
) -> Result<Vec<u32>, AbiError> {
    let Some(hook) = hook else {
        let n = routes.len() / ROUTE_STRIDE;
        return Ok(encode_kernel(&vec![KernelAction::INSTALL; n]));
    };
    let mut out = Vec::with_capacity(routes.len() / ROUTE_STRIDE * 2);
    each_route(attrs, routes, raw, |r| {
        let a = hook(plugin, r);
        out.extend_from_slice(&[a.action.code(), a.metric]);
    })?;
    Ok(out)
}

/// Validates the batch and calls `f` on every route in order.
fn each_route(
    attrs: &[u32],
    routes: &[u32],
    raw: &dyn RawAttributes,
    mut f: impl FnMut(&RouteRef<'_>),
) -> Result<(), AbiError> {
    let table = AttrTable::parse(attrs)?;
    let parsed = Routes::parse(routes, table.len())?;
    for (i, route) in parsed.iter().enumerate() {
        let view = table.get(route.attr).ok_or(AbiError::AttrIndex {
            route: i,
            set: route.attr,
            sets: table.len(),
        })?;
        f(&RouteRef::new(i, route, view, raw));
    }
    Ok(())
}

/// Detects which hook traits a concrete type implements (autoref
/// specialization: the `Has*` impls on `Probe<T>` win method resolution
/// over the `No*` fallbacks on `&Probe<T>` when their bound holds).
pub mod probe {
    use core::marker::PhantomData;

    use crate::hooks::{FilterFn, KernelFn, SelectFn};
    use crate::{ExportPolicy, ImportPolicy, KernelPolicy, SelectionPolicy};

    /// A type-level probe.
    pub struct Probe<T>(PhantomData<T>);

    impl<T> Probe<T> {
        /// A probe for `T`.
        pub fn new() -> Self {
            Self(PhantomData)
        }
    }

    impl<T> Default for Probe<T> {
        fn default() -> Self {
            Self::new()
        }
    }

    macro_rules! probe {
        ($has:ident, $no:ident, $method:ident, $bound:ident,
         $fnty:ident, $call:ident) => {
            /// Hook present.
            pub trait $has<T> {
                /// The hook.
                fn $method(&self) -> Option<$fnty<T>>;
            }
            impl<T: $bound> $has<T> for Probe<T> {
                fn $method(&self) -> Option<$fnty<T>> {
                    Some(T::$call)
                }
            }
            /// Hook absent.
            pub trait $no<T> {
                /// No hook.
                fn $method(&self) -> Option<$fnty<T>> {
                    None
                }
            }
            impl<T> $no<T> for &Probe<T> {}
        };
    }

    probe!(
        HasImport,
        NoImport,
        import_hook,
        ImportPolicy,
        FilterFn,
        import
    );
    probe!(
        HasSelection,
        NoSelection,
        selection_hook,
        SelectionPolicy,
        SelectFn,
        select
    );
    probe!(
        HasExport,
        NoExport,
        export_hook,
        ExportPolicy,
        FilterFn,
        export
    );
    probe!(
        HasKernel,
        NoKernel,
        kernel_hook,
        KernelPolicy,
        KernelFn,
        kernel
    );
}
