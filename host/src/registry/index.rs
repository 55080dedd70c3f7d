//! Registries: an `index.yaml` plus artifacts, served from a directory or
//! over HTTP(S). Nothing from a registry is trusted: every download is size
//! limited before it is read, and every plugin is verified after.

use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Current index format.
pub const INDEX_VERSION: u32 = 1;
/// Name of the index at a registry's root.
pub const INDEX_FILE: &str = "index.yaml";
/// Largest index or manifest read.
const MAX_METADATA: u64 = 4 << 20;

/// One published version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexEntry {
    /// Plugin name.
    pub name: String,
    /// Exact version.
    pub version: String,
    /// Manifest path relative to the registry root.
    pub manifest: String,
    /// Component SHA-256 (checked again against the manifest).
    pub sha256: String,
    /// Component size, so a download can be refused before it starts.
    pub size: u64,
}

/// The index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// Format version.
    pub registry_version: u32,
    /// Everything published.
    #[serde(default)]
    pub plugins: Vec<IndexEntry>,
}

/// Where a registry is.
#[derive(Debug, Clone)]
pub enum Source {
    /// A local directory.
    Dir(PathBuf),
    /// An HTTP(S) base URL (ending in `/`).
    Http(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Dir(p) => write!(f, "{}", p.display()),
            Source::Http(u) => f.write_str(u),
        }
    }
}

/// Relative paths inside a registry: no absolute paths, no `..`.
fn safe_relative(rel: &str) -> Result<(), String> {
    let p = Path::new(rel);
    if rel.is_empty()
        || p.is_absolute()
        || rel.contains('\\')
        || p.components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(format!(
            "registry path '{rel}' is not a plain relative path"
        ));
    }
    Ok(())
}

impl Source {
    /// A directory path or an `http://`/`https://` URL.
    pub fn parse(text: &str) -> Source {
        if text.starts_with("http://") || text.starts_with("https://") {
            let mut u = text.to_string();
            if !u.ends_with('/') {
                u.push('/');
            }
            Source::Http(u)
        } else {
            Source::Dir(PathBuf::from(text))
        }
    }

    /// Reads `rel` from the registry, refusing more than `limit` bytes
    /// without reading past the limit.
    pub fn fetch(&self, rel: &str, limit: u64) -> Result<Vec<u8>, String> {
        safe_relative(rel)?;
        let mut bytes = Vec::new();
        match self {
            Source::Dir(root) => {
                let path = root.join(rel);
                let f =
                    std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                f.take(limit + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            Source::Http(base) => {
                let url = format!("{base}{rel}");
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(Duration::from_secs(120)))
                    .max_redirects(3)
                    .build()
                    .into();
                let response = agent.get(&url).call().map_err(|e| format!("{url}: {e}"))?;
                if let Some(len) = response
                    .headers()
                    .get("content-length")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    && len > limit
                {
                    return Err(format!("{url}: {len} bytes, over the {limit}-byte limit"));
                }
                let mut body = response.into_body();
                body.as_reader()
                    .take(limit + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| format!("{url}: {e}"))?;
            }
        }
        if bytes.len() as u64 > limit {
            return Err(format!("{self}/{rel}: more than the {limit}-byte limit"));
        }
        Ok(bytes)
    }

    /// The registry's index.
    pub fn index(&self) -> Result<Index, String> {
        let bytes = self.fetch(INDEX_FILE, MAX_METADATA)?;
        let text =
            String::from_utf8(bytes).map_err(|_| format!("{self}/{INDEX_FILE}: not UTF-8"))?;
        let index: Index =
            serde_yaml::from_str(&text).map_err(|e| format!("{self}/{INDEX_FILE}: {e}"))?;
        if index.registry_version != INDEX_VERSION {
            return Err(format!(
                "{self}/{INDEX_FILE}: registry_version {} is not supported",
                index.registry_version
            ));
        }
        for e in &index.plugins {
            safe_relative(&e.manifest).map_err(|m| format!("{self}/{INDEX_FILE}: {m}"))?;
        }
        Ok(index)
    }

    /// Reads a manifest from the registry.
    pub fn fetch_manifest(&self, rel: &str) -> Result<Vec<u8>, String> {
        self.fetch(rel, MAX_METADATA)
    }
}

impl Index {
    /// The highest version of `name` matching `req`.
    pub fn best(
        &self,
        name: &str,
        req: &semver::VersionReq,
    ) -> Option<(&IndexEntry, semver::Version)> {
        self.plugins
            .iter()
            .filter(|e| e.name == name)
            .filter_map(|e| semver::Version::parse(&e.version).ok().map(|v| (e, v)))
            .filter(|(_, v)| req.matches(v))
            .max_by(|a, b| a.1.cmp(&b.1))
    }
}

/// Publishes a verified plugin into a directory registry: copies the
/// manifest and component under `name/version/` and adds it to the index.
pub fn publish_to_dir(
    root: &Path,
    manifest: &super::manifest::Manifest,
    manifest_path: &Path,
    component: &[u8],
) -> Result<PathBuf, String> {
    let rel_dir = format!("{}/{}", manifest.name, manifest.version);
    let dir = root.join(&rel_dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let manifest_name = manifest_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("{}.manifest.yaml", manifest.name));
    std::fs::write(dir.join(&manifest.component.file), component)
        .and_then(|_| std::fs::copy(manifest_path, dir.join(&manifest_name)).map(|_| ()))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let index_path = root.join(INDEX_FILE);
    let mut index = match std::fs::read_to_string(&index_path) {
        Ok(text) => serde_yaml::from_str::<Index>(&text)
            .map_err(|e| format!("{}: {e}", index_path.display()))?,
        Err(_) => Index {
            registry_version: INDEX_VERSION,
            plugins: Vec::new(),
        },
    };
    index
        .plugins
        .retain(|e| !(e.name == manifest.name && e.version == manifest.version));
    index.plugins.push(IndexEntry {
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        manifest: format!("{rel_dir}/{manifest_name}"),
        sha256: manifest.component.sha256.clone(),
        size: manifest.component.size,
    });
    index
        .plugins
        .sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    let text = serde_yaml::to_string(&index).map_err(|e| e.to_string())?;
    std::fs::write(&index_path, text).map_err(|e| format!("{}: {e}", index_path.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_escape_the_registry_are_refused() {
        for bad in ["../x", "/etc/passwd", "a/../../b", "", "a\\b"] {
            assert!(safe_relative(bad).is_err(), "{bad}");
        }
        assert!(safe_relative("kv/1.0.0/kv.manifest.yaml").is_ok());
    }

    #[test]
    fn directory_fetches_respect_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), vec![1u8; 100]).unwrap();
        let src = Source::Dir(dir.path().to_path_buf());
        assert_eq!(src.fetch("f", 100).unwrap().len(), 100);
        assert!(src.fetch("f", 99).unwrap_err().contains("limit"));
    }

    #[test]
    fn the_best_match_is_the_highest_in_range() {
        let e = |v: &str| IndexEntry {
            name: "kv".into(),
            version: v.into(),
            manifest: format!("kv/{v}/m.yaml"),
            sha256: String::new(),
            size: 0,
        };
        let index = Index {
            registry_version: 1,
            plugins: vec![e("1.0.0"), e("1.4.2"), e("2.0.0"), e("not-semver")],
        };
        let req = semver::VersionReq::parse("^1").unwrap();
        assert_eq!(index.best("kv", &req).unwrap().1.to_string(), "1.4.2");
        assert!(index.best("other", &req).is_none());
    }
}
