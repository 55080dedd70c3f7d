//! `stormdb-guest-c`: the two steps of a C workload build that otherwise need
//! `wit-bindgen-cli` and `wasm-tools` (a long `cargo install` each), done
//! with the same libraries:
//!
//! - `bindings WIT WORLD OUT_DIR` writes `<world>.c`, `<world>.h` and
//!   `<world>_component_type.o` exactly as `wit-bindgen c WIT --world WORLD
//!   --out-dir OUT_DIR` 0.61.1 does (same generator, same default options;
//!   the `.o` is a relocatable wasm object whose `component-type:<world>`
//!   custom section carries the world, so linking it into the core module
//!   embeds the type information).
//! - `componentize CORE.wasm OUT.wasm` turns a core module into a component
//!   as `wasm-tools component new CORE.wasm --adapt
//!   wasi_snapshot_preview1=<reactor adapter> -o OUT.wasm` does, with the
//!   WASI preview1 reactor adapter of the wasmtime release the host is built
//!   with (48.0.8) compiled in.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::{PackageId, Resolve, WorldId};

const USAGE: &str = "\
usage:
  stormdb-guest-c bindings WIT WORLD OUT_DIR
      C bindings for WORLD of the WIT package WIT (a directory or a file),
      as `wit-bindgen c WIT --world WORLD --out-dir OUT_DIR` 0.61.1 writes them:
      OUT_DIR/<world>.c, <world>.h and <world>_component_type.o
  stormdb-guest-c componentize CORE.wasm OUT.wasm [options]
      a component from a core module, as `wasm-tools component new CORE.wasm
      --adapt wasi_snapshot_preview1=<reactor adapter> -o OUT.wasm` makes it
    --adapter FILE    use this WASI preview1 adapter instead of the built-in
                      reactor adapter of wasmtime 48.0.8
    --no-adapter      no adapter (the module must not import wasi_snapshot_preview1)
    --wit WIT --world WORLD
                      first embed WORLD's type information in the module (as
                      `wasm-tools component embed`); not needed when the module
                      links <world>_component_type.o
  stormdb-guest-c --version | --help";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("stormdb-guest-c: {msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Other(err)) => {
            eprintln!("stormdb-guest-c: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    Usage(String),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Failure::Other(err)
    }
}

fn usage<T>(msg: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::Usage(msg.into()))
}

fn run(args: &[String]) -> Result<(), Failure> {
    let Some((command, rest)) = args.split_first() else {
        return usage("missing command");
    };
    match command.as_str() {
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        "-V" | "--version" => {
            println!(
                "stormdb-guest-c {} (wit-bindgen-c 0.61.1, wit-component 0.258, WASI adapter of wasmtime 48.0.8)",
                env!("CARGO_PKG_VERSION")
            );
            Ok(())
        }
        "bindings" => match rest {
            [wit, world, out_dir] => Ok(bindings(Path::new(wit), world, Path::new(out_dir))?),
            _ => usage("bindings takes three arguments: WIT WORLD OUT_DIR"),
        },
        "componentize" => {
            let opts = ComponentizeOpts::parse(rest)?;
            Ok(componentize(&opts)?)
        }
        other => usage(format!("unknown command '{other}'")),
    }
}

/// Loads the WIT package at `wit` (and its `deps/`) and picks `world` in it.
fn load_world(wit: &Path, world: &str) -> Result<(Resolve, WorldId)> {
    let mut resolve = Resolve::default();
    let (package, _sources): (PackageId, _) = resolve
        .push_path(wit)
        .with_context(|| format!("cannot load the WIT package at {}", wit.display()))?;
    let world = resolve
        .select_world(&[package], Some(world))
        .with_context(|| format!("no world '{world}' in {}", wit.display()))?;
    Ok((resolve, world))
}

fn bindings(wit: &Path, world_name: &str, out_dir: &Path) -> Result<()> {
    let (mut resolve, world) = load_world(wit, world_name)?;
    // Opts::default() is what the command line of wit-bindgen-cli defaults to
    // (UTF-8 strings, helpers, signature flattening, the object file).
    let mut generator = wit_bindgen_c::Opts::default().build();
    let mut files = wit_bindgen_core::Files::default();
    generator
        .generate(&mut resolve, world, &mut files)
        .context("generating the C bindings")?;
    let mut written = Vec::new();
    for (name, contents) in files.iter() {
        write_atomically(&out_dir.join(name), contents)?;
        written.push(name.to_string());
    }
    eprintln!(
        "stormdb-guest-c: wrote {} in {}",
        written.join(", "),
        out_dir.display()
    );
    Ok(())
}

