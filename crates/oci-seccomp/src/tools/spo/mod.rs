//! The Security Profiles Operator's `SeccompProfile` resource
//! (`security-profiles-operator.x-k8s.io/v1beta1`), in YAML or JSON: read into
//! `linux.seccomp`, and written from it, proven to mean the same.
//!
//! # The format (api/seccompprofile/v1beta1 of the operator)
//!
//! A resource has `apiVersion`, `kind: SeccompProfile`, `metadata` (`name`, `namespace`,
//! `annotations`, ...), `spec` and an optional `status` (ignored). `spec` holds
//! `baseProfileName`, `defaultAction`, `architectures`, `listenerPath`,
//! `listenerMetadata`, `syscalls` (`names`, `action`, `errnoRet` (an integer since operator
//! v0.8.1; a string, read too, before), `args` with `index`, `value`, `valueTwo`, `op`) and
//! `flags`. Operators from v0.9 make the resource cluster-wide (`metadata.namespace` is
//! then ignored); v1.0 stores `v1`, read too. It has no `defaultErrnoRet`: an ERRNO
//! default returns EPERM. A file may hold several documents, and a `List` (or
//! `SeccompProfileList`, as `kubectl get -o yaml` gives) holds resources in `items`.
//!
//! # Hostile input
//!
//! YAML is read with serde-saphyr (maintained, no `unsafe`, panic-free by design; the
//! deprecated serde_yaml is not used), with its budget on: alias expansion, nesting depth,
//! document count and scalar sizes are bounded, and a key given twice is an error. The
//! text is at most [`MAX_PROFILE_BYTES`]. Unknown fields, a wrong `apiVersion` or `kind`
//! and values of the wrong type are errors naming their path.

use std::collections::BTreeMap;

use oci_spec::runtime::LinuxSeccomp;
use serde_json::{json, Map, Value};

use crate::compare::DiffError;
use crate::error::{CompileError, ParseError};
use crate::profile::parse::MAX_PROFILE_BYTES;

mod compose;
mod guards;
mod write;

pub use compose::{compose, published_bases, MAX_BASE_CHAIN, PUBLISHED_BASES};
pub use write::to_spo;

use guards::{layout_kubectl_reads_otherwise, tag_line};

/// The API group and version of the resources this module writes (served by every
/// operator release since v0.4, converted by those that store `v1`).
pub const API_VERSION: &str = "security-profiles-operator.x-k8s.io/v1beta1";

/// The API versions read: `v1beta1`, and `v1`, the version operator v1.0 stores (and
/// `kubectl get` prints); their `spec` is the same.
pub const API_VERSIONS: [&str; 2] = [API_VERSION, "security-profiles-operator.x-k8s.io/v1"];

/// Most resources one file may hold.
pub const MAX_RESOURCES: usize = 1024;

/// One `SeccompProfile` resource.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SpoProfile {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, when given.
    pub namespace: Option<String>,
    /// `spec.baseProfileName`, when given: the profile this one is composed with.
    pub base_profile_name: Option<String>,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// `spec` as the OCI `linux.seccomp` object it is.
    pub spec: LinuxSeccomp,
}

