//! The list/watch test server, shared with the end-to-end tests (its
//! source lives in tests/src/kubeapi.rs, included here by path so this
//! crate's tests need no dependency on the e2e harness), plus what only
//! these tests use: a `kube::Client` for it and YAML fixtures.

#![allow(dead_code, clippy::unwrap_used)]

#[path = "../../../../tests/src/kubeapi.rs"]
mod kubeapi;

pub use kubeapi::*;
use serde_json::Value;

/// A `kube::Client` pointed at `api`.
pub fn client(api: &FakeApi) -> kube::Client {
    let config = kube::Config::new(api.url().parse().unwrap());
    kube::Client::try_from(config).unwrap()
}

/// Loads a fixture file (a YAML multi-document stream) as JSON values.
pub fn fixtures(text: &str) -> Vec<Value> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}
