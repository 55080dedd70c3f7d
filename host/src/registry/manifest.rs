//! The plugin manifest: a YAML file next to the component that says what the
//! plugin is, what it needs, which bytes it is (SHA-256 and size) and who
//! signed all of that.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Current manifest format.
pub const MANIFEST_VERSION: u32 = 1;

/// Domain separation for signatures: a manifest signature can never be
/// mistaken for a signature over anything else.
const SIGNING_DOMAIN: &str = "stormdb plugin manifest signature v1";

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Malformed YAML, unknown fields or wrong types (with line and column).
    #[error("manifest {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// serde_yaml's message, with its location.
        message: String,
    },
    /// A field has a value that is not allowed.
    #[error("manifest {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The component a manifest describes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentRef {
    /// File name, relative to the manifest's directory.
    pub file: String,
    /// Lower-case hex SHA-256 of the component.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// Another plugin this one needs, by semver range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginDependency {
    /// Its name.
    pub name: String,
    /// Semver requirement, e.g. `^1.2`.
    pub version: String,
}

/// What the plugin depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependencies {
    /// Other plugins; their setup runs first.
    #[serde(default)]
    pub plugins: Vec<PluginDependency>,
    /// Semver requirement on the StormDB host version.
    #[serde(default)]
    pub host: Option<String>,
}

/// One signature over the manifest's canonical statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// Id of the signing key (see `keys::key_id`).
    pub key_id: String,
    /// Hex ed25519 signature.
    pub signature: String,
}

/// A plugin manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version ([`MANIFEST_VERSION`]).
    pub manifest_version: u32,
    /// Plugin name: lower-case letters, digits and `-`.
    pub name: String,
    /// Semantic version.
    pub version: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// Who wrote it.
    #[serde(default)]
    pub author: String,
    /// SPDX license id.
    #[serde(default)]
    pub license: String,
    /// Free-form tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The WIT world version it targets, e.g. `stormdb:workload@0.1.0`.
    pub world: String,
    /// Capabilities it asks for (read, write, ddl, copy, temp-tables,
    /// extension:NAME).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Plugins and host versions it needs.
    #[serde(default)]
    pub dependencies: Dependencies,
    /// The component.
    pub component: ComponentRef,
    /// Signatures over everything above.
    #[serde(default)]
    pub signatures: Vec<Signature>,
}

