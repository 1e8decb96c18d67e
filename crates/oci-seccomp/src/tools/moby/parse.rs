//! Reading Docker's and Podman's profile format: every field checked, with its JSON path.

use super::{parse_kernel, ArchMapEntry, MobyError, MobyFilter, MobyProfile, MobySyscall};
use crate::profile::parse::{json_message, kind, MAX_PROFILE_BYTES};
use oci_spec::runtime::{Arch, LinuxSeccompAction};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::path::PathBuf;
pub(super) fn short_json(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        let mut end = 77;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    } else {
        s
    }
}

/// Looks up the keys of an object the way Go's `encoding/json` does: case-insensitively.
/// Unknown keys are ignored (as moby does) with a warning; two spellings of one key are
/// refused.
pub(super) fn fields<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    known: &[&'static str],
) -> Result<Vec<(&'static str, &'a Value)>, MobyError> {
    let mut out: Vec<(&'static str, &'a Value)> = Vec::new();
    for (k, v) in obj {
        match known
            .iter()
            .find(|n| crate::profile::parse::go_key_eq(k, n))
        {
            Some(name) => {
                if out.iter().any(|(n, _)| n == name) {
                    return Err(MobyError::invalid(
                        join(path, k),
                        v,
                        format!("{name:?} is given twice (keys are case-insensitive, as in moby)"),
                    ));
                }
                out.push((name, v));
            }
            // JSON Schema's annotation keyword (`record`'s provenance): ignored silently.
            None if k == "$comment" => {}
            None => tracing::warn!(
                path = %join(path, k),
                "unknown key in a Docker seccomp profile, ignored (as moby does)"
            ),
        }
    }
    Ok(out)
}

pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(super) fn typed<T: DeserializeOwned>(
    v: &Value,
    path: &str,
    what: &str,
) -> Result<T, MobyError> {
    serde_json::from_value(v.clone()).map_err(|e| {
        let msg = e.to_string();
        MobyError::invalid(path, v, format!("expected {what}: {msg}"))
    })
}

pub(super) fn string(v: &Value, path: &str) -> Result<String, MobyError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(MobyError::invalid(
            path,
            other,
            format!("expected a string, found {}", kind(other)),
        )),
    }
}

/// An optional array (`null` reads as empty, as in Go).
pub(super) fn array<'a>(v: &'a Value, path: &str) -> Result<&'a [Value], MobyError> {
    match v {
        Value::Null => Ok(&[]),
        Value::Array(a) => Ok(a),
        other => Err(MobyError::invalid(
            path,
            other,
            format!("expected an array, found {}", kind(other)),
        )),
    }
}

pub(super) fn strings(v: &Value, path: &str) -> Result<Vec<String>, MobyError> {
    array(v, path)?
        .iter()
        .enumerate()
        .map(|(i, s)| string(s, &format!("{path}[{i}]")))
        .collect()
}

pub(super) fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, MobyError> {
    v.as_object().ok_or_else(|| {
        MobyError::invalid(path, v, format!("expected an object, found {}", kind(v)))
    })
}

pub(super) fn arch(v: &Value, path: &str) -> Result<Arch, MobyError> {
    string(v, path)?;
    typed(v, path, "an architecture name such as \"SCMP_ARCH_X86_64\"")
}

pub(super) fn arches(v: &Value, path: &str) -> Result<Vec<Arch>, MobyError> {
    array(v, path)?
        .iter()
        .enumerate()
        .map(|(i, a)| arch(a, &format!("{path}[{i}]")))
        .collect()
}

pub(super) fn errno(v: &Value, path: &str) -> Result<Option<u32>, MobyError> {
    if v.is_null() {
        return Ok(None);
    }
    typed::<u32>(v, path, "an unsigned 32-bit integer").map(Some)
}

/// containers-common's dialect (Podman, CRI-O: `pkg/seccomp` of containers/common, whose
/// `seccomp.json` Debian ships in `golang-github-containers-common`): an errno may be named
/// (`"errno": "EPERM"`, `"defaultErrno": "ENOSYS"`) beside or instead of its number. The
/// name must be a Linux errno name, and must agree with the number when both are given.
/// Returns the number to use.
pub(super) fn errno_by_name(
    name: Option<&str>,
    number: Option<u32>,
    path: &str,
    number_key: &str,
) -> Result<Option<u32>, MobyError> {
    let Some(name) = name else {
        return Ok(number);
    };
    let value = Value::String(name.to_string());
    let Some(n) = crate::arch::errno::errno_number(name) else {
        return Err(MobyError::invalid(
            path,
            &value,
            "not a Linux errno name (expected an upper-case name such as \"EPERM\" or \"ENOSYS\")",
        ));
    };
    match number {
        Some(m) if m != n => Err(MobyError::invalid(
            path,
            &value,
            format!(
                "{name} is errno {n}, but {number_key} beside it is {m}{}: the two must name the same errno",
                crate::arch::errno::errno_name(m)
                    .map(|x| format!(" ({x})"))
                    .unwrap_or_default()
            ),
        )),
        _ => Ok(Some(n)),
    }
}

