//! Reading profile files.

use oci_spec::runtime::LinuxSeccomp;
use serde_json::Value;

use crate::error::ParseError;

/// Largest profile text accepted (Docker's default profile is about 20 KiB).
pub const MAX_PROFILE_BYTES: usize = 4 << 20;

/// Keys that exist only in the Docker/moby profile format.
const TOP_DOCKER_KEYS: &[&str] = &["archMap", "defaultErrno"];
const ENTRY_DOCKER_KEYS: &[&str] = &["name", "includes", "excludes", "errno"];

/// Keys of the OCI `linux.seccomp` object, of a syscall entry and of an argument: oci-spec
/// reads them case-sensitively, Go's `encoding/json` (runc, moby) case-insensitively.
const TOP_OCI_KEYS: &[&str] = &[
    "defaultAction",
    "defaultErrnoRet",
    "architectures",
    "flags",
    "listenerPath",
    "listenerMetadata",
    "syscalls",
];
const ENTRY_OCI_KEYS: &[&str] = &["names", "action", "errnoRet", "args"];
const ARG_OCI_KEYS: &[&str] = &["index", "value", "valueTwo", "op"];

/// Whether JSON object key `key` names field `name` as Go's `encoding/json` (runc, moby)
/// reads it: equal under Unicode simple case folding. Besides the ASCII letters, two
/// characters fold onto ASCII ones (Unicode `CaseFolding.txt`): U+017F LATIN SMALL LETTER
/// LONG S onto `s` and U+212A KELVIN SIGN onto `k`, so `"ſeccomp"` is `seccomp` to Go.
pub fn go_key_eq(key: &str, name: &str) -> bool {
    fn fold(c: char) -> char {
        match c {
            '\u{017f}' => 's',
            '\u{212a}' => 'k',
            c => c.to_ascii_lowercase(),
        }
    }
    // A character folding onto an ASCII letter takes at most 3 bytes: a longer key is
    // not worth counting.
    key.len() <= 3 * name.len()
        && key.chars().count() == name.chars().count()
        && key
            .chars()
            .zip(name.chars())
            .all(|(a, b)| fold(a) == fold(b))
}

/// The value of the first key of `obj` equal to `key` in any letter case (as Go reads it).
fn get_any_case<'a>(obj: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key)
        .or_else(|| obj.iter().find(|(k, _)| go_key_eq(k, key)).map(|(_, v)| v))
}

/// What Go's `encoding/json` reads of `v` into the runtime spec's `LinuxSeccomp` (runc,
/// crun's Go callers, containerd, anything that takes the file as OCI): the OCI keys of
/// each level, matched as Go matches them (any case) and renamed to their own spelling;
/// every other key (Docker's `archMap`, `includes`, `excludes`, `name`, `comment`, ...)
/// dropped silently, as Go drops it. A value is kept as it is.
pub fn go_oci_reading(v: &Value) -> Value {
    fn keep(obj: &serde_json::Map<String, Value>, keys: &[&str]) -> serde_json::Map<String, Value> {
        let mut out = serde_json::Map::new();
        for name in keys {
            if let Some(v) = get_any_case(obj, name) {
                out.insert((*name).to_string(), v.clone());
            }
        }
        out
    }
    let Some(top) = v.as_object() else {
        return v.clone();
    };
    let mut out = keep(top, TOP_OCI_KEYS);
    if let Some(Value::Array(entries)) = out.get_mut("syscalls") {
        for e in entries.iter_mut() {
            let Some(obj) = e.as_object() else { continue };
            let mut entry = keep(obj, ENTRY_OCI_KEYS);
            if let Some(Value::Array(args)) = entry.get_mut("args") {
                for a in args.iter_mut() {
                    if let Some(obj) = a.as_object() {
                        *a = Value::Object(keep(obj, ARG_OCI_KEYS));
                    }
                }
            }
            *e = Value::Object(entry);
        }
    }
    Value::Object(out)
}

