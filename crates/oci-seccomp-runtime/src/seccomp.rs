//! The profile's side of a launch: compiling (through the on-disk cache), connecting to the
//! seccomp agent early, and the notify-fd handoff around `fork`.
//!
//! The handoff is `oci-seccomp-load`'s composed [`LaunchSeccomp`] (docs/design.md §3): connect to
//! the listener before anything runs, make the handoff channel, fork, install in the child
//! (safe with NOTIFY on any syscall), take the fd in the parent, send it with the container
//! state to the agent, close our copies, and kill the child if any of that fails.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use oci_seccomp::{Cache, CacheError, CompileError, CompileOptions, LinuxSeccomp, Program};
use oci_seccomp_load::{
    process_state, AllowedPeers, ContainerState, Delivery, LaunchSeccomp, LaunchSeccompChild,
    LaunchSeccompParent,
};

use crate::error::LaunchError;
use crate::LaunchPlan;

/// What a launcher does with a notify fd that no agent connection takes: it gets the fd
/// in the parent as soon as the child installed its filter, and must answer (or hand on)
/// the child's notifications from then on — typically from a thread it starts here, such
/// as a [`Tracer`](oci_seccomp_load::trace::Tracer)'s.
pub type NotifyHandler = Box<dyn FnOnce(OwnedFd) + Send>;

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

/// Compiles `spec` with the default options, through the cache unless
/// [`CachePolicy::Off`]; a cache problem falls back to a plain compile
/// ([`oci_seccomp::compile`]) with a warning.
///
/// # Errors
///
/// The profile does not compile.
pub fn compile_cached(spec: &LinuxSeccomp, cache: &CachePolicy) -> Result<Program, CompileError> {
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

/// Connects to the plan's seccomp agent (`listenerPath`) when its profile needs one:
/// `oci-seccomp-load`'s [`connect_for_spec_with`](oci_seccomp_load::connect_for_spec_with)
/// for the plan's profile (`Ok(None)` without a profile, a `listenerPath` or a NOTIFY
/// rule). An agent that is not there, or not trusted by `allowed`, fails the start before
/// anything runs.
///
/// # Errors
///
/// [`LaunchError::Listener`].
pub fn connect_for_plan(
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

/// The handoff around `fork`: `oci-seccomp-load`'s composed [`LaunchSeccomp`], with the container
/// state this launcher sends and its refusal of a notify fd nobody would answer.
pub(crate) struct Handoff {
    parent: Option<LaunchSeccompParent>,
    child: Option<LaunchSeccompChild>,
    metadata: String,
}

impl Handoff {
    /// Before `fork`: the channel, if there is a program to install; `listener` is the
    /// agent connection made early by [`connect_for_plan`].
    pub(crate) fn new(
        plan: &LaunchPlan,
        program: Option<Program>,
        listener: Option<UnixStream>,
    ) -> Result<Self, LaunchError> {
        let (parent, child) = match program {
            Some(p) => {
                let (parent, child) = LaunchSeccomp::with_agent(p, listener)
                    .map_err(LaunchError::Handoff)?
                    .split();
                (Some(parent), Some(child))
            }
            None => (None, None),
        };
        let metadata = plan
            .seccomp()
            .and_then(|s| s.listener_metadata().clone())
            .unwrap_or_default();
        Ok(Self {
            parent,
            child,
            metadata,
        })
    }

    /// The child's part (used in the child only).
    pub(crate) fn child_part(&self) -> Option<&LaunchSeccompChild> {
        self.child.as_ref()
    }

    /// In the parent, right after `fork`: the child's part is the child's.
    pub(crate) fn forked(&mut self) {
        self.child = None;
    }

    /// The child is about to install: take its notify fd and send it with the container
    /// state to the agent ([`LaunchSeccompParent::complete`], which kills the child when that
    /// fails after the install). A notify fd with no agent to take it is refused too.
    pub(crate) fn receive(
        &mut self,
        plan: &LaunchPlan,
        child: Pid,
        on_notify_fd: &mut Option<NotifyHandler>,
    ) -> Result<(), LaunchError> {
        let Some(parent) = self.parent.take() else {
            return Ok(());
        };
        let state = process_state(
            child.as_raw(),
            self.metadata.clone(),
            plan.id.clone(),
            ContainerState::Creating,
            plan.bundle.clone(),
            plan.annotations.clone(),
        );
        match parent.complete(child.as_raw(), state) {
            Ok(Delivery::Fd { notify_fd, .. }) if on_notify_fd.is_some() => {
                if let Some(handler) = on_notify_fd.take() {
                    handler(notify_fd);
                }
                Ok(())
            }
            Ok(Delivery::Fd { notify_fd, .. }) => {
                // Nobody can answer the child's notified syscalls: stop it.
                drop(notify_fd);
                let _ = kill(child, Signal::SIGKILL);
                Err(LaunchError::NoListener)
            }
            Ok(_) => Ok(()),
            Err(e) => Err(LaunchError::Handoff(e)),
        }
    }

    /// After the child's messages: our copy of the agent connection must not outlive the
    /// handoff.
    pub(crate) fn close(&mut self) {
        self.parent = None;
    }
}
