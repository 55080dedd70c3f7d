//! The plugin supply chain: manifests, keys and signatures, trust stores,
//! registries, the lockfile, and resolution with dependencies. Nothing here
//! compiles or runs a plugin: it decides which bytes may be handed to the
//! sandbox, and refuses the rest with the reason.

pub mod index;
pub mod keys;
pub mod lockfile;
pub mod manifest;
pub mod resolve;
pub mod trust;
pub mod verify;

use index::Source;
use lockfile::{LockPolicy, Lockfile};
use manifest::{ComponentRef, Dependencies, MANIFEST_VERSION, Manifest, Signature};
use std::path::{Path, PathBuf};
use trust::TrustStore;
use verify::{VerifiedPlugin, VerifyOptions};

/// What `pack` writes into a new manifest besides the digest.
#[derive(Debug, Clone, Default)]
pub struct PackInfo {
    /// Plugin name.
    pub name: String,
    /// Semantic version.
    pub version: String,
    /// Description.
    pub description: String,
    /// Author.
    pub author: String,
    /// License.
    pub license: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Requested capabilities.
    pub capabilities: Vec<String>,
    /// `NAME@RANGE` dependencies on other plugins.
    pub depends: Vec<String>,
    /// Host version requirement.
    pub host: Option<String>,
}

/// A new, unsigned manifest for `component` (its file name `file`); the
/// caller checks the component's world before writing it.
pub fn pack(
    component: &[u8],
    file: &str,
    info: &PackInfo,
    world: &str,
) -> Result<Manifest, String> {
    let mut plugins = Vec::new();
    for d in &info.depends {
        let (name, range) = d
            .split_once('@')
            .ok_or_else(|| format!("dependency '{d}' must be NAME@RANGE"))?;
        plugins.push(manifest::PluginDependency {
            name: name.to_string(),
            version: range.to_string(),
        });
    }
    let m = Manifest {
        manifest_version: MANIFEST_VERSION,
        name: info.name.clone(),
        version: info.version.clone(),
        description: info.description.clone(),
        author: info.author.clone(),
        license: info.license.clone(),
        tags: info.tags.clone(),
        world: world.to_string(),
        capabilities: info.capabilities.clone(),
        dependencies: Dependencies {
            plugins,
            host: info.host.clone(),
        },
        component: ComponentRef {
            file: file.to_string(),
            sha256: crate::plugin::sha256_hex(component),
            size: component.len() as u64,
        },
        signatures: Vec::new(),
    };
    // Round-trip through the validator so `pack` never writes what `verify`
    // would refuse to read.
    let text = serde_yaml::to_string(&m).map_err(|e| e.to_string())?;
    Manifest::parse(Path::new("new manifest"), &text).map_err(|e| e.to_string())
}

/// Adds (or replaces) the signature of the key in `key_file`.
pub fn sign(manifest_path: &Path, key_file: &Path) -> Result<String, String> {
    let mut m = Manifest::read(manifest_path).map_err(|e| e.to_string())?;
    let key = keys::read_secret(key_file).map_err(|e| e.to_string())?;
    let id = keys::key_id(&key.verifying_key());
    let signature = keys::sign(&key, &m.signing_statement());
    m.signatures.retain(|s| s.key_id != id);
    m.signatures.push(Signature {
        key_id: id.clone(),
        signature,
    });
    m.write(manifest_path)
        .map_err(|e| format!("writing {}: {e}", manifest_path.display()))?;
    Ok(id)
}

/// Where `install` keeps plugins: `$STORMDB_PLUGIN_DIR`,
/// `$XDG_DATA_HOME/stormdb/plugins` or `~/.local/share/stormdb/plugins`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("STORMDB_PLUGIN_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_DATA_HOME") {
        return Some(PathBuf::from(d).join("stormdb/plugins"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/stormdb/plugins"))
}

/// One plugin `install` put in the cache.
#[derive(Debug, Clone)]
pub struct Installed {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Where its manifest now is.
    pub manifest_path: PathBuf,
    /// Keys whose signatures verified.
    pub signers: Vec<String>,
}

/// Everything `install` needs.
pub struct Installer<'a> {
    /// The registry.
    pub source: &'a Source,
    /// The local plugin cache.
    pub cache: &'a Path,
    /// Who is trusted.
    pub trust: &'a TrustStore,
    /// Lockfile policy.
    pub policy: LockPolicy,
    /// Size limit and unsigned policy.
    pub verify: VerifyOptions,
}

