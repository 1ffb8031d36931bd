//! Child processes that die with their guard, and command helpers.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use anyhow::{Context, Result, bail};

/// A child process that is killed (SIGKILL) and reaped on drop.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Child,
    log: Option<PathBuf>,
    // Dropped after the child is killed, so its namespace outlives it.
    ns: Option<crate::Netns>,
}

impl Process {
    /// Spawns `cmd` with stdin closed and stdout/stderr appended to `log`
    /// (or discarded when `None`). `name` labels errors.
    pub fn spawn(
        name: &str,
        mut cmd: Command,
        log: Option<&Path>,
    ) -> Result<Process> {
        cmd.stdin(Stdio::null());
        match log {
            Some(path) => {
                let f = File::options()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening {}", path.display()))?;
                cmd.stdout(f.try_clone()?).stderr(f);
            }
            None => {
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("spawning {name}: {cmd:?}"))?;
        Ok(Process {
            name: name.to_string(),
            child,
            log: log.map(Into::into),
            ns: None,
        })
    }

    /// Keeps `ns` alive at least as long as this process.
    pub(crate) fn hold_ns(mut self, ns: crate::Netns) -> Process {
        self.ns = Some(ns);
        self
    }

    /// The namespace this process runs in, if it was started by
    /// [`crate::Netns::spawn`].
    pub fn netns(&self) -> Option<&crate::Netns> {
        self.ns.as_ref()
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The label given at spawn time.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the child still runs (it is reaped if it has exited).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Fails with the exit status and log tail if the child has exited.
    pub fn check_running(&mut self) -> Result<()> {
        if let Ok(Some(status)) = self.child.try_wait() {
            bail!(
                "{} exited ({status}); log tail:\n{}",
                self.name,
                self.log_tail(30)
            );
        }
        Ok(())
    }

    /// The last `lines` lines of the log file, if there is one.
    pub fn log_tail(&self, lines: usize) -> String {
        match &self.log {
            Some(p) => tail_file(p, lines),
            None => String::from("(no log)"),
        }
    }

    /// Kills the child with SIGKILL and reaps it. Idempotent.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the child to exit; returns whether it
    /// exited on its own within `timeout` (it is killed otherwise).
    pub fn terminate(&mut self, timeout: std::time::Duration) -> bool {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        let Ok(pid) = i32::try_from(self.child.id()) else {
            self.kill();
            return false;
        };
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        let start = std::time::Instant::now();
        while start.elapsed() < timeout {
            if !self.is_running() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        self.kill();
        false
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A process stopped with SIGSTOP (as a hung daemon would be: its
/// sockets stay open, nothing is read or sent). Dropping the guard, or
/// [`Frozen::thaw`], sends SIGCONT.
#[derive(Debug)]
pub struct Frozen {
    pid: nix::unistd::Pid,
    thawed: bool,
}

impl Frozen {
    /// Sends SIGSTOP to `pid`.
    pub fn freeze(pid: u32) -> Result<Frozen> {
        use nix::sys::signal::{Signal, kill};
        let pid = nix::unistd::Pid::from_raw(
            i32::try_from(pid).context("pid out of range")?,
        );
        kill(pid, Signal::SIGSTOP).context("SIGSTOP")?;
        Ok(Frozen { pid, thawed: false })
    }

    /// Sends SIGCONT.
    pub fn thaw(mut self) -> Result<()> {
        self.cont()
    }

    fn cont(&mut self) -> Result<()> {
        use nix::sys::signal::{Signal, kill};
        if !self.thawed {
            self.thawed = true;
            kill(self.pid, Signal::SIGCONT).context("SIGCONT")?;
        }
        Ok(())
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = self.cont();
    }
}

/// The last `lines` lines of a text file, or a note why it can't be read.
pub fn tail_file(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            let from = all.len().saturating_sub(lines);
            all[from..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// Runs `program args` to completion; fails with status, stdout and
/// stderr unless it exits successfully. Returns stdout.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<String> {
    let out = output(program, args)?;
    checked(program, args, out)
}

/// Upper bound in seconds for one CLI query (`birdc`, `vtysh`, `gobgp`,
/// `bgplet status`), so a wedged daemon fails the test instead of
/// hanging it.
pub(crate) const CLI_TIMEOUT: &str = "20";

/// Like [`run`], killed (coreutils `timeout`) after [`CLI_TIMEOUT`].
pub(crate) fn run_cli(program: &str, args: &[&str]) -> Result<String> {
    let mut all = vec!["-k", "2", CLI_TIMEOUT, program];
    all.extend_from_slice(args);
    let out = output("timeout", &all)?;
    if matches!(out.status.code(), Some(124) | Some(137)) {
        bail!(
            "`{program} {}` did not answer within {CLI_TIMEOUT} s",
            args.join(" ")
        );
    }
    checked(program, args, out)
}

/// Runs `program args` to completion and returns its raw output.
pub(crate) fn output(program: &str, args: &[&str]) -> Result<Output> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {program} {}", args.join(" ")))
}

/// Turns a finished command's output into stdout, or a descriptive error.
pub(crate) fn checked(
    program: &str,
    args: &[&str],
    out: Output,
) -> Result<String> {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "`{program} {}` failed ({}):\nstdout: {}\nstderr: {}",
            args.join(" "),
            out.status,
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(stdout)
}