/// Why a resource could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpoError {
    /// Not YAML or JSON, or over the reader's budget (aliases, depth, size).
    #[error("{0}")]
    Yaml(String),
    /// The text is larger than any real profile.
    #[error("the file is {len} bytes, more than the {max}-byte limit")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A field is missing, unknown, or has a wrong value.
    #[error("{path}: {reason}")]
    Field {
        /// The path, for example `items[1].spec.syscalls[0].errnoRet`.
        path: String,
        /// Why.
        reason: String,
    },
    /// `spec` is not a valid `linux.seccomp` object.
    #[error("{path}.spec: {source}")]
    Spec {
        /// The resource's path (`[0]`, `items[2]`) and name.
        path: String,
        /// Why.
        source: ParseError,
    },
    /// Several resources and no selection, or a selection that names none.
    #[error("{reason}: {}", names.join(", "))]
    Select {
        /// What went wrong.
        reason: String,
        /// The names the file holds.
        names: Vec<String>,
    },
    /// A profile the format cannot hold (see [`to_spo`]).
    #[error("a SeccompProfile cannot hold this profile: {0}")]
    NotExpressible(String),
    /// The written resource would not decide as the profile (nothing is written).
    #[error("the SeccompProfile written would decide otherwise: {0}")]
    Changed(String),
    /// A `baseProfileName` that cannot be resolved.
    #[error("baseProfileName {name:?}: {reason}")]
    Base {
        /// The base named.
        name: String,
        /// Why: missing, a circle, too long a chain.
        reason: String,
    },
    /// The union of a profile and its bases cannot be written as one profile.
    #[error("composing with the base profile: {0}")]
    Compose(Box<crate::merge::MergeError>),
    /// The profile is not valid.
    #[error(transparent)]
    Invalid(#[from] Box<CompileError>),
    /// The comparison could not be completed.
    #[error(transparent)]
    Compare(#[from] DiffError),
}

/// Whether `text` looks like a Kubernetes resource rather than a bare profile: YAML with an
/// `apiVersion` or `kind` key on any line, flow-style YAML naming both, or a JSON object
/// with `apiVersion` and `kind`.
pub fn is_spo_text(text: &str) -> bool {
    let t = text.trim_start();
    if t.starts_with('{') {
        match crate::profile::JsonKeys::parse(t) {
            Ok(keys) => return is_spo_keys(&keys),
            // Too large for any of the readers.
            Err(crate::ParseError::TooLarge { .. }) => return false,
            Err(_) => {}
        }
        // Not JSON: flow-style YAML, a resource when it names both.
        return t.contains("apiVersion") && t.contains("kind");
    }
    let mut keys = t
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("apiVersion:") || l.starts_with("kind:"));
    keys.next().is_some()
}

/// Whether JSON text whose keys are `keys` is a Kubernetes resource ([`is_spo_text`]'s
/// reading of JSON): an object with `apiVersion` and `kind` at its top level.
pub fn is_spo_keys(keys: &crate::profile::JsonKeys<'_>) -> bool {
    keys.has_top_level("apiVersion") && keys.has_top_level("kind")
}

/// Every `SeccompProfile` of `text` (YAML, possibly several documents, or JSON; single
/// resources or lists), in order.
///
/// # Errors
///
/// [`SpoError`]: malformed or over-budget YAML, a wrong `apiVersion` or `kind`, an unknown
/// field, a value of the wrong type, or a `spec` that is not a valid `linux.seccomp`.
pub fn parse_spo(text: &str) -> Result<Vec<SpoProfile>, SpoError> {
    if text.len() > MAX_PROFILE_BYTES {
        return Err(SpoError::TooLarge {
            len: text.len(),
            max: MAX_PROFILE_BYTES,
        });
    }
    if let Some(why) = layout_kubectl_reads_otherwise(text) {
        return Err(SpoError::Yaml(why));
    }
    if let Some(line) = tag_line(text) {
        return Err(SpoError::Yaml(format!(
            "line {line}: a YAML tag (`!...`): a SeccompProfile has none, and a tag can change \
             what a value reads as"
        )));
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: Some(MAX_PROFILE_BYTES),
            max_documents: MAX_RESOURCES,
            max_depth: 64,
            max_nodes: 1_000_000,
            max_total_scalar_bytes: MAX_PROFILE_BYTES,
            max_aliases: 1024,
            max_anchors: 1024,
        },
        // `<<` merge keys: kubectl's YAML library lets a later one override keys written
        // before it, the YAML spec the reverse; a reviewer and the cluster would read two
        // profiles. Refused.
        merge_keys: serde_saphyr::options::MergeKeyPolicy::Error,
        // Aliases replay what their anchor holds: bounded in total, so that anchors of
        // anchors cannot expand exponentially.
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
            max_replay_stack_depth: 16,
            max_alias_expansions_per_anchor: 1024,
        },
    };
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options)
        .map_err(|e| SpoError::Yaml(e.to_string()))?;
    let mut out = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let path = if docs.len() == 1 {
            String::new()
        } else {
            format!("[{i}]")
        };
        resources(doc, &path, &mut out)?;
        if out.len() > MAX_RESOURCES {
            return Err(SpoError::Field {
                path,
                reason: format!("more than {MAX_RESOURCES} resources"),
            });
        }
    }
    if out.is_empty() {
        return Err(SpoError::Field {
            path: String::new(),
            reason: "no SeccompProfile in the file".into(),
        });
    }
    Ok(out)
}

