//! The Kubernetes test API server ([`FakeApi`]) for end-to-end tests:
//! run inside a lab namespace on its own tokio runtime, with a
//! kubeconfig that points a `bgplet run --datastore kubernetes` in the
//! same namespace at it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::kubeapi::FakeApi;
use crate::netns::Netns;
use crate::tempdir::TestDir;

/// Calico's storage group and the plurals of the kinds bgplet watches,
/// as [`KubeApiServer::start`] takes them.
pub const CALICO_CRD_GROUP: (&str, &str, &[&str]) = (
    "crd.projectcalico.org",
    "v1",
    &[
        "bgpconfigurations",
        "bgppeers",
        "bgpfilters",
        "ippools",
        "blockaffinities",
    ],
);

/// A [`FakeApi`] listening on 127.0.0.1 inside a namespace, and a
/// kubeconfig for it. Dropping it stops the server.
pub struct KubeApiServer {
    api: FakeApi,
    kubeconfig: PathBuf,
    // Drops before the runtime: the scratch directory, then the tasks.
    _dir: TestDir,
    _runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for KubeApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeApiServer")
            .field("addr", &self.api.addr)
            .field("kubeconfig", &self.kubeconfig)
            .finish()
    }
}

impl KubeApiServer {
    /// Starts serving `objects` (shaped as `kubectl get -o yaml` shows
    /// them) in `ns`, advertising the API `groups` (see
    /// [`CALICO_CRD_GROUP`]). Nodes and Secrets in `calico-system` are
    /// always served; other collections appear with their first object.
    pub fn start(
        ns: &Netns,
        objects: &[Value],
        groups: &[(&str, &str, &[&str])],
    ) -> Result<KubeApiServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .context("starting the API server's runtime")?;
        let listener = ns.in_ns(|| {
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            l.set_nonblocking(true)?;
            Ok(l)
        })?;
        let api = {
            let _ctx = runtime.enter();
            let listener = tokio::net::TcpListener::from_std(listener)?;
            FakeApi::start_on(listener, objects, groups)
        };
        let dir = TestDir::new("kubeapi")?;
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(&kubeconfig, kubeconfig_yaml(&api.url()))
            .with_context(|| format!("writing {}", kubeconfig.display()))?;
        Ok(KubeApiServer {
            api,
            kubeconfig,
            _dir: dir,
            _runtime: runtime,
        })
    }

    /// The server, to change objects while clients watch.
    pub fn api(&self) -> &FakeApi {
        &self.api
    }

    /// A kubeconfig naming the server (no credentials: plain HTTP).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }
}

fn kubeconfig_yaml(url: &str) -> String {
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: test\n  cluster:\n    server: {url}\n\
         users:\n\
         - name: test\n  user: {{}}\n\
         contexts:\n\
         - name: test\n  context:\n    cluster: test\n    user: test\n\
         current-context: test\n"
    )
}

/// Standard base64 with padding (RFC 4648 §4), as the API server
/// encodes a ConfigMap's `binaryData` and a Secret's `data`.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(
                    ALPHABET[(n >> (18 - 6 * i) & 63) as usize],
                ));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_test_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
    }
}
