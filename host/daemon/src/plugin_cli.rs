//! `bgplet plugin ...`: offline validation of plugins and manifests,
//! and `plugin diff` against a running agent.

use std::path::{Path, PathBuf};

use anyhow::Context;
use bgplet_plugin::{HostConfig, PluginHost};

use k8s_openapi::ByteString;

use crate::plugins::diff::{Candidate, DiffReply};
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
    /// Show what a plugin would change in a running agent, before
    /// anything is activated.
    ///
    /// Per prefix: the import verdicts, the best path, what each update
    /// group is sent and the kernel route, now and under the candidate.
    /// The agent validates the candidate as a reload would (pin,
    /// compile, imports, world, init, self-test) and evaluates every
    /// route under it; sessions, routes and the kernel are left alone.
    ///
    /// FILE is either a plugin (a wasm component or an embedded
    /// plugin's name), which takes the place of the running plugin of
    /// the same name in every chain that has it and is appended to the
    /// chain of every other hook it declares; or a manifest (a directory
    /// or manifest.yaml): the complete candidate chains, as a reload
    /// would read them. A rejected candidate prints why and exits
    /// non-zero.
    Diff {
        /// The wasm component, embedded plugin name, manifest directory
        /// or manifest.yaml.
        file: PathBuf,
        /// The name the plugin runs under (default: the file name
        /// without `.wasm`, or the embedded plugin's name).
        #[arg(long)]
        name: Option<String>,
        /// The plugin's config (JSON), the manifest entry's `config`
        /// (the `plugin` key of the policy context); by default the
        /// running plugin's of that name, or null.
        #[arg(long, value_name = "JSON", conflicts_with = "config_file")]
        config: Option<String>,
        /// The plugin's config from a JSON or YAML file.
        #[arg(long, value_name = "FILE")]
        config_file: Option<PathBuf>,
        /// Golden vectors (sdk format) to self-test the plugin with
        /// (default: `NAME.vectors.json` beside a wasm file, if any).
        #[arg(long, value_name = "FILE")]
        vectors: Option<PathBuf>,
        /// The agent's control socket.
        #[arg(long, value_name = "PATH", default_value = crate::DEFAULT_CONTROL_SOCKET)]
        control_socket: PathBuf,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value_t = DiffFormat::Table)]
        output: DiffFormat,
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

/// How `plugin diff` prints.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// A table: prefix, change, before, after.
    Table,
    /// The control API's JSON.
    Json,
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
        PluginCommand::Diff {
            file,
            name,
            config,
            config_file,
            vectors,
            control_socket,
            output,
        } => {
            let candidate = diff_candidate(
                &file,
                name,
                config.as_deref(),
                config_file.as_deref(),
                vectors.as_deref(),
            )?;
            let request = crate::control::Request::PluginDiff { candidate };
            let answer =
                crate::control::request(&control_socket, &request).await?;
            match output {
                DiffFormat::Json => print!("{answer}"),
                DiffFormat::Table => {
                    let reply: DiffReply = serde_json::from_str(&answer)
                        .context("agent sent a bad diff reply")?;
                    crate::plugins::diff_view::print(&reply);
                }
            }
            Ok(())
        }
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

/// The request's candidate from the command line.
fn diff_candidate(
    file: &Path,
    name: Option<String>,
    config: Option<&str>,
    config_file: Option<&Path>,
    vectors: Option<&Path>,
) -> anyhow::Result<Candidate> {
    let is_manifest = file.is_dir()
        || file.extension().is_some_and(|e| e == "yaml" || e == "yml");
    if is_manifest {
        if name.is_some()
            || config.is_some()
            || config_file.is_some()
            || vectors.is_some()
        {
            anyhow::bail!(
                "--name, --config, --config-file and --vectors are for a \
                 single plugin; a manifest carries its own"
            );
        }
        let dir = if file.is_dir() {
            file.to_owned()
        } else {
            file.parent().unwrap_or(Path::new(".")).to_owned()
        };
        let path = if file.is_dir() {
            dir.join(MANIFEST_FILE)
        } else {
            file.to_owned()
        };
        let manifest = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let bundle = Bundle::from_dir(&dir)?;
        return Ok(Candidate::Manifest {
            manifest,
            files: bundle
                .files
                .into_iter()
                .map(|(k, v)| (k, ByteString(v)))
                .collect(),
            origin: format!("plugin diff of {}", path.display()),
        });
    }
    let config = match (config, config_file) {
        (Some(text), _) => {
            Some(serde_json::from_str(text).context("--config is not JSON")?)
        }
        (None, Some(f)) => {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("reading {}", f.display()))?;
            Some(serde_yaml::from_str(&text).with_context(|| {
                format!("{}: not JSON or YAML", f.display())
            })?)
        }
        (None, None) => None,
    };
    let read = |p: &Path| {
        std::fs::read(p).with_context(|| format!("reading {}", p.display()))
    };
    let (wasm, builtin, stem) = if file.is_file() {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("plugin")
            .to_owned();
        (Some(ByteString(read(file)?)), None, stem)
    } else {
        let text = file.to_string_lossy().into_owned();
        if crate::plugins::manifest::builtin(&text).is_none() {
            anyhow::bail!(
                "{text}: no such file, and not an embedded plugin \
                 (calico, graceful-shutdown, prepend)"
            );
        }
        (None, Some(text.clone()), text)
    };
    let name = name.unwrap_or(stem);
    let beside = file.with_file_name(format!("{name}.vectors.json"));
    let vectors = match vectors {
        Some(v) => Some(ByteString(read(v)?)),
        None if wasm.is_some() && beside.is_file() => {
            Some(ByteString(read(&beside)?))
        }
        None => None,
    };
    Ok(Candidate::Plugin {
        name,
        wasm,
        builtin,
        config,
        vectors,
    })
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
