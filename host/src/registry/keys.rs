//! ed25519 signing keys: generation, files, ids, signing and strict
//! verification.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const SECRET_TAG: &str = "stormdb-secret-key-v1";
const PUBLIC_TAG: &str = "stormdb-public-key-v1";

/// Why a key could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read or written.
    #[error("key file {path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// The file is not a key of the expected kind.
    #[error("key file {path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No randomness for a new key.
    #[error("no randomness from the operating system: {0}")]
    Random(String),
}

/// Lower-case hex.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes lower- or upper-case hex.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A key's id: 16 hex digits of SHA-256 over the public key, domain-separated.
pub fn key_id(key: &VerifyingKey) -> String {
    let mut h = Sha256::new();
    h.update(b"stormdb key id v1\n");
    h.update(key.as_bytes());
    to_hex(&h.finalize()[..8])
}

/// A public key in its text form (`stormdb-public-key-v1 ID HEX [comment]`).
pub fn public_key_line(key: &VerifyingKey, comment: &str) -> String {
    format!(
        "{PUBLIC_TAG} {} {} {comment}",
        key_id(key),
        to_hex(key.as_bytes())
    )
    .trim_end()
    .to_string()
}

/// Parses a public key from hex.
pub fn parse_public_hex(hex: &str) -> Result<VerifyingKey, String> {
    let bytes = from_hex(hex).ok_or("public key is not hex")?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "public key must be 32 bytes (64 hex digits)".to_string())?;
    VerifyingKey::from_bytes(&arr).map_err(|e| format!("not a valid ed25519 public key: {e}"))
}

/// Parses the text form written by [`public_key_line`]; checks the id.
pub fn parse_public_line(line: &str) -> Result<(String, VerifyingKey), String> {
    let mut parts = line.split_whitespace();
    if parts.next() != Some(PUBLIC_TAG) {
        return Err(format!("expected a line starting with {PUBLIC_TAG}"));
    }
    let id = parts.next().ok_or("missing key id")?;
    let key = parse_public_hex(parts.next().ok_or("missing key")?)?;
    if key_id(&key) != id {
        return Err(format!(
            "key id {id} does not match the key (its id is {})",
            key_id(&key)
        ));
    }
    Ok((id.to_string(), key))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        cause: source,
    }
}

/// Generates a key pair: the secret key goes to `path` (mode 0600, refusing
/// to overwrite), the public key to `path.pub`. Returns the public key.
pub fn generate(path: &Path, comment: &str) -> Result<VerifyingKey, KeyError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
    let key = SigningKey::from_bytes(&seed);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    writeln!(f, "# StormDB ed25519 secret key: keep it private").map_err(io(path))?;
    writeln!(f, "{SECRET_TAG} {}", to_hex(&seed)).map_err(io(path))?;
    seed.fill(0);
    let public = key.verifying_key();
    let pub_path = public_path(path);
    std::fs::write(&pub_path, public_key_line(&public, comment) + "\n").map_err(io(&pub_path))?;
    Ok(public)
}

/// `KEY.pub` for a secret key file `KEY`.
pub fn public_path(secret: &Path) -> PathBuf {
    let mut p = secret.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

/// Reads a secret key file, refusing one others can read.
pub fn read_secret(path: &Path) -> Result<SigningKey, KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(io(path))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(KeyError::Format {
            path: path.to_path_buf(),
            message: "is readable by others; chmod 600 it".into(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let hex = text
        .lines()
        .find_map(|l| l.strip_prefix(SECRET_TAG))
        .map(str::trim)
        .ok_or_else(|| KeyError::Format {
            path: path.to_path_buf(),
            message: format!("no {SECRET_TAG} line"),
        })?;
    let seed: [u8; 32] = from_hex(hex)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| KeyError::Format {
            path: path.to_path_buf(),
            message: "the secret key must be 64 hex digits".into(),
        })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Reads a public key file written by [`generate`].
pub fn read_public(path: &Path) -> Result<(String, VerifyingKey), KeyError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let line = text
        .lines()
        .find(|l| l.starts_with(PUBLIC_TAG))
        .ok_or_else(|| KeyError::Format {
            path: path.to_path_buf(),
            message: format!("no {PUBLIC_TAG} line"),
        })?;
    parse_public_line(line).map_err(|message| KeyError::Format {
        path: path.to_path_buf(),
        message,
    })
}

/// Signs `statement`, returning the hex signature.
pub fn sign(key: &SigningKey, statement: &[u8]) -> String {
    to_hex(&key.sign(statement).to_bytes())
}

/// Verifies a hex signature strictly (no malleable or small-order forms).
pub fn verify(key: &VerifyingKey, statement: &[u8], signature_hex: &str) -> bool {
    let Some(bytes) = from_hex(signature_hex) else {
        return false;
    };
    let Ok(arr) = <[u8; 64]>::try_from(bytes) else {
        return false;
    };
    let sig = ed25519_dalek::Signature::from_bytes(&arr);
    key.verify_strict(statement, &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_verify_and_files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let public = generate(&path, "test key").unwrap();
        assert!(generate(&path, "").is_err(), "must not overwrite a key");
        let secret = read_secret(&path).unwrap();
        let (id, read_back) = read_public(&public_path(&path)).unwrap();
        assert_eq!(read_back, public);
        assert_eq!(id, key_id(&public));
        let sig = sign(&secret, b"statement");
        assert!(verify(&public, b"statement", &sig));
        assert!(!verify(&public, b"statement!", &sig));
        let mut bad = sig.clone();
        bad.replace_range(0..2, if &sig[0..2] == "00" { "01" } else { "00" });
        assert!(!verify(&public, b"statement", &bad));
        assert!(!verify(&public, b"statement", "zz"));
    }

    #[test]
    fn secret_keys_readable_by_others_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        generate(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_secret(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn a_public_line_with_a_wrong_id_is_refused() {
        let key = SigningKey::from_bytes(&[7u8; 32]).verifying_key();
        let line = public_key_line(&key, "c");
        assert!(parse_public_line(&line).is_ok());
        let forged = line.replacen(&key_id(&key), "0123456789abcdef", 1);
        assert!(
            parse_public_line(&forged)
                .unwrap_err()
                .contains("does not match")
        );
    }
}
