//! A runtime's fork/exec with the composed API: run a command under a profile, and hand
//! the notify fd to the agent at the profile's `listenerPath` (start `agent` first).
//!
//! ```text
//! cargo run -p oci-seccomp-load --example agent -- /tmp/agent.sock &
//! cargo run -p oci-seccomp-load --example runtime -- profile.json mkdir /tmp/x
//! ```
//!
//! The child sets no-new-privileges (so no privilege is needed), installs the filter and
//! execs; the parent delivers the fd, waits, and exits with the command's status.

use std::ffi::CString;
use std::process::ExitCode;

use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};
use oci_seccomp_load::launch::{Delivery, LaunchSeccomp};
use oci_seccomp_load::{process_state, AllowedPeers, ContainerState};

fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [profile, command @ ..] = args.as_slice() else {
        return Err("usage: runtime PROFILE.json COMMAND [ARG...]".into());
    };
    if command.is_empty() {
        return Err("usage: runtime PROFILE.json COMMAND [ARG...]".into());
    }
    // Everything that allocates happens before the fork.
    let spec = oci_seccomp::parse_profile(&std::fs::read_to_string(profile)?)?;
    let program = oci_seccomp::compile(&spec, &oci_seccomp::CompileOptions::default())?;
    let argv: Vec<CString> = command
        .iter()
        .map(|a| CString::new(a.as_str()))
        .collect::<Result<_, _>>()?;
    let (parent, child) = LaunchSeccomp::new(program, &spec, &AllowedPeers::default())?.split();

    // SAFETY: the child only calls async-signal-safe functions (prctl, the install, which
    // makes no allocation, execvp and _exit) before it execs or exits.
    match unsafe { fork() }? {
        ForkResult::Child => {
            drop(parent);
            // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) takes integers only.
            if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0
                || child.install().is_err()
            {
                // SAFETY: _exit is async-signal-safe.
                unsafe { libc::_exit(126) };
            }
            let _ = nix::unistd::execvp(&argv[0], &argv);
            // SAFETY: as above.
            unsafe { libc::_exit(127) };
        }
        ForkResult::Parent { child: pid } => {
            drop(child);
            let state = process_state(
                pid.as_raw(),
                spec.listener_metadata().clone().unwrap_or_default(),
                "example",
                ContainerState::Creating,
                std::env::current_dir()?,
                Default::default(),
            );
            match parent.complete(pid.as_raw(), state) {
                Ok(Delivery::Fd { .. }) => {
                    eprintln!("runtime: NOTIFY rules but no listenerPath: the command was stopped");
                    let _ = nix::sys::signal::kill(pid, nix::sys::signal::SIGKILL);
                }
                Ok(delivery) => eprintln!("runtime: {delivery:?}"),
                Err(e) => eprintln!("runtime: {e}"),
            }
            Ok(match waitpid(pid, None)? {
                WaitStatus::Exited(_, code) => ExitCode::from(code as u8),
                WaitStatus::Signaled(_, sig, _) => ExitCode::from(128 + sig as u8),
                _ => ExitCode::FAILURE,
            })
        }
    }
}
