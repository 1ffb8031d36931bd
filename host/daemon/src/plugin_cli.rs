//! `bgplet plugin ...`: offline validation of plugins and manifests.

use std::path::{Path, PathBuf};

use anyhow::Context;
use bgplet_plugin::{HostConfig, PluginHost};

use crate::plugins::load::{self, Bundle};
use crate::plugins::manifest::MANIFEST_FILE;

/// The `plugin` subcommands.
#[derive(clap::Subcommand)]
pub enum PluginCommand {
    /// Validate a plugin offline: a wasm file, a manifest.yaml or a
    /// directory holding one. Runs every reload stage (pin, compile,
    /// imports, world, init with the config, self-test vectors) against
    /// an empty policy context, or the context of a vector file.
    Check {
        /// The wasm, manifest or directory.
        file: PathBuf,
        /// Plugin config (JSON) for a bare wasm file: the `plugin` key.
        #[arg(long, value_name = "JSON", default_value = "null")]
        config: String,
        /// Golden vectors (sdk format) to run a bare wasm file against.
        #[arg(long, value_name = "FILE")]
        vectors: Option<PathBuf>,
    },
    /// Run a plugin's hooks over a file of routes and print every
    /// decision: import per route, selection per prefix, export and
    /// kernel per best route. PLUGIN is a wasm file or an embedded
    /// plugin's name; the routes file format is in `bgplet plugin test
    /// --help`'s docs (docs/plugins.md).
    Test {
        /// The plugin: a wasm component, or `calico`, `prepend`,
        /// `graceful-shutdown`.
        plugin: PathBuf,
        /// Routes file (JSON): `from`, optional `to`, `routes`.
        #[arg(long, value_name = "FILE")]
        routes: PathBuf,
        /// The plugin's config (JSON): the whole policy context, as the
        /// agent would pass it.
        #[arg(long, value_name = "JSON", default_value = "{}")]
        config: String,
    },
    /// Write an embedded plugin's wasm (`calico`, `graceful-shutdown`,
    /// `prepend`) to a file, with its sha256 on stdout: the bytes and
    /// the pin for a manifest entry.
    Builtin {
        /// The embedded plugin.
        name: String,
        /// Where to write the component.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
}

/// Runs a `plugin` subcommand.
pub async fn run(cmd: PluginCommand) -> anyhow::Result<()> {
    match cmd {
        PluginCommand::Check {
            file,
            config,
            vectors,
        } => tokio::task::spawn_blocking(move || {
            check(&file, &config, vectors.as_deref())
        })
        .await
        .context("check task")?,
        PluginCommand::Test {
            plugin,
            routes,
            config,
        } => tokio::task::spawn_blocking(move || {
            crate::plugin_test::run(&plugin, &routes, &config)
        })
        .await
        .context("test task")?,
        PluginCommand::Builtin { name, output } => {
            let bytes = crate::plugins::manifest::builtin(&name)
                .with_context(|| format!("no embedded plugin `{name}`"))?;
            std::fs::write(&output, bytes)
                .with_context(|| format!("writing {}", output.display()))?;
            println!("{}  {}", load::sha256_hex(bytes), output.display());
            Ok(())
        }
    }
}

fn check(
    file: &Path,
    config: &str,
    vectors: Option<&Path>,
) -> anyhow::Result<()> {
    let host = PluginHost::new(HostConfig::default())?;
    let context = serde_json::json!({});
    let is_manifest = file.is_dir()
        || file.extension().is_some_and(|e| e == "yaml" || e == "yml");
    if is_manifest {
        let dir = if file.is_dir() {
            file.to_owned()
        } else {
            if file.file_name().is_some_and(|n| n != MANIFEST_FILE) {
                anyhow::bail!("a manifest must be named {MANIFEST_FILE}");
            }
            file.parent().unwrap_or(Path::new(".")).to_owned()
        };
        let bundle = Bundle::from_dir(&dir)?;
        let spec = load::build(&host, Some(&bundle), &context)?;
        println!("{}: valid", dir.join(MANIFEST_FILE).display());
        for hook in bgplet_plugin::Hook::ALL {
            let names: Vec<String> = spec
                .chain(hook)
                .iter()
                .map(|p| format!("{}@{}", p.name(), &p.sha256()[..12]))
                .collect();
            println!("  {:<10} {}", hook.as_str(), names.join(" -> "));
        }
        return Ok(());
    }
    let wasm = std::fs::read(file)
        .with_context(|| format!("reading {}", file.display()))?;
    let config: serde_json::Value =
        serde_json::from_str(config).context("--config is not JSON")?;
    let name = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("plugin")
        .to_owned();
    let plugin =
        host.load(&name, &wasm, &load::plugin_config(&context, &config))?;
    let info = plugin.info();
    println!(
        "{}: valid: {} {} ({}), hooks {:?}, sha256 {}",
        file.display(),
        info.name,
        info.version,
        info.description,
        info.hooks,
        plugin.sha256()
    );
    if let Some(v) = vectors {
        let bytes = std::fs::read(v)
            .with_context(|| format!("reading {}", v.display()))?;
        let n = load::self_test(
            &host,
            &name,
            &wasm,
            &v.display().to_string(),
            &bytes,
        )?;
        println!("{}: {n} cases passed", v.display());
    }
    Ok(())
}
