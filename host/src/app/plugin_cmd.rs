//! `stormdb plugin ...`: keys, packaging, signing, verification,
//! registries and health checks.

use super::{describe_limits, load, read_config, resolve_plugins, verify_options};
use crate::bindings::WIT_PACKAGE;
use crate::cli::{PackArgs, PluginCommand, TrustArgs};
use crate::config::{PluginChoice, PluginSettings, TrustFlags};
use crate::plugin::{self as artifacts, Artifact, Origin};
use crate::registry::index::{self, Source};
use crate::registry::lockfile::{LockPolicy, Lockfile};
use crate::registry::resolve::{Catalog, parse_spec};
use crate::registry::{self, Installer, PackInfo, keys, verify};
use crate::runner;
use crate::sandbox::{ArtifactCache, InstanceLimits, Sandbox};
use anyhow::{Context as _, anyhow, bail};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn settings(t: &TrustArgs) -> anyhow::Result<PluginSettings> {
    let (file, dir) = read_config(t.config.as_deref())?;
    Ok(PluginSettings::resolve(
        file.as_ref(),
        &dir,
        &TrustFlags {
            trust: t.trust.clone(),
            locked: t.locked,
            allow_downgrade: t.allow_downgrade,
            tenant: t.tenant.clone(),
            allow_unsigned: t.allow_unsigned,
        },
    ))
}

/// A built-in name, a manifest or component path, or NAME[@RANGE].
fn choice(arg: &str) -> PluginChoice {
    if artifacts::builtin_names().contains(&arg) {
        PluginChoice::Builtin(arg.to_string())
    } else {
        PluginChoice::from_plugin_arg(Path::new(arg))
    }
}

fn sandbox() -> anyhow::Result<Sandbox> {
    Sandbox::new(InstanceLimits::default(), ArtifactCache::open(None))
}

fn describe_origin(a: &Artifact) -> String {
    match &a.origin {
        Origin::Builtin => "built-in, pinned at build time".into(),
        Origin::Signed {
            version, signers, ..
        } => format!("version {version}, signed by {}", signers.join(", ")),
        Origin::UnsignedManifest { version, .. } => format!("version {version}, UNSIGNED"),
        Origin::UnsignedFile(p) => format!("UNSIGNED file {}", p.display()),
    }
}

/// Runs one `stormdb plugin` command; returns the exit code.
pub fn plugin(cmd: &PluginCommand) -> anyhow::Result<i32> {
    match cmd {
        PluginCommand::Keygen { out, comment } => {
            let public = keys::generate(out, comment)?;
            println!(
                "secret key: {} (mode 0600, keep it private)\npublic key: {} (id {})",
                out.display(),
                keys::public_path(out).display(),
                keys::key_id(&public)
            );
            Ok(0)
        }
        PluginCommand::Pack(args) => pack(args),
        PluginCommand::Sign { manifest, key } => {
            let id = registry::sign(manifest, key).map_err(|e| anyhow!(e))?;
            println!("signed {} with key {id}", manifest.display());
            Ok(0)
        }
        PluginCommand::Verify { plugin, trust } => {
            let s = settings(trust)?;
            let resolved = resolve_plugins(&choice(plugin), &s)?;
            for a in &resolved {
                println!(
                    "ok: {} sha256 {} ({})",
                    a.name,
                    a.sha256,
                    describe_origin(a)
                );
            }
            Ok(0)
        }
        PluginCommand::List { trust } => list(trust),
        PluginCommand::Info { plugin, trust } => info(plugin, trust),
        PluginCommand::Install {
            spec,
            registry,
            trust,
        } => install(spec, registry.as_deref(), trust),
        PluginCommand::Publish {
            manifest,
            registry,
            trust,
        } => {
            let s = settings(trust)?;
            let store = s.trust_store()?;
            let v = verify::verify(manifest, &store, verify_options(&s))?;
            let dir = index::publish_to_dir(registry, &v.manifest, manifest, &v.bytes)
                .map_err(|e| anyhow!(e))?;
            println!(
                "published {} {} to {}",
                v.manifest.name,
                v.manifest.version,
                dir.display()
            );
            Ok(0)
        }
        PluginCommand::Health { plugin, trust } => health(plugin, trust),
        PluginCommand::New { name, lang, dir } => new_project(name, lang, dir.as_deref()),
    }
}

