//! Finding packaged plugins and resolving a plugin with its dependencies.
//!
//! The catalog holds every manifest found in the configured files, the
//! configured directories and the local plugin cache (where `install`
//! puts downloads). Resolution picks the highest version matching a range,
//! checks it against the lockfile, verifies it, and does the same for its
//! dependencies, refusing missing, incompatible and cyclic ones with the
//! chain that led there. The result lists dependencies before dependents,
//! the order setup runs in.

use super::lockfile::{LockPolicy, Lockfile};
use super::manifest::Manifest;
use super::trust::TrustStore;
use super::verify::{VerifiedPlugin, VerifyOptions, verify};
use std::path::{Path, PathBuf};

/// A manifest found on disk (not yet verified).
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Where it is.
    pub path: PathBuf,
    /// What it says.
    pub manifest: Manifest,
    /// Its parsed version.
    pub version: semver::Version,
}

/// Every plugin manifest StormDB can see.
#[derive(Debug, Default)]
pub struct Catalog {
    /// The manifests.
    pub candidates: Vec<Candidate>,
    /// Manifests that could not be read, with why.
    pub broken: Vec<(PathBuf, String)>,
}

fn is_manifest(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".manifest.yaml"))
}

impl Catalog {
    /// Manifests from `files`, from `dirs` (searched two levels deep) and
    /// from the plugin cache `cache` (`NAME/VERSION/*.manifest.yaml`).
    pub fn discover(files: &[PathBuf], dirs: &[PathBuf], cache: Option<&Path>) -> Catalog {
        let mut paths: Vec<PathBuf> = files.to_vec();
        let mut scan = |dir: &Path, depth: u32| {
            let mut stack = vec![(dir.to_path_buf(), 0)];
            while let Some((d, level)) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&d) else {
                    continue;
                };
                for e in entries.filter_map(|e| e.ok()) {
                    let p = e.path();
                    if p.is_dir() && level < depth {
                        stack.push((p, level + 1));
                    } else if is_manifest(&p) {
                        paths.push(p);
                    }
                }
            }
        };
        for d in dirs {
            scan(d, 1);
        }
        if let Some(c) = cache {
            scan(c, 2);
        }
        paths.sort();
        paths.dedup();
        let mut catalog = Catalog::default();
        for path in paths {
            match Manifest::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|m| {
                    let v = m.semver()?;
                    Ok((m, v))
                }) {
                Ok((manifest, version)) => catalog.candidates.push(Candidate {
                    path,
                    manifest,
                    version,
                }),
                Err(e) => catalog.broken.push((path, e)),
            }
        }
        catalog
    }

    /// The highest version of `name` matching `req`.
    pub fn best(&self, name: &str, req: &semver::VersionReq) -> Option<&Candidate> {
        self.candidates
            .iter()
            .filter(|c| c.manifest.name == name && req.matches(&c.version))
            .max_by(|a, b| a.version.cmp(&b.version))
    }

    /// Every version of `name` present, for messages.
    fn versions(&self, name: &str) -> Vec<String> {
        let mut v: Vec<_> = self
            .candidates
            .iter()
            .filter(|c| c.manifest.name == name)
            .map(|c| c.version.to_string())
            .collect();
        v.sort();
        v
    }
}

/// Parses `NAME` or `NAME@RANGE`.
pub fn parse_spec(spec: &str) -> Result<(String, semver::VersionReq), String> {
    match spec.split_once('@') {
        Some((name, range)) => {
            let req = semver::VersionReq::parse(range)
                .map_err(|e| format!("'{range}' in '{spec}' is not a semver range: {e}"))?;
            Ok((name.to_string(), req))
        }
        None => Ok((spec.to_string(), semver::VersionReq::STAR)),
    }
}

/// Everything resolution needs.
pub struct Resolver<'a> {
    /// What is available.
    pub catalog: &'a Catalog,
    /// Who is trusted.
    pub trust: &'a TrustStore,
    /// The lockfile.
    pub lock: &'a Lockfile,
    /// How strictly to follow it.
    pub policy: LockPolicy,
    /// Verification options.
    pub verify: VerifyOptions,
}

impl Resolver<'_> {
    /// Resolves `name` matching `req` and everything it depends on, verified;
    /// dependencies come first.
    pub fn resolve(
        &self,
        name: &str,
        req: &semver::VersionReq,
    ) -> Result<Vec<VerifiedPlugin>, String> {
        let mut order = Vec::new();
        let mut chain = Vec::new();
        self.visit(name, req, &mut chain, &mut order)?;
        Ok(order)
    }

    /// Verifies the manifest at `path` as the root, then resolves its
    /// dependencies; dependencies come first.
    pub fn resolve_path(&self, path: &Path) -> Result<Vec<VerifiedPlugin>, String> {
        let root = verify(path, self.trust, self.verify).map_err(|e| e.to_string())?;
        let version = root.manifest.semver()?;
        self.lock.check(
            &root.manifest.name,
            &version,
            &root.manifest.component.sha256,
            self.policy,
        )?;
        let mut order = Vec::new();
        let mut chain = vec![format!("{}@{version}", root.manifest.name)];
        for dep in &root.manifest.dependencies.plugins {
            let req = semver::VersionReq::parse(&dep.version).map_err(|e| e.to_string())?;
            self.visit(&dep.name, &req, &mut chain, &mut order)?;
        }
        order.push(root);
        Ok(order)
    }

    fn visit(
        &self,
        name: &str,
        req: &semver::VersionReq,
        chain: &mut Vec<String>,
        order: &mut Vec<VerifiedPlugin>,
    ) -> Result<(), String> {
        let path_text = |chain: &[String], last: String| {
            let mut all = chain.to_vec();
            all.push(last);
            all.join(" -> ")
        };
        if let Some(done) = order.iter().find(|p| p.manifest.name == name) {
            let v = done.manifest.semver()?;
            if !req.matches(&v) {
                return Err(format!(
                    "incompatible dependency: {} needs {name} {req}, but {name} {v} is already required elsewhere",
                    path_text(chain, format!("{name}@{req}"))
                ));
            }
            return Ok(());
        }
        if chain.iter().any(|c| c.split('@').next() == Some(name)) {
            return Err(format!(
                "dependency cycle: {}",
                path_text(chain, format!("{name}@{req}"))
            ));
        }
        let Some(candidate) = self.catalog.best(name, req) else {
            let have = self.catalog.versions(name);
            let what = if have.is_empty() {
                format!("missing dependency: no plugin '{name}' is installed or configured")
            } else {
                format!(
                    "incompatible dependency: '{name}' {req} is needed but only {} {} available",
                    have.join(", "),
                    if have.len() == 1 { "is" } else { "are" }
                )
            };
            return Err(if chain.is_empty() {
                what
            } else {
                format!("{what} ({})", path_text(chain, format!("{name}@{req}")))
            });
        };
        let verified =
            verify(&candidate.path, self.trust, self.verify).map_err(|e| e.to_string())?;
        self.lock.check(
            name,
            &candidate.version,
            &verified.manifest.component.sha256,
            self.policy,
        )?;
        chain.push(format!("{name}@{}", candidate.version));
        for dep in &verified.manifest.dependencies.plugins {
            let dep_req = semver::VersionReq::parse(&dep.version).map_err(|e| e.to_string())?;
            self.visit(&dep.name, &dep_req, chain, order)?;
        }
        chain.pop();
        order.push(verified);
        Ok(())
    }
}
