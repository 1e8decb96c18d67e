//! youki's seccomp tests, ported to run against `youki_compat::seccomp` (which is
//! `oci-seccomp-load`), plus the cases where the swap must keep youki's behaviour: NOTIFY
//! as the default and on the handoff's syscalls (`write`, `sendmsg`, ...) refused, and
//! `is_notify` agreeing with the fd returned.

use std::os::fd::{FromRawFd, OwnedFd};

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompBuilder, LinuxSyscallBuilder,
};
use serial_test::serial;
use youki_compat::seccomp::{initialize_seccomp, is_notify, SeccompError};
use youki_compat::{init_seccomp, InitProcessError};

/// youki's `test_utils::test_in_child_process`: runs `f` in a forked child and fails the
/// test when it returns an error, panics, dies or hangs.
fn in_child(f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let pid = oci_seccomp_test_support::fork_child(|| match f() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("child: {e}");
            1
        }
    });
    match oci_seccomp_test_support::wait_within(pid, oci_seccomp_test_support::DEADLINE) {
        Some(nix::sys::wait::WaitStatus::Exited(_, 0)) => Ok(()),
        Some(status) => Err(format!("the child failed ({status:?})")),
        None => Err("the child did not finish in time (killed)".into()),
    }
}

fn profile(names: &[&str], action: LinuxSeccompAction, errno: Option<u32>) -> LinuxSeccomp {
    let mut b = LinuxSyscallBuilder::default()
        .names(names.iter().map(|n| (*n).to_string()).collect::<Vec<_>>())
        .action(action);
    if let Some(e) = errno {
        b = b.errno_ret(e);
    }
    LinuxSeccompBuilder::default()
        .default_action(LinuxSeccompAction::ScmpActAllow)
        .architectures(vec![Arch::ScmpArchNative])
        .syscalls(vec![b.build().unwrap()])
        .build()
        .unwrap()
}

#[test]
#[serial]
fn test_basic() -> Result<(), String> {
    // An errno getcwd never returns on its own.
    let expect = libc::EAGAIN;
    let p = profile(
        &["getcwd"],
        LinuxSeccompAction::ScmpActErrno,
        Some(expect as u32),
    );
    in_child(|| {
        prctl::set_no_new_privileges(true).map_err(|e| format!("prctl: {e}"))?;
        initialize_seccomp(&p).map_err(|e| e.to_string())?;
        match nix::unistd::getcwd() {
            Err(e) if e == nix::errno::Errno::from_raw(expect) => Ok(()),
            other => Err(format!("getcwd gave {other:?}, not EAGAIN")),
        }
    })
}

#[test]
#[serial]
fn test_moby() -> Result<(), String> {
    // youki loads a config.json carrying Docker's default profile; ours is rendered from
    // the embedded Docker-format default for this host.
    let p = oci_seccomp::moby::render_default(&oci_seccomp::moby::RenderOptions::host())
        .map_err(|e| e.to_string())?;
    in_child(|| {
        prctl::set_no_new_privileges(true).map_err(|e| format!("prctl: {e}"))?;
        initialize_seccomp(&p).map_err(|e| e.to_string())?;
        Ok(())
    })
}

#[test]
#[serial]
fn test_seccomp_notify() -> Result<(), String> {
    let p = profile(&["getcwd"], LinuxSeccompAction::ScmpActNotify, None);
    assert!(is_notify(&p));
    in_child(|| {
        prctl::set_no_new_privileges(true).map_err(|e| format!("prctl: {e}"))?;
        let fd = initialize_seccomp(&p).map_err(|e| e.to_string())?;
        // SAFETY: the fd was just returned to us and nobody else owns it.
        let _fd = fd
            .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
            .ok_or("no notify fd for a NOTIFY profile")?;
        Ok(())
    })
}

#[test]
#[serial]
fn notify_as_default_action_is_refused() {
    let mut p = profile(&["getcwd"], LinuxSeccompAction::ScmpActAllow, None);
    p.set_default_action(LinuxSeccompAction::ScmpActNotify);
    // Compiling fails before anything is installed, so no child is needed.
    let e = initialize_seccomp(&p).unwrap_err();
    assert!(matches!(e, SeccompError::Compile(_)), "{e}");
}

#[test]
#[serial]
fn notify_on_handoff_syscalls_is_refused_and_names_the_safe_api() {
    // youki refuses `write` only; it sends the fd with `sendmsg`, so NOTIFY there would hang
    // its init. The others are the remaining ways to put bytes or fds on a socket or pipe.
    let names = ["write", "writev", "send", "sendto", "sendmsg", "sendmmsg"];
    let mut listed = oci_seccomp_load::HANDOFF_SYSCALLS.to_vec();
    listed.sort_unstable();
    let mut expected = names.to_vec();
    expected.sort_unstable();
    assert_eq!(listed, expected);
    for name in names {
        let p = profile(&[name], LinuxSeccompAction::ScmpActNotify, None);
        let e = initialize_seccomp(&p).unwrap_err();
        assert!(
            matches!(&e, SeccompError::NotifyOnHandoffSyscall { name: n, .. } if n == name),
            "{e}"
        );
        assert!(e.to_string().contains("oci_seccomp_load::Launch"), "{e}");
        // The error flows into youki's error enum through `#[from]`.
        let wrapped: InitProcessError = e.into();
        assert!(matches!(wrapped, InitProcessError::Seccomp(_)));
    }
}

#[test]
#[serial]
fn is_notify_agrees_with_the_fd_returned() -> Result<(), String> {
    // A NOTIFY entry whose only name libseccomp does not know installs nothing.
    let p = profile(
        &["no_such_syscall_at_all"],
        LinuxSeccompAction::ScmpActNotify,
        None,
    );
    assert!(!is_notify(&p));
    in_child(|| {
        prctl::set_no_new_privileges(true).map_err(|e| format!("prctl: {e}"))?;
        match initialize_seccomp(&p).map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(_) => Err("an fd for a profile is_notify called plain".into()),
        }
    })?;
    // youki's init refuses a NOTIFY profile without a listener path before installing.
    let p = profile(&["getcwd"], LinuxSeccompAction::ScmpActNotify, None);
    assert!(matches!(
        init_seccomp(&p),
        Err(InitProcessError::NoListenerPath)
    ));
    Ok(())
}
