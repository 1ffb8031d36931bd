//! The lab's state file: what `lab down` removes and what scripts and
//! tests read to find namespaces, sockets and agent command lines.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::plan::LabPlan;

/// Name of the state file inside the lab directory.
pub const STATE_FILE: &str = "state.json";

/// Which daemon a node runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentKind {
    /// `bgplet run`.
    Bgplet,
    /// BIRD 2 with calico-node's configuration.
    Bird,
}

/// A daemon the lab started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Calico node name.
    pub node: String,
    /// The node's namespace.
    pub netns: String,
    /// bgplet or BIRD.
    pub kind: AgentKind,
    /// Process id (in the root pid namespace).
    pub pid: i32,
    /// `bgplet status --control-socket` or `birdc -s` path.
    pub control_socket: PathBuf,
    /// The socket speaking BIRD's control protocol (`birdc -s`): BIRD's
    /// own, or the one bgplet serves for calico-node's probes.
    #[serde(default)]
    pub bird_socket: Option<PathBuf>,
    /// Its log file.
    pub log: PathBuf,
    /// The full command line, to start it again by hand
    /// (`ip netns exec NETNS COMMAND...`).
    pub command: Vec<String>,
}

/// Everything `lab up` created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The topology and addressing.
    pub plan: LabPlan,
    /// The lab directory (resources, sockets, logs).
    pub dir: PathBuf,
    /// The Calico resources file every bgplet reads.
    pub resources: PathBuf,
    /// Started daemons.
    pub agents: Vec<Agent>,
}

impl State {
    /// Writes the state atomically.
    pub fn save(&self) -> anyhow::Result<()> {
        let path = self.dir.join(STATE_FILE);
        let tmp = self.dir.join(format!("{STATE_FILE}.tmp"));
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(&tmp, text)
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Reads the state of the lab in `dir`, if there is one.
    pub fn load(dir: &Path) -> anyhow::Result<Option<State>> {
        let path = dir.join(STATE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .with_context(|| format!("reading {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => {
                Err(e).with_context(|| format!("reading {}", path.display()))
            }
        }
    }
}
