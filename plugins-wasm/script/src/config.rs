//! The `scripts` and `vars` parameters: JSON from the host.
//!
//! `scripts` is an array of `{"name": ..., "weight": ..., "text": ...}`;
//! `vars` an object of extra variables (like pgbench's `-D NAME=VALUE`).

use crate::expr::{Val, VarValue};
use crate::parse::{self, Located};
use serde_json::Value as Json;

/// A parsed script.
#[derive(Debug, Clone)]
pub struct Script {
    /// Its name, also the operation name in the report.
    pub name: String,
    /// Relative frequency.
    pub weight: u64,
    /// The compiled commands.
    pub commands: Vec<Located>,
}

fn field<'a>(obj: &'a serde_json::Map<String, Json>, key: &str) -> Option<&'a Json> {
    obj.get(key).filter(|v| !v.is_null())
}

/// Parses the `scripts` parameter and every script in it.
pub fn scripts(raw: &str) -> Result<Vec<Script>, String> {
    let json: Json = serde_json::from_str(raw)
        .map_err(|e| format!("parameter 'scripts' is not valid JSON: {e}"))?;
    let list = json
        .as_array()
        .ok_or("parameter 'scripts' must be a JSON array of {name, weight, text} objects")?;
    if list.is_empty() {
        return Err(
            "no scripts given: pass --param 'scripts=[{\"name\": \"a.sql\", \"weight\": 1, \
             \"text\": \"SELECT 1;\"}]'"
                .into(),
        );
    }
    let mut out: Vec<Script> = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let obj = item.as_object().ok_or(format!(
            "scripts[{i}] must be an object with name, weight and text"
        ))?;
        let name = field(obj, "name")
            .and_then(Json::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or(format!("scripts[{i}] needs a non-empty string 'name'"))?
            .to_string();
        if out.iter().any(|s| s.name == name) {
            return Err(format!(
                "two scripts are named '{name}': names must differ, they name the operations"
            ));
        }
        let weight = match field(obj, "weight") {
            None => 1,
            // pgbench's bound: weights fit a 32-bit signed integer.
            Some(w) => w.as_u64().filter(|w| *w <= i32::MAX as u64).ok_or(format!(
                "script '{name}': weight must be an integer from 0 to {}, got {w}",
                i32::MAX
            ))?,
        };
        let text = field(obj, "text")
            .and_then(Json::as_str)
            .ok_or(format!("script '{name}' needs a string 'text'"))?;
        let commands = parse::parse(text)
            .map_err(|(line, msg)| format!("script '{name}', line {line}: {msg}"))?;
        if commands.is_empty() {
            return Err(format!("script '{name}' has no commands"));
        }
        out.push(Script {
            name,
            weight,
            commands,
        });
    }
    if out.iter().all(|s| s.weight == 0) {
        return Err("every script has weight 0: at least one must be positive".into());
    }
    Ok(out)
}

/// Parses the `vars` parameter: a JSON object whose values are numbers,
/// strings, booleans or null.
pub fn vars(raw: &str) -> Result<Vec<(String, VarValue)>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    let json: Json = serde_json::from_str(raw)
        .map_err(|e| format!("parameter 'vars' is not valid JSON: {e}"))?;
    let obj = json
        .as_object()
        .ok_or("parameter 'vars' must be a JSON object, e.g. {\"accounts\": 100000}")?;
    obj.iter()
        .map(|(k, v)| {
            if k.is_empty() || !k.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(format!("vars: invalid variable name '{k}'"));
            }
            let value = match v {
                Json::Null => VarValue::Val(Val::Null),
                Json::Bool(b) => VarValue::Val(Val::Bool(*b)),
                Json::Number(n) => match n.as_i64() {
                    Some(i) => VarValue::Val(Val::Int(i)),
                    None => VarValue::Val(Val::Double(n.as_f64().unwrap_or(f64::NAN))),
                },
                Json::String(s) => VarValue::Text(s.clone()),
                other => {
                    return Err(format!(
                        "vars: '{k}' must be a number, string, boolean or null, not {other}"
                    ));
                }
            };
            Ok((k.clone(), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_parse_with_defaults() {
        let s = scripts(
            r#"[{"name": "a.sql", "weight": 3, "text": "SELECT 1;"},
                {"name": "b.sql", "text": "\\set x 1\nSELECT :x;"}]"#,
        )
        .unwrap_or_default();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].weight, s[1].weight), (3, 1));
        assert_eq!(s[1].commands.len(), 2);
    }

    #[test]
    fn bad_scripts_are_named() {
        let err = |raw: &str| scripts(raw).err().unwrap_or_default();
        assert!(err("[]").contains("no scripts"));
        assert!(err("{").contains("not valid JSON"));
        assert!(
            err(r#"[{"name": "a", "text": "SELECT 1;\n\\set x ("}]"#)
                .contains("script 'a', line 2")
        );
        assert!(
            err(r#"[{"name": "a", "text": "SELECT 1;"}, {"name": "a", "text": "SELECT 2;"}]"#)
                .contains("two scripts")
        );
        assert!(err(r#"[{"name": "a", "weight": -1, "text": "SELECT 1;"}]"#).contains("weight"));
        assert!(err(r#"[{"name": "a", "weight": 0, "text": "SELECT 1;"}]"#).contains("weight 0"));
        assert!(err(r#"[{"weight": 1, "text": "SELECT 1;"}]"#).contains("name"));
        assert!(err(r#"[{"name": "a", "text": "-- nothing"}]"#).contains("no commands"));
    }

    #[test]
    fn vars_parse() {
        let v = vars(r#"{"n": 5, "d": 0.5, "s": "x", "b": true, "z": null}"#).unwrap_or_default();
        assert_eq!(v.len(), 5);
        assert!(v.contains(&("n".into(), VarValue::Val(Val::Int(5)))));
        assert!(v.contains(&("s".into(), VarValue::Text("x".into()))));
        assert!(vars("[1]").is_err());
        assert!(vars(r#"{"a b": 1}"#).is_err());
        assert_eq!(vars("").map(|v| v.len()), Ok(0));
    }
}
