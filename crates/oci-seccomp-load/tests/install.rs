//! Installing in forked children: privileges, TSYNC, flags, `initialize_seccomp`,
//! `features()`, and the kernel's notify structure sizes.

mod common;

use common::*;
use oci_seccomp_load::{initialize_seccomp, install, LoadError, SeccompError};
use serial_test::serial;

const DENY_GETPPID_77: &str = r#"{
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{ "names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77 }]
}"#;

fn getppid_raw() -> (i64, i32) {
    // SAFETY: getppid has no preconditions.
    let rc = unsafe { libc::syscall(libc::SYS_getppid) };
    (rc, errno())
}

#[test]
#[serial]
fn install_denies_in_child() {
    let program = program(&spec(DENY_GETPPID_77));
    let pid = fork_child(|| {
        set_nnp();
        match install(&program).map(|i| i.notify_fd) {
            Ok(None) => {}
            _ => return 2,
        }
        if getppid_raw() == (-1, 77) {
            0
        } else {
            1
        }
    });
    assert_exit_ok(wait_deadline(pid));
}

#[test]
#[serial]
fn tsync_applies_to_a_second_thread() {
    let json = r#"{
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
        "syscalls": [{ "names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77 }]
    }"#;
    let program = program(&spec(json));
    assert!(program.flags().contains(oci_seccomp::FilterFlags::TSYNC));
    let pid = fork_child(|| {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        set_nnp();
        let go = Arc::new(AtomicBool::new(false));
        let go2 = Arc::clone(&go);
        let second = std::thread::spawn(move || {
            while !go2.load(Ordering::Acquire) {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            getppid_raw()
        });
        if install(&program).is_err() {
            return 2;
        }
        go.store(true, Ordering::Release);
        let theirs = second.join().unwrap_or((0, 0));
        if theirs == (-1, 77) && getppid_raw() == (-1, 77) {
            0
        } else {
            1
        }
    });
    assert_exit_ok(wait_deadline(pid));
}

#[test]
#[serial]
fn tsync_with_notify_uses_tsync_esrch() {
    let json = r#"{
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
        "syscalls": [{ "names": ["getppid"], "action": "SCMP_ACT_NOTIFY" }]
    }"#;
    let program = program(&spec(json));
    let flags = oci_seccomp_load::effective_flags(&program);
    assert!(flags.contains(oci_seccomp::FilterFlags::TSYNC_ESRCH));
    assert!(flags.contains(oci_seccomp::FilterFlags::NEW_LISTENER));
    let pid = fork_child(|| {
        set_nnp();
        match install(&program).map(|i| i.notify_fd) {
            Ok(Some(_fd)) => 0,
            _ => 1,
        }
    });
    assert_exit_ok(wait_deadline(pid));
}

#[test]
#[serial]
fn without_nnp_and_cap_sys_admin_the_error_says_what_to_do() {
    let program = program(&spec(DENY_GETPPID_77));
    let s = spec(DENY_GETPPID_77);
    let (r, w) = nix::unistd::pipe().unwrap();
    let pid = fork_child(|| {
        if !drop_cap_sys_admin() {
            return 2;
        }
        let err = match install(&program) {
            Err(e) => e,
            Ok(_) => return 3,
        };
        if err != LoadError::NoPrivilege {
            return 4;
        }
        let via_init = matches!(
            initialize_seccomp(&s),
            Err(SeccompError::Load(LoadError::NoPrivilege))
        );
        let _ = nix::unistd::write(&w, err.to_string().as_bytes());
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let unfiltered = status
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Seccomp:", "0"]);
        // SAFETY: getppid has no preconditions.
        let still_allowed = unsafe { libc::syscall(libc::SYS_getppid) } > 0;
        if via_init && unfiltered && still_allowed {
            0
        } else {
            1
        }
    });
    drop(w);
    let status = wait_deadline(pid);
    let mut msg = String::new();
    std::io::Read::read_to_string(&mut std::fs::File::from(r), &mut msg).unwrap();
    assert_exit_ok(status);
    assert!(
        msg.contains(
            "set process.noNewPrivileges, or keep CAP_SYS_ADMIN until seccomp is installed"
        ),
        "{msg}"
    );
    assert!(
        msg.contains("no-new-privileges") && msg.contains("CAP_SYS_ADMIN"),
        "{msg}"
    );
}

#[test]
#[serial]
fn initialize_seccomp_youki_signature() {
    let deny = spec(DENY_GETPPID_77);
    let notify = spec(&notify_profile(&["getppid"]));
    let pid = fork_child(|| {
        set_nnp();
        let f: fn(&oci_seccomp::LinuxSeccomp) -> Result<Option<std::os::fd::RawFd>, SeccompError> =
            initialize_seccomp;
        if !matches!(f(&deny), Ok(None)) {
            return 2;
        }
        if getppid_raw() != (-1, 77) {
            return 3;
        }
        // A second filter with NOTIFY: the caller gets the raw fd.
        match oci_seccomp_load::initialize_seccomp_owned(&notify) {
            Ok(Some(fd)) => {
                let link = std::fs::read_link(format!(
                    "/proc/self/fd/{}",
                    std::os::fd::AsRawFd::as_raw_fd(&fd)
                ));
                if !link.is_ok_and(|l| l.to_string_lossy() == "anon_inode:seccomp notify") {
                    return 4;
                }
                0
            }
            _ => 5,
        }
    });
    assert_exit_ok(wait_deadline(pid));
}

#[test]
#[serial]
fn initialize_seccomp_compile_error_installs_nothing() {
    let bad = spec(r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#);
    let pid = fork_child(|| {
        set_nnp();
        match initialize_seccomp(&bad) {
            Err(SeccompError::Compile(_)) => {}
            _ => return 2,
        }
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        if status
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Seccomp:", "0"])
        {
            0
        } else {
            1
        }
    });
    assert_exit_ok(wait_deadline(pid));
}

#[test]
fn features_report() {
    use oci_seccomp::LinuxSeccompAction as A;
    let f = oci_seccomp_load::features_report();
    let oci = &f.oci;
    assert_eq!(oci, &oci_seccomp_load::features());
    assert_eq!(oci.enabled(), &Some(true));
    let actions = oci.actions().as_ref().unwrap();
    for a in [
        A::ScmpActAllow,
        A::ScmpActErrno,
        A::ScmpActNotify,
        A::ScmpActKillProcess,
        A::ScmpActLog,
    ] {
        assert!(actions.contains(&a), "{a:?} not known");
        assert!(
            f.supported_actions.contains(&a),
            "{a:?} not supported on this 6.x kernel"
        );
    }
    assert_eq!(oci.operators().as_ref().unwrap().len(), 7);
    assert!(oci.archs().as_ref().unwrap().iter().any(|a| matches!(
        a,
        oci_spec::runtime::Arch::ScmpArchX86_64 | oci_spec::runtime::Arch::ScmpArchAarch64
    )));
    let known = oci.known_flags().as_ref().unwrap();
    assert_eq!(known.len(), 4);
    // Linux 6.x: every known flag, WAIT_KILLABLE_RECV (6.0) included.
    assert_eq!(oci.supported_flags().as_ref(), Some(known));
    assert!(!f.libseccomp.version.is_empty());
    assert!(f.libseccomp.api_level >= 1);
    let v = serde_json::to_value(&f).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "enabled",
        "actions",
        "operators",
        "archs",
        "knownFlags",
        "supportedFlags",
        "libseccomp",
    ] {
        assert!(keys.contains(&k), "missing {k} in {v}");
    }
    assert!(v["libseccomp"]["apiLevel"].is_u64());
}

#[test]
fn flag_probe_knows_wait_killable_recv() {
    assert!(oci_seccomp_load::flag_supported(
        oci_seccomp::FilterFlags::WAIT_KILLABLE_RECV
    ));
    assert!(oci_seccomp_load::flag_supported(
        oci_seccomp::FilterFlags::TSYNC
    ));
    assert!(!oci_seccomp_load::flag_supported(
        oci_seccomp::FilterFlags::from_bits_retain(1 << 20)
    ));
}

#[test]
#[allow(clippy::unnecessary_cast)] // libc's `Ioctl` is c_ulong or c_int by target
fn notify_struct_sizes_match_the_kernel() {
    use oci_seccomp_load::notify::*;
    let (notif, resp, data) = kernel_notif_sizes().expect("SECCOMP_GET_NOTIF_SIZES");
    assert_eq!(usize::from(notif), std::mem::size_of::<SeccompNotif>());
    assert_eq!(usize::from(resp), std::mem::size_of::<SeccompNotifResp>());
    assert_eq!(usize::from(data), std::mem::size_of::<libc::seccomp_data>());
    assert_eq!(std::mem::size_of::<SeccompNotif>(), 80);
    assert_eq!(std::mem::size_of::<SeccompNotifResp>(), 24);
    assert_eq!(std::mem::size_of::<SeccompNotifAddfd>(), 24);
    if cfg!(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )) {
        assert_eq!(SECCOMP_IOCTL_NOTIF_RECV, 0xc050_2100);
        assert_eq!(SECCOMP_IOCTL_NOTIF_SEND, 0xc018_2101);
        assert_eq!(SECCOMP_IOCTL_NOTIF_ID_VALID, 0x4008_2102);
        assert_eq!(SECCOMP_IOCTL_NOTIF_ADDFD, 0x4018_2103);
        assert_eq!(SECCOMP_IOCTL_NOTIF_SET_FLAGS, 0x4008_2104);
    }
    // The request numbers are libc's own definitions for the target (PowerPC and MIPS
    // encode them differently); the literals above pin them on the generic layout.
}

