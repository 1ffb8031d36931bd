//! `bgplet`: the command line. Everything here is the edge of the
//! program: arguments in, `anyhow` errors out.

mod agent;
// Wired into the agent next; until then the binary leaves their API
// unused.
// Also compiled into tests/birdctl.rs, which uses the whole API.
#[allow(dead_code, unused_imports)]
mod birdctl;
mod codec;
mod control;
mod datastore;
mod ifaces;
mod kernel;
mod lab;
// Also compiled into tests/metrics.rs, which uses the whole API.
#[allow(dead_code, unused_imports)]
mod metrics;
mod native;
mod observe;
mod output;
mod peer;
mod plugin_cli;
mod plugin_test;
mod plugins;
mod policy;
mod resources;
mod routing;
mod sockopt;
mod time;
mod transport;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

/// Where `bgplet run` listens and the other commands connect by default.
const DEFAULT_CONTROL_SOCKET: &str = "/var/run/bgplet/bgplet.ctl";

/// A programmable BGP routing agent for Kubernetes nodes that speaks
/// Calico's BGP.
#[derive(Parser)]
#[command(name = "bgplet", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the agent for one node from a file of Calico resources.
    Run(RunArgs),
    /// Show the BGP sessions of a running agent.
    Status(QueryArgs),
    /// Show every path of every prefix a running agent holds.
    Routes(QueryArgs),
    /// A Calico cluster in network namespaces: bgplet nodes, pods,
    /// pings (root).
    Lab(lab::LabArgs),
    /// Work with policy plugins and manifests.
    #[command(subcommand)]
    Plugin(plugin_cli::PluginCommand),
}

#[derive(clap::Args)]
struct RunArgs {
    /// Multi-document YAML of projectcalico.org/v3 resources (the files
    /// you give `calicoctl apply -f`). Implies `--datastore file`.
    #[arg(long, value_name = "FILE", required_unless_present = "datastore")]
    resources: Option<PathBuf>,
    /// Where Calico resources come from: `file` (--resources) or
    /// `kubernetes` (in-cluster service account, else KUBECONFIG).
    #[arg(long, value_enum, env = "DATASTORE_TYPE")]
    datastore: Option<DatastoreKind>,
    /// Namespace of the Secrets that BGP passwords refer to (calico-node's
    /// namespace).
    #[arg(long, env = "CALICO_NAMESPACE", default_value = "calico-system")]
    secret_namespace: String,
    /// This node's name (Calico's NODENAME).
    #[arg(long, env = "NODENAME", value_name = "NAME")]
    node: String,
    /// Unix socket for `bgplet status` and `bgplet routes`.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_CONTROL_SOCKET)]
    control_socket: PathBuf,
    /// Socket speaking BIRD's control protocol, for calico-node's probes,
    /// `calicoctl node status` and `birdc`; the IPv6 one (`bird6.ctl`)
    /// sits beside it. `none` disables both.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "/var/run/calico/bird.ctl"
    )]
    bird_socket: String,
    /// Address of the HTTP endpoints /metrics, /healthz and /readyz
    /// (`none` disables them).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9179")]
    http_listen: String,
    /// Directory with the plugin manifest (`manifest.yaml`) and the wasm
    /// files it names, e.g. a mounted ConfigMap; watched for changes.
    /// Without it (and --plugins-configmap) the embedded defaults run.
    #[arg(long, value_name = "DIR", conflicts_with = "plugins_configmap")]
    plugins: Option<PathBuf>,
    /// ConfigMap `NAMESPACE/NAME` holding the plugin manifest (data key
    /// `manifest.yaml`, wasm in binaryData), watched through the API.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    plugins_configmap: Option<String>,
    /// Do not program the kernel routing table.
    #[arg(long)]
    no_fib: bool,
    /// Run the embedded Calico policy compiled natively instead of as a
    /// wasm plugin: no sandbox, no manifests, no reloads. For measuring
    /// what the sandbox costs (docs/benchmarks.md).
    #[arg(long, conflicts_with_all = ["plugins", "plugins_configmap"])]
    native_policy: bool,
    /// Router id override, as Calico's CALICO_ROUTER_ID ("hash" or an
    /// IPv4 address).
    #[arg(long, env = "CALICO_ROUTER_ID", value_name = "ID")]
    router_id: Option<String>,
    /// Host-local IPAM, as calico-node's USE_POD_CIDR=true: each node's
    /// Kubernetes podCIDRs are its blocks; BlockAffinities are ignored.
    #[arg(long, env = "USE_POD_CIDR")]
    use_pod_cidr: bool,
}

