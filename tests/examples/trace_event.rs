//! Cost of one reported denial in trace mode: the child's syscall, the notification, the
//! agent's decision (the original program simulated, the deciding entry), the answer and
//! the report (`trace::Report`, as `run --trace --report FILE` keeps it: a JSON line per
//! event, identical ones counted after the first few) — against the same denial made by the kernel
//! alone. Interleaved, 11 rounds of 20,000 calls each; medians.
//! `cargo run --release -p oci-seccomp-tests --example trace_event`.
use std::time::{Duration, Instant};

use oci_seccomp::{compile, parse_profile, CompileOptions, Profile};
use oci_seccomp_load::launch::{Delivery, LaunchSeccomp};
use oci_seccomp_load::trace::{Mode, Report, ReportLimits, Tracer};
use oci_seccomp_load::{process_state, ContainerState, NotifyFd};

const N: u64 = 20_000;
const PROFILE: &str = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
    {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77}]}"#;

/// ns per denied getppid in a child; `traced` routes the denial to a Tracer here.
fn round(traced: bool) -> f64 {
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
            let t = Instant::now();
            for _ in 0..N {
                // SAFETY: getppid takes no arguments.
                unsafe { libc::syscall(libc::SYS_getppid) };
            }
            let ns = t.elapsed().as_nanos() as u64;
            let _ = nix::unistd::write(&wr, &ns.to_ne_bytes());
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
    let mut buf = [0u8; 8];
    let mut f = std::fs::File::from(rd);
    std::io::Read::read_exact(&mut f, &mut buf).unwrap();
    let _ = nix::sys::wait::waitpid(pid, None);
    if let Some(a) = agent {
        a.join().unwrap();
    }
    u64::from_ne_bytes(buf) as f64 / N as f64
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let (mut kernel, mut traced) = (Vec::new(), Vec::new());
    for _ in 0..11 {
        kernel.push(round(false));
        traced.push(round(true));
        std::thread::sleep(Duration::from_millis(10));
    }
    let (k, t) = (median(&mut kernel), median(&mut traced));
    println!("denied getppid, kernel ERRNO:           {:>9.0} ns", k);
    println!("denied getppid, traced (notify+report): {:>9.0} ns", t);
    println!(
        "per reported event (difference):        {:>9.2} us",
        (t - k) / 1000.0
    );
}
