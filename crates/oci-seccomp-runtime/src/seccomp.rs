//! The profile's side of a launch: compiling (through the on-disk cache), connecting to the
//! seccomp agent early, and the notify-fd handoff around `fork`.
//!
//! The handoff is one composition of `oci-seccomp-load` (docs/design.md §3): connect to the
//! listener before anything runs, make the handoff channel, fork, install in the child
//! ([`ChildEnd::install_and_send`], safe with NOTIFY on any syscall), take the fd in the
//! parent, send it with the container state to the agent, close our copies, and kill the
//! child if any of that fails. [`Handoff`] is that composition and nothing else, so that it
//! can be replaced by the load crate's own composed type.

use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use oci_seccomp::{Cache, CacheError, CompileError, CompileOptions, LinuxSeccomp, Program};
use oci_seccomp_load::handoff::{self, ChildEnd, ParentEnd};
use oci_seccomp_load::listener::ContainerStatus;
use oci_seccomp_load::{AllowedPeers, ContainerProcessState, HandoffError};

use crate::error::LaunchError;
use crate::LaunchPlan;

/// Where compiled programs are cached.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum CachePolicy {
    /// [`default_cache_dir`].
    #[default]
    Default,
    /// This directory.
    Dir(PathBuf),
    /// No cache: compile every time.
    Off,
}

/// The default cache directory: `$XDG_CACHE_HOME/oci-seccomp`, `/var/cache/oci-seccomp` for
/// root, else `~/.cache/oci-seccomp`.
#[must_use]
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("oci-seccomp"));
    }
    if nix::unistd::geteuid().is_root() {
        return Some(PathBuf::from("/var/cache/oci-seccomp"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".cache/oci-seccomp"))
}

/// Compiles `spec`, through the cache unless [`CachePolicy::Off`]; a cache problem falls
/// back to a plain compile with a warning.
///
/// # Errors
///
/// The profile does not compile.
pub fn compile(spec: &LinuxSeccomp, cache: &CachePolicy) -> Result<Program, CompileError> {
    let opts = CompileOptions::default();
    let dir = match cache {
        CachePolicy::Off => None,
        CachePolicy::Dir(d) => Some(Some(d.clone())),
        CachePolicy::Default => Some(default_cache_dir()),
    };
    if let Some(dir) = dir {
        match dir.as_deref().map(Cache::open) {
            Some(Ok(cache)) => match cache.get_or_compile(spec, &opts) {
                Ok((p, outcome)) => {
                    tracing::debug!(?outcome, dir = %cache.dir().display(), "compiled-program cache");
                    return Ok(p);
                }
                Err(CacheError::Compile(e)) => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, "compiled-program cache unusable; compiling without it")
                }
            },
            Some(Err(e)) => {
                tracing::warn!(error = %e, "compiled-program cache unusable; compiling without it")
            }
            None => tracing::debug!("no cache directory (no HOME); compiling without cache"),
        }
    }
    oci_seccomp::compile(spec, &opts)
}

/// Connects to the plan's seccomp agent (`listenerPath`), if it has one: an agent that is
/// not there, or not trusted by `allowed`, fails the start before anything runs.
///
/// # Errors
///
/// [`LaunchError::Listener`].
pub fn connect_listener(
    plan: &LaunchPlan,
    allowed: &AllowedPeers,
) -> Result<Option<UnixStream>, LaunchError> {
    match plan.seccomp() {
        Some(spec) => {
            oci_seccomp_load::connect_for_spec_with(spec, allowed).map_err(LaunchError::Listener)
        }
        None => Ok(None),
    }
}

/// The handoff composition around `fork` (see the module docs).
pub(crate) struct Handoff {
    parent: Option<ParentEnd>,
    child: Option<ChildEnd>,
    listener: Option<UnixStream>,
    metadata: String,
}

impl Handoff {
    /// Before `fork`: the channel, if there is a program to install.
    pub(crate) fn new(
        plan: &LaunchPlan,
        program: Option<&Program>,
        listener: Option<UnixStream>,
    ) -> Result<Self, LaunchError> {
        let (parent, child) = if program.is_some() {
            let (p, c) = handoff::channel().map_err(LaunchError::Handoff)?;
            (Some(p), Some(c))
        } else {
            (None, None)
        };
        let metadata = plan
            .seccomp()
            .and_then(|s| s.listener_metadata().clone())
            .unwrap_or_default();
        Ok(Self {
            parent,
            child,
            listener,
            metadata,
        })
    }

    /// The child's end (used in the child only).
    pub(crate) fn child_end(&self) -> Option<&ChildEnd> {
        self.child.as_ref()
    }

    /// In the parent, right after `fork`: the child's end is the child's.
    pub(crate) fn forked(&mut self) {
        self.child = None;
    }

    /// The child is about to install: take its notify fd, send it with the container state
    /// to the agent, close our copies. Kills the child when nobody could answer it.
    pub(crate) fn receive(&mut self, plan: &LaunchPlan, child: Pid) -> Result<(), LaunchError> {
        let Some(pe) = self.parent.take() else {
            return Ok(());
        };
        match pe.for_child(child.as_raw()).receive() {
            Ok(Some(fd)) => {
                let Some(sock) = self.listener.take() else {
                    let _ = kill(child, Signal::SIGKILL);
                    return Err(LaunchError::NoListener);
                };
                let state = ContainerProcessState::new(
                    child.as_raw(),
                    self.metadata.clone(),
                    plan.id.clone(),
                    ContainerStatus::Creating,
                    plan.bundle.display().to_string(),
                    plan.annotations.clone(),
                );
                let sent = oci_seccomp_load::send_state(&sock, &state, fd.as_fd());
                // Close our copies at once: the agent holds the fd now.
                drop(sock);
                drop(fd);
                sent.map_err(|e| {
                    // Nobody can answer the child's notified syscalls: stop it.
                    let _ = kill(child, Signal::SIGKILL);
                    LaunchError::Handoff(e)
                })
            }
            Ok(None) => Ok(()),
            Err(e) => {
                if !matches!(e, HandoffError::Install(_)) {
                    let _ = kill(child, Signal::SIGKILL);
                }
                Err(LaunchError::Handoff(e))
            }
        }
    }

    /// After the child's reports: our copy of the agent connection must not outlive the
    /// handoff.
    pub(crate) fn close(&mut self) {
        self.listener = None;
    }
}
