//! The Calico plugin's golden vectors (plugins/calico/tests/vectors/)
//! through the wasm build embedded in the binary, loaded by this host:
//! the same decisions as the native run of the same files.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use bgplet_plugin::{ChainSpec, Hook, HostConfig, PluginHost, PolicyChains};
use bgplet_plugin_calico::Calico;
use bgplet_sdk::native::NativePolicy;
use bgplet_sdk::vectors::VectorFile;

#[test]
fn every_golden_vector_gives_the_native_decision_through_the_wasm_host() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/calico/tests/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "vector files missing in {dir:?}");

    let host = PluginHost::new(HostConfig::default()).unwrap();
    let mut failures = Vec::new();
    let mut cases = 0;
    for path in &files {
        let file = VectorFile::load(path).unwrap();
        let config = file.config();
        let plugin = host
            .load("calico", bgplet_plugins_bundle::CALICO, &config)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(plugin.info().hooks, Hook::ALL.to_vec());
        let chains = PolicyChains::new(ChainSpec::new(vec![plugin]));
        let mut wasm = chains.worker();
        let mut native = NativePolicy::<Calico>::new(&config).unwrap();
        cases += file.cases.len();
        let native_failures = file.check(&mut native);
        assert!(native_failures.is_empty(), "{native_failures:?}");
        for f in file.check(&mut wasm) {
            failures.push(format!("{}: {f}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases >= 50, "only {cases} cases");
    let m = host.metrics_of("calico").unwrap();
    assert!(m.faults.is_empty(), "{:?}", m.faults);
    assert_eq!(m.loads as usize, files.len());
}