/// The one resource of `profiles` named `select`, or the only one.
///
/// # Errors
///
/// [`SpoError::Select`] listing the names when there are several and none is selected, or
/// the selection names none of them.
pub fn select(profiles: Vec<SpoProfile>, select: Option<&str>) -> Result<SpoProfile, SpoError> {
    let shown = |p: &SpoProfile| match &p.namespace {
        Some(ns) => format!("{ns}/{}", p.name),
        None => p.name.clone(),
    };
    let names = || profiles.iter().map(shown).collect::<Vec<_>>();
    match select {
        Some(name) => {
            let names = names();
            // `NAME`, or `NAMESPACE/NAME` for resources of older, namespaced operators.
            let matches = |p: &SpoProfile| p.name == name || shown(p) == name;
            let count = profiles.iter().filter(|p| matches(p)).count();
            if count > 1 {
                return Err(SpoError::Select {
                    reason: format!(
                        "{count} SeccompProfiles match {name:?} (kubectl would keep the last one \
                         applied; give NAMESPACE/NAME, or keep one); the file holds"
                    ),
                    names,
                });
            }
            profiles
                .into_iter()
                .find(|p| matches(p))
                .ok_or_else(|| SpoError::Select {
                    reason: format!("no SeccompProfile named {name:?}; the file holds"),
                    names,
                })
        }
        None if profiles.len() == 1 => Ok(profiles.into_iter().next().expect("one")),
        None => Err(SpoError::Select {
            reason: "several SeccompProfiles; choose one with --select NAME".into(),
            names: names(),
        }),
    }
}

/// The resources of one document: a `SeccompProfile`, or a list of them.
fn resources(doc: &Value, path: &str, out: &mut Vec<SpoProfile>) -> Result<(), SpoError> {
    let field = |p: &str, reason: String| SpoError::Field {
        path: join(path, p),
        reason,
    };
    let Some(obj) = doc.as_object() else {
        return Err(field(
            "",
            format!("expected a resource (a mapping), found {}", kind_of(doc)),
        ));
    };
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    match kind {
        "List" | "SeccompProfileList" => {
            let Some(items) = obj.get("items").and_then(Value::as_array) else {
                return Err(field("items", "a list needs items".into()));
            };
            for (i, item) in items.iter().enumerate() {
                resources(item, &join(path, &format!("items[{i}]")), out)?;
            }
            Ok(())
        }
        "SeccompProfile" => {
            out.push(resource(obj, path)?);
            Ok(())
        }
        other => Err(field(
            "kind",
            format!("{other:?}: expected SeccompProfile (or a List of them)"),
        )),
    }
}

/// One `SeccompProfile`.
fn resource(obj: &Map<String, Value>, path: &str) -> Result<SpoProfile, SpoError> {
    let field = |p: &str, reason: String| SpoError::Field {
        path: join(path, p),
        reason,
    };
    let api = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !API_VERSIONS.contains(&api) {
        return Err(field(
            "apiVersion",
            format!("{api:?}: expected {}", API_VERSIONS.join(" or ")),
        ));
    }
    for k in obj.keys() {
        if !["apiVersion", "kind", "metadata", "spec", "status"].contains(&k.as_str()) {
            return Err(field(k, "unknown field of a SeccompProfile".into()));
        }
    }
    let meta = obj.get("metadata").and_then(Value::as_object);
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(|| field("metadata.name", "missing: a resource needs a name".into()))?
        .to_string();
    let namespace = meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut annotations = BTreeMap::new();
    if let Some(a) = meta.and_then(|m| m.get("annotations")) {
        let Some(a) = a.as_object() else {
            return Err(field("metadata.annotations", "expected a mapping".into()));
        };
        for (k, v) in a {
            let Some(v) = v.as_str() else {
                return Err(field(
                    &format!("metadata.annotations.{k}"),
                    "expected a string".into(),
                ));
            };
            annotations.insert(k.clone(), v.to_string());
        }
    }
    let spec = obj
        .get("spec")
        .and_then(Value::as_object)
        .ok_or_else(|| field("spec", "missing: a SeccompProfile needs a spec".into()))?;
    let (oci, base) = spec_to_oci(spec, &join(path, "spec"))?;
    let text = oci.to_string();
    let parsed =
        crate::profile::parse::parse_parsed(&text, &oci).map_err(|source| SpoError::Spec {
            path: format!("{}{name}", if path.is_empty() { "" } else { path }),
            source,
        })?;
    Ok(SpoProfile {
        name,
        namespace,
        base_profile_name: base,
        annotations,
        spec: parsed,
    })
}

