//! The tables the lints read: risky syscalls, hot paths, families, vital calls.

/// Syscalls that hand a process a way around the container boundary or a large kernel
/// attack surface, with why.
pub(super) const RISKY: &[(&str, &str)] = &[
    (
        "ptrace",
        "inspects and rewrites other processes (and on kernels before 4.8 bypasses seccomp)",
    ),
    ("process_vm_writev", "writes another process's memory"),
    ("bpf", "loads programs into the kernel"),
    (
        "io_uring_setup",
        "creates an io_uring, whose rings carry operations (openat, connect, sendmsg, ...) \
         that seccomp never sees; Docker refuses io_uring since 25.0, containerd since 2.0",
    ),
    (
        "io_uring_enter",
        "submits io_uring operations (openat, connect, sendmsg, ...) that seccomp never sees",
    ),
    (
        "io_uring_register",
        "registers files and buffers with an io_uring, whose operations seccomp never sees",
    ),
    (
        "perf_event_open",
        "exposes kernel and hardware performance data; a frequent source of kernel bugs",
    ),
    (
        "keyctl",
        "reaches the kernel keyring, which is not namespaced",
    ),
    (
        "add_key",
        "adds to the kernel keyring, which is not namespaced",
    ),
    (
        "request_key",
        "reaches the kernel keyring, which is not namespaced",
    ),
    (
        "userfaultfd",
        "lets a process stall kernel code paths at will (a common exploit primitive)",
    ),
    ("kexec_load", "replaces the running kernel"),
    ("kexec_file_load", "replaces the running kernel"),
    ("init_module", "loads kernel modules"),
    ("finit_module", "loads kernel modules"),
    ("delete_module", "unloads kernel modules"),
    ("mount", "changes the mount table"),
    ("umount", "changes the mount table"),
    ("umount2", "changes the mount table"),
    ("move_mount", "changes the mount table"),
    ("open_tree", "clones mounts"),
    ("fsopen", "creates filesystem contexts"),
    ("fsmount", "mounts filesystems"),
    ("fsconfig", "configures filesystems"),
    ("fspick", "reconfigures mounted filesystems"),
    ("mount_setattr", "changes mount attributes"),
    ("pivot_root", "changes the root filesystem"),
    (
        "open_by_handle_at",
        "opens files by handle, past the mount namespace (the 'shocker' escape)",
    ),
    ("iopl", "gives direct I/O port access"),
    ("ioperm", "gives direct I/O port access"),
    ("swapon", "changes the host's swap"),
    ("swapoff", "changes the host's swap"),
    ("reboot", "reboots the host or its pid namespace"),
    ("acct", "turns on process accounting for the host"),
    ("settimeofday", "sets the host clock"),
    ("clock_settime", "sets the host clock"),
    ("lookup_dcookie", "reads kernel profiling data"),
    ("quotactl", "changes disk quotas"),
    ("vm86", "enters virtual 8086 mode"),
    ("vm86old", "enters virtual 8086 mode"),
];

/// Syscalls risky only without an argument filter: they create or join namespaces.
pub(super) const NAMESPACE_CALLS: &[&str] = &["unshare", "setns", "clone", "clone3"];

/// Syscalls a typical program makes so often that sending each to a supervisor costs tens
/// of microseconds per call and stalls the workload when the supervisor is slow.
pub(super) const HOT: &[&str] = &[
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "futex",
    "mmap",
    "munmap",
    "mprotect",
    "brk",
    "close",
    "fstat",
    "newfstatat",
    "statx",
    "lseek",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "clock_gettime",
    "gettimeofday",
    "nanosleep",
    "clock_nanosleep",
    "sched_yield",
    "getpid",
    "gettid",
    "recvfrom",
    "recvmsg",
    "sendto",
    "sendmsg",
    "rt_sigprocmask",
    "rt_sigaction",
    "rt_sigreturn",
    "openat",
    "fcntl",
    "ioctl",
];

/// Syscalls that do one job under several names: filtering one and not the others is a
/// filter that can be stepped around.
pub(super) const FAMILIES: &[&[&str]] = &[
    &["open", "openat", "openat2", "creat"],
    &["socket", "socketcall"],
    &["clone", "clone3", "fork", "vfork"],
    &["chmod", "fchmod", "fchmodat", "fchmodat2"],
    &["chown", "fchown", "lchown", "fchownat"],
    &["unlink", "unlinkat", "rmdir"],
    &["mkdir", "mkdirat"],
    &["mknod", "mknodat"],
    &["rename", "renameat", "renameat2"],
    &["link", "linkat"],
    &["symlink", "symlinkat"],
    &["execve", "execveat"],
    &["dup2", "dup3"],
    &["truncate", "ftruncate"],
    &["utime", "utimes", "utimensat", "futimesat"],
    &["access", "faccessat", "faccessat2"],
    &["mount", "move_mount", "fsmount"],
    &["kexec_load", "kexec_file_load"],
    &["init_module", "finit_module"],
];

/// The syscalls whose refusal makes every process die or hang.
pub(crate) const VITAL: &[(&str, &str)] = &[
    ("exit", "threads cannot end"),
    ("exit_group", "processes cannot end"),
    (
        "rt_sigreturn",
        "every signal handler return kills the process",
    ),
];
