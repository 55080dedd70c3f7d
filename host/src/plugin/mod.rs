//! Finding plugin artifacts and proving they are the expected bytes before
//! anything compiles them.
//!
//! Built-in workloads are embedded in the binary with the SHA-256 computed
//! when it was built, and re-checked at load. A component from a file is
//! accepted only with `--allow-unsigned` until signed manifests exist; the
//! report then says the run used unsigned code.

use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest component read from disk, unless configured otherwise.
pub const DEFAULT_MAX_ARTIFACT_BYTES: u64 = 50 << 20;

pub(crate) struct BuiltinArtifact {
    name: &'static str,
    sha256: &'static str,
    bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/builtin_artifacts.rs"));

/// Why a plugin could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// No built-in workload has this name.
    #[error("unknown workload '{name}'; built-in workloads: {known}")]
    UnknownWorkload {
        /// What was asked for.
        name: String,
        /// The built-in names.
        known: String,
    },
    /// The bytes do not hash to the pinned digest.
    #[error("plugin '{name}': SHA-256 mismatch (expected {expected}, found {found})")]
    DigestMismatch {
        /// The plugin.
        name: String,
        /// The pinned digest.
        expected: String,
        /// The digest of the bytes found.
        found: String,
    },
    /// A plugin file was given without `--allow-unsigned`.
    #[error(
        "plugin file {path}: unsigned components run only with --allow-unsigned (for local \
         development; the report will say so)"
    )]
    Unsigned {
        /// The file.
        path: PathBuf,
    },
    /// The file is larger than the artifact size limit.
    #[error("plugin file {path} is larger than the {limit}-byte artifact limit")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// The file could not be read.
    #[error("plugin file {path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        cause: std::io::Error,
    },
}

/// Where an artifact came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Embedded in this binary.
    Builtin,
    /// An unsigned file, admitted by `--allow-unsigned`.
    UnsignedFile(PathBuf),
    /// A packaged plugin whose manifest verified.
    Signed {
        /// Its manifest.
        manifest: PathBuf,
        /// Its version.
        version: String,
        /// Ids of the trusted keys whose signatures verified.
        signers: Vec<String>,
    },
    /// A packaged plugin without signatures, admitted by `--allow-unsigned`.
    UnsignedManifest {
        /// Its manifest.
        manifest: PathBuf,
        /// Its version.
        version: String,
    },
}

impl Artifact {
    /// The artifact of a verified packaged plugin.
    pub fn from_verified(v: crate::registry::verify::VerifiedPlugin) -> Artifact {
        let origin = if v.unsigned {
            Origin::UnsignedManifest {
                manifest: v.manifest_path.clone(),
                version: v.manifest.version.clone(),
            }
        } else {
            Origin::Signed {
                manifest: v.manifest_path.clone(),
                version: v.manifest.version.clone(),
                signers: v.signers.clone(),
            }
        };
        Artifact {
            name: v.manifest.name.clone(),
            sha256: v.manifest.component.sha256.clone(),
            capabilities: Some(v.manifest.capabilities.clone()),
            bytes: Cow::Owned(v.bytes),
            origin,
        }
    }

    /// `builtin`, `signed`, `unsigned-manifest` or `unsigned-file`.
    pub fn origin_label(&self) -> &'static str {
        match self.origin {
            Origin::Builtin => "builtin",
            Origin::Signed { .. } => "signed",
            Origin::UnsignedManifest { .. } => "unsigned-manifest",
            Origin::UnsignedFile(_) => "unsigned-file",
        }
    }
}

/// A component whose bytes match its digest.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The plugin's name (built-in name or file stem).
    pub name: String,
    /// The component.
    pub bytes: Cow<'static, [u8]>,
    /// Lower-case hex SHA-256 of `bytes`.
    pub sha256: String,
    /// Where it came from.
    pub origin: Origin,
    /// Capabilities its manifest requests; `None` for built-ins and bare
    /// components, which get what the operator grants.
    pub capabilities: Option<Vec<String>>,
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Names of the built-in workloads.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN_ARTIFACTS.iter().map(|b| b.name).collect()
}

/// The built-in workload `name`, its digest re-checked.
pub fn builtin(name: &str) -> Result<Artifact, PluginError> {
    let b = BUILTIN_ARTIFACTS
        .iter()
        .find(|b| b.name == name)
        .ok_or_else(|| PluginError::UnknownWorkload {
            name: name.to_string(),
            known: builtin_names().join(", "),
        })?;
    let found = sha256_hex(b.bytes);
    if found != b.sha256 {
        return Err(PluginError::DigestMismatch {
            name: name.to_string(),
            expected: b.sha256.to_string(),
            found,
        });
    }
    Ok(Artifact {
        name: b.name.to_string(),
        bytes: Cow::Borrowed(b.bytes),
        sha256: found,
        origin: Origin::Builtin,
        capabilities: None,
    })
}

/// Reads at most `limit` bytes of `path`; a larger file is refused without
/// reading the rest.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, PluginError> {
    let io = |source| PluginError::Io {
        path: path.to_path_buf(),
        cause: source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(PluginError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(bytes)
}

/// An unsigned component file, admitted only when `allow_unsigned`.
pub fn unsigned_file(
    path: &Path,
    allow_unsigned: bool,
    limit: u64,
) -> Result<Artifact, PluginError> {
    if !allow_unsigned {
        return Err(PluginError::Unsigned {
            path: path.to_path_buf(),
        });
    }
    let bytes = read_limited(path, limit)?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plugin".into());
    Ok(Artifact {
        name,
        sha256: sha256_hex(&bytes),
        bytes: Cow::Owned(bytes),
        origin: Origin::UnsignedFile(path.to_path_buf()),
        capabilities: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_verify_and_unknown_names_list_the_known_ones() {
        for name in builtin_names() {
            let a = builtin(name).unwrap();
            assert_eq!(a.sha256.len(), 64);
        }
        let err = builtin("nope").unwrap_err().to_string();
        assert!(err.contains("pgbench") && err.contains("simple"), "{err}");
    }

    #[test]
    fn unsigned_files_need_the_flag_and_respect_the_size_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.wasm");
        std::fs::write(&path, vec![0u8; 100]).unwrap();
        assert!(matches!(
            unsigned_file(&path, false, 1000),
            Err(PluginError::Unsigned { .. })
        ));
        assert!(matches!(
            unsigned_file(&path, true, 99),
            Err(PluginError::TooLarge { .. })
        ));
        let a = unsigned_file(&path, true, 100).unwrap();
        assert_eq!(a.name, "p");
        assert_eq!(a.sha256, sha256_hex(&[0u8; 100]));
    }
}
