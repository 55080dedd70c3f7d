//! `stormdb plugin new`: a ready plugin project in Rust, Python,
//! JavaScript or C, from templates embedded in the binary (see
//! `host/templates/`). Each project carries its own copy of the WIT
//! contract and the language's SDK, so it builds outside this repository.

use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/project_files.rs"));

/// The languages there are templates for.
pub const LANGUAGES: &[&str] = &["rust", "python", "js", "c"];

/// Longest plugin name: `<name>_items` must stay within PostgreSQL's 63
/// characters for identifiers.
const MAX_NAME: usize = 50;

/// Why a project could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// Not a name a package, a table and a C identifier can all carry.
    #[error(
        "plugin name '{0}': use lowercase letters, digits and single '-' between them, starting with a letter (at most {MAX_NAME} characters)"
    )]
    BadName(String),
    /// A name Cargo refuses.
    #[error("plugin name '{0}' cannot be a Rust package name; choose another")]
    ReservedName(String),
    /// No template.
    #[error("unknown language '{0}': choose one of rust, python, js, c")]
    UnknownLanguage(String),
    /// The directory is there already.
    #[error("{0} already exists; choose another name or --dir")]
    Exists(PathBuf),
    /// Writing failed.
    #[error("writing {path}: {cause}")]
    Io {
        /// What was being written.
        path: PathBuf,
        /// Why it failed.
        cause: std::io::Error,
    },
    /// The embedded SDK no longer has what the template expects (a bug in
    /// this build, caught by its tests).
    #[error("the embedded Rust SDK does not point at its WIT as expected")]
    SdkLayout,
}

/// Checks a plugin name.
pub fn check_name(name: &str, lang: &str) -> Result<(), ScaffoldError> {
    let ok = name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(ScaffoldError::BadName(name.to_string()));
    }
    let reserved = [
        "test",
        "core",
        "std",
        "alloc",
        "proc-macro",
        "self",
        "super",
        "crate",
    ];
    if lang == "rust" && reserved.contains(&name) {
        return Err(ScaffoldError::ReservedName(name.to_string()));
    }
    Ok(())
}

fn files(group: &str) -> impl Iterator<Item = (&'static str, &'static [u8])> + '_ {
    PROJECT_FILES
        .iter()
        .filter(move |(g, _, _)| *g == group)
        .map(|(_, rel, bytes)| (*rel, *bytes))
}

/// One file of the new project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFile {
    /// Path inside the project, with '/'.
    pub path: String,
    /// Contents.
    pub bytes: Vec<u8>,
    /// Mark it executable.
    pub executable: bool,
}

/// The files of a new `lang` project named `name` (checked first).
pub fn project(name: &str, lang: &str) -> Result<Vec<ProjectFile>, ScaffoldError> {
    if !LANGUAGES.contains(&lang) {
        return Err(ScaffoldError::UnknownLanguage(lang.to_string()));
    }
    check_name(name, lang)?;
    let snake = name.replace('-', "_");
    let mut out = Vec::new();
    let mut add = |path: String, bytes: Vec<u8>| {
        let executable = path.ends_with(".sh");
        out.push(ProjectFile {
            path,
            bytes,
            executable,
        });
    };
    // Only the template files are filled in: the SDKs are copied as they
    // are (C's braces would look like placeholders).
    for (rel, bytes) in files(&format!("template/{lang}")) {
        let path = rel.strip_suffix(".tmpl").unwrap_or(rel).to_string();
        let text = String::from_utf8_lossy(bytes)
            .replace("{{name}}", name)
            .replace("{{name_snake}}", &snake);
        add(path, text.into_bytes());
    }
    for (rel, bytes) in files("wit") {
        add(format!("wit/{rel}"), bytes.to_vec());
    }
    match lang {
        "rust" => {
            for (rel, bytes) in files("sdk/rust") {
                let mut bytes = bytes.to_vec();
                if rel == "lib.rs" {
                    // The SDK's bindings are generated from the project's
                    // own wit/ rather than the repository's.
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    if text.matches("path: \"../../wit\",").count() != 1 {
                        return Err(ScaffoldError::SdkLayout);
                    }
                    bytes = text
                        .replace("path: \"../../wit\",", "path: \"../wit\",")
                        .into_bytes();
                }
                add(format!("stormdb-sdk/src/{rel}"), bytes);
            }
            for (_, bytes) in files("rust-sdk-manifest") {
                add("stormdb-sdk/Cargo.toml".into(), bytes.to_vec());
            }
        }
        "python" => {
            for (rel, bytes) in files("sdk/python") {
                add(format!("stormdb/{rel}"), bytes.to_vec());
            }
        }
        "js" => {
            for (rel, bytes) in files("sdk/js") {
                add(format!("stormdb/{rel}"), bytes.to_vec());
            }
        }
        _ => {
            for (rel, bytes) in files("sdk/c") {
                add(format!("stormdb/{rel}"), bytes.to_vec());
            }
            for (_, bytes) in files("guest-c") {
                add("tools/stormdb-guest-c/src/main.rs".into(), bytes.to_vec());
            }
        }
    }
    Ok(out)
}

