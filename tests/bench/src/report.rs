//! Medians, the machine description and the Markdown table.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

const BEGIN: &str = "<!-- bench:results:begin -->";
const END: &str = "<!-- bench:results:end -->";

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// Per scenario and daemon: medians of time, RSS, CPU and load, and the
/// number of successful runs, in first-seen order.
pub fn summary(runs: &[Value]) -> Vec<Value> {
    let mut keys: Vec<(String, String)> = Vec::new();
    for r in runs {
        let k = (
            r["scenario"].as_str().unwrap_or("").to_string(),
            r["daemon"].as_str().unwrap_or("").to_string(),
        );
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .map(|(sc, d)| {
            let mine: Vec<&Value> = runs
                .iter()
                .filter(|r| r["scenario"] == sc.as_str() && r["daemon"] == d.as_str())
                .collect();
            let ok: Vec<&&Value> =
                mine.iter().filter(|r| r["seconds"].is_number()).collect();
            let col = |k: &str| median(ok.iter().filter_map(|r| r[k].as_f64()).collect());
            json!({
                "scenario": sc, "daemon": d,
                "runs": mine.len(), "ok": ok.len(),
                "seconds": col("seconds"),
                "peak_rss_bytes": col("peak_rss_bytes"),
                "cpu_seconds": col("cpu_seconds"),
                "load1": col("load1_after"),
                "errors": mine.iter().filter_map(|r| r["error"].as_str()).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// CPU model, cores, kernel and load, from /proc.
pub fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    json!({
        "cpu_model": model, "nproc": cores, "kernel": kernel,
        "loadavg_at_write": load.trim(), "memory": mem,
    })
}

fn fmt_s(v: &Value) -> String {
    v.as_f64().map_or("—".into(), |x| format!("{x:.2} s"))
}

fn fmt_mb(v: &Value) -> String {
    v.as_f64().map_or("—".into(), |x| {
        if x >= 1e9 {
            format!("{:.2} GB", x / 1e9)
        } else {
            format!("{:.0} MB", x / 1e6)
        }
    })
}

fn ratio(a: &Value, b: Option<&Value>) -> String {
    match (a.as_f64(), b.and_then(Value::as_f64)) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.1}x", a / b),
        _ => "—".into(),
    }
}

/// The results table, one row per scenario and daemon, with ratios to
/// BIRD in the same scenario.
pub fn markdown(doc: &Value) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| scenario | daemon | time (median) | vs BIRD | peak RSS | vs BIRD | CPU s | runs ok | load1 |"
    );
    let _ = writeln!(t, "|---|---|---|---|---|---|---|---|---|");
    let rows = doc["summary"].as_array().cloned().unwrap_or_default();
    for r in &rows {
        let bird = rows
            .iter()
            .find(|b| b["scenario"] == r["scenario"] && b["daemon"] == "bird");
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {}/{} | {} |",
            r["scenario"].as_str().unwrap_or(""),
            r["daemon"].as_str().unwrap_or(""),
            fmt_s(&r["seconds"]),
            ratio(&r["seconds"], bird.map(|b| &b["seconds"])),
            fmt_mb(&r["peak_rss_bytes"]),
            ratio(&r["peak_rss_bytes"], bird.map(|b| &b["peak_rss_bytes"])),
            r["cpu_seconds"]
                .as_f64()
                .map_or("—".into(), |x| format!("{x:.2}")),
            r["ok"],
            r["runs"],
            r["load1"]
                .as_f64()
                .map_or("—".into(), |x| format!("{x:.2}")),
        );
    }
    t
}

/// Replaces the results block of `path` with `table` (appends one if
/// there is none).
pub fn splice(path: &Path, table: &str) -> Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{BEGIN}\n{table}{END}");
    let new = match (text.find(BEGIN), text.find(END)) {
        (Some(a), Some(b)) if a < b => {
            format!("{}{block}{}", &text[..a], &text[b + END.len()..])
        }
        _ => format!("{text}\n{block}\n"),
    };
    std::fs::write(path, new)
        .with_context(|| format!("writing {}", path.display()))
}
