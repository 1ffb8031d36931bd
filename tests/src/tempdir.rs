//! Per-test scratch directories for configs, sockets and logs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result};

/// Where every test run keeps its scratch directories. World-readable so
/// FRR (which drops to user `frr`) can read its config files.
pub(crate) const BASE: &str = "/tmp/bgplet-e2e";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A scratch directory, `/tmp/bgplet-e2e/<pid>_<n>-<role>`, removed on drop
/// unless `BGPLET_E2E_KEEP` is set. The pid in the name lets
/// [`crate::cleanup_stale`] remove directories of runs that were killed.
#[derive(Debug)]
pub struct TestDir {
    path: PathBuf,
}

impl TestDir {
    /// Creates a fresh directory (mode 0755) whose name contains `role`.
    pub fn new(role: &str) -> Result<TestDir> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(BASE)?;
        std::fs::set_permissions(BASE, std::fs::Permissions::from_mode(0o755))?;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = Path::new(BASE)
            .join(format!("{:x}_{n}-{role}", std::process::id()));
        std::fs::create_dir(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        std::fs::set_permissions(
            &path,
            std::fs::Permissions::from_mode(0o755),
        )?;
        Ok(TestDir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes a world-readable file inside the directory and returns its
    /// path.
    pub fn write(&self, name: &str, contents: &str) -> Result<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let p = self.join(name);
        std::fs::write(&p, contents)
            .with_context(|| format!("writing {}", p.display()))?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644))?;
        Ok(p)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::env::var_os("BGPLET_E2E_KEEP").is_some() {
            eprintln!("keeping {}", self.path.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
