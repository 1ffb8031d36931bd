//! The plugins bgplet ships, as `wasm32-wasip2` component bytes built
//! from this workspace at compile time (see build.rs).
//!
//! - [`CALICO`]: the default policy plugin (all four hooks).
//! - [`GRACEFUL_SHUTDOWN`]: example import plugin (RFC 8326).
//! - [`PREPEND`]: example export plugin (AS_PATH prepending).
//! - [`ACCEPT_ALL`]: example plugin deciding nothing on all four hooks
//!   (the floor of the plugin-cost benchmark).

/// The default Calico policy plugin.
pub static CALICO: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/calico.wasm"));

/// The graceful-shutdown example plugin.
pub static GRACEFUL_SHUTDOWN: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/graceful-shutdown.wasm"));

/// The prepend example plugin.
pub static PREPEND: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/prepend.wasm"));

/// The accept-all example plugin.
pub static ACCEPT_ALL: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/accept-all.wasm"));

/// Size of [`CALICO`] in bytes.
pub const CALICO_SIZE: usize =
    include_bytes!(concat!(env!("OUT_DIR"), "/calico.wasm")).len();

/// Size of [`GRACEFUL_SHUTDOWN`] in bytes.
pub const GRACEFUL_SHUTDOWN_SIZE: usize =
    include_bytes!(concat!(env!("OUT_DIR"), "/graceful-shutdown.wasm")).len();

/// Size of [`PREPEND`] in bytes.
pub const PREPEND_SIZE: usize =
    include_bytes!(concat!(env!("OUT_DIR"), "/prepend.wasm")).len();

/// Every bundled plugin by name.
pub fn all() -> [(&'static str, &'static [u8]); 4] {
    [
        ("calico", CALICO),
        ("graceful-shutdown", GRACEFUL_SHUTDOWN),
        ("prepend", PREPEND),
        ("accept-all", ACCEPT_ALL),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_plugin_is_a_component_under_one_mebibyte() {
        for (name, bytes) in all() {
            // Component binaries start with "\0asm", version 0x0d, layer 1.
            assert_eq!(&bytes[..8], b"\0asm\x0d\x00\x01\x00", "{name}");
            assert!(bytes.len() < 1 << 20, "{name}: {} bytes", bytes.len());
        }
        assert_eq!(CALICO_SIZE, CALICO.len());
        assert_eq!(GRACEFUL_SHUTDOWN_SIZE, GRACEFUL_SHUTDOWN.len());
        assert_eq!(PREPEND_SIZE, PREPEND.len());
    }
}
