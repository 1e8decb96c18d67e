//! Writing an OCI `linux.seccomp` object in Docker's (moby's) profile format, proven to
//! render back to a profile that decides every call as the original does.
//!
//! Docker's format is a superset of OCI's object: `defaultAction`, `defaultErrnoRet`,
//! `architectures`, `flags`, `listenerPath`, `listenerMetadata` and entries with `names`,
//! `action`, `errnoRet` and `args` mean the same to moby's renderer (docs/moby.md). So the
//! Docker form is the same object without `null` fields; what makes it trustworthy is the
//! check: it is parsed as Docker reads it, rendered for the target, and compared with the
//! original by [`crate::diff`] over every call before it is returned.

use oci_spec::runtime::LinuxSeccomp;

use super::{parse_moby, render, MobyError, RenderOptions};
use crate::arch::ArchInfo;
use crate::compare::{diff, DiffError};
use crate::error::CompileError;
use crate::profile::semantics::{Semantics, Stub};
use crate::profile::Profile;

/// Why a profile could not be written in Docker's format.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DockerFormError {
    /// The original profile is not valid.
    #[error("the profile is not valid: {0}")]
    Invalid(Box<CompileError>),
    /// Docker's reader refuses the written form.
    #[error("Docker's format cannot hold this profile: {0}")]
    Refused(#[from] MobyError),
    /// Docker renders the written form to a profile that is not valid.
    #[error("the profile Docker renders from the written form is not valid: {0}")]
    RenderedInvalid(Box<CompileError>),
    /// The comparison could not be completed.
    #[error("cannot prove the Docker form equal to the profile: {0}")]
    Compare(#[from] DiffError),
    /// Docker would render the written form to a profile that decides some call otherwise:
    /// nothing is written.
    #[error("Docker would read the written form otherwise: {call} (nothing is written)")]
    Changed {
        /// The first call decided otherwise, in words.
        call: String,
    },
}

/// Keys of the Docker form that Docker 20.10 does not read (its `Seccomp` struct has
/// `defaultAction`, `architectures`, `archMap` and `syscalls` only): later Docker releases
/// read them; 20.10 would silently drop them and decide otherwise.
pub const KEYS_AFTER_DOCKER_20_10: [&str; 4] = [
    "defaultErrnoRet",
    "flags",
    "listenerPath",
    "listenerMetadata",
];

/// A profile in Docker's format.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DockerForm {
    /// The text (pretty JSON, a final newline).
    pub text: String,
    /// The keys it uses that Docker 20.10 does not read ([`KEYS_AFTER_DOCKER_20_10`]).
    pub newer_keys: Vec<&'static str>,
}

/// `spec` in Docker's format, for programs of host `target`: Docker's renderer (the one
/// this crate implements, that of current Docker releases), for any capabilities and
/// kernel, gives back a profile that decides every call as `spec` does (proven before it
/// is returned). `defaultErrnoRet` 1 is left out (Docker's default errno is EPERM); the
/// keys that Docker 20.10 would not read are listed in [`DockerForm::newer_keys`].
///
/// # Errors
///
/// [`DockerFormError`]: `spec` is invalid, Docker's reader refuses the form, or the
/// rendered form would decide some call otherwise.
pub fn to_docker(
    spec: &LinuxSeccomp,
    target: &'static ArchInfo,
) -> Result<DockerForm, DockerFormError> {
    let original = Profile::from_oci_for(spec, false, target)
        .map_err(|e| DockerFormError::Invalid(Box::new(e)))?;
    let mut value = serde_json::to_value(spec).map_err(|e| MobyError::Invalid {
        path: String::new(),
        value: String::new(),
        reason: e.to_string(),
    })?;
    crate::tools::normalize::strip_nulls(&mut value);
    if let Some(o) = value.as_object_mut() {
        if o.get("defaultErrnoRet").and_then(serde_json::Value::as_u64) == Some(1) {
            o.remove("defaultErrnoRet");
        }
    }
    let newer_keys: Vec<&'static str> = KEYS_AFTER_DOCKER_20_10
        .into_iter()
        .filter(|k| value.get(*k).is_some())
        .collect();
    let mut text = serde_json::to_string_pretty(&value).map_err(|e| MobyError::Invalid {
        path: String::new(),
        value: String::new(),
        reason: e.to_string(),
    })?;
    text.push('\n');
    let docker = parse_moby(&text)?;
    // No entry carries includes or excludes, so the capabilities and the kernel do not
    // change the rendering: the host's defaults stand for all.
    let rendered = render(&docker, &RenderOptions::host().with_arch(target))?;
    let rendered = Profile::from_oci_for(&rendered, false, target)
        .map_err(|e| DockerFormError::RenderedInvalid(Box::new(e)))?;
    let differences = diff(
        &Semantics::new(&original, Stub::Enosys),
        &Semantics::new(&rendered, Stub::Enosys),
    )?;
    if let Some(d) = differences.first() {
        return Err(DockerFormError::Changed {
            call: crate::proof::describe_call(&d.witness),
        });
    }
    Ok(DockerForm { text, newer_keys })
}