pub(super) fn parse_filter(v: &Value, path: &str) -> Result<MobyFilter, MobyError> {
    let mut f = MobyFilter::default();
    if v.is_null() {
        return Ok(f);
    }
    let obj = object(v, path)?;
    for (k, v) in fields(obj, path, &["caps", "arches", "minKernel"])? {
        let p = join(path, k);
        match k {
            "caps" => f.caps = strings(v, &p)?,
            "arches" => f.arches = strings(v, &p)?,
            _ => {
                // moby reads "" and null as no minimum.
                if v.is_null() || v.as_str() == Some("") {
                    continue;
                }
                let Value::String(text) = v else {
                    return Err(MobyError::invalid(
                        p,
                        v,
                        format!(
                            "expected a string \"<major>.<minor>\" such as \"4.8\", found {}",
                            kind(v)
                        ),
                    ));
                };
                f.min_kernel =
                    Some(parse_kernel(text).map_err(|reason| MobyError::invalid(p, v, reason))?);
            }
        }
    }
    Ok(f)
}

pub(super) fn parse_entry(v: &Value, path: &str) -> Result<MobySyscall, MobyError> {
    let obj = object(v, path)?;
    let mut name: Option<String> = None;
    let mut names: Vec<String> = Vec::new();
    let mut action = None;
    let mut entry = MobySyscall {
        names: Vec::new(),
        legacy_name: false,
        action: LinuxSeccompAction::default(),
        errno_ret: None,
        errno_name: None,
        args: Vec::new(),
        comment: None,
        includes: MobyFilter::default(),
        excludes: MobyFilter::default(),
    };
    let known = [
        "name", "names", "action", "errnoRet", "errno", "args", "comment", "includes", "excludes",
    ];
    for (k, v) in fields(obj, path, &known)? {
        let p = join(path, k);
        match k {
            "name" => {
                // Go reads null as "" and "" as "no name".
                if !v.is_null() {
                    let n = string(v, &p)?;
                    if !n.is_empty() {
                        name = Some(n);
                    }
                }
            }
            "names" => names = strings(v, &p)?,
            "action" => {
                string(v, &p)?;
                action = Some(typed(v, &p, "a seccomp action such as \"SCMP_ACT_ALLOW\"")?);
            }
            "errnoRet" => entry.errno_ret = errno(v, &p)?,
            "errno" => {
                if !v.is_null() {
                    entry.errno_name = Some(string(v, &p)?);
                }
            }
            "args" => {
                for (j, a) in array(v, &p)?.iter().enumerate() {
                    let ap = format!("{p}[{j}]");
                    // moby reads the keys in any case: rename them to OCI's before decoding.
                    let mut canonical = Map::new();
                    for (k, v) in
                        fields(object(a, &ap)?, &ap, &["index", "value", "valueTwo", "op"])?
                    {
                        canonical.insert(k.to_string(), v.clone());
                    }
                    entry.args.push(typed(
                        &Value::Object(canonical),
                        &ap,
                        "an argument condition {\"index\", \"value\", \"valueTwo\", \"op\"}",
                    )?);
                }
            }
            "comment" => {
                if !v.is_null() {
                    entry.comment = Some(string(v, &p)?);
                }
            }
            "includes" => entry.includes = parse_filter(v, &p)?,
            _ => entry.excludes = parse_filter(v, &p)?,
        }
    }
    match (name, names.is_empty()) {
        (Some(_), false) => {
            return Err(MobyError::Conflict {
                path: path.to_string(),
                first: "name",
                second: "names",
            })
        }
        (Some(n), true) => {
            entry.names = vec![n];
            entry.legacy_name = true;
        }
        (None, _) => entry.names = names,
    }
    entry.action = action.ok_or_else(|| MobyError::Missing {
        path: join(path, "action"),
        reason: "every entry needs an action such as \"SCMP_ACT_ALLOW\"".into(),
    })?;
    entry.errno_ret = errno_by_name(
        entry.errno_name.as_deref(),
        entry.errno_ret,
        &join(path, "errno"),
        "errnoRet",
    )?;
    Ok(entry)
}

/// Parses a Docker profile (JSON text), with line and column on syntax errors, and
/// validates it (`name`+`names`, `architectures`+`archMap`, `minKernel` syntax).
///
/// Keys are matched case-insensitively and unknown keys are ignored with a warning, as
/// moby's Go decoder does; a known key with a value of the wrong type is an error naming
/// its path. Unlike moby, `defaultAction` is required (moby reads a profile without
/// `defaultAction` and `syscalls` as "no seccomp"), and `minKernel` must be a valid
/// version string (moby also takes `null` and `""` as "unset").
///
/// # Errors
///
/// [`MobyError`]: too large, a syntax error (line and column), or an invalid value naming
/// its JSON path.
pub fn parse_moby(json: &str) -> Result<MobyProfile, MobyError> {
    if json.len() > MAX_PROFILE_BYTES {
        return Err(MobyError::TooLarge {
            len: json.len(),
            max: MAX_PROFILE_BYTES,
        });
    }
    let value: Value = serde_json::from_str(json).map_err(|e| MobyError::Json {
        line: e.line(),
        column: e.column(),
        message: json_message(&e),
    })?;
    parse_moby_value(&value)
}

