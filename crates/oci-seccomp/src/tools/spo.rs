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

use crate::arch::ArchInfo;
use crate::compare::{diff, DiffError};
use crate::error::{CompileError, ParseError};
use crate::profile::parse::MAX_PROFILE_BYTES;
use crate::profile::semantics::{Semantics, Stub};
use crate::profile::Profile;

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
        if let Ok(v) = serde_json::from_str::<Value>(t) {
            return v.get("apiVersion").is_some() && v.get("kind").is_some();
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

/// `spec` as a `SeccompProfile` named `name` (in `namespace`), with `annotations`, in
/// YAML: proven, by reading it back, to decide every call as `spec` does on host `target`.
///
/// # Errors
///
/// [`SpoError::NotExpressible`] for what the format cannot hold (a `defaultErrnoRet`
/// other than EPERM); [`SpoError::Changed`] if the written resource would decide
/// otherwise; [`SpoError::Invalid`] for an invalid `spec`.
pub fn to_spo(
    spec: &LinuxSeccomp,
    name: &str,
    namespace: Option<&str>,
    annotations: &BTreeMap<String, String>,
    target: &'static ArchInfo,
) -> Result<String, SpoError> {
    let mut oci = serde_json::to_value(spec).map_err(|e| SpoError::Yaml(e.to_string()))?;
    crate::tools::normalize::strip_nulls(&mut oci);
    let Some(obj) = oci.as_object_mut() else {
        return Err(SpoError::Yaml("the profile is not an object".into()));
    };
    if let Some(e) = obj.remove("defaultErrnoRet") {
        let errno_default = obj.get("defaultAction") == Some(&json!("SCMP_ACT_ERRNO"));
        if errno_default && e != json!(1) {
            return Err(SpoError::NotExpressible(format!(
                "defaultErrnoRet {e}: the operator's spec has no such field, and its ERRNO \
                 default returns EPERM (1); give the default's errno to the entries instead"
            )));
        }
    }
    if let Some(list) = obj.get_mut("syscalls").and_then(Value::as_array_mut) {
        for (i, e) in list.iter().enumerate() {
            // The operator's CRD: `value` and `valueTwo` are int64.
            for (j, a) in e
                .get("args")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                for key in ["value", "valueTwo"] {
                    if a.get(key)
                        .and_then(Value::as_u64)
                        .is_some_and(|v| v > i64::MAX as u64)
                    {
                        return Err(SpoError::NotExpressible(format!(
                            "syscalls[{i}].args[{j}].{key}: {} is above the operator's int64 \
                             range",
                            a[key]
                        )));
                    }
                }
            }
            // The operator's CRD: `args` has at most 6 items (MaxItems=6).
            let args = e.get("args").and_then(Value::as_array).map_or(0, Vec::len);
            if args > 6 {
                return Err(SpoError::NotExpressible(format!(
                    "syscalls[{i}].args: {args} comparisons; the operator's CRD accepts at most \
                     6 per entry (split the entry: repeated indices are alternatives anyway)"
                )));
            }
        }
        for e in list {
            // The operator drops a zero errnoRet (the runtime then returns EPERM).
            if e.get("errnoRet") == Some(&json!(0)) {
                return Err(SpoError::NotExpressible(
                    "errnoRet 0: the operator leaves a zero out, and the runtime then returns \
                     EPERM"
                        .into(),
                ));
            }
        }
    }
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(name));
    if let Some(ns) = namespace {
        metadata.insert("namespace".into(), json!(ns));
    }
    if !annotations.is_empty() {
        metadata.insert("annotations".into(), json!(annotations));
    }
    let resource = json!({
        "apiVersion": API_VERSION,
        "kind": "SeccompProfile",
        "metadata": Value::Object(metadata),
        "spec": oci,
    });
    let text = serde_saphyr::to_string(&resource).map_err(|e| SpoError::Yaml(e.to_string()))?;
    // The proof: read back as the operator's format, and compared by meaning.
    let back = select(parse_spo(&text)?, Some(name))?;
    let meaning = |s: &LinuxSeccomp| {
        Profile::from_oci_for(s, false, target)
            .map(|p| Semantics::new(&p, Stub::Enosys))
            .map_err(|e| SpoError::Invalid(Box::new(e)))
    };
    if let Some(d) = diff(&meaning(spec)?, &meaning(&back.spec)?)?.first() {
        return Err(SpoError::Changed(crate::proof::describe_call(&d.witness)));
    }
    Ok(text)
}