/// Writes a new project into `dest`, which must not exist yet.
pub fn create(name: &str, lang: &str, dest: &Path) -> Result<Vec<ProjectFile>, ScaffoldError> {
    let files = project(name, lang)?;
    if dest.exists() {
        return Err(ScaffoldError::Exists(dest.to_path_buf()));
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| ScaffoldError::Io { path, cause }
    };
    for f in &files {
        let path = dest.join(&f.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        std::fs::write(&path, &f.bytes).map_err(io(&path))?;
        if f.executable {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(io(&path))?;
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["kv", "my-bench", "a1-b2", &"x".repeat(50)] {
            assert!(check_name(good, "rust").is_ok(), "{good}");
        }
        for bad in [
            "",
            "My",
            "1kv",
            "kv-",
            "k--v",
            "k_v",
            "k v",
            "kv;drop",
            &"x".repeat(51),
        ] {
            assert!(check_name(bad, "js").is_err(), "{bad}");
        }
        assert!(matches!(
            check_name("core", "rust"),
            Err(ScaffoldError::ReservedName(_))
        ));
        assert!(check_name("core", "python").is_ok());
    }

    #[test]
    fn every_language_gets_its_template_sdk_and_wit() {
        for lang in LANGUAGES {
            let files = project("my-bench", lang).unwrap();
            let has = |p: &str| files.iter().any(|f| f.path == p);
            assert!(has("wit/workload.wit"), "{lang}");
            assert!(has("wit/sql.wit") && has("wit/types.wit"), "{lang}");
            for f in &files {
                assert!(!f.path.ends_with(".tmpl"), "{lang}: {}", f.path);
                assert!(!f.path.contains("__pycache__"), "{lang}: {}", f.path);
                if !f.path.starts_with("stormdb") && !f.path.starts_with("tools/") {
                    let text = String::from_utf8_lossy(&f.bytes);
                    assert!(
                        !text.contains("{{name"),
                        "{lang}: {} keeps a placeholder",
                        f.path
                    );
                }
            }
            let (sdk, build) = match *lang {
                "rust" => ("stormdb-sdk/src/lib.rs", "build.sh"),
                "python" => ("stormdb/workload.py", "build.sh"),
                "js" => ("stormdb/stormdb.js", "build.sh"),
                _ => ("stormdb/stormdb.h", "Makefile"),
            };
            assert!(has(sdk), "{lang}: no {sdk}");
            assert!(has(build), "{lang}: no {build}");
        }
        let rust = project("my-bench", "rust").unwrap();
        let lib = rust
            .iter()
            .find(|f| f.path == "stormdb-sdk/src/lib.rs")
            .unwrap();
        assert!(String::from_utf8_lossy(&lib.bytes).contains("path: \"../wit\","));
        let manifest = rust.iter().find(|f| f.path == "Cargo.toml").unwrap();
        assert!(String::from_utf8_lossy(&manifest.bytes).contains("name = \"my-bench\""));
        assert!(rust.iter().any(|f| f.path == "build.sh" && f.executable));
    }

    /// The version string of a `[workspace.dependencies]` entry written
    /// on one line, as this workspace writes them.
    fn workspace_dependency_version(manifest: &str, name: &str) -> Option<String> {
        let section = manifest.split("[workspace.dependencies]").nth(1)?;
        let line = section
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} =")))?;
        let start = line.find('"')? + 1;
        let end = start + line[start..].find('"')?;
        Some(line[start..end].to_string())
    }

    /// The Rust project's SDK manifest cannot inherit from this workspace,
    /// so it names versions itself: they must be the workspace's.
    #[test]
    fn the_rust_sdk_manifest_pins_the_workspace_versions() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let workspace = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        let (_, bytes) = files("rust-sdk-manifest").next().unwrap();
        let sdk = String::from_utf8_lossy(bytes);
        for dep in ["wit-bindgen", "rand_xoshiro"] {
            let version = workspace_dependency_version(&workspace, dep).unwrap();
            assert!(
                sdk.contains(&format!("\"{version}\"")),
                "templates/rust-sdk-Cargo.toml does not pin {dep} {version}"
            );
        }
    }
}
