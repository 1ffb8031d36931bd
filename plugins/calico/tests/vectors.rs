//! Runs every golden vector file in tests/vectors/ natively through
//! `NativePolicy` (the wasm host runs the same files against the wasm
//! build). Format: `bgplet_sdk::vectors`.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use bgplet_plugin_calico::Calico;
use bgplet_sdk::native::NativePolicy;
use bgplet_sdk::vectors::VectorFile;

#[test]
fn every_golden_vector_passes_natively() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "vector files missing in {dir:?}");
    let mut failures = Vec::new();
    let mut cases = 0;
    for path in &files {
        let file = VectorFile::load(path).unwrap();
        let mut policy = NativePolicy::<Calico>::new(&file.config())
            .unwrap_or_else(|e| panic!("{}: init: {e}", path.display()));
        cases += file.cases.len();
        for f in file.check(&mut policy) {
            failures.push(format!("{}: {f}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases >= 50, "only {cases} cases");
}