struct ComponentizeOpts {
    core: PathBuf,
    out: PathBuf,
    adapter: Adapter,
    embed: Option<(PathBuf, String)>,
}

enum Adapter {
    BuiltIn,
    File(PathBuf),
    None,
}

impl ComponentizeOpts {
    fn parse(args: &[String]) -> Result<Self, Failure> {
        let mut positional = Vec::new();
        let mut adapter = Adapter::BuiltIn;
        let mut wit = None;
        let mut world = None;
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let mut value = |flag: &str| match iter.next() {
                Some(v) => Ok(v.clone()),
                None => usage(format!("{flag} needs a value")),
            };
            match arg.as_str() {
                "--adapter" => adapter = Adapter::File(PathBuf::from(value("--adapter")?)),
                "--no-adapter" => adapter = Adapter::None,
                "--wit" => wit = Some(PathBuf::from(value("--wit")?)),
                "--world" => world = Some(value("--world")?),
                flag if flag.starts_with("--") => return usage(format!("unknown option '{flag}'")),
                _ => positional.push(PathBuf::from(arg)),
            }
        }
        let embed = match (wit, world) {
            (Some(wit), Some(world)) => Some((wit, world)),
            (None, None) => None,
            _ => return usage("--wit and --world go together"),
        };
        let [core, out] = <[PathBuf; 2]>::try_from(positional)
            .or_else(|_| usage("componentize takes two arguments: CORE.wasm OUT.wasm"))?;
        Ok(ComponentizeOpts {
            core,
            out,
            adapter,
            embed,
        })
    }
}

fn componentize(opts: &ComponentizeOpts) -> Result<()> {
    let mut module = std::fs::read(&opts.core)
        .with_context(|| format!("cannot read {}", opts.core.display()))?;
    if !module.starts_with(b"\0asm\x01\0\0\0") {
        bail!("{} is not a core WebAssembly module", opts.core.display());
    }
    if let Some((wit, world_name)) = &opts.embed {
        let (resolve, world) = load_world(wit, world_name)?;
        wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)
            .context("embedding the component type")?;
    } else if !has_component_type(&module) {
        bail!(
            "{} carries no component type: link <world>_component_type.o from \
             `stormdb-guest-c bindings` into it, or pass --wit and --world",
            opts.core.display()
        );
    }

    // The settings `wasm-tools component new` 1.263 uses by default.
    let mut encoder = ComponentEncoder::default();
    encoder
        .validate(true)
        .reject_legacy_names(false)
        .debug_names(true)
        .shim_return_call_ref(false)
        .merge_imports_based_on_semver(true)
        .realloc_via_memory_grow(false);
    let adapter_name =
        wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME;
    let adapter_bytes = match &opts.adapter {
        Adapter::BuiltIn => Some(
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER
                .to_vec(),
        ),
        Adapter::File(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("cannot read the adapter {}", path.display()))?,
        ),
        Adapter::None => None,
    };
    if let Some(bytes) = &adapter_bytes {
        encoder
            .adapter(adapter_name, bytes)
            .context("loading the WASI preview1 adapter")?;
    }
    encoder
        .module(&module)
        .with_context(|| format!("cannot read the core module {}", opts.core.display()))?;
    let component = encoder
        .encode()
        .with_context(|| format!("cannot make a component from {}", opts.core.display()))?;
    write_atomically(&opts.out, &component)?;
    Ok(())
}

/// Whether a core module has a `component-type*` custom section (what
/// `<world>_component_type.o` or `wasm-tools component embed` puts there).
/// Without one the encoder would make a component exporting nothing.
fn has_component_type(module: &[u8]) -> bool {
    fn leb_u32(bytes: &[u8], pos: &mut usize) -> Option<usize> {
        let mut value: u64 = 0;
        for shift in (0..35).step_by(7) {
            let byte = *bytes.get(*pos)?;
            *pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return usize::try_from(value).ok();
            }
        }
        None
    }
    let mut pos = 8; // magic and version
    while pos < module.len() {
        let id = module[pos];
        pos += 1;
        let Some(size) = leb_u32(module, &mut pos) else {
            return false;
        };
        let Some(end) = pos.checked_add(size).filter(|&end| end <= module.len()) else {
            return false;
        };
        if id == 0 {
            let mut name_pos = pos;
            if let Some(len) = leb_u32(module, &mut name_pos)
                && let Some(name) = module.get(name_pos..name_pos.saturating_add(len))
                && name.starts_with(b"component-type")
            {
                return true;
            }
        }
        pos = end;
    }
    false
}

/// Writes `contents` to `path` through a temporary file in the same
/// directory, so a failed run never leaves a truncated output for make.
fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, contents).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