/// A second thread with its own filter: TSYNC cannot synchronise it, and the error names
/// it — also with a listener, where the kernel (TSYNC_ESRCH) does not say which thread.
fn tsync_refused(with_notify: bool) {
    let rule = if with_notify {
        "SCMP_ACT_NOTIFY"
    } else {
        "SCMP_ACT_ERRNO"
    };
    let main_json = format!(
        r#"{{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
            "syscalls": [{{ "names": ["getppid"], "action": "{rule}" }}]}}"#
    );
    let main_prog = program(&spec(&main_json));
    let other_prog = program(&spec(DENY_GETPPID_77));
    let (r, w) = nix::unistd::pipe().unwrap();
    let pid = fork_child(|| {
        use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
        use std::sync::Arc;
        set_nnp();
        let ready = Arc::new(AtomicI32::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready2, stop2) = (Arc::clone(&ready), Arc::clone(&stop));
        let other = std::thread::spawn(move || {
            let ok = install(&other_prog).is_ok();
            // SAFETY: gettid has no preconditions.
            let tid = unsafe { libc::gettid() };
            ready2.store(if ok { tid } else { -1 }, Ordering::Release);
            while !stop2.load(Ordering::Acquire) {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        });
        while ready.load(Ordering::Acquire) == 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let other_tid = ready.load(Ordering::Acquire);
        let res = install(&main_prog);
        stop.store(true, Ordering::Release);
        let _ = other.join();
        let msg = match res {
            Err(e) => e.to_string(),
            Ok(_) => "installed".into(),
        };
        let _ = nix::unistd::write(&w, format!("{other_tid}\n{msg}").as_bytes());
        if matches!(res, Err(LoadError::TsyncFailed { tid: Some(t) }) if t == other_tid) {
            0
        } else {
            1
        }
    });
    drop(w);
    let status = wait_deadline(pid);
    let mut out = String::new();
    std::io::Read::read_to_string(&mut std::fs::File::from(r), &mut out).unwrap();
    assert_exit_ok(status);
    let (tid, msg) = out.split_once('\n').unwrap();
    assert!(msg.contains(&format!("thread {tid}")), "{msg}");
}

#[test]
#[serial]
fn tsync_refused_names_the_thread() {
    tsync_refused(false);
}

#[test]
#[serial]
fn tsync_refused_with_listener_names_the_thread() {
    tsync_refused(true);
}
