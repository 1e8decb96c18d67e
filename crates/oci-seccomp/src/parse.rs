//! Reading profile files.

use oci_spec::runtime::LinuxSeccomp;
use serde_json::Value;

use crate::error::ParseError;

/// Largest profile text accepted (Docker's default profile is about 20 KiB).
pub const MAX_PROFILE_BYTES: usize = 4 << 20;

/// Keys that exist only in the Docker/moby profile format.
const TOP_DOCKER_KEYS: &[&str] = &["archMap"];
const ENTRY_DOCKER_KEYS: &[&str] = &["name", "includes", "excludes", "comment"];

/// Finds the first Docker/moby-only key in a parsed JSON profile, with its path.
///
/// `comment` alone is harmless but still marks a Docker file; `name`, `includes`,
/// `excludes` and `archMap` change meaning and are dropped by oci-spec.
pub fn find_docker_key(v: &Value) -> Option<(String, String)> {
    let obj = v.as_object()?;
    for k in TOP_DOCKER_KEYS {
        if obj.contains_key(*k) {
            return Some(((*k).to_string(), (*k).to_string()));
        }
    }
    if let Some(Value::Array(entries)) = obj.get("syscalls") {
        for (i, e) in entries.iter().enumerate() {
            if let Some(e) = e.as_object() {
                for k in ENTRY_DOCKER_KEYS {
                    if e.contains_key(*k) && *k != "comment" {
                        return Some((format!("syscalls[{i}].{k}"), (*k).to_string()));
                    }
                }
            }
        }
    }
    None
}

fn json_error(e: &serde_json::Error) -> ParseError {
    ParseError::Json {
        line: e.line(),
        column: e.column(),
        message: json_message(e),
    }
}

/// serde_json's message without its " at line L column C" tail (the error types carry
/// line and column as fields).
pub(crate) fn json_message(e: &serde_json::Error) -> String {
    e.to_string()
        .rsplit_once(" at line ")
        .map_or_else(|| e.to_string(), |(m, _)| m.to_string())
}

/// How a JSON value's type reads in an error message ("a string", "null", ...).
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// serde's derived structs also accept JSON arrays (fields by position); a profile written
/// that way is almost certainly a mistake, so objects are required where the OCI schema
/// has objects.
fn check_shape(v: &Value) -> Result<(), ParseError> {
    let not_object = |path: String, v: &Value| ParseError::Shape {
        path,
        found: kind(v),
    };
    let Some(top) = v.as_object() else {
        return Err(not_object("<top level>".into(), v));
    };
    if let Some(Value::Array(entries)) = top.get("syscalls") {
        for (i, e) in entries.iter().enumerate() {
            let Some(e) = e.as_object() else {
                return Err(not_object(format!("syscalls[{i}]"), e));
            };
            if let Some(Value::Array(args)) = e.get("args") {
                for (j, a) in args.iter().enumerate() {
                    if !a.is_object() {
                        return Err(not_object(format!("syscalls[{i}].args[{j}]"), a));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Parses a JSON OCI `linux.seccomp` object.
///
/// Errors carry the line and column. A Docker/moby profile (with `archMap`, or entries
/// with `name`, `includes` or `excludes`) is refused: oci-spec would silently drop those
/// keys, and an entry meant only for holders of a capability would then apply to everyone.
pub fn parse_profile(json: &str) -> Result<LinuxSeccomp, ParseError> {
    if json.len() > MAX_PROFILE_BYTES {
        return Err(ParseError::TooLarge {
            len: json.len(),
            max: MAX_PROFILE_BYTES,
        });
    }
    let value: Value = serde_json::from_str(json).map_err(|e| json_error(&e))?;
    check_shape(&value)?;
    if let Some((path, key)) = find_docker_key(&value) {
        return Err(ParseError::DockerKey { path, key });
    }
    serde_json::from_str::<LinuxSeccomp>(json).map_err(|e| json_error(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_give_line_and_column() {
        let e = parse_profile("{\n  \"defaultAction\": \"SCMP_ACT_NOPE\"\n}").unwrap_err();
        let ParseError::Json {
            line,
            column,
            message,
        } = e
        else {
            panic!("{e:?}")
        };
        assert_eq!(line, 2);
        assert!(column > 10, "{column}");
        assert!(message.contains("SCMP_ACT_NOPE"), "{message}");
        let e = parse_profile("{\"defaultAction\": ").unwrap_err();
        assert!(matches!(e, ParseError::Json { line: 1, .. }), "{e:?}");
    }

    #[test]
    fn docker_keys_are_refused() {
        let e = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW"},{"names":["ptrace"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_PTRACE"]}}]}"#,
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("syscalls[1].includes"), "{msg}");
        assert!(msg.contains("render"), "{msg}");
        let e = parse_profile(r#"{"defaultAction":"SCMP_ACT_ERRNO","archMap":[]}"#).unwrap_err();
        assert!(e.to_string().starts_with("archMap:"), "{e}");
    }

    #[test]
    fn plain_oci_parses() {
        let p = parse_profile(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ALLOW"}]}"#).unwrap();
        assert_eq!(p.default_errno_ret(), Some(38));
    }
}