/// The base profiles the operator publishes (`examples/baseprofile-runc.yaml`,
/// `runc-v1.2.3`, and `examples/baseprofile-crun.yaml`, `crun-v1.21`; their source is in
/// fixtures/spo/SOURCE.md), embedded.
pub const PUBLISHED_BASES: [&str; 2] = [
    include_str!("../../profiles/spo/baseprofile-runc.yaml"),
    include_str!("../../profiles/spo/baseprofile-crun.yaml"),
];

/// The base profiles of [`PUBLISHED_BASES`], read.
///
/// # Errors
///
/// Never for the embedded files (a test reads them); [`SpoError`] if one did not read.
pub fn published_bases() -> Result<Vec<SpoProfile>, SpoError> {
    let mut out = Vec::new();
    for text in PUBLISHED_BASES {
        out.extend(parse_spo(text)?);
    }
    Ok(out)
}

/// Most links of a `baseProfileName` chain.
pub const MAX_BASE_CHAIN: usize = 16;

/// `profile` composed with its `baseProfileName` chain, found among `bases` by name. As the
/// operator composes, the profile keeps its own `defaultAction`, architectures, flags and
/// listener, and the bases add their entries; the entries are joined by the proven union
/// ([`crate::merge`]): a call any entry allows is allowed, and none that none allows (the
/// operator concatenates name lists instead, which overlapping argument conditions make
/// unsound). Without a base, its own spec.
///
/// # Errors
///
/// [`SpoError::Base`] for a base that is missing (the names known are listed), a circle,
/// or a chain longer than [`MAX_BASE_CHAIN`]; [`SpoError::Compose`] when the union cannot
/// be written as one profile.
pub fn compose(
    profile: &SpoProfile,
    bases: &[SpoProfile],
    target: &'static ArchInfo,
) -> Result<LinuxSeccomp, SpoError> {
    let mut chain: Vec<&SpoProfile> = vec![profile];
    while let Some(base) = &chain[chain.len() - 1].base_profile_name {
        if chain.iter().any(|p| &p.name == base) {
            let names: Vec<&str> = chain.iter().map(|p| p.name.as_str()).collect();
            return Err(SpoError::Base {
                name: base.clone(),
                reason: format!("a circle: {} -> {base}", names.join(" -> ")),
            });
        }
        if chain.len() > MAX_BASE_CHAIN {
            return Err(SpoError::Base {
                name: base.clone(),
                reason: format!("a chain of more than {MAX_BASE_CHAIN} base profiles"),
            });
        }
        let same: Vec<&SpoProfile> = bases.iter().filter(|b| &b.name == base).collect();
        if same.len() > 1 {
            return Err(SpoError::Base {
                name: base.clone(),
                reason: format!(
                    "{} base profiles have this name (the published ones and --base-dir's \
                     files); keep one",
                    same.len()
                ),
            });
        }
        let Some(found) = same.first().copied() else {
            let mut known: Vec<&str> = bases.iter().map(|b| b.name.as_str()).collect();
            known.sort_unstable();
            known.dedup();
            return Err(SpoError::Base {
                name: base.clone(),
                reason: format!(
                    "not found (base profiles known: {}; give their files with --base-dir)",
                    known.join(", ")
                ),
            });
        };
        chain.push(found);
    }
    if chain.len() == 1 {
        return Ok(profile.spec.clone());
    }
    // As the operator composes: the profile's own default, architectures, flags and
    // listener; only the bases' entries are added (their defaults never decide).
    let own = &profile.spec;
    let specs: Vec<LinuxSeccomp> = chain
        .iter()
        .map(|p| {
            let mut s = p.spec.clone();
            s.set_default_action(own.default_action());
            s.set_default_errno_ret(own.default_errno_ret());
            s.set_architectures(own.architectures().clone());
            s.set_flags(own.flags().clone());
            s.set_listener_path(own.listener_path().clone());
            s.set_listener_metadata(own.listener_metadata().clone());
            s
        })
        .collect();
    crate::merge::merge(&specs, crate::merge::Combine::Union, target)
        .map(|m| m.spec)
        .map_err(|e| SpoError::Compose(Box::new(e)))
}

