//! Turning a manifest and its files into validated chains: pin, compile,
//! import allow-list, world check, `init` with the plugin's config, the
//! plugin's own golden vectors. Nothing here activates anything.

use std::collections::BTreeMap;
use std::path::Path;

use bgplet_plugin::{ChainSpec, Hook, LoadError, LoadedPlugin, PluginHost};
use bgplet_sdk::vectors::VectorFile;
use sha2::{Digest, Sha256};

use super::manifest::{
    Entry, MANIFEST_FILE, Manifest, ManifestError, Origin, builtin,
};

/// The plugin every hook runs when no manifest names one.
pub const DEFAULT_PLUGIN: &str = "calico";

/// A manifest with the files it refers to, read from one source.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// The manifest.
    pub manifest: Manifest,
    /// File name to contents (wasm and vector files).
    pub files: BTreeMap<String, Vec<u8>>,
    /// Where it came from, for the status ("directory /x").
    pub origin: String,
}

/// Why a reload was refused. The active plugins stay as they were.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The manifest is unusable.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The source could not be read.
    #[error("{0}")]
    Source(String),
    /// The manifest refers to a file the source does not have.
    #[error("plugin {plugin}: file `{file}` not found in the source")]
    Missing {
        /// Entry name.
        plugin: String,
        /// The file.
        file: String,
    },
    /// The wasm is not the pinned one.
    #[error("plugin {plugin}: sha256 {actual} does not match the pin {pinned}")]
    Pin {
        /// Entry name.
        plugin: String,
        /// The manifest's pin.
        pinned: String,
        /// The file's hash.
        actual: String,
    },
    /// A load stage failed (compile, imports, world, init).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A plugin is listed for a hook its `describe` does not declare.
    #[error("plugin {plugin} does not implement the {hook} hook")]
    Hook {
        /// Entry name.
        plugin: String,
        /// The hook.
        hook: Hook,
    },
    /// The plugin's vector file does not parse.
    #[error("plugin {plugin}: vectors `{file}`: {message}")]
    Vectors {
        /// Entry name.
        plugin: String,
        /// The file.
        file: String,
        /// Parse error.
        message: String,
    },
    /// The plugin failed its own golden vectors.
    #[error("plugin {plugin}: self-test failed: {}", failures.join("; "))]
    SelfTest {
        /// Entry name.
        plugin: String,
        /// One message per failed case.
        failures: Vec<String>,
    },
}

impl ReloadError {
    /// A short, stable name of the failed stage, for the `reason` label
    /// of `bgplet_plugin_reloads_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Manifest(_) => "manifest",
            Self::Source(_) | Self::Missing { .. } => "source",
            Self::Pin { .. } => "pin",
            Self::Load(e) => match e {
                LoadError::Compile { .. } => "compile",
                LoadError::Import { .. } => "import",
                LoadError::World { .. } => "world",
                LoadError::Config { .. } | LoadError::InitTrap { .. } => "init",
                LoadError::Instantiate { .. } | LoadError::Describe { .. } => {
                    "instantiate"
                }
            },
            Self::Hook { .. } => "hook",
            Self::Vectors { .. } | Self::SelfTest { .. } => "self_test",
        }
    }
}

impl Bundle {
    /// Reads `manifest.yaml` and every file it refers to from `dir`
    /// (a mounted ConfigMap volume or a plain directory).
    pub fn from_dir(dir: &Path) -> Result<Self, ReloadError> {
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|e| {
                ReloadError::Source(format!(
                    "{}: {e}",
                    dir.join(name).display()
                ))
            })
        };
        let text = read(MANIFEST_FILE)?;
        let text = String::from_utf8(text).map_err(|_| {
            ReloadError::Source(format!("{MANIFEST_FILE}: not UTF-8"))
        })?;
        let manifest = Manifest::parse(&text)?;
        let mut files = BTreeMap::new();
        for e in manifest.plugins() {
            for (file, required) in wanted_files(e)? {
                if !plain_name(&file) {
                    return Err(ReloadError::Source(format!(
                        "plugin {}: `{file}` must be a file name of the \
                         directory",
                        e.name
                    )));
                }
                match std::fs::read(dir.join(&file)) {
                    Ok(bytes) => {
                        files.insert(file, bytes);
                    }
                    Err(e)
                        if !required
                            && e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => {
                        return Err(ReloadError::Source(format!(
                            "{}: {err}",
                            dir.join(&file).display()
                        )));
                    }
                }
            }
        }
        Ok(Self {
            manifest,
            files,
            origin: format!("directory {}", dir.display()),
        })
    }

    /// A bundle from a manifest's text and a map of files (a
    /// ConfigMap's `data["manifest.yaml"]` and `binaryData`).
    pub fn from_parts(
        manifest: &str,
        files: BTreeMap<String, Vec<u8>>,
        origin: String,
    ) -> Result<Self, ReloadError> {
        Ok(Self {
            manifest: Manifest::parse(manifest)?,
            files,
            origin,
        })
    }
}

/// The files an entry refers to, and whether each must exist.
fn wanted_files(e: &Entry) -> Result<Vec<(String, bool)>, ReloadError> {
    let mut out = Vec::new();
    if let Origin::File { file, .. } = e.origin()? {
        out.push((file.to_owned(), true));
    }
    match &e.vectors {
        Some(v) => out.push((v.clone(), true)),
        None => out.push((vectors_file(&e.name), false)),
    }
    Ok(out)
}

fn vectors_file(name: &str) -> String {
    format!("{name}.vectors.json")
}

