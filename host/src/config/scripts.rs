//! `--script FILE[@WEIGHT]` flags turned into the `script` workload's
//! `scripts` parameter.

use super::ConfigError;
use std::path::Path;

/// Largest script file read.
const MAX_SCRIPT_BYTES: u64 = 1 << 20;

/// The `scripts` parameter of the `script` workload: a JSON array of
/// `{name, weight, text}` from `--script FILE[@WEIGHT]` flags. The text is
/// data for the plugin; the host never interprets it.
pub(super) fn scripts_param(specs: &[String]) -> Result<String, ConfigError> {
    let mut scripts = Vec::new();
    for spec in specs {
        let (file, weight) = match spec.rsplit_once('@') {
            Some((f, w)) if !w.contains('/') => {
                let w: u32 = w.parse().map_err(|_| {
                    ConfigError::Invalid(format!(
                        "--script {spec}: weight '{w}' is not a whole number"
                    ))
                })?;
                (f, w)
            }
            _ => (spec.as_str(), 1),
        };
        let path = Path::new(file);
        let bytes = crate::plugin::read_limited(path, MAX_SCRIPT_BYTES)
            .map_err(|e| ConfigError::Invalid(format!("--script {file}: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| ConfigError::Invalid(format!("--script {file}: not UTF-8 text")))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.to_string());
        if scripts
            .iter()
            .any(|s: &serde_json::Value| s["name"] == name.as_str())
        {
            return Err(ConfigError::Invalid(format!(
                "--script {file}: two scripts named '{name}'; script names become operation names"
            )));
        }
        scripts.push(serde_json::json!({ "name": name, "weight": weight, "text": text }));
    }
    Ok(serde_json::Value::Array(scripts).to_string())
}
