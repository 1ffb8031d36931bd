//! `bgplet lab`: a Calico cluster in network namespaces on one machine.
//!
//! N node namespaces on a fabric bridge (10.0.0.0/24), one `bgplet run`
//! per node from a generated resources file (full mesh, or route
//! reflectors), optionally one node running a real BIRD 2 configured like
//! calico-node, two pods per node wired as Felix wires them. It waits
//! until every kernel holds every block, prints sessions and routes, and
//! pings pod to pod across nodes. `lab up` leaves it running,
//! `lab down` removes it.

mod bird;
mod check;
mod net;
mod plan;
mod state;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use plan::{LabPlan, Topology};
use state::{Agent, AgentKind, State};

/// Set by SIGINT/SIGTERM; every step checks it.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// `bgplet lab [up|down]`.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LabArgs {
    #[command(subcommand)]
    action: Option<LabAction>,
    #[command(flatten)]
    opts: LabOptions,
}

#[derive(clap::Subcommand)]
enum LabAction {
    /// Build the lab, wait until it converged, leave it running.
    Up(LabOptions),
    /// Remove a lab started with `lab up`.
    Down(Place),
    /// Print the Calico resources file a lab of this shape runs from
    /// (to edit and apply to a running lab, or to read).
    Resources(LabOptions),
}

#[derive(clap::Args, Clone)]
struct LabOptions {
    /// Number of nodes.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Full mesh, or route reflectors.
    #[arg(long, value_enum, default_value_t = Topology::Mesh)]
    topology: Topology,
    /// With `--topology rr`: how many nodes (node1, node2, ...) are
    /// reflectors; one, or two from 5 nodes up.
    #[arg(long, value_name = "N")]
    reflectors: Option<usize>,
    /// Run node N (node2 when N is left out) as a real BIRD 2
    /// configured the way calico-node configures it.
    #[arg(
        long,
        value_name = "N",
        num_args = 0..=1,
        default_missing_value = "2"
    )]
    bird_node: Option<usize>,
    /// Seconds to wait for convergence.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    #[command(flatten)]
    place: Place,
}

#[derive(clap::Args, Clone)]
struct Place {
    /// Prefix of every namespace name (`PREFIX-node1`, ...).
    #[arg(long, default_value = "bgplab")]
    prefix: String,
    /// Where labs keep their state, resources, sockets and logs (one
    /// directory per prefix).
    #[arg(long, value_name = "DIR", default_value = "/run/bgplet-lab")]
    state_dir: PathBuf,
}

impl Place {
    fn dir(&self) -> PathBuf {
        self.state_dir.join(&self.prefix)
    }
}

/// Fails once the user pressed Ctrl-C.
fn check_interrupted() -> anyhow::Result<()> {
    if INTERRUPTED.load(Ordering::Relaxed) {
        bail!("interrupted");
    }
    Ok(())
}

/// Runs `bgplet lab`.
pub fn main(
    args: LabArgs,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<()> {
    // Ctrl-C only raises the flag: the lab's own steps notice it and
    // clean up what they built.
    runtime.spawn(async {
        let Ok(mut term) = tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) else {
            return;
        };
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            INTERRUPTED.store(true, Ordering::Relaxed);
        }
    });
    match args.action {
        None => demo(&args.opts),
        Some(LabAction::Up(opts)) => {
            let state = up_or_clean(&opts)?;
            print_up(&state);
            Ok(())
        }
        Some(LabAction::Resources(opts)) => {
            let plan = LabPlan::new(
                &opts.place.prefix,
                opts.nodes,
                opts.topology,
                opts.reflectors,
                opts.bird_node,
            )?;
            print!("{}", plan.resources_yaml());
            Ok(())
        }
        Some(LabAction::Down(place)) => {
            require_root()?;
            let removed = down(&place)?;
            println!("lab {:?}: removed {removed} namespaces", place.prefix);
            Ok(())
        }
    }
}

/// The one-shot lab: up, report, pings, down.
fn demo(opts: &LabOptions) -> anyhow::Result<()> {
    let state = up_or_clean(opts)?;
    check::print_report(&state);
    let pinged = check::ping_all(&state);
    println!("\nremoving the lab");
    let removed = down(&opts.place);
    pinged?;
    removed?;
    Ok(())
}

