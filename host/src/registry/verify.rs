//! Verification of a packaged plugin before anything compiles it: the
//! manifest is well-formed and targets this host, the component is the
//! bytes the manifest names (size, then SHA-256), and enough trusted,
//! unrevoked, unexpired keys signed the manifest.

use super::keys;
use super::manifest::{Manifest, ManifestError};
use super::trust::TrustStore;
use crate::bindings::WIT_PACKAGE;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Why a plugin was refused. Every variant names the plugin.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The manifest itself is unreadable or invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Built for another contract version.
    #[error("plugin '{plugin}': built for {found}, but this StormDB implements {WIT_PACKAGE}")]
    WrongWorld {
        /// The plugin.
        plugin: String,
        /// Its world.
        found: String,
    },
    /// Needs another host version.
    #[error("plugin '{plugin}': needs StormDB {required}, this is {found}")]
    HostVersion {
        /// The plugin.
        plugin: String,
        /// Its requirement.
        required: String,
        /// This version.
        found: String,
    },
    /// The component file is missing or unreadable.
    #[error("plugin '{plugin}': component {path}: {message}")]
    Component {
        /// The plugin.
        plugin: String,
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Larger than the artifact size limit.
    #[error("plugin '{plugin}': component is {size} bytes, over the {limit}-byte artifact limit")]
    TooLarge {
        /// The plugin.
        plugin: String,
        /// Its size (or at least this much).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The file's size differs from the manifest's.
    #[error("plugin '{plugin}': component is {found} bytes but the manifest says {expected}")]
    SizeMismatch {
        /// The plugin.
        plugin: String,
        /// The manifest's size.
        expected: u64,
        /// The file's size.
        found: u64,
    },
    /// The bytes do not hash to the manifest's digest.
    #[error(
        "plugin '{plugin}': SHA-256 digest mismatch: the manifest says {expected}, the component is {found}"
    )]
    DigestMismatch {
        /// The plugin.
        plugin: String,
        /// The manifest's digest.
        expected: String,
        /// The component's digest.
        found: String,
    },
    /// No signatures and `--allow-unsigned` not given.
    #[error(
        "plugin '{plugin}': unsigned (no signatures); sign it with `stormdb plugin sign`, or pass --allow-unsigned for local development"
    )]
    Unsigned {
        /// The plugin.
        plugin: String,
    },
    /// Not enough valid signatures.
    #[error("plugin '{plugin}': {summary}")]
    Signatures {
        /// The plugin.
        plugin: String,
        /// The main reason in words (unknown signer, bad signature,
        /// revoked key, expired key, too few signatures), then what was
        /// wrong with each signature that did not count.
        summary: String,
    },
}

/// A plugin whose manifest and component checked out.
#[derive(Debug, Clone)]
pub struct VerifiedPlugin {
    /// The manifest.
    pub manifest: Manifest,
    /// Where the manifest is.
    pub manifest_path: PathBuf,
    /// The component bytes.
    pub bytes: Vec<u8>,
    /// Ids of the trusted keys whose signatures verified.
    pub signers: Vec<String>,
    /// True when admitted unsigned by `--allow-unsigned`.
    pub unsigned: bool,
}

/// How strict to be.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    /// Largest component accepted, bytes.
    pub max_bytes: u64,
    /// Admit manifests without signatures (never ones with bad signatures).
    pub allow_unsigned: bool,
}

/// The `reason` kinds, most serious first; the summary names the first
/// kind that occurred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Problem {
    BadSignature,
    Revoked,
    Expired,
    UnknownSigner,
}