/// Keys no reader of the format knows, with their JSON paths: oci-spec (and moby) ignore
/// them, so a misspelt `args` makes a conditional entry unconditional. `docker` adds the
/// Docker and containers-common keys to the known ones. Matching is Go's.
pub fn unknown_keys(v: &Value, docker: bool) -> Vec<String> {
    const DOCKER_TOP: &[&str] = &["archMap", "defaultErrno"];
    const DOCKER_ENTRY: &[&str] = &["name", "includes", "excludes", "comment", "errno"];
    const FILTER: &[&str] = &["caps", "arches", "minKernel"];
    const ARCH_MAP: &[&str] = &["architecture", "subArchitectures"];
    // JSON Schema's annotation keyword: `oci-seccomp record` writes the provenance there;
    // every reader ignores it.
    const ANNOTATION: &[&str] = &["$comment"];
    fn check(
        obj: &serde_json::Map<String, Value>,
        path: &str,
        known: &[&[&str]],
        out: &mut Vec<String>,
    ) {
        for k in obj.keys() {
            if !known
                .iter()
                .any(|list| list.iter().any(|n| go_key_eq(k, n)))
            {
                out.push(if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                });
            }
        }
    }
    let mut out = Vec::new();
    let Some(obj) = v.as_object() else {
        return out;
    };
    let none: &[&str] = &[];
    // `comment` on an entry: moby's, and read (and ignored) by runc and crun in an OCI
    // profile too; it cannot change what the entry does.
    const COMMENT: &[&str] = &["comment"];
    let (top_extra, entry_extra) = if docker {
        (DOCKER_TOP, DOCKER_ENTRY)
    } else {
        (none, COMMENT)
    };
    check(obj, "", &[TOP_OCI_KEYS, top_extra, ANNOTATION], &mut out);
    if let Some(Value::Array(entries)) = get_any_case(obj, "syscalls") {
        for (i, e) in entries.iter().enumerate() {
            let Some(e) = e.as_object() else { continue };
            let p = format!("syscalls[{i}]");
            check(e, &p, &[ENTRY_OCI_KEYS, entry_extra], &mut out);
            if let Some(Value::Array(args)) = get_any_case(e, "args") {
                for (j, a) in args.iter().enumerate() {
                    if let Some(a) = a.as_object() {
                        check(a, &format!("{p}.args[{j}]"), &[ARG_OCI_KEYS], &mut out);
                    }
                }
            }
            if docker {
                for f in ["includes", "excludes"] {
                    if let Some(Value::Object(o)) = get_any_case(e, f) {
                        check(o, &format!("{p}.{f}"), &[FILTER], &mut out);
                    }
                }
            }
        }
    }
    if docker {
        if let Some(Value::Array(m)) = get_any_case(obj, "archMap") {
            for (i, e) in m.iter().enumerate() {
                if let Some(e) = e.as_object() {
                    check(e, &format!("archMap[{i}]"), &[ARCH_MAP], &mut out);
                }
            }
        }
    }
    out
}

/// Finds the first Docker/moby-only key in a parsed JSON profile, with its path.
///
/// Keys are matched in any letter case, as moby (Go's `encoding/json`) reads them:
/// `"Includes"` is moby's `includes`. `name`, `includes`, `excludes` and `archMap` change
/// meaning and are dropped by oci-spec; containers-common's `defaultErrno` and `errno`
/// mark the file as that format too, so that every command reads it the same way (as a
/// Docker-format file, where the errno names are checked against the numbers). An entry's
/// `comment` is not one of them: runc and crun ignore it in an OCI profile, and it changes
/// nothing, so a profile whose only such key is `comment` is read as OCI everywhere.
pub fn find_docker_key(v: &Value) -> Option<(String, String)> {
    let obj = v.as_object()?;
    for k in obj.keys() {
        if TOP_DOCKER_KEYS.iter().any(|d| go_key_eq(k, d)) {
            return Some((k.clone(), k.clone()));
        }
    }
    if let Some(Value::Array(entries)) = get_any_case(obj, "syscalls") {
        for (i, e) in entries.iter().enumerate() {
            if let Some(e) = e.as_object() {
                for k in e.keys() {
                    if ENTRY_DOCKER_KEYS.iter().any(|d| go_key_eq(k, d)) {
                        return Some((format!("syscalls[{i}].{k}"), k.clone()));
                    }
                }
            }
        }
    }
    None
}