/// `spec` as an OCI `linux.seccomp` value, and its `baseProfileName`.
fn spec_to_oci(spec: &Map<String, Value>, path: &str) -> Result<(Value, Option<String>), SpoError> {
    let field = |p: &str, reason: String| SpoError::Field {
        path: join(path, p),
        reason,
    };
    let mut out = Map::new();
    let mut base = None;
    for (k, v) in spec {
        match k.as_str() {
            "baseProfileName" => {
                base = Some(
                    v.as_str()
                        .ok_or_else(|| field(k, "expected a string".into()))?
                        .to_string(),
                );
            }
            "defaultAction" | "architectures" | "listenerPath" | "listenerMetadata" | "flags" => {
                out.insert(k.clone(), v.clone());
            }
            "syscalls" => {
                let Some(list) = v.as_array() else {
                    return Err(field(k, "expected a list".into()));
                };
                let mut entries = Vec::with_capacity(list.len());
                for (i, e) in list.iter().enumerate() {
                    let p = format!("syscalls[{i}]");
                    let Some(e) = e.as_object() else {
                        return Err(field(&p, "expected a mapping".into()));
                    };
                    let mut entry = Map::new();
                    for (ek, ev) in e {
                        match ek.as_str() {
                            "names" | "action" | "args" => {
                                entry.insert(ek.clone(), ev.clone());
                            }
                            // An integer in the operator's CRD since v0.8.1 (a string in
                            // v0.8.0, read too). The operator leaves a zero out of the file
                            // it writes for the runtime, which then returns EPERM: so is 0
                            // read here.
                            "errnoRet" => {
                                let canonical = |s: &str| {
                                    !s.is_empty()
                                        && s.bytes().all(|b| b.is_ascii_digit())
                                        && (s == "0" || !s.starts_with('0'))
                                };
                                let n = match ev {
                                    Value::String(s) if canonical(s) => s.parse::<u32>().ok(),
                                    Value::Number(n) => {
                                        n.as_u64().and_then(|n| u32::try_from(n).ok())
                                    }
                                    _ => None,
                                }
                                .ok_or_else(|| {
                                    field(
                                        &format!("{p}.errnoRet"),
                                        format!(
                                            "{ev}: expected an errno number (a string of digits)"
                                        ),
                                    )
                                })?;
                                if n != 0 {
                                    entry.insert(ek.clone(), json!(n));
                                }
                            }
                            other => {
                                return Err(field(
                                    &format!("{p}.{other}"),
                                    "unknown field of a syscall entry".into(),
                                ))
                            }
                        }
                    }
                    entries.push(Value::Object(entry));
                }
                out.insert(k.clone(), Value::Array(entries));
            }
            other => {
                return Err(field(
                    other,
                    "unknown field of a SeccompProfile spec (it has no defaultErrnoRet: an \
                     ERRNO default returns EPERM)"
                        .into(),
                ))
            }
        }
    }
    Ok((Value::Object(out), base))
}

/// `path` and `child` joined with a dot.
fn join(path: &str, child: &str) -> String {
    match (path.is_empty(), child.is_empty()) {
        (true, _) => child.to_string(),
        (_, true) => path.to_string(),
        _ => format!("{path}.{child}"),
    }
}

/// A value's kind, in words.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests;