/// Checks the signatures of `m` against `trust`; returns the ids of the
/// keys whose signatures count.
pub fn check_signatures(
    m: &Manifest,
    trust: &TrustStore,
    now: SystemTime,
) -> Result<Vec<String>, VerifyError> {
    let statement = m.signing_statement();
    let mut valid: Vec<String> = Vec::new();
    let mut problems: Vec<(Problem, String)> = Vec::new();
    for sig in &m.signatures {
        let id = &sig.key_id;
        if trust.revoked.contains(id) {
            problems.push((Problem::Revoked, format!("key {id} is revoked")));
            continue;
        }
        let Some(k) = trust.keys.get(id) else {
            problems.push((
                Problem::UnknownSigner,
                format!("key {id} is not trusted (unknown signer)"),
            ));
            continue;
        };
        if k.expires.is_some_and(|e| now >= e) {
            problems.push((
                Problem::Expired,
                format!("key {id} ({}) has expired", k.owner),
            ));
            continue;
        }
        if !keys::verify(&k.key, &statement, &sig.signature) {
            problems.push((
                Problem::BadSignature,
                format!(
                    "the signature by key {id} ({}) does not verify (bad signature)",
                    k.owner
                ),
            ));
            continue;
        }
        if !valid.contains(id) {
            valid.push(id.clone());
        }
    }
    if valid.len() >= trust.threshold.max(1) {
        return Ok(valid);
    }
    let worst = problems.iter().map(|(p, _)| *p).min();
    let summary = match worst {
        Some(Problem::BadSignature) => "bad signature".to_string(),
        Some(Problem::Revoked) => "signed by a revoked key".to_string(),
        Some(Problem::Expired) => "signed by an expired key".to_string(),
        Some(Problem::UnknownSigner) if valid.is_empty() => {
            "unknown signer: no trusted key signed it".to_string()
        }
        _ => format!(
            "too few signatures: {} valid from trusted keys, {} required",
            valid.len(),
            trust.threshold
        ),
    };
    let reasons: Vec<String> = problems.into_iter().map(|(_, r)| r).collect();
    let summary = if reasons.is_empty() {
        summary
    } else {
        format!("{summary} ({})", reasons.join("; "))
    };
    Err(VerifyError::Signatures {
        plugin: m.name.clone(),
        summary,
    })
}

/// Verifies the manifest at `path` and the component next to it.
pub fn verify(
    path: &Path,
    trust: &TrustStore,
    opts: VerifyOptions,
) -> Result<VerifiedPlugin, VerifyError> {
    let m = Manifest::read(path)?;
    let plugin = m.name.clone();
    if m.world != WIT_PACKAGE {
        return Err(VerifyError::WrongWorld {
            plugin,
            found: m.world.clone(),
        });
    }
    if let Some(req) = &m.dependencies.host {
        let this = semver::Version::parse(env!("CARGO_PKG_VERSION"))
            .unwrap_or(semver::Version::new(0, 0, 0));
        let matches = semver::VersionReq::parse(req).is_ok_and(|r| r.matches(&this));
        if !matches {
            return Err(VerifyError::HostVersion {
                plugin,
                required: req.clone(),
                found: this.to_string(),
            });
        }
    }
    if m.component.size > opts.max_bytes {
        return Err(VerifyError::TooLarge {
            plugin,
            size: m.component.size,
            limit: opts.max_bytes,
        });
    }
    let cpath = m.component_path(path);
    let component_err = |message: String| VerifyError::Component {
        plugin: m.name.clone(),
        path: cpath.clone(),
        message,
    };
    let meta = std::fs::metadata(&cpath).map_err(|e| component_err(e.to_string()))?;
    if meta.len() > opts.max_bytes {
        return Err(VerifyError::TooLarge {
            plugin,
            size: meta.len(),
            limit: opts.max_bytes,
        });
    }
    // Read no more than the manifest promised (plus one byte to notice a
    // file that grew), whatever the file claims now.
    let bytes =
        crate::plugin::read_limited(&cpath, m.component.size.min(opts.max_bytes)).map_err(|e| {
            match e {
                crate::plugin::PluginError::TooLarge { .. } => VerifyError::SizeMismatch {
                    plugin: m.name.clone(),
                    expected: m.component.size,
                    found: meta.len(),
                },
                other => component_err(other.to_string()),
            }
        })?;
    if bytes.len() as u64 != m.component.size {
        return Err(VerifyError::SizeMismatch {
            plugin,
            expected: m.component.size,
            found: bytes.len() as u64,
        });
    }
    let found = crate::plugin::sha256_hex(&bytes);
    if found != m.component.sha256 {
        return Err(VerifyError::DigestMismatch {
            plugin,
            expected: m.component.sha256.clone(),
            found,
        });
    }
    let (signers, unsigned) = if m.signatures.is_empty() {
        if !opts.allow_unsigned {
            return Err(VerifyError::Unsigned { plugin });
        }
        (Vec::new(), true)
    } else {
        (check_signatures(&m, trust, SystemTime::now())?, false)
    };
    Ok(VerifiedPlugin {
        manifest: m,
        manifest_path: path.to_path_buf(),
        bytes,
        signers,
        unsigned,
    })
}

#[cfg(test)]
mod tests {
    use super::super::manifest::{ComponentRef, Dependencies, MANIFEST_VERSION, Signature};
    use super::super::trust::TrustedKey;
    use super::*;
    use ed25519_dalek::SigningKey;