/// Finds the first key spelled like an OCI key in another letter case (`"Syscalls"`):
/// oci-spec would drop it silently, while runc (Go) would read it.
fn find_miscased_key(v: &Value) -> Option<(String, String, &'static str)> {
    fn check(
        obj: &serde_json::Map<String, Value>,
        path: &str,
        known: &[&'static str],
    ) -> Option<(String, String, &'static str)> {
        for k in obj.keys() {
            if let Some(want) = known.iter().find(|n| go_key_eq(k, n) && **n != k.as_str()) {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                return Some((p, k.clone(), want));
            }
        }
        None
    }
    let obj = v.as_object()?;
    if let Some(x) = check(obj, "", TOP_OCI_KEYS) {
        return Some(x);
    }
    if let Some(Value::Array(entries)) = obj.get("syscalls") {
        for (i, e) in entries.iter().enumerate() {
            let Some(e) = e.as_object() else { continue };
            if let Some(x) = check(e, &format!("syscalls[{i}]"), ENTRY_OCI_KEYS) {
                return Some(x);
            }
            if let Some(Value::Array(args)) = e.get("args") {
                for (j, a) in args.iter().enumerate() {
                    let Some(a) = a.as_object() else { continue };
                    if let Some(x) = check(a, &format!("syscalls[{i}].args[{j}]"), ARG_OCI_KEYS) {
                        return Some(x);
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
/// with `name`, `includes` or `excludes`, in any letter case) is refused: oci-spec would silently drop those
/// keys, and an entry meant only for holders of a capability would then apply to everyone.
///
/// # Errors
///
/// [`ParseError`]: too large, a syntax or type error (with line and column), a Docker
/// key ([`ParseError::DockerKey`]) or a mis-cased OCI key ([`ParseError::KeyCase`]),
/// naming its path.
pub fn parse_profile(json: &str) -> Result<LinuxSeccomp, ParseError> {
    if json.len() > MAX_PROFILE_BYTES {
        return Err(ParseError::TooLarge {
            len: json.len(),
            max: MAX_PROFILE_BYTES,
        });
    }
    let value: Value = serde_json::from_str(json).map_err(|e| json_error(&e))?;
    parse_parsed(json, &value)
}

/// [`parse_profile`] of `json` whose JSON value `value` was parsed already.
pub(crate) fn parse_parsed(json: &str, value: &Value) -> Result<LinuxSeccomp, ParseError> {
    check_shape(value)?;
    if let Some((path, key)) = find_docker_key(value) {
        return Err(ParseError::DockerKey { path, key });
    }
    if let Some((path, key, expected)) = find_miscased_key(value) {
        return Err(ParseError::KeyCase {
            path,
            key,
            expected,
        });
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
    fn docker_keys_are_refused_in_any_case() {
        let e = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["unshare"],"action":"SCMP_ACT_ALLOW","Includes":{"caps":["CAP_SYS_ADMIN"]}}]}"#,
        )
        .unwrap_err();
        assert!(
            matches!(&e, ParseError::DockerKey { path, key } if path == "syscalls[0].Includes" && key == "Includes"),
            "{e:?}"
        );
        for top in ["ARCHMAP", "ArchMap"] {
            let e = parse_profile(&format!(
                r#"{{"defaultAction":"SCMP_ACT_ERRNO","{top}":[]}}"#
            ))
            .unwrap_err();
            assert!(matches!(e, ParseError::DockerKey { .. }), "{e:?}");
        }
        // The syscalls array itself found in any case, as Go does.
        let e = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","SYSCALLS":[{"names":["a"],"action":"SCMP_ACT_ALLOW","EXCLUDES":{}}]}"#,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("SYSCALLS[0].EXCLUDES")
                || e.to_string().contains("syscalls[0].EXCLUDES"),
            "{e}"
        );
    }

    #[test]
    fn miscased_oci_keys_are_refused() {
        let e = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","Syscalls":[{"names":["unshare"],"action":"SCMP_ACT_ERRNO"}]}"#,
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("Syscalls:") && msg.contains("\"syscalls\""),
            "{msg}"
        );
        let e = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["unshare"],"action":"SCMP_ACT_ERRNO","args":[{"Index":0,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("syscalls[0].args[0].Index:"),
            "{e}"
        );
    }

    #[test]
    fn keys_that_go_folds_onto_oci_or_docker_keys_are_refused() {
        // U+017F (long s) folds onto `s` and U+212A (Kelvin sign) onto `k` in Go.
        assert!(go_key_eq("\u{17f}yscalls", "syscalls"));
        assert!(go_key_eq("\u{212a}EY", "key"));
        assert!(!go_key_eq("sy\u{17f}", "syscalls"));
        let e = parse_profile(
            "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"unshare\"],\"action\":\"SCMP_ACT_LOG\",\"arg\u{17f}\":[{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]}]}",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("syscalls[0].arg\u{17f}:"), "{e}");
        let e = parse_profile(
            "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"unshare\"],\"action\":\"SCMP_ACT_ALLOW\",\"include\u{17f}\":{\"caps\":[\"CAP_SYS_ADMIN\"]}}]}",
        )
        .unwrap_err();
        assert!(matches!(e, ParseError::DockerKey { .. }), "{e}");
    }

    #[test]
    fn plain_oci_parses() {
        let p = parse_profile(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ALLOW"}]}"#).unwrap();
        assert_eq!(p.default_errno_ret(), Some(38));
    }
}