fn pack(args: &PackArgs) -> anyhow::Result<i32> {
    let bytes = artifacts::read_limited(&args.component, artifacts::DEFAULT_MAX_ARTIFACT_BYTES)?;
    let file = args
        .component
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .ok_or_else(|| anyhow!("{} has no file name", args.component.display()))?;
    // Compiling and linking checks the component implements stormdb:workload
    // and imports nothing the host refuses, before a manifest vouches for it.
    let sb = sandbox()?;
    sb.load(&args.name, &bytes, &artifacts::sha256_hex(&bytes))
        .with_context(|| format!("checking {}", args.component.display()))?;
    let capabilities = if args.capabilities.is_empty() {
        vec!["read".to_string(), "write".to_string()]
    } else {
        args.capabilities.clone()
    };
    let manifest = registry::pack(
        &bytes,
        &file,
        &PackInfo {
            name: args.name.clone(),
            version: args.version.clone(),
            description: args.description.clone(),
            author: args.author.clone(),
            license: args.license.clone(),
            tags: args.tags.clone(),
            capabilities,
            depends: args.depends.clone(),
            host: args.host.clone(),
        },
        WIT_PACKAGE,
    )
    .map_err(|e| anyhow!(e))?;
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = args
            .component
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| args.name.clone());
        args.component
            .with_file_name(format!("{stem}.manifest.yaml"))
    });
    if out.parent() != args.component.parent()
        && out.parent().is_some_and(|p| !p.as_os_str().is_empty())
    {
        let want = out.parent().map(|p| p.join(&file));
        if want.as_deref().is_some_and(|w| !w.exists()) {
            eprintln!(
                "stormdb: note: the manifest names component file '{file}', which must sit next to it"
            );
        }
    }
    manifest
        .write(&out)
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "wrote {} for {} {} (sha256 {}, {} bytes); sign it with `stormdb plugin sign {} --key KEY`",
        out.display(),
        manifest.name,
        manifest.version,
        manifest.component.sha256,
        manifest.component.size,
        out.display()
    );
    Ok(0)
}

fn list(trust: &TrustArgs) -> anyhow::Result<i32> {
    let s = settings(trust)?;
    for name in artifacts::builtin_names() {
        let a = artifacts::builtin(name)?;
        println!("{name}  builtin  sha256 {}", a.sha256);
    }
    let store = s.trust_store()?;
    let catalog = Catalog::discover(&s.files, &s.paths, s.cache_dir.as_deref());
    for c in &catalog.candidates {
        let status = match verify::verify(&c.path, &store, verify_options(&s)) {
            Ok(v) if v.unsigned => "UNSIGNED".to_string(),
            Ok(v) => format!("signed by {}", v.signers.join(", ")),
            Err(e) => format!("REFUSED: {e}"),
        };
        println!(
            "{} {}  sha256 {}  {}  ({})",
            c.manifest.name,
            c.version,
            c.manifest.component.sha256,
            status,
            c.path.display()
        );
    }
    for (path, why) in &catalog.broken {
        println!("BROKEN {}: {why}", path.display());
    }
    Ok(0)
}

fn describe_it(a: &Artifact) -> anyhow::Result<crate::bindings::Info> {
    let sb = sandbox()?;
    let runtime = load(&sb, a)?;
    runner::describe(&runtime, &tokio_postgres::Config::new(), describe_limits())
        .map_err(|e| anyhow!(e))
}