/// `up`, removing whatever it built if it fails or is interrupted.
fn up_or_clean(opts: &LabOptions) -> anyhow::Result<State> {
    preflight(opts)?;
    let dir = opts.place.dir();
    if dir.join(state::STATE_FILE).exists()
        || !net::namespaces_with_prefix(&opts.place.prefix).is_empty()
    {
        bail!(
            "a lab named {:?} already exists; remove it with \
             `bgplet lab down --prefix {}{}` or pick another --prefix",
            opts.place.prefix,
            opts.place.prefix,
            if opts.place.state_dir == Path::new("/run/bgplet-lab") {
                String::new()
            } else {
                format!(" --state-dir {}", opts.place.state_dir.display())
            }
        );
    }
    let started = Instant::now();
    match up(opts, &dir) {
        Ok(state) => {
            println!(
                "lab {:?} converged in {:.1}s",
                opts.place.prefix,
                started.elapsed().as_secs_f64()
            );
            Ok(state)
        }
        Err(e) => {
            eprintln!("bgplet lab: {e:#}");
            eprintln!("removing the lab");
            if let Err(d) = down(&opts.place) {
                eprintln!("bgplet lab: cleanup: {d:#}");
            }
            Err(e.context("the lab did not come up"))
        }
    }
}

fn up(opts: &LabOptions, dir: &Path) -> anyhow::Result<State> {
    let plan = LabPlan::new(
        &opts.place.prefix,
        opts.nodes,
        opts.topology,
        opts.reflectors,
        opts.bird_node,
    )?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let resources = dir.join("resources.yaml");
    std::fs::write(&resources, plan.resources_yaml())
        .with_context(|| format!("writing {}", resources.display()))?;
    let mut state = State {
        plan,
        dir: dir.to_path_buf(),
        resources,
        agents: Vec::new(),
    };
    // Saved before anything exists, so `down` can always find it.
    state.save()?;
    println!(
        "building lab {:?}: {} nodes, {}",
        state.plan.prefix,
        state.plan.nodes.len(),
        match state.plan.topology {
            Topology::Mesh => "full mesh",
            Topology::Rr => "route reflectors",
        }
    );
    net::build(&state.plan)?;
    check_interrupted()?;
    for node in state.plan.nodes.clone() {
        let agent = if node.bird {
            start_bird(&state, &node)?
        } else {
            start_bgplet(&state, &node)?
        };
        state.agents.push(agent);
        state.save()?;
    }
    check::wait_converged(&state, Duration::from_secs(opts.timeout))?;
    Ok(state)
}

fn start_bgplet(state: &State, node: &plan::NodeSpec) -> anyhow::Result<Agent> {
    let exe = std::env::current_exe().context("finding the bgplet binary")?;
    let socket = state.dir.join(format!("{}.ctl", node.name));
    let log = state.dir.join(format!("{}.log", node.name));
    // Namespaces share the filesystem: each agent needs its own BIRD
    // control sockets (bird.ctl and bird6.ctl beside it), or they would
    // all take calico-node's /var/run/calico/bird.ctl.
    let bird_dir = state.dir.join(&node.name);
    std::fs::create_dir_all(&bird_dir)
        .with_context(|| format!("creating {}", bird_dir.display()))?;
    let bird_socket = bird_dir.join("bird.ctl");
    let command: Vec<String> = vec![
        exe.to_string_lossy().into_owned(),
        "run".into(),
        "--resources".into(),
        state.resources.to_string_lossy().into_owned(),
        "--node".into(),
        node.name.clone(),
        "--control-socket".into(),
        socket.to_string_lossy().into_owned(),
        "--bird-socket".into(),
        bird_socket.to_string_lossy().into_owned(),
    ];
    let pid = spawn_in(&node.netns, &command, &log)?;
    Ok(Agent {
        node: node.name.clone(),
        netns: node.netns.clone(),
        kind: AgentKind::Bgplet,
        pid,
        control_socket: socket,
        bird_socket: Some(bird_socket),
        log,
        command,
    })
}

