//! Compiled components cached on disk, keyed by the SHA-256 of the verified
//! component and the engine's compatibility hash: compiling a Python or
//! JavaScript component takes seconds, loading its artifact milliseconds.
//!
//! Loading an artifact runs its machine code, so the cache is trusted only
//! when its directory and files belong to the current user and nobody else
//! can write them; otherwise it is ignored.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// An on-disk cache of compiled components.
pub struct ArtifactCache {
    dir: Option<PathBuf>,
}

fn safe(meta: &fs::Metadata) -> bool {
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    meta.uid() == uid && meta.mode() & 0o022 == 0
}

impl ArtifactCache {
    /// The cache in `dir`, or the default (`$STORMDB_CACHE_DIR`,
    /// `$XDG_CACHE_HOME/stormdb`, `~/.cache/stormdb`); `None` disables it.
    pub fn open(dir: Option<PathBuf>) -> Self {
        let dir = dir.or_else(default_dir).and_then(|d| {
            fs::create_dir_all(&d).ok()?;
            let _ = fs::set_permissions(&d, fs::Permissions::from_mode(0o700));
            let meta = fs::metadata(&d).ok()?;
            if safe(&meta) {
                Some(d)
            } else {
                tracing::warn!(
                    "not using the compile cache {}: it is writable by others or not ours",
                    d.display()
                );
                None
            }
        });
        ArtifactCache { dir }
    }

    /// A cache that never stores anything.
    pub fn disabled() -> Self {
        ArtifactCache { dir: None }
    }

    fn path(&self, engine: &Engine, digest: &str) -> Option<PathBuf> {
        let mut h = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        env!("CARGO_PKG_VERSION").hash(&mut h);
        Some(
            self.dir
                .as_ref()?
                .join(format!("{digest}-{:016x}.cwasm", h.finish())),
        )
    }

    /// The compiled component for `digest`, if cached and trustworthy.
    pub fn load(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let path = self.path(engine, digest)?;
        let meta = fs::metadata(&path).ok()?;
        if !safe(&meta) {
            return None;
        }
        // SAFETY: the file was written by this user into a directory only
        // this user can write, under the digest of bytes that were verified
        // before compiling, and wasmtime checks the engine compatibility
        // header before using it.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::debug!("ignoring unusable cache entry {}: {e}", path.display());
                None
            }
        }
    }

    /// Stores `component`, compiled from bytes with `digest`. Failures only
    /// cost the next run a compilation.
    pub fn store(&self, engine: &Engine, digest: &str, component: &Component) {
        let Some(path) = self.path(engine, digest) else {
            return;
        };
        let Ok(bytes) = component.serialize() else {
            return;
        };
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if write_private(&tmp, &bytes).is_ok() && fs::rename(&tmp, &path).is_err() {
            let _ = fs::remove_file(&tmp);
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

fn default_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("STORMDB_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("stormdb"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("stormdb"))
}