fn info(plugin: &str, trust: &TrustArgs) -> anyhow::Result<i32> {
    let s = settings(trust)?;
    let resolved = resolve_plugins(&choice(plugin), &s)?;
    let a = resolved.last().ok_or_else(|| anyhow!("nothing resolved"))?;
    if let Origin::Signed { manifest, .. } | Origin::UnsignedManifest { manifest, .. } = &a.origin {
        let m = registry::manifest::Manifest::read(manifest)?;
        println!("manifest: {}", manifest.display());
        println!("name: {} {}", m.name, m.version);
        println!("description: {}", m.description);
        println!(
            "author: {}  license: {}  tags: {}",
            m.author,
            m.license,
            m.tags.join(", ")
        );
        println!("world: {}", m.world);
        println!("capabilities: {}", m.capabilities.join(", "));
        for d in &m.dependencies.plugins {
            println!("depends on: {} {}", d.name, d.version);
        }
        if let Some(h) = &m.dependencies.host {
            println!("host: {h}");
        }
    }
    println!("sha256: {}  ({})", a.sha256, describe_origin(a));
    let info = describe_it(a)?;
    println!(
        "describe: {} {}: {}",
        info.name, info.version, info.description
    );
    for (i, m) in info.modes.iter().enumerate() {
        println!(
            "  mode {}{}: {}",
            m.name,
            if i == 0 { " (default)" } else { "" },
            m.description
        );
    }
    for p in &info.parameters {
        println!("  param {}={}: {}", p.name, p.default_value, p.description);
    }
    Ok(0)
}

fn install(spec: &str, registry: Option<&str>, trust: &TrustArgs) -> anyhow::Result<i32> {
    let s = settings(trust)?;
    let source =
        Source::parse(registry.or(s.registry.as_deref()).ok_or_else(|| {
            anyhow!("no registry: pass --registry URL|DIR or set plugins.registry")
        })?);
    let cache: PathBuf = s
        .cache_dir
        .clone()
        .ok_or_else(|| anyhow!("no plugin cache directory (set STORMDB_PLUGIN_DIR or HOME)"))?;
    let (name, req) = parse_spec(spec).map_err(|e| anyhow!(e))?;
    let store = s.trust_store()?;
    let mut lock = Lockfile::read(&s.lockfile).map_err(|e| anyhow!(e))?;
    let installer = Installer {
        source: &source,
        cache: &cache,
        trust: &store,
        policy: LockPolicy {
            locked: s.locked,
            allow_downgrade: s.allow_downgrade,
        },
        verify: verify_options(&s),
    };
    let installed = installer
        .install(&name, &req, &mut lock)
        .map_err(|e| anyhow!(e))?;
    if installed.is_empty() {
        bail!("nothing installed");
    }
    lock.write(&s.lockfile).map_err(|e| anyhow!(e))?;
    for i in &installed {
        println!(
            "installed {} {} ({}) signed by {}",
            i.name,
            i.version,
            i.manifest_path.display(),
            i.signers.join(", ")
        );
    }
    println!("pinned in {}", s.lockfile.display());
    Ok(0)
}

fn health(plugin: &str, trust: &TrustArgs) -> anyhow::Result<i32> {
    let s = settings(trust)?;
    let started = Instant::now();
    let resolved = resolve_plugins(&choice(plugin), &s)?;
    let verified_in = started.elapsed();
    for a in &resolved {
        let t = Instant::now();
        let info = describe_it(a)?;
        println!(
            "healthy: {} {} (sha256 {}): compiled, instantiated and described in {:.1} ms",
            info.name,
            info.version,
            a.sha256,
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
    println!("verified in {:.1} ms", verified_in.as_secs_f64() * 1000.0);
    Ok(0)
}

/// `stormdb plugin new NAME --lang L [--dir DIR]`.
fn new_project(name: &str, lang: &str, dir: Option<&Path>) -> anyhow::Result<i32> {
    let dest = dir.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
    let files = crate::scaffold::create(name, lang, &dest)?;
    let build = if lang == "c" { "make" } else { "./build.sh" };
    println!(
        "created {} ({lang}, {} files)\n\nnext:\n  cd {}\n  {build}\n  stormdb run --plugin build/{name}.wasm --allow-unsigned --setup -t 10000\n\nsee README.md there for what each file is",
        dest.display(),
        files.len(),
        dest.display()
    );
    Ok(0)
}
