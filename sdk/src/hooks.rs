//! The traits a plugin implements.

use bgplet_plugin_abi::{
    KernelAction, PeerInfo, Selection, SelectionKey, Verdict,
};

use crate::RouteRef;

/// What `describe` reports besides the hooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// Free text for `bgplet plugin check`.
    pub description: String,
}

impl PluginInfo {
    /// Name, version and description.
    pub fn new(name: &str, version: &str, description: &str) -> Self {
        Self {
            name: name.to_owned(),
            version: version.to_owned(),
            description: description.to_owned(),
        }
    }
}

/// The decision hooks (WIT `lifecycle.hook`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hook {
    /// Import policy.
    Import,
    /// Route selection.
    Selection,
    /// Export policy.
    Export,
    /// Kernel programming.
    Kernel,
}

/// Every plugin implements this.
pub trait Plugin: Sized + 'static {
    /// Name, version, description.
    fn describe() -> PluginInfo;

    /// Builds the plugin from its configuration: the policy context JSON
    /// with the manifest config under `plugin` (see
    /// [`crate::parse_config`]). Called at load and on every
    /// configuration change; an error rejects the (re)load and keeps the
    /// previous instance.
    fn init(config: &str) -> Result<Self, String>;
}

/// Import policy: one verdict per received route.
pub trait ImportPolicy: Plugin {
    /// Decides `route`, received from `from`.
    fn import(&mut self, from: &PeerInfo, route: &RouteRef<'_>) -> Verdict;
}

/// Route selection: best path and multipath set per prefix.
pub trait SelectionPolicy: Plugin {
    /// Picks among the candidates of one prefix (never empty).
    fn select(&mut self, candidates: &[SelectionKey]) -> Selection;
}

/// Export policy: one verdict per route and update group.
pub trait ExportPolicy: Plugin {
    /// Decides `route` for the update group described by `to`.
    fn export(&mut self, to: &PeerInfo, route: &RouteRef<'_>) -> Verdict;
}

/// Kernel programming: what goes into the node's routing table.
pub trait KernelPolicy: Plugin {
    /// Decides best route `route`.
    fn kernel(&mut self, route: &RouteRef<'_>) -> KernelAction;
}

/// An import or export hook.
pub type FilterFn<P> = fn(&mut P, &PeerInfo, &RouteRef<'_>) -> Verdict;
/// A selection hook.
pub type SelectFn<P> = fn(&mut P, &[SelectionKey]) -> Selection;
/// A kernel hook.
pub type KernelFn<P> = fn(&mut P, &RouteRef<'_>) -> KernelAction;

/// The hooks a plugin implements; `None` answers pass-through.
pub struct HookTable<P> {
    /// [`ImportPolicy::import`].
    pub import: Option<FilterFn<P>>,
    /// [`SelectionPolicy::select`].
    pub selection: Option<SelectFn<P>>,
    /// [`ExportPolicy::export`].
    pub export: Option<FilterFn<P>>,
    /// [`KernelPolicy::kernel`].
    pub kernel: Option<KernelFn<P>>,
}

impl<P> HookTable<P> {
    /// The implemented hooks, in WIT order.
    pub fn hooks(&self) -> Vec<Hook> {
        [
            (self.import.is_some(), Hook::Import),
            (self.selection.is_some(), Hook::Selection),
            (self.export.is_some(), Hook::Export),
            (self.kernel.is_some(), Hook::Kernel),
        ]
        .into_iter()
        .filter_map(|(on, h)| on.then_some(h))
        .collect()
    }
}

/// Implemented by [`crate::export_plugin!`]: which hooks the type has and
/// where the wasm build keeps its instance.
pub trait Exported: Plugin {
    /// The implemented hooks.
    fn hooks() -> HookTable<Self>;

    /// Runs `f` on the instance slot (wasm build; `None` before `init`).
    fn with_instance<R>(f: impl FnOnce(&mut Option<Self>) -> R) -> R;
}