fn plain_name(file: &str) -> bool {
    !file.is_empty()
        && !file.contains('/')
        && !file.contains('\\')
        && file != "."
        && file != ".."
}

/// Lower-case hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `context` with its `plugin` key set to `config`, as `init` text.
pub fn plugin_config(
    context: &serde_json::Value,
    config: &serde_json::Value,
) -> String {
    let mut ctx = context.clone();
    if let serde_json::Value::Object(map) = &mut ctx {
        map.insert("plugin".into(), config.clone());
    }
    ctx.to_string()
}

/// How a validated plugin is loaded into the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// For activation: counted under its name in the host's metrics.
    Live,
    /// Only tried (`bgplet plugin diff`): counters of its own.
    Detached,
}

/// Validates every plugin of `bundle` (or the embedded defaults when
/// there is none) against `context` and returns the chains to swap in.
pub fn build(
    host: &PluginHost,
    bundle: Option<&Bundle>,
    context: &serde_json::Value,
) -> Result<ChainSpec, ReloadError> {
    build_with(host, bundle, context, Mode::Live)
}

/// [`build`], loading in `mode`.
pub fn build_with(
    host: &PluginHost,
    bundle: Option<&Bundle>,
    context: &serde_json::Value,
    mode: Mode,
) -> Result<ChainSpec, ReloadError> {
    let default_entry = Entry {
        name: DEFAULT_PLUGIN.into(),
        builtin: Some(DEFAULT_PLUGIN.into()),
        wasm: None,
        sha256: None,
        config: serde_json::Value::Null,
        vectors: None,
    };
    let Some(bundle) = bundle else {
        let calico = load_entry(host, &default_entry, None, context, mode)?;
        return Ok(ChainSpec::new(vec![calico]));
    };
    let mut loaded: BTreeMap<String, LoadedPlugin> = BTreeMap::new();
    let mut spec = ChainSpec::default();
    for hook in Hook::ALL {
        let chain = match bundle.manifest.chain(hook) {
            Some(c) => c,
            None => std::slice::from_ref(&default_entry),
        };
        let mut plugins = Vec::with_capacity(chain.len());
        for e in chain {
            let p = match loaded.get(&e.name) {
                Some(p) => p.clone(),
                None => {
                    let p = load_entry(host, e, Some(bundle), context, mode)?;
                    loaded.insert(e.name.clone(), p.clone());
                    p
                }
            };
            if !p.implements(hook) {
                return Err(ReloadError::Hook {
                    plugin: e.name.clone(),
                    hook,
                });
            }
            plugins.push(p);
        }
        spec = spec.with_hook(hook, plugins);
    }
    Ok(spec)
}

/// Pin, load, self-test one entry.
pub fn load_entry(
    host: &PluginHost,
    e: &Entry,
    bundle: Option<&Bundle>,
    context: &serde_json::Value,
    mode: Mode,
) -> Result<LoadedPlugin, ReloadError> {
    let file =
        |name: &str| bundle.and_then(|b| b.files.get(name)).map(Vec::as_slice);
    let wasm: &[u8] = match e.origin()? {
        Origin::Builtin(b) => {
            builtin(b).ok_or_else(|| ManifestError::UnknownBuiltin {
                name: e.name.clone(),
                builtin: b.into(),
            })?
        }
        Origin::File { file: f, sha256 } => {
            let bytes = file(f).ok_or_else(|| ReloadError::Missing {
                plugin: e.name.clone(),
                file: f.into(),
            })?;
            let actual = sha256_hex(bytes);
            if actual != sha256 {
                return Err(ReloadError::Pin {
                    plugin: e.name.clone(),
                    pinned: sha256.into(),
                    actual,
                });
            }
            bytes
        }
    };
    let config = plugin_config(context, &e.config);
    let plugin = match mode {
        Mode::Live => host.load(&e.name, wasm, &config)?,
        Mode::Detached => host.load_detached(&e.name, wasm, &config)?,
    };
    let vectors = e.vectors.clone().unwrap_or_else(|| vectors_file(&e.name));
    if let Some(bytes) = file(&vectors) {
        self_test_with(host, &e.name, wasm, &vectors, bytes, mode)?;
    } else if e.vectors.is_some() {
        return Err(ReloadError::Missing {
            plugin: e.name.clone(),
            file: vectors,
        });
    }
    Ok(plugin)
}

/// Runs a plugin's golden vectors through a scratch instance
/// initialised with the vectors' own context.
pub fn self_test(
    host: &PluginHost,
    name: &str,
    wasm: &[u8],
    file: &str,
    bytes: &[u8],
) -> Result<usize, ReloadError> {
    self_test_with(host, name, wasm, file, bytes, Mode::Live)
}

fn self_test_with(
    host: &PluginHost,
    name: &str,
    wasm: &[u8],
    file: &str,
    bytes: &[u8],
    mode: Mode,
) -> Result<usize, ReloadError> {
    let vf: VectorFile =
        serde_json::from_slice(bytes).map_err(|e| ReloadError::Vectors {
            plugin: name.into(),
            file: file.into(),
            message: e.to_string(),
        })?;
    let scratch = match mode {
        Mode::Live => host.load(name, wasm, &vf.config())?,
        Mode::Detached => host.load_detached(name, wasm, &vf.config())?,
    };
    let chains =
        bgplet_plugin::PolicyChains::new(ChainSpec::new(vec![scratch]));
    let mut policy = chains.worker();
    let failures = vf.check(&mut policy);
    if failures.is_empty() {
        Ok(vf.cases.len())
    } else {
        Err(ReloadError::SelfTest {
            plugin: name.into(),
            failures,
        })
    }
}
