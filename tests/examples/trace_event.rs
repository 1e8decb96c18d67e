//! Cost of one reported denial in trace mode: the child's syscall, the notification, the
//! agent's decision (the original program simulated, the deciding entry), the answer and
//! the report (`trace::Report`, as `run --trace --report FILE` keeps it: a JSON line per
//! event, identical ones counted after the first few) — against the same denial made by the kernel
//! alone, and against the floor: the same notifications answered by the trace agent's loop
//! doing nothing else (receive, answer ERRNO). Interleaved (each round in another order), 15 rounds of 20,000 calls each;
//! medians. Every call is checked to fail with the profile's errno.
//! `cargo run --release -p oci-seccomp-tests --example trace_event`.
use std::time::{Duration, Instant};

use oci_seccomp::{compile, parse_profile, CompileOptions, Profile};
use oci_seccomp_load::launch::{Delivery, LaunchSeccomp};
use oci_seccomp_load::trace::{Mode, Report, ReportLimits, Tracer};
use oci_seccomp_load::{process_state, ContainerState, NotifyFd};

const N: u64 = 20_000;
const PROFILE: &str = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
    {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77}]}"#;

/// Who answers the child's denied calls.
#[derive(Clone, Copy, PartialEq)]
enum Agent {
    /// Nobody: the kernel returns the errno.
    Kernel,
    /// A loop that receives and answers ERRNO, nothing else (the round trip's floor).
    Bare,
    /// The trace agent, reporting each event.
    Tracer,
}

/// ns per denied getppid in a child; unless `who` is `Kernel`, the denial is routed to
/// an agent here. Panics unless every call failed with the profile's errno.
fn round(who: Agent) -> f64 {
    let traced = who != Agent::Kernel;
    let spec = parse_profile(PROFILE).unwrap();
    let options = CompileOptions::default();
    let original = compile(&spec, &options).unwrap();
    let profile = Profile::from_oci(&spec, false).unwrap();
    let program = if traced {
        oci_seccomp::trace::route_denials(&original).unwrap()
    } else {
        original.clone()
    };
    let tracer = Tracer::new(original, &profile, &options, Mode::Trace);
    let (parent, child) = LaunchSeccomp::with_agent(program, None).unwrap().split();
    let (rd, wr) = nix::unistd::pipe().unwrap();
    // SAFETY: the child installs (no allocation), makes raw syscalls, writes and exits.
    let pid = match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            // SAFETY: prctl with integer arguments.
            unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
            if child.install().is_err() {
                // SAFETY: _exit ends the child.
                unsafe { libc::_exit(2) };
            }
            let mut wrong = 0u64;
            let t = Instant::now();
            for _ in 0..N {
                // SAFETY: getppid takes no arguments.
                if unsafe { libc::syscall(libc::SYS_getppid) } != -1
                    || std::io::Error::last_os_error().raw_os_error() != Some(77)
                {
                    wrong += 1;
                }
            }
            let ns = t.elapsed().as_nanos() as u64;
            let mut out = [0u8; 16];
            out[..8].copy_from_slice(&ns.to_ne_bytes());
            out[8..].copy_from_slice(&wrong.to_ne_bytes());
            let _ = nix::unistd::write(&wr, &out);
            // SAFETY: as above.
            unsafe { libc::_exit(0) };
        }
        nix::unistd::ForkResult::Parent { child } => child,
    };
    drop(wr);
    let state = process_state(
        pid.as_raw(),
        "",
        "bench",
        ContainerState::Creating,
        "/",
        Default::default(),
    );
    let agent = match parent.complete(pid.as_raw(), state).unwrap() {
        Delivery::Fd { notify_fd, .. } => Some(std::thread::spawn(move || {
            let fd = NotifyFd::new(notify_fd);
            if who == Agent::Bare {
                // The trace agent's loop (`Tracer::serve`) without its work.
                fd.serve_each(|n| {
                    let _ = fd.respond_errno(n.id, 77);
                    std::ops::ControlFlow::Continue(())
                })
                .unwrap();
                return;
            }
            // As `run --trace --report FILE` writes it: identical events counted after
            // the first few, within the size limit.
            let mut report = Report::new(
                // A new file of our own (not a fixed name under /tmp, which another user
                // could have made a link to somewhere else).
                std::io::BufWriter::new(tempfile::tempfile().unwrap()),
                "bench",
                ReportLimits::default(),
            );
            tracer
                .serve(&fd, |e| {
                    let _ = report.record(&e);
                })
                .unwrap();
            report.finish().unwrap();
        })),
        _ => None,
    };
    let mut buf = [0u8; 16];
    let mut f = std::fs::File::from(rd);
    std::io::Read::read_exact(&mut f, &mut buf).unwrap();
    let _ = nix::sys::wait::waitpid(pid, None);
    if let Some(a) = agent {
        a.join().unwrap();
    }
    let [ns, wrong] = [&buf[..8], &buf[8..]].map(|b| u64::from_ne_bytes(b.try_into().unwrap()));
    assert_eq!(wrong, 0, "calls that did not fail with errno 77");
    ns as f64 / N as f64
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let (mut kernel, mut bare, mut traced) = (Vec::new(), Vec::new(), Vec::new());
    // Each round in another order, so that no agent always follows the same one.
    let order = [Agent::Kernel, Agent::Bare, Agent::Tracer];
    for r in 0..15 {
        for k in 0..3 {
            let who = order[(r + k) % 3];
            let ns = round(who);
            match who {
                Agent::Kernel => kernel.push(ns),
                Agent::Bare => bare.push(ns),
                Agent::Tracer => traced.push(ns),
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let (k, b, t) = (median(&mut kernel), median(&mut bare), median(&mut traced));
    println!("denied getppid, kernel ERRNO:           {:>9.0} ns", k);
    println!("denied getppid, bare agent (floor):     {:>9.0} ns", b);
    println!("denied getppid, traced (notify+report): {:>9.0} ns", t);
    println!(
        "per reported event (difference):        {:>9.2} us (floor {:.2} us)",
        (t - k) / 1000.0,
        (b - k) / 1000.0
    );
}
