//! The plugin manifest (`manifest.yaml`): per hook, an ordered list of
//! plugins with their source, sha256 pin and config. The format is
//! documented in docs/plugins.md.

use std::collections::BTreeMap;

use serde::Deserialize;

use bgplet_plugin::Hook;

/// The only `apiVersion` this agent reads.
pub const API_VERSION: &str = "bgplet.dev/v1";

/// The file name of the manifest in a directory or ConfigMap.
pub const MANIFEST_FILE: &str = "manifest.yaml";

/// A parsed, checked manifest.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// Must be [`API_VERSION`].
    pub api_version: String,
    /// The chains. A hook left out runs the embedded default.
    #[serde(default)]
    pub hooks: HookLists,
}

/// One optional chain per hook.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookLists {
    /// Import policy chain.
    pub import: Option<Vec<Entry>>,
    /// Route selection chain (the last plugin decides).
    pub selection: Option<Vec<Entry>>,
    /// Export policy chain.
    pub export: Option<Vec<Entry>>,
    /// Kernel programming chain (the last plugin decides).
    pub kernel: Option<Vec<Entry>>,
}

/// One plugin of a chain.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The plugin's name: its metric label, and its identity across
    /// reloads (a new version of `name` falls back to the old one).
    pub name: String,
    /// An embedded plugin (`calico`, `graceful-shutdown`, `prepend`).
    #[serde(default)]
    pub builtin: Option<String>,
    /// A wasm file of the source (directory or ConfigMap key).
    #[serde(default)]
    pub wasm: Option<String>,
    /// Lower-case hex sha256 of the wasm; required with `wasm`.
    #[serde(default)]
    pub sha256: Option<String>,
    /// The plugin's own config: the `plugin` key of the policy context.
    #[serde(default)]
    pub config: serde_json::Value,
    /// Golden vectors (sdk format) run before activation; defaults to
    /// `<name>.vectors.json` when the source has that file.
    #[serde(default)]
    pub vectors: Option<String>,
}

/// Where an entry's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin<'a> {
    /// An embedded plugin.
    Builtin(&'a str),
    /// A file of the source, with its pin.
    File {
        /// File name.
        file: &'a str,
        /// Expected sha256, lower-case hex.
        sha256: &'a str,
    },
}

/// Why a manifest is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not YAML of the manifest's shape.
    #[error("manifest: {0}")]
    Syntax(String),
    /// The `apiVersion` is not ours.
    #[error("manifest: apiVersion `{0}` is not {API_VERSION}")]
    ApiVersion(String),
    /// An entry names no source or both.
    #[error("manifest: plugin `{0}` needs exactly one of `builtin` and `wasm`")]
    Source(String),
    /// A `wasm` entry has no pin or a malformed one.
    #[error(
        "manifest: plugin `{0}` needs `sha256` (64 hex digits) with `wasm`"
    )]
    Pin(String),
    /// `builtin` names no embedded plugin.
    #[error("manifest: plugin `{name}`: no embedded plugin `{builtin}`")]
    UnknownBuiltin {
        /// Entry name.
        name: String,
        /// The unknown builtin.
        builtin: String,
    },
    /// A name is used twice with different sources or configs.
    #[error("manifest: plugin `{0}` appears with different sources or configs")]
    Conflict(String),
    /// A name is empty or listed twice in one chain.
    #[error("manifest: bad or repeated plugin name `{0}` in the {1} chain")]
    Name(String, Hook),
}

impl Manifest {
    /// Parses and checks a manifest's text.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let m: Self = serde_yaml::from_str(text)
            .map_err(|e| ManifestError::Syntax(e.to_string()))?;
        m.check()?;
        Ok(m)
    }

    /// The chain of `hook`, `None` for the default.
    pub fn chain(&self, hook: Hook) -> Option<&[Entry]> {
        let h = &self.hooks;
        match hook {
            Hook::Import => h.import.as_deref(),
            Hook::Selection => h.selection.as_deref(),
            Hook::Export => h.export.as_deref(),
            Hook::Kernel => h.kernel.as_deref(),
        }
    }

    /// Every distinct plugin (by name), in first-appearance order.
    pub fn plugins(&self) -> Vec<&Entry> {
        let mut seen: Vec<&Entry> = Vec::new();
        for hook in Hook::ALL {
            for e in self.chain(hook).unwrap_or_default() {
                if !seen.iter().any(|s| s.name == e.name) {
                    seen.push(e);
                }
            }
        }
        seen
    }

    fn check(&self) -> Result<(), ManifestError> {
        if self.api_version != API_VERSION {
            return Err(ManifestError::ApiVersion(self.api_version.clone()));
        }
        let mut by_name: BTreeMap<&str, &Entry> = BTreeMap::new();
        for hook in Hook::ALL {
            let chain = self.chain(hook).unwrap_or_default();
            for (i, e) in chain.iter().enumerate() {
                if e.name.is_empty()
                    || chain[..i].iter().any(|o| o.name == e.name)
                {
                    return Err(ManifestError::Name(e.name.clone(), hook));
                }
                e.origin()?;
                match by_name.get(e.name.as_str()) {
                    Some(o) if *o != e => {
                        return Err(ManifestError::Conflict(e.name.clone()));
                    }
                    _ => {
                        by_name.insert(&e.name, e);
                    }
                }
            }
        }
        Ok(())
    }
}

