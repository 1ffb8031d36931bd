//! bgplet-bench: a BGP load generator and harness that runs BIRD 2,
//! FRR, GoBGP and bgplet as the device under test (DUT) in network
//! namespaces and measures convergence time, peak RSS and CPU seconds.
//!
//! ```text
//! cargo build --release -p bgplet -p bgplet-bench
//! sudo target/release/bgplet-bench --scenario all \
//!     --bgplet-bin target/release/bgplet --out bench.json \
//!     --markdown docs/benchmarks.md
//! ```
//!
//! See docs/benchmarks.md for the method and the results.

mod dut;
mod measure;
mod reload;
mod report;
mod scenario;
mod session;
mod table;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use serde_json::{Value, json};

use crate::dut::Kind;
use crate::scenario::Scenario;

/// Command line.
#[derive(Parser)]
#[command(name = "bgplet-bench", about = "BGP daemon benchmark harness")]
struct Cli {
    /// Comma-separated scenarios: passthrough-N, reflector-N, reload-N,
    /// reload-under-load-N (N may end in k or m; the reload ones run
    /// bgplet only), or `all` (passthrough-100k, passthrough-1m,
    /// reflector-100, reflector-1000).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "passthrough-100k,reflector-100"
    )]
    scenario: Vec<String>,
    /// Daemons under test, in run order.
    #[arg(long, value_delimiter = ',', value_enum,
          default_values_t = [Kind::Bird, Kind::Frr, Kind::Gobgp, Kind::Bgplet])]
    daemons: Vec<Kind>,
    /// Repetitions; the report shows medians.
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// The bgplet binary (build with --release).
    #[arg(long, env = "BGPLET_BIN", required_unless_present = "from")]
    bgplet_bin: Option<PathBuf>,
    /// JSON results file.
    #[arg(long, default_value = "bench-results.json")]
    out: PathBuf,
    /// A Markdown file whose results block (between
    /// `<!-- bench:results:begin -->` and `<!-- bench:results:end -->`)
    /// is replaced by the results table.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Seed of the synthetic table.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Give up on one run after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Run nothing: merge the runs of these earlier JSON results files
    /// (repeatable) into `--out` and the table.
    #[arg(long, value_name = "FILE")]
    from: Vec<PathBuf>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    bgplet_tests::require_root()?;
    bgplet_tests::require_tools(&["ip", "bird", "gobgpd", "getconf"])?;
    let mut names = Vec::new();
    for s in &cli.scenario {
        if s == "all" {
            names.extend(
                [
                    "passthrough-100k",
                    "passthrough-1m",
                    "reflector-100",
                    "reflector-1000",
                ]
                .map(String::from),
            );
        } else {
            names.push(s.clone());
        }
    }
    let scenarios = names
        .iter()
        .map(|s| Scenario::parse(s))
        .collect::<Result<Vec<_>>>()?;
    if !cli.from.is_empty() {
        return merge(&cli);
    }
    let given = cli.bgplet_bin.clone().context("--bgplet-bin is required")?;
    let bin = std::fs::canonicalize(&given)
        .with_context(|| format!("bgplet binary {}", given.display()))?;
    let mut runs = Vec::new();
    let mut inputs = Vec::new();
    for &sc in &scenarios {
        let input = scenario::prepare(sc, cli.seed)?;
        eprintln!("{}: input {}", sc.name(), input.info);
        // Repetitions outermost, so a burst of load from other work on
        // the machine spreads over the daemons instead of hitting one.
        for rep in 0..cli.reps {
            for &kind in &cli.daemons {
                if sc.bgplet_only() && kind != Kind::Bgplet {
                    continue;
                }
                let r = scenario::run_once(
                    sc,
                    kind,
                    &input,
                    &bin,
                    Duration::from_secs(cli.timeout),
                );
                let mut v = match r {
                    Ok(v) => v,
                    Err(e) => json!({
                        "daemon": kind.name(), "scenario": sc.name(),
                        "error": format!("{e:#}"), "load1_after": measure::load1(),
                    }),
                };
                v["rep"] = json!(rep + 1);
                eprintln!("{v}");
                runs.push(v);
                write_out(&cli, &runs, &inputs, &bin)?;
            }
        }
        inputs.push(json!({ "scenario": sc.name(), "input": input.info }));
    }
    let doc = write_out(&cli, &runs, &inputs, &bin)?;
    let table = report::markdown(&doc);
    println!("{table}");
    if let Some(md) = &cli.markdown {
        report::splice(md, &table)?;
    }
    Ok(())
}

/// `--from`: the union of earlier runs, re-summarised.
fn merge(cli: &Cli) -> Result<()> {
    let mut runs = Vec::new();
    let mut inputs = Vec::new();
    let mut first: Option<Value> = None;
    for f in &cli.from {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("reading {}", f.display()))?;
        let d: Value = serde_json::from_str(&text)?;
        runs.extend(d["runs"].as_array().cloned().unwrap_or_default());
        inputs.extend(d["inputs"].as_array().cloned().unwrap_or_default());
        first.get_or_insert(d);
    }
    let mut doc = first.unwrap_or_else(|| json!({}));
    doc["sources"] = json!(cli.from);
    doc["inputs"] = json!(inputs);
    doc["summary"] = json!(report::summary(&runs));
    doc["runs"] = json!(runs);
    std::fs::write(&cli.out, serde_json::to_string_pretty(&doc)?)?;
    let table = report::markdown(&doc);
    println!("{table}");
    if let Some(md) = &cli.markdown {
        report::splice(md, &table)?;
    }
    Ok(())
}

fn write_out(
    cli: &Cli,
    runs: &[Value],
    inputs: &[Value],
    bin: &std::path::Path,
) -> Result<Value> {
    let doc = json!({
        "machine": report::machine(),
        "versions": dut::versions(bin).into_iter()
            .map(|(k, v)| json!({ "daemon": k, "version": v })).collect::<Vec<_>>(),
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "inputs": inputs,
        "runs": runs,
        "summary": report::summary(runs),
    });
    std::fs::write(&cli.out, serde_json::to_string_pretty(&doc)?)?;
    Ok(doc)
}
