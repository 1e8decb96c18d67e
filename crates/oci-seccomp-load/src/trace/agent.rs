//! The trace agent inside the launcher's own process: the filter to install (the
//! profile's program with its denials routed to user notification), and a thread that
//! serves the notify fd with a [`Tracer`] and hands each [`Event`] to the caller.
//!
//! What `oci-seccomp run --trace`/`--complain` and `record` use; a runtime can do the
//! same: install [`Agent::routed`] in the child instead of the profile's program, give
//! the notify fd the child hands back to [`Agent::fd_handler`], and after the workload's
//! exit call [`Agent::finish`].

use std::os::fd::OwnedFd;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use oci_seccomp::trace::TraceError;
use oci_seccomp::{CompileError, LinuxSeccomp, Program};

use super::{Event, Mode, Tracer};
use crate::notify::NotifyFd;

/// The caller's handler of each event, shared with the serving thread.
type OnEvent = Arc<Mutex<Box<dyn FnMut(&Event) + Send>>>;

/// Why an [`Agent`] cannot be started for a profile.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The program's denials cannot be routed to user notification
    /// ([`oci_seccomp::trace::route_denials`]).
    #[error("cannot route this profile's denials: {0}")]
    Route(#[source] TraceError),
    /// The profile does not validate ([`oci_seccomp::Profile::from_oci`]).
    #[error("{0}")]
    Profile(#[source] CompileError),
}

/// An in-process trace agent: the routed filter to install, and the thread that answers
/// its notifications as the profile would (see [`Mode`]) and reports them.
pub struct Agent {
    routed: Program,
    tracer: Arc<Tracer>,
    on_event: OnEvent,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
    /// Signalled by the serving thread when it ends.
    done: Arc<Mutex<Option<Receiver<()>>>>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("routed", &self.routed.len())
            .field("mode", &self.tracer.mode())
            .finish_non_exhaustive()
    }
}

impl Agent {
    /// A timeout for [`Agent::finish`] that leaves the workload's last processes time to
    /// exit: 2 s.
    pub const FINISH_TIMEOUT: Duration = Duration::from_secs(2);

    /// Routes the denials of `original` to an agent in this process that answers in
    /// `mode` and hands each event to `on_event` (called from the serving thread, one
    /// event at a time).
    ///
    /// `original` is `spec` compiled with the default [`oci_seccomp::CompileOptions`]
    /// (the ENOSYS stub included): the tracer runs it on each notification to find the
    /// exact action. `spec` is validated again without logging: compiling `original`
    /// logged its warnings once already.
    ///
    /// # Errors
    ///
    /// [`AgentError::Route`] when the program's denials cannot be routed,
    /// [`AgentError::Profile`] when `spec` does not validate.
    pub fn start(
        spec: &LinuxSeccomp,
        original: Program,
        mode: Mode,
        on_event: impl FnMut(&Event) + Send + 'static,
    ) -> Result<Self, AgentError> {
        let routed = oci_seccomp::trace::route_denials(&original).map_err(AgentError::Route)?;
        let profile =
            tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
                oci_seccomp::Profile::from_oci(spec, false)
            })
            .map_err(AgentError::Profile)?;
        let tracer = Tracer::new(
            original,
            &profile,
            &oci_seccomp::CompileOptions::default(),
            mode,
        );
        Ok(Self {
            routed,
            tracer: Arc::new(tracer),
            on_event: Arc::new(Mutex::new(Box::new(on_event))),
            thread: Arc::new(Mutex::new(None)),
            done: Arc::new(Mutex::new(None)),
        })
    }

    /// The filter to install in the workload: the original program with every call it
    /// does not allow routed to user notification.
    pub fn routed(&self) -> &Program {
        &self.routed
    }

    /// What to give the notify fd of the routed filter to (a launcher's notify-fd
    /// handler): it serves the fd from a new thread of this process until no process
    /// uses the filter any more. Call it once per agent; a later call's thread replaces
    /// the first in [`Agent::finish`].
    pub fn fd_handler(&self) -> Box<dyn FnOnce(OwnedFd) + Send> {
        let (tracer, on_event, slot, done) = (
            Arc::clone(&self.tracer),
            Arc::clone(&self.on_event),
            Arc::clone(&self.thread),
            Arc::clone(&self.done),
        );
        Box::new(move |fd| {
            let fd = NotifyFd::new(fd);
            let (tx, rx) = std::sync::mpsc::channel();
            if let Ok(mut d) = done.lock() {
                *d = Some(rx);
            }
            let thread = std::thread::spawn(move || {
                let served = tracer.serve(&fd, |e| {
                    if let Ok(mut f) = on_event.lock() {
                        f(&e);
                    }
                });
                if let Err(e) = served {
                    tracing::warn!(error = %e, "the trace agent stopped");
                }
                let _ = tx.send(());
            });
            if let Ok(mut s) = slot.lock() {
                *s = Some(thread);
            }
        })
    }

    /// After the workload's exit: waits up to `timeout` for the serving thread to see the
    /// last process using the filter go, and joins it. Processes the workload left behind
    /// are not waited for beyond `timeout`. Returns whether the thread ended (`false` also
    /// when no fd was ever served).
    pub fn finish(&self, timeout: Duration) -> bool {
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        let done = self.done.lock().ok().and_then(|mut d| d.take());
        if let (Some(t), Some(done)) = (thread, done) {
            if done.recv_timeout(timeout).is_ok() {
                let _ = t.join();
                return true;
            }
        }
        false
    }
}