fn start_bird(state: &State, node: &plan::NodeSpec) -> anyhow::Result<Agent> {
    let conf = state.dir.join(format!("{}-bird.conf", node.name));
    let socket = state.dir.join(format!("{}-bird.ctl", node.name));
    let log = state.dir.join(format!("{}-bird.log", node.name));
    let pidfile = state.dir.join(format!("{}-bird.pid", node.name));
    std::fs::write(&conf, bird::config(&state.plan, node, &log))
        .with_context(|| format!("writing {}", conf.display()))?;
    let command: Vec<String> = [
        "bird".into(),
        "-c".into(),
        conf.to_string_lossy().into_owned(),
        "-s".into(),
        socket.to_string_lossy().into_owned(),
        "-P".into(),
        pidfile.to_string_lossy().into_owned(),
    ]
    .into();
    // BIRD daemonizes once its configuration parsed.
    let args: Vec<&str> = command.iter().map(String::as_str).collect();
    net::exec(&node.netns, &args)
        .with_context(|| format!("starting BIRD on {}", node.name))?;
    // The pid file may come a moment after the parent returned.
    let started = Instant::now();
    let pid = loop {
        let pid = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok());
        if pid.is_some() || started.elapsed() > Duration::from_secs(10) {
            break pid;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let pid = pid.with_context(|| {
        format!("BIRD wrote no pid to {}", pidfile.display())
    })?;
    Ok(Agent {
        node: node.name.clone(),
        netns: node.netns.clone(),
        kind: AgentKind::Bird,
        pid,
        control_socket: socket.clone(),
        bird_socket: Some(socket),
        log,
        command,
    })
}

/// Starts `command` in `ns`, detached from our process group (so a
/// Ctrl-C at the terminal reaches only `bgplet lab`, which then cleans
/// up), output appended to `log`. Returns its pid (`ip netns exec`
/// execs the command, so that is the daemon's pid).
fn spawn_in(ns: &str, command: &[String], log: &Path) -> anyhow::Result<i32> {
    use std::os::unix::process::CommandExt;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let child = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(command)
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {command:?} in {ns}"))?;
    i32::try_from(child.id()).context("pid out of range")
}

/// Removes the lab: its listed daemons, every namespace with its
/// prefix, its directory. Returns the number of namespaces removed.
fn down(place: &Place) -> anyhow::Result<usize> {
    let dir = place.dir();
    let state = State::load(&dir).unwrap_or(None);
    if let Some(state) = &state {
        for agent in &state.agents {
            if is_ours(agent.pid) {
                net::kill(agent.pid, "TERM");
            }
        }
    }
    let mut names = net::namespaces_with_prefix(&place.prefix);
    if let Some(state) = &state {
        for ns in state.plan.namespaces() {
            if !names.contains(&ns) {
                names.push(ns);
            }
        }
    }
    let mut removed = 0;
    for ns in &names {
        if Path::new("/run/netns").join(ns).exists() {
            net::destroy(ns);
            removed += 1;
        }
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("removing {}", dir.display()))?;
    }
    Ok(removed)
}

/// Whether `pid` still runs bgplet or BIRD (not a recycled pid).
fn is_ours(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            let c = String::from_utf8_lossy(&c);
            c.contains("bgplet") || c.contains("bird")
        })
        .unwrap_or(false)
}

fn preflight(opts: &LabOptions) -> anyhow::Result<()> {
    require_root()?;
    let valid = !opts.place.prefix.is_empty()
        && opts.place.prefix.len() <= 32
        && opts
            .place
            .prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        bail!("--prefix must be 1 to 32 letters, digits or underscores");
    }
    let mut tools = vec![("ip", "iproute2"), ("ping", "iputils-ping")];
    if opts.bird_node.is_some() {
        tools.push(("bird", "bird2"));
        tools.push(("birdc", "bird2"));
    }
    let missing: Vec<String> = tools
        .iter()
        .filter(|(t, _)| !net::have(t))
        .map(|(t, p)| format!("{t} (Debian package {p})"))
        .collect();
    if !missing.is_empty() {
        bail!(
            "bgplet lab needs {}; install with `apt-get install` or run \
             scripts/setup.sh",
            missing.join(", ")
        );
    }
    Ok(())
}

fn require_root() -> anyhow::Result<()> {
    let status = std::fs::read_to_string("/proc/self/status")
        .context("reading /proc/self/status")?;
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .unwrap_or("");
    if euid != "0" {
        bail!(
            "bgplet lab creates network namespaces and must run as root \
             (try sudo)"
        );
    }
    Ok(())
}

fn print_up(state: &State) {
    println!("\nnamespaces and control sockets:");
    for agent in &state.agents {
        match agent.kind {
            AgentKind::Bgplet => {
                println!(
                    "  {:<7} ip netns exec {}  |  bgplet status --control-socket {}",
                    agent.node,
                    agent.netns,
                    agent.control_socket.display()
                );
                if let Some(b) = &agent.bird_socket {
                    println!(
                        "  {:<7} (BIRD's protocol too)  |  birdc -s {} show protocols",
                        "",
                        b.display()
                    );
                }
            }
            AgentKind::Bird => println!(
                "  {:<7} ip netns exec {}  |  birdc -s {} show protocols",
                agent.node,
                agent.netns,
                agent.control_socket.display()
            ),
        }
    }
    for node in &state.plan.nodes {
        let pods: Vec<String> = node
            .pods
            .iter()
            .map(|p| format!("{} ({})", p.netns, p.ip))
            .collect();
        println!("  pods of {}: {}", node.name, pods.join(", "));
    }
    println!(
        "state, resources and logs: {}\nremove with: bgplet lab down --prefix {}{}",
        state.dir.display(),
        state.plan.prefix,
        if state.dir.parent() == Some(Path::new("/run/bgplet-lab")) {
            String::new()
        } else {
            format!(
                " --state-dir {}",
                state.dir.parent().unwrap_or(Path::new("/")).display()
            )
        }
    );
}