impl Entry {
    /// The entry's source, checked.
    pub fn origin(&self) -> Result<Origin<'_>, ManifestError> {
        match (&self.builtin, &self.wasm) {
            (Some(b), None) => {
                if builtin(b).is_none() {
                    return Err(ManifestError::UnknownBuiltin {
                        name: self.name.clone(),
                        builtin: b.clone(),
                    });
                }
                Ok(Origin::Builtin(b))
            }
            (None, Some(file)) => {
                let pin = self
                    .sha256
                    .as_deref()
                    .filter(|s| {
                        s.len() == 64
                            && s.bytes().all(|b| {
                                b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
                            })
                    })
                    .ok_or_else(|| ManifestError::Pin(self.name.clone()))?;
                Ok(Origin::File { file, sha256: pin })
            }
            _ => Err(ManifestError::Source(self.name.clone())),
        }
    }
}

/// The bytes of an embedded plugin.
pub fn builtin(name: &str) -> Option<&'static [u8]> {
    bgplet_plugins_bundle::all()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| b)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    const PIN: &str =
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn a_full_manifest_parses_with_chains_in_order() {
        let m = Manifest::parse(&format!(
            "apiVersion: bgplet.dev/v1\n\
             hooks:\n  \
               export:\n    \
                 - {{name: calico, builtin: calico}}\n    \
                 - {{name: prepend, wasm: prepend.wasm, sha256: \"{PIN}\", \
                     config: {{peers: [a], count: 2}}}}\n  \
               kernel: []\n"
        ))
        .unwrap();
        let export = m.chain(Hook::Export).unwrap();
        assert_eq!(export[0].origin().unwrap(), Origin::Builtin("calico"));
        assert_eq!(
            export[1].origin().unwrap(),
            Origin::File {
                file: "prepend.wasm",
                sha256: PIN
            }
        );
        assert_eq!(export[1].config["count"], 2);
        assert_eq!(m.chain(Hook::Kernel), Some(&[][..]));
        assert_eq!(m.chain(Hook::Import), None);
        assert_eq!(m.plugins().len(), 2);
    }

    #[test]
    fn a_wasm_entry_without_a_pin_is_rejected() {
        let e = Manifest::parse(
            "apiVersion: bgplet.dev/v1\n\
             hooks: {export: [{name: p, wasm: p.wasm}]}\n",
        )
        .unwrap_err();
        assert_eq!(e, ManifestError::Pin("p".into()));
    }

    #[test]
    fn an_upper_case_or_short_pin_is_rejected() {
        let text = "apiVersion: bgplet.dev/v1\n\
                    hooks: {export: [{name: p, wasm: p.wasm, sha256: ABC}]}\n";
        assert!(matches!(Manifest::parse(text), Err(ManifestError::Pin(_))));
    }

    #[test]
    fn another_api_version_is_rejected() {
        let e = Manifest::parse("apiVersion: v2\n").unwrap_err();
        assert_eq!(e, ManifestError::ApiVersion("v2".into()));
    }

    #[test]
    fn unknown_fields_and_builtins_are_rejected() {
        assert!(matches!(
            Manifest::parse("apiVersion: bgplet.dev/v1\nhookz: {}\n"),
            Err(ManifestError::Syntax(_))
        ));
        assert!(matches!(
            Manifest::parse(
                "apiVersion: bgplet.dev/v1\n\
                 hooks: {import: [{name: x, builtin: nope}]}\n"
            ),
            Err(ManifestError::UnknownBuiltin { .. })
        ));
    }

    #[test]
    fn an_entry_with_both_or_no_source_is_rejected() {
        for entry in [
            "{name: x}".to_owned(),
            format!(
                "{{name: x, builtin: calico, wasm: x.wasm, sha256: \"{PIN}\"}}"
            ),
        ] {
            let text = format!(
                "apiVersion: bgplet.dev/v1\nhooks: {{import: [{entry}]}}\n"
            );
            assert_eq!(
                Manifest::parse(&text).unwrap_err(),
                ManifestError::Source("x".into())
            );
        }
    }

    #[test]
    fn one_name_with_two_configs_is_rejected() {
        let e = Manifest::parse(
            "apiVersion: bgplet.dev/v1\n\
             hooks:\n  \
               import: [{name: c, builtin: calico, config: 1}]\n  \
               export: [{name: c, builtin: calico, config: 2}]\n",
        )
        .unwrap_err();
        assert_eq!(e, ManifestError::Conflict("c".into()));
    }

    #[test]
    fn a_name_twice_in_one_chain_is_rejected() {
        let e = Manifest::parse(
            "apiVersion: bgplet.dev/v1\n\
             hooks: {export: [{name: c, builtin: calico}, \
                              {name: c, builtin: calico}]}\n",
        )
        .unwrap_err();
        assert_eq!(e, ManifestError::Name("c".into(), Hook::Export));
    }
}
