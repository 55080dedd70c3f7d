//! Trust stores: which keys may sign plugins, until when, which are
//! revoked, how many signatures a plugin needs, and separate sets per
//! tenant.

use super::keys;
use ed25519_dalek::VerifyingKey;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// One trusted key as written in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// The key's public line (`stormdb-public-key-v1 ID HEX ...`).
    pub public_key: Option<String>,
    /// Or a `.pub` file holding it (relative to the config file).
    pub file: Option<PathBuf>,
    /// Who holds the key.
    #[serde(default)]
    pub owner: String,
    /// Signatures by this key are refused after this instant (RFC 3339 or
    /// `YYYY-MM-DD`).
    pub expires: Option<String>,
}

/// A trust set as written in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSection {
    /// Valid signatures by distinct trusted keys a plugin needs (default 1).
    pub threshold: Option<usize>,
    /// Trusted keys.
    #[serde(default)]
    pub keys: Vec<KeyEntry>,
    /// Ids of revoked keys; they are refused everywhere, tenants included.
    #[serde(default)]
    pub revoked: Vec<String>,
    /// Per-tenant trust sets; a tenant's set replaces the global one.
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantTrust>,
}

/// A tenant's trust set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantTrust {
    /// As for the global set.
    pub threshold: Option<usize>,
    /// As for the global set.
    #[serde(default)]
    pub keys: Vec<KeyEntry>,
    /// Revoked in addition to the global list.
    #[serde(default)]
    pub revoked: Vec<String>,
}

/// A trusted key, ready to verify with.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    /// The key.
    pub key: VerifyingKey,
    /// Who holds it.
    pub owner: String,
    /// When it stops being valid.
    pub expires: Option<SystemTime>,
}

/// The trust set used to verify one plugin.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    /// Trusted keys by id.
    pub keys: HashMap<String, TrustedKey>,
    /// Revoked key ids.
    pub revoked: HashSet<String>,
    /// Signatures needed.
    pub threshold: usize,
}

fn parse_expiry(text: &str) -> Result<SystemTime, String> {
    let t = text.trim();
    let full = if t.len() == 10 {
        format!("{t}T00:00:00Z")
    } else {
        t.to_string()
    };
    humantime::parse_rfc3339_weak(&full)
        .map_err(|e| format!("expires '{text}' is not a date (YYYY-MM-DD or RFC 3339): {e}"))
}

fn load_key(entry: &KeyEntry, base: &Path) -> Result<(String, TrustedKey), String> {
    let (id, key) = match (&entry.public_key, &entry.file) {
        (Some(line), None) => keys::parse_public_line(line)?,
        (None, Some(file)) => {
            let path = base.join(file);
            keys::read_public(&path).map_err(|e| e.to_string())?
        }
        _ => return Err("a trusted key needs exactly one of public_key or file".into()),
    };
    let expires = entry.expires.as_deref().map(parse_expiry).transpose()?;
    Ok((
        id,
        TrustedKey {
            key,
            owner: entry.owner.clone(),
            expires,
        },
    ))
}

impl TrustStore {
    /// The trust set for `tenant` (or the global one) from the config's
    /// `trust:` section; `base` resolves key files relative to the config.
    pub fn from_section(
        section: &TrustSection,
        tenant: Option<&str>,
        base: &Path,
    ) -> Result<TrustStore, String> {
        let mut store = TrustStore {
            threshold: section.threshold.unwrap_or(1),
            ..Default::default()
        };
        store.revoked.extend(section.revoked.iter().cloned());
        let (entries, threshold) = match tenant.and_then(|t| section.tenants.get(t)) {
            Some(t) => {
                store.revoked.extend(t.revoked.iter().cloned());
                (&t.keys, t.threshold.or(section.threshold))
            }
            None => (&section.keys, section.threshold),
        };
        store.threshold = threshold.unwrap_or(1);
        if store.threshold == 0 {
            return Err(
                "trust threshold must be at least 1 (use --allow-unsigned for unsigned plugins)"
                    .into(),
            );
        }
        for (i, entry) in entries.iter().enumerate() {
            let (id, key) =
                load_key(entry, base).map_err(|e| format!("trust key {}: {e}", i + 1))?;
            store.keys.insert(id, key);
        }
        Ok(store)
    }

    /// Adds the keys of `.pub` files (from `--trust`).
    pub fn add_files(&mut self, files: &[PathBuf]) -> Result<(), String> {
        for f in files {
            let (id, key) = keys::read_public(f).map_err(|e| e.to_string())?;
            self.keys.insert(
                id,
                TrustedKey {
                    key,
                    owner: f.display().to_string(),
                    expires: None,
                },
            );
        }
        if self.threshold == 0 {
            self.threshold = 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn line(seed: u8) -> String {
        keys::public_key_line(&SigningKey::from_bytes(&[seed; 32]).verifying_key(), "k")
    }

    #[test]
    fn tenants_get_their_own_keys_and_global_revocations() {
        let yaml = format!(
            "threshold: 1\nkeys:\n  - public_key: \"{}\"\n    expires: 2030-01-01\nrevoked: [aaaaaaaaaaaaaaaa]\ntenants:\n  team-a:\n    threshold: 2\n    keys:\n      - public_key: \"{}\"\n",
            line(1),
            line(2)
        );
        let section: TrustSection = serde_yaml::from_str(&yaml).unwrap();
        let global = TrustStore::from_section(&section, None, Path::new(".")).unwrap();
        assert_eq!(global.keys.len(), 1);
        assert!(global.keys.values().all(|k| k.expires.is_some()));
        let team = TrustStore::from_section(&section, Some("team-a"), Path::new(".")).unwrap();
        assert_eq!(team.threshold, 2);
        assert_eq!(team.keys.len(), 1);
        assert!(team.revoked.contains("aaaaaaaaaaaaaaaa"));
        assert_ne!(global.keys.keys().next(), team.keys.keys().next());
    }

    #[test]
    fn bad_entries_are_named() {
        let section: TrustSection =
            serde_yaml::from_str("keys:\n  - public_key: \"nonsense\"\n").unwrap();
        let err = TrustStore::from_section(&section, None, Path::new(".")).unwrap_err();
        assert!(err.contains("trust key 1"), "{err}");
        let section: TrustSection = serde_yaml::from_str(&format!(
            "keys:\n  - public_key: \"{}\"\n    expires: someday\n",
            line(3)
        ))
        .unwrap();
        let err = TrustStore::from_section(&section, None, Path::new(".")).unwrap_err();
        assert!(err.contains("someday"), "{err}");
    }
}