/// Capabilities a manifest may request.
pub fn known_capability(c: &str) -> bool {
    matches!(c, "read" | "write" | "ddl" | "copy" | "temp-tables")
        || c.strip_prefix("extension:").is_some_and(valid_name)
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Length-prefixed field, so no value can spill into the next one.
fn field(out: &mut Vec<u8>, key: &str, value: &str) {
    out.extend_from_slice(format!("{key}={}:", value.len()).as_bytes());
    out.extend_from_slice(value.as_bytes());
    out.push(b'\n');
}

impl Manifest {
    /// Parses and validates manifest text; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Manifest, ManifestError> {
        let m: Manifest = serde_yaml::from_str(text).map_err(|e| ManifestError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        m.validate().map_err(|message| ManifestError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(m)
    }

    /// Reads and validates a manifest file.
    pub fn read(path: &Path) -> Result<Manifest, ManifestError> {
        // A manifest is small; anything huge is not one.
        let bytes =
            crate::plugin::read_limited(path, 1 << 20).map_err(|e| ManifestError::Invalid {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        let text = String::from_utf8(bytes).map_err(|_| ManifestError::Invalid {
            path: path.to_path_buf(),
            message: "not UTF-8 text".into(),
        })?;
        Self::parse(path, &text)
    }

    /// Writes the manifest as YAML.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_yaml::to_string(self).map_err(std::io::Error::other)?;
        std::fs::write(path, text)
    }

    /// The parsed version.
    pub fn semver(&self) -> Result<semver::Version, String> {
        semver::Version::parse(&self.version)
            .map_err(|e| format!("version '{}' is not a semantic version: {e}", self.version))
    }

    fn validate(&self) -> Result<(), String> {
        if self.manifest_version != MANIFEST_VERSION {
            return Err(format!(
                "manifest_version {} is not supported (this StormDB reads version {MANIFEST_VERSION})",
                self.manifest_version
            ));
        }
        if !valid_name(&self.name) {
            return Err(format!(
                "name '{}' must be 1-64 lower-case letters, digits, '-' or '_'",
                self.name
            ));
        }
        self.semver()?;
        if !is_hex(&self.component.sha256, 64) {
            return Err("component.sha256 must be 64 lower-case hex digits".into());
        }
        let file = Path::new(&self.component.file);
        if self.component.file.is_empty()
            || file.is_absolute()
            || file.components().count() != 1
            || self.component.file.starts_with('.')
        {
            return Err(format!(
                "component.file '{}' must be a plain file name next to the manifest",
                self.component.file
            ));
        }
        for c in &self.capabilities {
            if !known_capability(c) {
                return Err(format!(
                    "capability '{c}' is unknown (known: read, write, ddl, copy, temp-tables, extension:NAME)"
                ));
            }
        }
        for d in &self.dependencies.plugins {
            if !valid_name(&d.name) {
                return Err(format!("dependency name '{}' is not a plugin name", d.name));
            }
            semver::VersionReq::parse(&d.version).map_err(|e| {
                format!(
                    "dependency {} version '{}' is not a semver range: {e}",
                    d.name, d.version
                )
            })?;
        }
        if let Some(h) = &self.dependencies.host {
            semver::VersionReq::parse(h)
                .map_err(|e| format!("dependencies.host '{h}' is not a semver range: {e}"))?;
        }
        for s in &self.signatures {
            if !is_hex(&s.key_id, 16) || !is_hex(&s.signature, 128) {
                return Err(format!(
                    "signature by '{}' is malformed (key_id: 16 hex digits, signature: 128)",
                    s.key_id
                ));
            }
        }
        Ok(())
    }

    /// The bytes every signature covers: a domain-separated, length-prefixed
    /// rendering of every field except the signatures, so neither the code
    /// (digest, size) nor the declared capabilities and dependencies can be
    /// changed without invalidating it.
    pub fn signing_statement(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(SIGNING_DOMAIN.as_bytes());
        out.push(b'\n');
        field(
            &mut out,
            "manifest_version",
            &self.manifest_version.to_string(),
        );
        field(&mut out, "name", &self.name);
        field(&mut out, "version", &self.version);
        field(&mut out, "description", &self.description);
        field(&mut out, "author", &self.author);
        field(&mut out, "license", &self.license);
        let mut tags = self.tags.clone();
        tags.sort();
        for t in &tags {
            field(&mut out, "tag", t);
        }
        field(&mut out, "world", &self.world);
        let mut caps = self.capabilities.clone();
        caps.sort();
        caps.dedup();
        for c in &caps {
            field(&mut out, "capability", c);
        }
        let mut deps: Vec<String> = self
            .dependencies
            .plugins
            .iter()
            .map(|d| format!("{}@{}", d.name, d.version))
            .collect();
        deps.sort();
        for d in &deps {
            field(&mut out, "depends", d);
        }
        field(
            &mut out,
            "host",
            self.dependencies.host.as_deref().unwrap_or(""),
        );
        field(&mut out, "component.file", &self.component.file);
        field(&mut out, "component.sha256", &self.component.sha256);
        field(&mut out, "component.size", &self.component.size.to_string());
        out
    }

    /// The component's path, next to the manifest at `manifest_path`.
    pub fn component_path(&self, manifest_path: &Path) -> PathBuf {
        manifest_path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(&self.component.file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "manifest_version: 1
name: kv
version: 1.2.0
world: stormdb:workload@0.1.0
capabilities: [read, write]
component:
  file: kv.wasm
  sha256: 0000000000000000000000000000000000000000000000000000000000000000
  size: 10
";

    #[test]
    fn a_good_manifest_parses() {
        let m = Manifest::parse(Path::new("m.yaml"), GOOD).unwrap();
        assert_eq!(m.name, "kv");
        assert_eq!(m.semver().unwrap(), semver::Version::new(1, 2, 0));
        assert_eq!(
            m.component_path(Path::new("/r/kv/m.yaml")),
            Path::new("/r/kv/kv.wasm")
        );
    }

    #[test]
    fn unknown_fields_and_bad_yaml_name_file_line_and_column() {
        let err = Manifest::parse(Path::new("m.yaml"), &format!("{GOOD}extra: 1\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("m.yaml") && err.contains("unknown field `extra`"),
            "{err}"
        );
        assert!(err.contains("line 10"), "{err}");
        let err = Manifest::parse(Path::new("m.yaml"), "name: [\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        for (from, to, want) in [
            ("name: kv", "name: KV!", "name 'KV!'"),
            ("version: 1.2.0", "version: one", "not a semantic version"),
            ("file: kv.wasm", "file: ../kv.wasm", "plain file name"),
            ("[read, write]", "[read, root]", "capability 'root'"),
            ("sha256: 0000", "sha256: zz00", "64 lower-case hex"),
        ] {
            let text = GOOD.replace(from, to);
            let err = Manifest::parse(Path::new("m.yaml"), &text)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{from} -> {to}: {err}");
        }
    }

    #[test]
    fn the_statement_binds_code_capabilities_and_dependencies() {
        let m = Manifest::parse(Path::new("m.yaml"), GOOD).unwrap();
        let base = m.signing_statement();
        let mut other = m.clone();
        other.component.sha256 = "1".repeat(64);
        assert_ne!(other.signing_statement(), base);
        let mut other = m.clone();
        other.capabilities.push("ddl".into());
        assert_ne!(other.signing_statement(), base);
        let mut other = m.clone();
        other.dependencies.plugins.push(PluginDependency {
            name: "x".into(),
            version: "^1".into(),
        });
        assert_ne!(other.signing_statement(), base);
        // Order of capabilities does not matter; signatures are not covered.
        let mut other = m.clone();
        other.capabilities.reverse();
        other.signatures.push(Signature {
            key_id: "0".repeat(16),
            signature: "0".repeat(128),
        });
        assert_eq!(other.signing_statement(), base);
        // Length prefixes keep field boundaries unambiguous.
        let mut a = m.clone();
        a.description = "x\nname=2:kv".into();
        assert_ne!(a.signing_statement(), base);
    }
}