    fn manifest(bytes: &[u8]) -> Manifest {
        Manifest {
            manifest_version: MANIFEST_VERSION,
            name: "p".into(),
            version: "1.0.0".into(),
            description: String::new(),
            author: String::new(),
            license: String::new(),
            tags: vec![],
            world: WIT_PACKAGE.into(),
            capabilities: vec!["read".into()],
            dependencies: Dependencies::default(),
            component: ComponentRef {
                file: "p.wasm".into(),
                sha256: crate::plugin::sha256_hex(bytes),
                size: bytes.len() as u64,
            },
            signatures: vec![],
        }
    }

    fn sign(m: &mut Manifest, seed: u8) -> String {
        let k = SigningKey::from_bytes(&[seed; 32]);
        let id = keys::key_id(&k.verifying_key());
        m.signatures.push(Signature {
            key_id: id.clone(),
            signature: keys::sign(&k, &m.signing_statement()),
        });
        id
    }

    fn trust(seeds: &[u8], threshold: usize) -> TrustStore {
        let mut t = TrustStore {
            threshold,
            ..Default::default()
        };
        for s in seeds {
            let key = SigningKey::from_bytes(&[*s; 32]).verifying_key();
            t.keys.insert(
                keys::key_id(&key),
                TrustedKey {
                    key,
                    owner: format!("owner{s}"),
                    expires: None,
                },
            );
        }
        t
    }

    fn err(m: &Manifest, t: &TrustStore) -> String {
        check_signatures(m, t, SystemTime::now())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn each_signature_failure_is_named() {
        let mut m = manifest(b"code");
        let id = sign(&mut m, 1);
        assert_eq!(
            check_signatures(&m, &trust(&[1], 1), SystemTime::now()).unwrap(),
            vec![id.clone()]
        );
        assert!(err(&m, &trust(&[2], 1)).contains("unknown signer"));
        let mut revoked = trust(&[1], 1);
        revoked.revoked.insert(id.clone());
        assert!(err(&m, &revoked).contains("revoked"));
        let mut expired = trust(&[1], 1);
        if let Some(k) = expired.keys.get_mut(&id) {
            k.expires = Some(SystemTime::UNIX_EPOCH);
        }
        assert!(err(&m, &expired).contains("expired"));
        assert!(
            err(&m, &trust(&[1, 2], 2)).contains("too few signatures: 1 valid from trusted keys")
        );
        sign(&mut m, 2);
        assert_eq!(
            check_signatures(&m, &trust(&[1, 2], 2), SystemTime::now())
                .unwrap()
                .len(),
            2
        );
        // Escalating a capability after signing breaks every signature.
        m.capabilities.push("ddl".into());
        assert!(err(&m, &trust(&[1, 2], 1)).contains("bad signature"));
    }

    #[test]
    fn the_same_key_twice_counts_once() {
        let mut m = manifest(b"code");
        sign(&mut m, 1);
        sign(&mut m, 1);
        assert!(
            err(&m, &trust(&[1], 2))
                .contains("too few signatures: 1 valid from trusted keys, 2 required")
        );
    }

    #[test]
    fn files_are_checked_for_size_and_digest() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = b"component bytes".to_vec();
        std::fs::write(dir.path().join("p.wasm"), &bytes).unwrap();
        let mut m = manifest(&bytes);
        sign(&mut m, 1);
        let path = dir.path().join("p.manifest.yaml");
        m.write(&path).unwrap();
        let opts = VerifyOptions {
            max_bytes: 1000,
            allow_unsigned: false,
        };
        let ok = verify(&path, &trust(&[1], 1), opts).unwrap();
        assert_eq!(ok.bytes, bytes);
        let mut flipped = bytes.clone();
        flipped[0] ^= 1;
        std::fs::write(dir.path().join("p.wasm"), &flipped).unwrap();
        let e = verify(&path, &trust(&[1], 1), opts)
            .unwrap_err()
            .to_string();
        assert!(e.contains("digest mismatch"), "{e}");
        std::fs::write(dir.path().join("p.wasm"), b"longer component bytes").unwrap();
        let e = verify(&path, &trust(&[1], 1), opts)
            .unwrap_err()
            .to_string();
        assert!(e.contains("bytes but the manifest says"), "{e}");
        let small = VerifyOptions {
            max_bytes: 5,
            ..opts
        };
        let e = verify(&path, &trust(&[1], 1), small)
            .unwrap_err()
            .to_string();
        assert!(e.contains("artifact limit"), "{e}");
    }
}
