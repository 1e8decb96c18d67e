//! `diff`'s claims hold in the kernel: every witness call a difference prints, run in a
//! forked child under each profile's compiled program, gets the action the difference says
//! that profile decides (an errno exactly; ALLOW: what the call gets with no filter). And
//! the real cases: Docker 20.10's default against the current upstream default differs by
//! exactly the upstream changes.

use oci_seccomp::moby::{render, RenderOptions};
use oci_seccomp::{arch, diff, parse_profile, Action, Change};
use oci_seccomp_tests::docker::{current_docker_profile, upstream_docker_profile};
use oci_seccomp_tests::witnesses::{
    check_by_simulation, check_in_kernel, check_in_kernel_if, semantics,
};

#[test]
fn an_argument_boundary_is_one_region_whose_witness_the_kernel_decides_as_claimed() {
    // The probe child reports through write(2) and exits: an ALLOW default keeps it alive.
    let rule = |op: &str| {
        parse_profile(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["umask"],
                "action":"SCMP_ACT_ERRNO","errnoRet":5,
                "args":[{{"index":0,"value":5,"op":"{op}"}}]}}]}}"#
        ))
        .unwrap()
    };
    let (lt, le) = (rule("SCMP_CMP_LT"), rule("SCMP_CMP_LE"));
    let d = diff(&semantics(&lt), &semantics(&le)).unwrap();
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].witness.args[0], 5);
    assert_eq!(d[0].conditions, ["arg0 & 0xffffffff == 0x5"]);
    assert_eq!(
        (d[0].a.action, d[0].b.action),
        (Action::Allow, Action::Errno(5))
    );
    assert_eq!(d[0].change(), Change::Stricter);
    assert_eq!(check_in_kernel(&lt, &le, &d), 1);
}