impl Installer<'_> {
    /// Installs the best match for `name`/`req` and its dependencies,
    /// verifying each before it enters the cache, and pins them in `lock`.
    pub fn install(
        &self,
        name: &str,
        req: &semver::VersionReq,
        lock: &mut Lockfile,
    ) -> Result<Vec<Installed>, String> {
        let index = self.source.index()?;
        let mut done = Vec::new();
        let mut chain = Vec::new();
        self.install_one(&index, name, req, lock, &mut chain, &mut done)?;
        Ok(done)
    }

    fn install_one(
        &self,
        index: &index::Index,
        name: &str,
        req: &semver::VersionReq,
        lock: &mut Lockfile,
        chain: &mut Vec<String>,
        done: &mut Vec<Installed>,
    ) -> Result<(), String> {
        let here = |chain: &[String]| {
            let mut c = chain.to_vec();
            c.push(format!("{name}@{req}"));
            c.join(" -> ")
        };
        if done.iter().any(|i| i.name == name) {
            return Ok(());
        }
        if chain.iter().any(|c| c.split('@').next() == Some(name)) {
            return Err(format!("dependency cycle: {}", here(chain)));
        }
        let (entry, version) = index.best(name, req).ok_or_else(|| {
            format!(
                "missing dependency: registry {} has no '{name}' matching {req} ({})",
                self.source,
                here(chain)
            )
        })?;
        if entry.size > self.verify.max_bytes {
            return Err(format!(
                "plugin '{name}' {version}: {} bytes, over the {}-byte artifact limit",
                entry.size, self.verify.max_bytes
            ));
        }
        // Refuse drift and rollbacks before downloading anything.
        lock.check(name, &version, &entry.sha256, self.policy)?;

        std::fs::create_dir_all(self.cache)
            .map_err(|e| format!("{}: {e}", self.cache.display()))?;
        let staging = tempfile::Builder::new()
            .prefix(".staging-")
            .tempdir_in(self.cache)
            .map_err(|e| format!("{}: {e}", self.cache.display()))?;
        let manifest_bytes = self.source.fetch_manifest(&entry.manifest)?;
        let manifest_name = Path::new(&entry.manifest)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| format!("index entry {name} {version}: no manifest file name"))?;
        let manifest_path = staging.path().join(&manifest_name);
        std::fs::write(&manifest_path, &manifest_bytes).map_err(|e| e.to_string())?;
        let m = Manifest::read(&manifest_path).map_err(|e| e.to_string())?;
        if m.name != name || m.version != entry.version || m.component.sha256 != entry.sha256 {
            return Err(format!(
                "registry {}: the manifest of {name} {version} does not match its index entry \
                 (it says {} {} with digest {})",
                self.source, m.name, m.version, m.component.sha256
            ));
        }
        let component_rel = match entry.manifest.rsplit_once('/') {
            Some((dir, _)) => format!("{dir}/{}", m.component.file),
            None => m.component.file.clone(),
        };
        let bytes = self
            .source
            .fetch(&component_rel, m.component.size.min(self.verify.max_bytes))?;
        std::fs::write(staging.path().join(&m.component.file), &bytes)
            .map_err(|e| e.to_string())?;
        let verified: VerifiedPlugin =
            verify::verify(&manifest_path, self.trust, self.verify).map_err(|e| e.to_string())?;

        chain.push(format!("{name}@{version}"));
        for dep in &verified.manifest.dependencies.plugins {
            let dep_req = semver::VersionReq::parse(&dep.version).map_err(|e| e.to_string())?;
            self.install_one(index, &dep.name, &dep_req, lock, chain, done)?;
        }
        chain.pop();

        let target = self.cache.join(name).join(version.to_string());
        if target.exists() {
            std::fs::remove_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let staged = staging.keep();
        std::fs::rename(&staged, &target).map_err(|e| format!("{}: {e}", target.display()))?;
        lock.pin(
            name,
            &version.to_string(),
            &entry.sha256,
            &self.source.to_string(),
        );
        done.push(Installed {
            name: name.to_string(),
            version: version.to_string(),
            manifest_path: target.join(manifest_name),
            signers: verified.signers,
        });
        Ok(())
    }
}