#[derive(clap::Args)]
struct QueryArgs {
    /// The agent's control socket.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_CONTROL_SOCKET)]
    control_socket: PathBuf,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
    output: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DatastoreKind {
    /// A YAML file of resources, watched for changes.
    File,
    /// The Kubernetes API (Calico's CRDs, Nodes, Secrets).
    #[value(alias = "kdd")]
    Kubernetes,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Human-readable.
    Table,
    /// The control API's JSON, one document.
    Json,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match cli.command {
        Command::Run(args) => {
            init_logging();
            let source = match (args.datastore, args.resources) {
                (Some(DatastoreKind::Kubernetes), None) => {
                    datastore::Source::Kubernetes {
                        secret_namespace: args.secret_namespace.clone(),
                    }
                }
                (Some(DatastoreKind::Kubernetes), Some(_)) => {
                    anyhow::bail!(
                        "--resources and --datastore kubernetes exclude each other"
                    )
                }
                (_, Some(path)) => datastore::Source::File(path),
                (Some(DatastoreKind::File), None) => {
                    anyhow::bail!("--datastore file needs --resources FILE")
                }
                (None, None) => anyhow::bail!("--resources FILE is required"),
            };
            let plugins = match (args.plugins, args.plugins_configmap) {
                (Some(dir), _) => Some(agent::PluginSource::Dir(dir)),
                (None, Some(cm)) => {
                    let Some((ns, name)) = cm.split_once('/') else {
                        anyhow::bail!(
                            "--plugins-configmap {cm}: expected NAMESPACE/NAME"
                        )
                    };
                    Some(agent::PluginSource::ConfigMap {
                        namespace: ns.to_owned(),
                        name: name.to_owned(),
                    })
                }
                (None, None) => None,
            };
            runtime.block_on(agent::run(agent::Options {
                source,
                plugins,
                secret_namespace: args.secret_namespace,
                node: args.node,
                control_socket: args.control_socket,
                bird_socket: (args.bird_socket != "none")
                    .then(|| PathBuf::from(&args.bird_socket)),
                http_listen: if args.http_listen == "none" {
                    None
                } else {
                    Some(args.http_listen.parse().with_context(|| {
                        format!(
                            "--http-listen {}: not an address:port",
                            args.http_listen
                        )
                    })?)
                },
                no_fib: args.no_fib,
                native_policy: args.native_policy,
                use_pod_cidr: args.use_pod_cidr,
                router_id: args.router_id,
            }))
        }
        Command::Lab(args) => lab::main(args, &runtime),
        Command::Status(args) => runtime.block_on(query(
            args,
            control::Request::Status,
            output::print_status,
        )),
        Command::Routes(args) => runtime.block_on(query(
            args,
            control::Request::Routes,
            output::print_routes,
        )),
        Command::Plugin(cmd) => runtime.block_on(plugin_cli::run(cmd)),
    }
}

async fn query(
    args: QueryArgs,
    request: control::Request,
    print_table: fn(&str) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let answer = control::request(&args.control_socket, &request).await?;
    match args.output {
        Format::Json => {
            print!("{answer}");
            Ok(())
        }
        Format::Table => print_table(&answer),
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BGPLET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour codes only for a terminal: in a log file or `kubectl logs`
    // they would break every grep for `field="..."`.
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
