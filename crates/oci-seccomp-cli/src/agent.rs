//! The in-process agent of `run --trace`/`--complain` and `record`: the routed filter, a
//! [`Tracer`] serving the notify fd from a thread, and the caller's event handler.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use oci_seccomp::{LinuxSeccomp, Program};
use oci_seccomp_load::trace::{Event, Mode, Report, ReportLimits, Tracer};
use oci_seccomp_load::NotifyFd;
use oci_seccomp_runtime::NotifyHandler;

use crate::util;
use crate::{CliError, CliResult};

/// The caller's handler of each event, shared with the serving thread.
type OnEvent = Arc<Mutex<Box<dyn FnMut(&Event) + Send>>>;

/// What the launcher needs (the routed program, a notify-fd handler) and the thread that
/// serves the fd.
pub struct Agent {
    routed: Program,
    tracer: Arc<Tracer>,
    on_event: OnEvent,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
    /// Signalled by the serving thread when it ends.
    done: Arc<Mutex<Option<std::sync::mpsc::Receiver<()>>>>,
}

impl Agent {
    /// Routes the denials of `original` (compiled from `spec`) to an agent in this process
    /// that answers in `mode` and hands each event to `on_event`.
    pub fn start(
        spec: &LinuxSeccomp,
        original: Program,
        mode: Mode,
        on_event: impl FnMut(&Event) + Send + 'static,
    ) -> CliResult<Self> {
        let routed = oci_seccomp::trace::route_denials(&original)
            .map_err(|e| CliError::problem(format!("cannot route this profile's denials: {e}")))?;
        // Validated quietly: the compile of `original` logged its warnings once already.
        let profile = util::quietly(|| oci_seccomp::Profile::from_oci(spec, false))
            .map_err(|e| util::compile_error("profile", &e))?;
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

    /// The filter to install.
    pub fn routed(&self) -> &Program {
        &self.routed
    }

    /// The launcher's notify-fd handler: serves the fd from a thread of this process.
    pub fn handler(&self) -> NotifyHandler {
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

    /// After the workload's exit: waits up to 2 s for the agent to see the last process
    /// using the filter go (processes the workload left behind are not waited for).
    pub fn finish(&self) {
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        let done = self.done.lock().ok().and_then(|mut d| d.take());
        if let (Some(t), Some(done)) = (thread, done) {
            if done.recv_timeout(Duration::from_secs(2)).is_ok() {
                let _ = t.join();
            }
        }
    }
}

/// `run --trace` / `--complain`: launches `plan` under the routed form of `original`,
/// writes each event as a JSON line (to `report`, else stderr) within `limits` (identical
/// events counted after the first few, the size capped), and returns the exit and the
/// summary, which counts every call.
pub fn run_traced(
    plan: oci_seccomp_runtime::LaunchPlan,
    original: Program,
    listener: Option<std::os::unix::net::UnixStream>,
    mode: Mode,
    report: Option<&std::path::Path>,
    limits: ReportLimits,
) -> CliResult<(oci_seccomp_runtime::Exit, String)> {
    let spec = plan
        .seccomp()
        .cloned()
        .ok_or_else(|| CliError::usage("--trace and --complain need a seccomp profile"))?;
    let shown = || report.map(|p| p.display().to_string()).unwrap_or_default();
    let sink = crate::report::Sink::open(report)
        .map_err(|e| CliError::problem(format!("--report {}: {e}", shown())))?;
    let summary = Arc::new(Mutex::new(crate::report::Summary::default()));
    let lines = Arc::new(Mutex::new(Some(Report::new(sink, plan.id(), limits))));
    let (seen, written) = (Arc::clone(&summary), Arc::clone(&lines));
    let agent = Agent::start(&spec, original, mode, move |e| {
        if let Ok(mut r) = written.lock() {
            if let Some(r) = r.as_mut() {
                // A failed write (a full disk) loses lines, never the summary's counts.
                let _ = r.record(e);
            }
        }
        if let Ok(mut s) = seen.lock() {
            s.add(e);
        }
    })?;
    let launcher = oci_seccomp_runtime::Launcher::new(plan, Some(agent.routed().clone()), listener)
        .map_err(crate::run::plan_error)?
        .with_notify_handler(agent.handler());
    let exit = launcher.run().map_err(crate::run::launch_error)?;
    agent.finish();
    let stats = lines
        .lock()
        .ok()
        .and_then(|mut r| r.take())
        .map(|r| r.finish())
        .transpose()
        .map_err(|e| CliError::problem(format!("--report {}: {e}", shown())))?
        .unwrap_or_default();
    let mut text = summary.lock().map(|s| s.render(mode)).unwrap_or_default();
    text.push_str(&crate::report::left_out(&stats, limits.max_bytes));
    Ok((exit, text))
}
