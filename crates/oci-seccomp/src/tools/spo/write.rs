//! Writing a `SeccompProfile`, proven by reading it back.

use std::collections::BTreeMap;

use oci_spec::runtime::LinuxSeccomp;
use serde_json::{json, Map, Value};

use super::{parse_spo, select, SpoError, API_VERSION};
use crate::arch::ArchInfo;
use crate::compare::diff;
use crate::profile::semantics::{Semantics, Stub};
use crate::profile::Profile;

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