#[test]
fn profiles_written_differently_that_decide_alike_are_equal() {
    let base = r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
      "syscalls":[
        {"names":["read","write","getppid"],"action":"SCMP_ACT_ALLOW"},
        {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[
            {"index":0,"value":0,"op":"SCMP_CMP_EQ"},{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
        {"names":["socket"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#;
    let rewritten = r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86","SCMP_ARCH_X86_64"],
      "syscalls":[
        {"names":["getppid"],"action":"SCMP_ACT_ALLOW"},
        {"names":["write","read","read"],"action":"SCMP_ACT_ALLOW"},
        {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
        {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"}]},
        {"names":["socket"],"action":"SCMP_ACT_ALLOW","args":[
            {"index":0,"value":18446744073709551615,"valueTwo":1,"op":"SCMP_CMP_MASKED_EQ"}]},
        {"names":["dup"],"action":"SCMP_ACT_ERRNO"}]}"#;
    let (a, b) = (
        parse_profile(base).unwrap(),
        parse_profile(rewritten).unwrap(),
    );
    let d = diff(&semantics(&a), &semantics(&b)).unwrap();
    assert!(d.is_empty(), "{d:#?}");
}

#[test]
fn one_more_allowed_syscall_is_one_region_per_abi() {
    // Both name the same syscalls, so that the ENOSYS stub covers the same numbers; the
    // child reports through write(2) and exits, which both allow.
    let a = parse_profile(r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
        "syscalls":[{"names":["write","exit","exit_group","rt_sigreturn"],"action":"SCMP_ACT_ALLOW"},
                    {"names":["getppid"],"action":"SCMP_ACT_ERRNO"}]}"#)
    .unwrap();
    let b = parse_profile(r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
        "syscalls":[{"names":["write","exit","exit_group","rt_sigreturn","getppid"],"action":"SCMP_ACT_ALLOW"}]}"#)
    .unwrap();
    let d = diff(&semantics(&a), &semantics(&b)).unwrap();
    let abis: Vec<_> = d.iter().map(|d| (d.abi, d.syscall.as_deref())).collect();
    assert_eq!(d.len(), 3, "{abis:?}");
    assert!(
        d.iter().all(|d| d.syscall.as_deref() == Some("getppid")),
        "{abis:?}"
    );
    assert!(d
        .iter()
        .all(|d| d.change() == Change::Looser && d.conditions.is_empty()));
    assert_eq!(check_in_kernel(&a, &b, &d), 1);
}

/// Docker 20.10's default (the Debian file) against the current upstream default, both
/// rendered for Docker's default capabilities on this host: the upstream changes, with the
/// witnesses checked in the kernel.
#[test]
fn docker_2010_against_current_upstream_differs_by_the_upstream_changes() {
    let opts = RenderOptions::host();
    let old = render(&upstream_docker_profile(), &opts).unwrap();
    let new = render(&current_docker_profile(), &opts).unwrap();
    let d = diff(&semantics(&old), &semantics(&new)).unwrap();
    let native = arch::native().name;
    // Exactly the upstream changes on the native ABI, each region named by its first and
    // last syscall, the AF_* value where socket's argument decides, and the change:
    let regions = |abi: &'static arch::ArchInfo| {
        let name = |nr: u32| arch::syscall_name(nr as i32, abi).unwrap_or_default();
        let mut got: Vec<(String, String, Option<u64>, Change)> = d
            .iter()
            .filter(|x| x.abi == Some(abi.name))
            .map(|x| {
                let arg0 = (!x.conditions.is_empty()).then_some(x.witness.args[0]);
                (name(x.numbers.0), name(x.numbers.1), arg0, x.change())
            })
            .collect();
        got.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        got
    };
    let name = |nr: u32| arch::syscall_name(nr as i32, arch::native()).unwrap_or_default();
    let one = |n: &str, arg0: Option<u64>, c| (n.to_string(), n.to_string(), arg0, c);
    let span = |a: &str, b: &str, c| (a.to_string(), b.to_string(), None, c);
    let mut want = vec![
        // moby#45766: name_to_handle_at allowed without CAP_SYS_ADMIN.
        one("name_to_handle_at", None, Change::Looser),
        // moby#46762: io_uring removed.
        span("io_uring_setup", "io_uring_register", Change::Stricter),
        // moby#43490: pkey_* allowed.
        span("pkey_mprotect", "pkey_free", Change::Looser),
        // process_vm_readv/writev allowed from kernel 4.8 without CAP_SYS_PTRACE.
        span("process_vm_readv", "process_vm_writev", Change::Looser),
        // socket(AF_ALG) and socket(AF_VSOCK) refused.
        one("socket", Some(38), Change::Stricter),
        one("socket", Some(40), Change::Stricter),
        // Newer calls allowed (cachestat onwards); the highest named number moved, so the
        // ENOSYS stub starts later and set_mempolicy_home_node gets the default's EPERM.
        span("cachestat", name(456).as_str(), Change::Looser),
        one("set_mempolicy_home_node", None, Change::Other),
    ];
    want.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    if native == "SCMP_ARCH_X86_64" {
        // The same changes on the 32-bit x86 ABI (its own numbers).
        for abi in [arch::native(), arch::by_name("SCMP_ARCH_X86").unwrap()] {
            assert_eq!(regions(abi), want, "{}: {d:#?}", abi.name);
        }
    } else {
        assert!(regions(arch::native()).len() >= 8, "{d:#?}");
    }
    assert!(check_in_kernel(&old, &new, &d) >= 8);
}

/// Docker's default against Podman's (containers-common's `seccomp.json`, installed by
/// `scripts/setup`), both rendered for Docker's default capabilities: every region's witness
/// is decided as claimed by both compiled programs, and the harmless ones in the kernel.
#[test]
fn docker_against_podman_every_witness_is_decided_as_claimed() {
    let podman_path = "/usr/share/containers/seccomp.json";
    let text = std::fs::read_to_string(podman_path).unwrap_or_else(|e| {
        panic!("{podman_path}: {e} (./scripts/setup installs golang-github-containers-common)")
    });
    let opts = RenderOptions::host();
    let docker = render(&upstream_docker_profile(), &opts).unwrap();
    let podman = render(&oci_seccomp::moby::parse_moby(&text).unwrap(), &opts).unwrap();
    let d = diff(&semantics(&docker), &semantics(&podman)).unwrap();
    assert!(d.len() > 20, "{d:#?}");
    // Podman's profile answers ENOSYS by default where Docker's answers EPERM: a change,
    // not a loosening.
    assert!(d.iter().any(|x| x.change() == Change::Other));
    check_by_simulation(&docker, &podman, &d);
    // Syscalls that, with the witness's arguments, do nothing to the test process.
    const HARMLESS: &[&str] = &[
        "syslog",
        "pivot_root",
        "reboot",
        "mount",
        "umount2",
        "keyctl",
        "setns",
        "name_to_handle_at",
        "process_vm_readv",
        "process_vm_writev",
        "pkey_mprotect",
        "pkey_alloc",
        "pkey_free",
        "vmsplice",
        "io_pgetevents",
        "pidfd_getfd",
        "_sysctl",
        "create_module",
        "get_kernel_syms",
        "quotactl_fd",
        "add_key",
        "request_key",
        "open_tree",
        "move_mount",
        "fsopen",
        "fsconfig",
        "fsmount",
        "fspick",
        "mount_setattr",
    ];
    let run = check_in_kernel_if(&docker, &podman, &d, |x| {
        x.syscall.as_deref().is_some_and(|n| HARMLESS.contains(&n))
    });
    assert!(run >= 5, "{run} witnesses run in the kernel");
}

/// On x86_64's audit value, x32 calls are those with bit 30: a region's numbers and its
/// ABI say so, never a range that reaches into the other ABI's numbers.
#[test]
fn x32_regions_hold_only_x32_numbers() {
    let with = parse_profile(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X32"],
        "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ALLOW"}]}"#,
    )
    .unwrap();
    let without = parse_profile(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
        "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ALLOW"}]}"#,
    )
    .unwrap();
    let d = diff(&semantics(&with), &semantics(&without)).unwrap();
    assert!(!d.is_empty());
    for x in &d {
        let bit30 = |n: u32| n & 0x4000_0000 != 0 && n != u32::MAX;
        let x32 = x.abi == Some("SCMP_ARCH_X32");
        assert_eq!(bit30(x.numbers.0), x32, "{x:?}");
        assert_eq!(bit30(x.numbers.1), x32, "{x:?}");
        assert_eq!(bit30(x.witness.nr as u32), x32, "{x:?}");
    }
    check_by_simulation(&with, &without, &d);
}

/// A socket call through `socketcall` whose syscall has conditions: the profile accepts
/// its action "or stricter" (the filter cannot read the real arguments); the difference
/// says so on the side that has it, and it is not counted as looser.
#[test]
fn an_or_stricter_answer_is_shown_and_is_not_looser() {
    let a = parse_profile(r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
        "syscalls":[{"names":["socket"],"action":"SCMP_ACT_TRAP","args":[{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]},
                    {"names":["socketcall"],"action":"SCMP_ACT_TRAP"}]}"#)
    .unwrap();
    let b = parse_profile(r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
        "syscalls":[{"names":["socket"],"action":"SCMP_ACT_TRAP","args":[{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]},
                    {"names":["socketcall"],"action":"SCMP_ACT_TRAP","args":[{"index":0,"value":1,"op":"SCMP_CMP_NE"}]}]}"#)
    .unwrap();
    let d = diff(&semantics(&a), &semantics(&b)).unwrap();
    assert_eq!(d.len(), 1, "{d:#?}");
    assert!(d[0].b.at_least && !d[0].a.at_least, "{d:#?}");
    assert_eq!(d[0].change(), Change::Stricter);
    check_by_simulation(&a, &b, &d);
}