/// Why kubectl would see other documents in `text` than a YAML parser does, if it would:
/// it splits a file on lines that are `---` alone and reads the first document of each
/// piece, so a `...` end marker followed by more, content after `---` on its line, or line
/// breaks that are a CR alone hide resources from it that we would read.
fn layout_kubectl_reads_otherwise(text: &str) -> Option<String> {
    if text.replace("\r\n", "").contains('\r') {
        return Some(
            "line breaks that are a CR alone: kubectl splits documents on LF, and would read \
             this file otherwise"
                .into(),
        );
    }
    for (n, line) in text.lines().enumerate() {
        let l = line.trim_end();
        let marker_with_content = l.starts_with("--- ") && !l[4..].trim_start().starts_with('#');
        if l == "..." || l.starts_with("... ") || marker_with_content {
            return Some(format!(
                "line {}: a document marker kubectl reads otherwise (`...`, or content after \
                 `---` on its line); put each resource after a `---` line of its own",
                n + 1
            ));
        }
    }
    None
}

/// The line (1-based) of the first YAML tag of `text`: a `!` that starts a token outside
/// quotes and comments. A `!` inside a block scalar counts too (refused, never misread).
fn tag_line(text: &str) -> Option<usize> {
    // Quoted scalars may span lines: their state carries over. A `!` is a tag only where
    // a node starts: at a line's first non-blank, after `: `, `- `, `[`, `{`, `,` or `? `.
    let (mut single, mut double, mut escaped) = (false, false, false);
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    for (n, line) in text.lines().enumerate() {
        let mut node_start = !(single || double);
        let mut anchor = false;
        let mut prev = ' ';
        for c in line.chars() {
            // An anchor (`&name`) before a node leaves it at its start: `&a !tag x`.
            if anchor {
                if c.is_whitespace() {
                    anchor = false;
                    node_start = true;
                }
                prev = c;
                continue;
            }
            if double {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => double = false,
                    _ => {}
                }
            } else if single {
                if c == '\'' {
                    single = false;
                }
            } else if c.is_whitespace() {
                if matches!(prev, ':' | '-' | '?') {
                    node_start = true;
                }
            } else {
                match c {
                    '#' if prev.is_whitespace() => break,
                    '!' if node_start => return Some(n + 1),
                    '&' if node_start => {
                        anchor = true;
                        prev = c;
                        continue;
                    }
                    '"' if node_start => double = true,
                    '\'' if node_start => single = true,
                    '[' | '{' | ',' => {
                        node_start = true;
                        prev = c;
                        continue;
                    }
                    _ => {}
                }
                node_start = false;
            }
            prev = c;
        }
        escaped = false;
    }
    None
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
mod tests {
    use super::*;

    const ONE: &str = "apiVersion: security-profiles-operator.x-k8s.io/v1beta1
kind: SeccompProfile
metadata:
  name: a
  annotations:
    recorded-by: oci-seccomp
spec:
  defaultAction: SCMP_ACT_ERRNO
  syscalls:
  - action: SCMP_ACT_ERRNO
    errnoRet: 38
    names: [io_uring_setup]
  - action: SCMP_ACT_ALLOW
    names: [read]
";

