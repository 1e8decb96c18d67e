//! A minimal seccomp agent: listen at a path, take each container's notify fd (runc's,
//! crun's and this crate's protocol), print every notification and let it through
//! (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`).
//!
//! ```text
//! cargo run -p oci-seccomp-load --example agent -- /tmp/agent.sock
//! ```
//!
//! Only root and the caller's uid may connect (the listener's default `AllowedPeers`).
//! CONTINUE is only safe where the syscall would be allowed anyway: a real agent decides
//! from the arguments, and never from memory the target can change after the check.

use oci_seccomp_load::notify::AgentListener;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: agent SOCKET_PATH")?;
    let listener = AgentListener::bind(&path)?;
    eprintln!("agent: listening at {path}");
    loop {
        let (state, fd) = match listener.accept() {
            Ok(got) => got,
            Err(e) => {
                eprintln!("agent: refused a connection: {e}");
                continue;
            }
        };
        eprintln!(
            "agent: container {} (pid {}) connected",
            state.state().id(),
            state.pid()
        );
        // `serve_each`: sync wake-up where the kernel has it, until the container's
        // processes are gone.
        std::thread::spawn(move || {
            let served = fd.serve_each(|n| {
                let name = n.syscall_name().unwrap_or_else(|| n.nr.to_string());
                println!(
                    "pid {} {}({:#x}, {:#x}, ...)",
                    n.pid, name, n.args[0], n.args[1]
                );
                let _ = fd.respond_continue(n.id);
                std::ops::ControlFlow::Continue(())
            });
            if let Err(e) = served {
                eprintln!("agent: {e}");
            }
        });
    }
}
