//! Shared by the host tests: building the fault plugins, batches, a
//! raw-attribute source and a log capture.

#![allow(dead_code, clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bgplet_plugin::{HostConfig, PluginHost};
use bgplet_plugin_abi::{
    AttrSet, AttrTableWriter, Origin, PeerInfo, PeerKind, RawAttributes, Route,
    SelectionKey, SourceFlags, encode_candidates, encode_routes,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds plugins/faults for wasm32-wasip2 once per test binary and
/// returns the component `fault_<name>.wasm`.
pub fn fault_wasm(name: &str) -> Vec<u8> {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let target = repo().join("target/plugin-faults");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--locked",
                "--target",
                "wasm32-wasip2",
            ])
            .arg("--manifest-path")
            .arg(repo().join("plugins/faults/Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building plugins/faults failed");
        target.join("wasm32-wasip2/release")
    });
    let file = dir.join(format!("fault_{}.wasm", name.replace('-', "_")));
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// A host with small limits so the fault tests run quickly; compiled
/// plugins are shared between tests through the artifact cache.
pub fn host() -> PluginHost {
    PluginHost::new(HostConfig {
        memory_limit: 16 << 20,
        call_deadline: Duration::from_millis(100),
        cache_dir: Some(repo().join("target/plugin-faults/cwasm")),
        ..HostConfig::default()
    })
    .expect("host starts")
}

/// An eBGP peer.
pub fn peer() -> PeerInfo {
    PeerInfo {
        name: "Global_192_0_2_1".into(),
        kind: PeerKind::Global,
        address: "192.0.2.1".into(),
        peer_as: 65001,
        local_as: 64512,
        ..PeerInfo::default()
    }
}

/// `routes` routes over `routes / 3` attribute sets (at least one).
pub fn batch(routes: usize) -> (Vec<u32>, Vec<u32>) {
    let mut table = AttrTableWriter::new();
    let sets = routes.div_ceil(3).max(1);
    for i in 0..sets {
        table.push(&AttrSet {
            origin: Some(Origin::Igp),
            local_pref: Some(100),
            med: Some(i as u32),
            next_hop: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
            communities: vec![0xfde8_0001],
            ..AttrSet::default()
        });
    }
    let list: Vec<Route> = (0..routes)
        .map(|i| Route {
            attr: (i / 3) as u32,
            prefix: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + ((i as u32) << 8))),
            len: 24,
            source: SourceFlags::EBGP,
            path_id: 0,
        })
        .collect();
    (table.finish(), encode_routes(&list))
}

/// `prefixes` prefixes with 1-4 candidates each.
pub fn candidates(prefixes: usize) -> (Vec<u32>, Vec<u32>) {
    let sets: Vec<Vec<SelectionKey>> = (0..prefixes)
        .map(|p| {
            (0..1 + p % 4)
                .map(|c| SelectionKey {
                    preference: 100,
                    local_pref: 100,
                    as_path_len: 1 + c as u32,
                    router_id: 0x0a00_0001 + c as u32,
                    peer_address: SelectionKey::peer(IpAddr::V4(
                        Ipv4Addr::from(0xc000_0201 + c as u32),
                    )),
                    ..SelectionKey::default()
                })
                .collect()
        })
        .collect();
    encode_candidates(&sets)
}

/// Every set carries a 6-byte AGGREGATOR.
pub struct Aggregators;

impl RawAttributes for Aggregators {
    fn attribute(&self, _set: u32, type_code: u8) -> Option<Vec<u8>> {
        (type_code == 7).then(|| vec![0, 0, 0xfd, 0xe9, 10, 0])
    }
}

/// Captured log output of the current thread's subscriber.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Installs a capturing subscriber for the current thread.
    pub fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let sub = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        let guard = tracing::subscriber::set_default(sub);
        (logs, guard)
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
