//! Compiled-artifact cache: compiling a plugin with Cranelift takes tens
//! of milliseconds, loading a precompiled artifact ~0.1 ms
//! (shared/docs/wasm-plugins.md 4.2).
//!
//! In memory, components are kept by the sha256 of their wasm. On disk
//! (optional), an artifact is a file named `<wasm sha256>-<engine
//! hash>.cwasm` holding a header (magic and the sha256 of the body) and
//! the body wasmtime serialized. Deserializing runs native code, so
//! only files this host wrote are read: the directory is created
//! private (0700), a file must belong to our user and not be writable
//! by group or others, and its body must match the header's hash (a
//! truncated or corrupt file is recompiled). The directory must not be
//! shared with anything else (an `emptyDir` of the agent's pod).
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 8] = b"BGPLCW01";
/// Components kept in memory; beyond that the oldest load is evicted
/// (a reload loop must not grow the daemon without bound).
const MAX_IN_MEMORY: usize = 32;

/// Where compiled components come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactSource {
    /// Compiled now.
    Compiled,
    /// Found in memory.
    Memory,
    /// Read from the cache directory.
    Disk,
}

/// Components by wasm sha256, and the load order for eviction.
type InMemory = (HashMap<[u8; 32], Component>, Vec<[u8; 32]>);

pub(crate) struct ArtifactCache {
    mem: Mutex<InMemory>,
    dir: Option<PathBuf>,
    engine_hash: String,
}

impl ArtifactCache {
    pub(crate) fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        let mut h = ShaHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut h);
        let digest = h.0.finalize();
        let engine_hash = hex(&digest[..8]);
        if let Some(d) = &dir
            && let Err(e) =
                fs::DirBuilder::new().recursive(true).mode(0o700).create(d)
        {
            tracing::warn!(dir = %d.display(), "artifact cache: {e}");
        }
        Self {
            mem: Mutex::new((HashMap::new(), Vec::new())),
            dir,
            engine_hash,
        }
    }

    /// The component for `wasm` (whose sha256 is `sha`), compiled at
    /// most once.
    pub(crate) fn get_or_compile(
        &self,
        engine: &Engine,
        sha: &[u8; 32],
        wasm: &[u8],
    ) -> Result<(Component, ArtifactSource), wasmtime::Error> {
        if let Ok(mem) = self.mem.lock()
            && let Some(c) = mem.0.get(sha)
        {
            return Ok((c.clone(), ArtifactSource::Memory));
        }
        let path = self.path(sha);
        let from_disk = path.as_deref().and_then(|p| read_artifact(engine, p));
        let (component, source) = match from_disk {
            Some(c) => (c, ArtifactSource::Disk),
            None => {
                let c = Component::new(engine, wasm)?;
                if let Some(p) = &path
                    && let Err(e) = write_artifact(&c, p)
                {
                    tracing::warn!(path = %p.display(), "artifact cache: {e}");
                }
                (c, ArtifactSource::Compiled)
            }
        };
        if let Ok(mut mem) = self.mem.lock() {
            let (map, order) = &mut *mem;
            if map.len() >= MAX_IN_MEMORY && !order.is_empty() {
                let old = order.remove(0);
                map.remove(&old);
            }
            map.insert(*sha, component.clone());
            order.push(*sha);
        }
        Ok((component, source))
    }

    fn path(&self, sha: &[u8; 32]) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(format!("{}-{}.cwasm", hex(sha), self.engine_hash)))
    }
}

fn read_artifact(engine: &Engine, path: &Path) -> Option<Component> {
    let meta = fs::symlink_metadata(path).ok()?;
    // Our effective uid without calling into libc: /proc/self belongs
    // to it.
    let uid = fs::metadata("/proc/self").ok()?.uid();
    let dir_meta = fs::metadata(path.parent()?).ok()?;
    if !meta.is_file()
        || meta.uid() != uid
        || dir_meta.uid() != uid
        || meta.mode() & 0o022 != 0
        || dir_meta.mode() & 0o022 != 0
    {
        tracing::warn!(path = %path.display(), "artifact cache: ignoring a file we did not write");
        return None;
    }
    let bytes = fs::read(path).ok()?;
    let body = bytes.get(40..)?;
    if bytes.get(..8)? != MAGIC
        || bytes.get(8..40)? != Sha256::digest(body).as_slice()
    {
        tracing::warn!(path = %path.display(), "artifact cache: corrupt artifact, recompiling");
        return None;
    }
    // SAFETY: the body was produced by `Component::serialize` of this
    // host (checked above: private directory, our file, intact), and
    // wasmtime itself rejects artifacts of another engine configuration.
    match unsafe { Component::deserialize(engine, body) } {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(path = %path.display(), "artifact cache: {e}");
            None
        }
    }
}

fn write_artifact(c: &Component, path: &Path) -> Result<(), String> {
    let body = c.serialize().map_err(|e| e.to_string())?;
    // Unique per writer: two hosts compiling the same plugin at once
    // must not interleave their bytes.
    static SEQ: std::sync::atomic::AtomicU64 =
        std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("{}.{seq}.tmp", std::process::id()));
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| e.to_string())?;
    f.write_all(MAGIC)
        .and_then(|()| f.write_all(&Sha256::digest(&body)))
        .and_then(|()| f.write_all(&body))
        .and_then(|()| f.sync_all())
        .map_err(|e| e.to_string())?;
    fs::rename(&tmp, path).map_err(|e| e.to_string())
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Feeds `Hash` output into sha256, so the engine hash is stable across
/// runs (std's `DefaultHasher` makes no such promise).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
