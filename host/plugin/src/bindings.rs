//! The one bindgen module: `bgplet:plugin@0.1.0`, world `full-plugin`.
//! A plugin built for a narrower world (`import-plugin`, ...) is not
//! accepted: the SDK always builds `full-plugin` and `describe` says
//! which hooks are real.

wasmtime::component::bindgen!({
    path: "../../wit/v0.1",
    world: "full-plugin",
});