/// [`parse_moby`] on an already parsed JSON value.
///
/// # Errors
///
/// [`MobyError`] naming the JSON path of the first invalid value, as [`parse_moby`].
pub fn parse_moby_value(value: &Value) -> Result<MobyProfile, MobyError> {
    let top = object(value, "<top level>")?;
    let mut p = MobyProfile::default();
    let mut default_action = None;
    let known = [
        "defaultAction",
        "defaultErrnoRet",
        "architectures",
        "archMap",
        "flags",
        "listenerPath",
        "listenerMetadata",
        "syscalls",
        "comment",
        "defaultErrno",
    ];
    for (k, v) in fields(top, "", &known)? {
        match k {
            // A free-text note, like the entries' `comment` (moby ignores unknown keys).
            "comment" => {}
            "defaultAction" => {
                string(v, k)?;
                default_action = Some(typed(v, k, "a seccomp action such as \"SCMP_ACT_ERRNO\"")?);
            }
            "defaultErrnoRet" => p.default_errno_ret = errno(v, k)?,
            "defaultErrno" => {
                if !v.is_null() {
                    p.default_errno_name = Some(string(v, k)?);
                }
            }
            "architectures" => p.architectures = arches(v, k)?,
            "archMap" => {
                for (i, e) in array(v, k)?.iter().enumerate() {
                    let ep = format!("archMap[{i}]");
                    let obj = object(e, &ep)?;
                    let mut architecture = None;
                    let mut subs = Vec::new();
                    for (ek, ev) in fields(obj, &ep, &["architecture", "subArchitectures"])? {
                        let fp = join(&ep, ek);
                        if ek == "architecture" {
                            architecture = Some(arch(ev, &fp)?);
                        } else {
                            subs = arches(ev, &fp)?;
                        }
                    }
                    let architecture = architecture.ok_or_else(|| MobyError::Missing {
                        path: join(&ep, "architecture"),
                        reason: "an archMap entry names its architecture".into(),
                    })?;
                    p.arch_map.push(ArchMapEntry {
                        architecture,
                        sub_architectures: subs,
                    });
                }
            }
            "flags" => {
                if !v.is_null() {
                    let mut flags = Vec::new();
                    for (i, f) in array(v, k)?.iter().enumerate() {
                        let fp = format!("flags[{i}]");
                        string(f, &fp)?;
                        flags.push(typed(f, &fp, "a flag such as \"SECCOMP_FILTER_FLAG_LOG\"")?);
                    }
                    p.flags = Some(flags);
                }
            }
            "listenerPath" => {
                if !v.is_null() {
                    p.listener_path = Some(PathBuf::from(string(v, k)?));
                }
            }
            "listenerMetadata" => {
                if !v.is_null() {
                    p.listener_metadata = Some(string(v, k)?);
                }
            }
            _ => {
                for (i, e) in array(v, k)?.iter().enumerate() {
                    p.syscalls.push(parse_entry(e, &format!("syscalls[{i}]"))?);
                }
            }
        }
    }
    if !p.architectures.is_empty() && !p.arch_map.is_empty() {
        return Err(MobyError::Conflict {
            path: "<top level>".into(),
            first: "architectures",
            second: "archMap",
        });
    }
    p.default_errno_ret = errno_by_name(
        p.default_errno_name.as_deref(),
        p.default_errno_ret,
        "defaultErrno",
        "defaultErrnoRet",
    )?;
    p.default_action = default_action.ok_or_else(|| MobyError::Missing {
        path: "defaultAction".into(),
        reason: "a profile needs a default action such as \"SCMP_ACT_ERRNO\" (moby would read a \
                 profile without defaultAction and syscalls as 'no seccomp at all')"
            .into(),
    })?;
    Ok(p)
}

/// Whether `json` looks like a Docker (moby) profile rather than a plain OCI one: it has
/// `archMap` or `defaultErrno`, or an entry with `name`, `includes`, `excludes` or `errno`
/// (an entry's `comment` alone does not make it one: [`crate::find_docker_key`]).
pub fn is_moby(json: &str) -> bool {
    if json.len() > MAX_PROFILE_BYTES {
        return false;
    }
    let Ok(v) = serde_json::from_str::<Value>(json) else {
        return false;
    };
    is_moby_value(&v)
}

/// [`is_moby`] of a parsed JSON value.
pub(crate) fn is_moby_value(v: &Value) -> bool {
    crate::profile::parse::find_docker_key(v).is_some()
}

// ---------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------