    fn err(text: &str) -> String {
        parse_spo(text).map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn a_resource_reads_as_its_spec_with_its_metadata() {
        let p = parse_spo(ONE).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].name, "a");
        assert_eq!(p[0].annotations["recorded-by"], "oci-seccomp");
        let e = &p[0].spec.syscalls().as_ref().unwrap()[0];
        assert_eq!(e.errno_ret(), Some(38));
    }

    #[test]
    fn several_resources_need_a_selection_that_names_one() {
        let two = format!("{ONE}---\n{}", ONE.replace("name: a", "name: b"));
        let all = parse_spo(&two).unwrap();
        let e = select(all.clone(), None).unwrap_err().to_string();
        assert!(e.contains("--select") && e.contains("a, b"), "{e}");
        assert_eq!(select(all.clone(), Some("b")).unwrap().name, "b");
        let e = select(all, Some("c")).unwrap_err().to_string();
        assert!(e.contains("\"c\"") && e.contains("a, b"), "{e}");
        // A List, as kubectl writes it, in JSON.
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
            serde_saphyr::from_str::<Value>(ONE).unwrap()]});
        assert_eq!(parse_spo(&list.to_string()).unwrap()[0].name, "a");
    }

    #[test]
    fn wrong_or_unknown_fields_are_errors_with_their_path() {
        let e = err(&ONE.replace("names: [read]", "names: [read]\n    arg: []"));
        assert!(
            e.contains("spec.syscalls[1].arg") && e.contains("unknown"),
            "{e}"
        );
        let e = err(&ONE.replace("v1beta1", "v9"));
        assert!(e.contains("apiVersion") && e.contains("v9"), "{e}");
        let e = err(&ONE.replace("kind: SeccompProfile", "kind: AppArmorProfile"));
        assert!(e.contains("kind") && e.contains("AppArmorProfile"), "{e}");
        let e = err(&ONE.replace("errnoRet: 38", "errnoRet: ENOSYS"));
        assert!(e.contains("spec.syscalls[0].errnoRet"), "{e}");
        let e = err(&ONE.replace(
            "  defaultAction: SCMP_ACT_ERRNO\n",
            "  defaultAction: SCMP_ACT_ERRNO\n  defaultErrnoRet: 38\n",
        ));
        assert!(
            e.contains("spec.defaultErrnoRet") && e.contains("EPERM"),
            "{e}"
        );
        let e = err(&ONE.replace(
            "  defaultAction: SCMP_ACT_ERRNO\n",
            "  defaultAction: SCMP_ACT_ERRNO\n  defaultAction: SCMP_ACT_ALLOW\n",
        ));
        assert!(e.to_lowercase().contains("duplicate"), "{e}");
        let e = err(&ONE.replace("SCMP_ACT_ALLOW", "SCMP_ACT_ALOW"));
        assert!(e.contains("spec") && e.contains("SCMP_ACT_ALOW"), "{e}");
    }

    #[test]
    fn what_kubectl_and_the_operator_read_is_what_is_read_here() {
        // `<<` merge keys: kubectl lets a later one override earlier keys, the spec not.
        let merged = ONE.replace(
            "  - action: SCMP_ACT_ALLOW\n    names: [read]\n",
            "  - &allow {action: SCMP_ACT_ALLOW, names: [read]}\n  - action: SCMP_ACT_ERRNO\n    <<: *allow\n    names: [close]\n",
        );
        assert!(
            err(&merged).to_lowercase().contains("merge"),
            "{}",
            err(&merged)
        );
        // operator v1.0's stored version.
        let v1 = ONE.replace("v1beta1", "v1");
        assert_eq!(parse_spo(&v1).unwrap()[0].name, "a");
        // errnoRet 0 is left out by the operator: EPERM, as without it.
        let zero = ONE.replace("errnoRet: 38", "errnoRet: 0");
        let p = parse_spo(&zero).unwrap();
        assert_eq!(p[0].spec.syscalls().as_ref().unwrap()[0].errno_ret(), None);
        // A quoted "38" (operator v0.8.0) reads as 38.
        let quoted = ONE.replace("errnoRet: 38", "errnoRet: \"38\"");
        assert_eq!(
            parse_spo(&quoted).unwrap()[0]
                .spec
                .syscalls()
                .as_ref()
                .unwrap()[0]
                .errno_ret(),
            Some(38)
        );
        // Two resources of one name: refused, named; NAMESPACE/NAME chooses.
        let two = format!(
            "{}---\n{}",
            ONE.replace("  name: a\n", "  name: a\n  namespace: prod\n"),
            ONE.replace("  name: a\n", "  name: a\n  namespace: dev\n")
        );
        let all = parse_spo(&two).unwrap();
        let e = select(all.clone(), Some("a")).unwrap_err().to_string();
        assert!(
            e.contains("2 SeccompProfiles") && e.contains("prod/a, dev/a"),
            "{e}"
        );
        assert_eq!(
            select(all, Some("dev/a")).unwrap().namespace.as_deref(),
            Some("dev")
        );
    }

    #[test]
    fn resources_are_recognised_however_they_are_laid_out() {
        let late = format!("{}{ONE}", "# comment\n".repeat(100));
        assert!(is_spo_text(&late));
        assert_eq!(parse_spo(&late).unwrap()[0].name, "a");
        let flow = "{apiVersion: security-profiles-operator.x-k8s.io/v1beta1, kind: SeccompProfile, metadata: {name: f}, spec: {defaultAction: SCMP_ACT_ERRNO}}";
        assert!(is_spo_text(flow));
        assert_eq!(parse_spo(flow).unwrap()[0].name, "f");
        assert!(!is_spo_text(r#"{"defaultAction": "SCMP_ACT_ERRNO"}"#));
    }

    #[test]
    fn layouts_kubectl_reads_otherwise_are_refused() {
        for text in [
            format!("{ONE}...\n---\n{ONE}"),
            format!("--- {{apiVersion: x}}\n{ONE}"),
            ONE.replace('\n', "\r"),
        ] {
            assert!(parse_spo(&text).is_err(), "{text}");
        }
        assert!(parse_spo(&ONE.replace('\n', "\r\n")).is_ok());
        assert!(parse_spo(&format!("--- # first\n{ONE}")).is_ok());
        // errnoRet strings: digits only.
        for bad in ["\"+38\"", "\" 38\"", "\"038\""] {
            assert!(
                parse_spo(&ONE.replace("errnoRet: 38", &format!("errnoRet: {bad}"))).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn tags_are_found_where_a_node_starts_only() {
        assert_eq!(tag_line("a: !!binary YQ=="), Some(1));
        assert_eq!(tag_line("- !foo 7"), Some(1));
        assert_eq!(tag_line("a: [1, !x 2]"), Some(1));
        // Inside a plain or quoted scalar, `!` is a character.
        assert_eq!(tag_line("note: Wow !x"), None);
        assert_eq!(tag_line("note: \"hi! !there\""), None);
        // After an anchor, and after a CR alone.
        assert_eq!(tag_line("a: &d !!binary U0M="), Some(1));
        assert_eq!(tag_line("&k !!binary ZA==: x"), Some(1));
        assert_eq!(tag_line("a: 1\rb: !!binary ZA=="), Some(2));
        assert_eq!(tag_line("a: &anchor plain"), None);
        // A double-quoted scalar continued on the next line hides no tag.
        assert_eq!(tag_line("a: \"x\\\n  y\"\nb: !t z"), Some(3));
    }

    #[test]
    fn hostile_yaml_is_refused() {
        // Aliases that expand exponentially ("billion laughs").
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        let huge = format!("kind: \"{}\"", "x".repeat(MAX_PROFILE_BYTES + 1));
        let docs = "---\na: 1\n".repeat(5000);
        for text in [bomb.as_str(), deep.as_str(), huge.as_str(), docs.as_str()] {
            assert!(parse_spo(text).is_err());
        }
        // A tag could make a value read as something else: refused, with its line.
        let e = err(&ONE.replace("name: a", "name: !!binary YQ=="));
        assert!(e.contains("line 4") && e.contains("tag"), "{e}");
        // A `!` inside a quoted value is no tag.
        assert!(parse_spo(&ONE.replace("recorded-by: oci-seccomp", "note: \"hi! there\"")).is_ok());
    }

    #[test]
    fn the_published_bases_read_and_compose_by_proven_union() {
        let bases = published_bases().unwrap();
        let names: Vec<&str> = bases.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["runc-v1.2.3", "crun-v1.21"]);
        let app = &parse_spo(&ONE.replace(
            "  defaultAction: SCMP_ACT_ERRNO\n",
            "  defaultAction: SCMP_ACT_ERRNO\n  baseProfileName: runc-v1.2.3\n",
        ))
        .unwrap()[0];
        let composed = compose(app, &bases, crate::arch::native()).unwrap();
        // The profile keeps its own default: a base's default never decides.
        let mut loose = bases[0].clone();
        loose
            .spec
            .set_default_action(oci_spec::runtime::LinuxSeccompAction::ScmpActAllow);
        let with_loose = compose(app, &[loose], crate::arch::native()).unwrap();
        assert_eq!(with_loose.default_action(), app.spec.default_action());
        let m =
            |s: &LinuxSeccomp| Semantics::new(&Profile::from_oci(s, false).unwrap(), Stub::Enosys);
        // Never stricter than either part: each part is nowhere looser than the union.
        for part in [&app.spec, &bases[0].spec] {
            let d = diff(&m(&composed), &m(part)).unwrap();
            assert!(
                d.iter().all(|x| x.change() != crate::Change::Looser),
                "{d:#?}"
            );
        }
        // Missing and circular bases.
        let e = compose(app, &[], crate::arch::native())
            .unwrap_err()
            .to_string();
        assert!(e.contains("runc-v1.2.3") && e.contains("not found"), "{e}");
        let mut a = app.clone();
        a.name = "x".into();
        a.base_profile_name = Some("y".into());
        let mut b = app.clone();
        b.name = "y".into();
        b.base_profile_name = Some("x".into());
        let e = compose(&a, &[b], crate::arch::native())
            .unwrap_err()
            .to_string();
        assert!(e.contains("circle") && e.contains("x -> y -> x"), "{e}");
    }

    #[test]
    fn written_resources_read_back_to_the_same_decisions_or_are_refused() {
        let spec = crate::parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["read","write"],"action":"SCMP_ACT_ALLOW"},
            {"names":["personality"],"action":"SCMP_ACT_ERRNO","errnoRet":22,
             "args":[{"index":0,"value":0,"op":"SCMP_CMP_NE"}]}]}"#,
        )
        .unwrap();
        let mut notes = BTreeMap::new();
        notes.insert("oci-seccomp/recorded".to_string(), "yes".to_string());
        let text = to_spo(&spec, "w", Some("ns"), &notes, crate::arch::native()).unwrap();
        let back = select(parse_spo(&text).unwrap(), Some("w")).unwrap();
        assert_eq!(back.namespace.as_deref(), Some("ns"));
        assert_eq!(back.annotations, notes);
        // `value: 0` is written (the operator's Go type omits a zero value, and reads it
        // back as 0: the same).
        assert_eq!(
            serde_json::to_value(&back.spec).unwrap()["syscalls"],
            serde_json::to_value(&spec).unwrap()["syscalls"]
        );
        let other_default =
            crate::parse_profile(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38}"#)
                .unwrap();
        let e = to_spo(
            &other_default,
            "w",
            None,
            &BTreeMap::new(),
            crate::arch::native(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("defaultErrnoRet") && e.contains("EPERM"), "{e}");
    }
}
