//! How wide the kernel reads each syscall argument.
//!
//! A seccomp filter sees every argument as a 64-bit register value, and libseccomp
//! compares all 64 bits on 64-bit ABIs. The kernel, though, reads many arguments as a
//! 32-bit `int` or `unsigned int` (or a 16-bit `umode_t`): the upper bits are thrown away
//! before the syscall runs. So a condition such as `ioctl` `arg1 EQ 0x541b` (FIONREAD)
//! does not match `0x1_0000_541b`, which the kernel still runs as FIONREAD. The fix is
//! `SCMP_CMP_MASKED_EQ` with the mask (`value`) `0xffffffff` (`0xffff` for a 16-bit
//! argument): it compares only the bits the kernel reads.
//!
//! # Source
//!
//! The argument types are those of the syscalls' definitions in the Linux kernel:
//! `include/linux/syscalls.h` (the `asmlinkage long sys_*(...)` prototypes) and the
//! `SYSCALL_DEFINEn(name, type, arg, ...)` definitions they declare (for example
//! `fs/ioctl.c`, `net/socket.c`, `kernel/sys.c`, `fs/fcntl.c`), as of Linux 6.1. The
//! width of a type: `umode_t` is `unsigned short` (16 bits); `int`, `unsigned int`,
//! `unsigned`, `u32`, `pid_t`, `uid_t`, `gid_t`, `key_t`, `key_serial_t`, `clockid_t`,
//! `qid_t` are 32 bits; `long`, `unsigned long`, `size_t`, `off_t`, `loff_t`, `u64` and
//! pointers are the full register.
//!
//! # Per ABI
//!
//! The same definitions serve every ABI; what differs is the comparison. On 64-bit ABIs
//! (x86_64, aarch64, ppc64, s390x, riscv64, mips64...) libseccomp compares all 64 bits of
//! the register, so a narrower argument can be dodged with its upper bits. On 32-bit ABIs
//! (x86, arm, ...) and on x32 and MIPS n32, libseccomp compares only the low word
//! ([`ArchInfo::narrow_args`]), which is all the kernel reads of a 32-bit argument:
//! [`dodgeable_bits`] says `None` there.
//! Syscalls that some ABIs reach through a compat wrapper with other types (x32's
//! `compat_sys_ioctl` takes a 32-bit `arg`) keep the native types here: the table errs on
//! the side of the wider type, so it never warns about a comparison that cannot be dodged.

use crate::arch::ArchInfo;

/// The arguments of a syscall as its `SYSCALL_DEFINE` declares them: `"type name"`.
#[rustfmt::skip]
const TABLE: &[(&str, &[&str])] = &[
    // fs/read_write.c, fs/open.c, fs/ioctl.c, fs/fcntl.c, fs/locks.c, fs/file.c
    ("read", &["unsigned int fd", "char *buf", "size_t count"]),
    ("write", &["unsigned int fd", "const char *buf", "size_t count"]),
    ("pread64", &["unsigned int fd", "char *buf", "size_t count", "loff_t pos"]),
    ("pwrite64", &["unsigned int fd", "const char *buf", "size_t count", "loff_t pos"]),
    ("lseek", &["unsigned int fd", "off_t offset", "unsigned int whence"]),
    ("open", &["const char *filename", "int flags", "umode_t mode"]),
    ("openat", &["int dfd", "const char *filename", "int flags", "umode_t mode"]),
    ("openat2", &["int dfd", "const char *filename", "struct open_how *how", "size_t usize"]),
    ("creat", &["const char *pathname", "umode_t mode"]),
    ("close", &["unsigned int fd"]),
    ("close_range", &["unsigned int fd", "unsigned int max_fd", "unsigned int flags"]),
    ("ioctl", &["unsigned int fd", "unsigned int cmd", "unsigned long arg"]),
    ("fcntl", &["unsigned int fd", "unsigned int cmd", "unsigned long arg"]),
    // fs/read_write.c: declared `unsigned long fd`, looked up as an `unsigned int`.
    ("readv", &["unsigned int fd", "const struct iovec *vec", "unsigned long vlen"]),
    ("writev", &["unsigned int fd", "const struct iovec *vec", "unsigned long vlen"]),
    ("preadv", &["unsigned int fd", "const struct iovec *vec", "unsigned long vlen", "unsigned long pos_l", "unsigned long pos_h"]),
    ("pwritev", &["unsigned int fd", "const struct iovec *vec", "unsigned long vlen", "unsigned long pos_l", "unsigned long pos_h"]),
    ("preadv2", &["unsigned int fd", "const struct iovec *vec", "unsigned long vlen", "unsigned long pos_l", "unsigned long pos_h", "int flags"]),
    ("pwritev2", &["unsigned int fd", "const struct iovec *vec", "unsigned long vlen", "unsigned long pos_l", "unsigned long pos_h", "int flags"]),
    ("flock", &["unsigned int fd", "unsigned int cmd"]),
    ("dup", &["unsigned int fildes"]),
    ("dup2", &["unsigned int oldfd", "unsigned int newfd"]),
    ("dup3", &["unsigned int oldfd", "unsigned int newfd", "int flags"]),
    ("fsync", &["unsigned int fd"]),
    ("fdatasync", &["unsigned int fd"]),
    ("fchdir", &["unsigned int fd"]),
    ("ftruncate", &["unsigned int fd", "off_t length"]),
    ("fallocate", &["int fd", "int mode", "loff_t offset", "loff_t len"]),
    ("fadvise64", &["int fd", "loff_t offset", "size_t len", "int advice"]),
    ("sync_file_range", &["int fd", "loff_t offset", "loff_t nbytes", "unsigned int flags"]),
    ("getdents64", &["unsigned int fd", "struct linux_dirent64 *dirent", "unsigned int count"]),
    ("newfstatat", &["int dfd", "const char *filename", "struct stat *statbuf", "int flag"]),
    ("statx", &["int dfd", "const char *filename", "unsigned flags", "unsigned int mask", "struct statx *buffer"]),
    ("access", &["const char *filename", "int mode"]),
    ("faccessat", &["int dfd", "const char *filename", "int mode"]),
    ("faccessat2", &["int dfd", "const char *filename", "int mode", "int flags"]),
    ("chmod", &["const char *filename", "umode_t mode"]),
    ("fchmod", &["unsigned int fd", "umode_t mode"]),
    ("fchmodat", &["int dfd", "const char *filename", "umode_t mode"]),
    ("fchmodat2", &["int dfd", "const char *filename", "umode_t mode", "unsigned int flags"]),
    ("chown", &["const char *filename", "uid_t user", "gid_t group"]),
    ("lchown", &["const char *filename", "uid_t user", "gid_t group"]),
    ("fchown", &["unsigned int fd", "uid_t user", "gid_t group"]),
    ("fchownat", &["int dfd", "const char *filename", "uid_t user", "gid_t group", "int flag"]),
    ("mkdir", &["const char *pathname", "umode_t mode"]),
    ("mkdirat", &["int dfd", "const char *pathname", "umode_t mode"]),
    ("mknod", &["const char *filename", "umode_t mode", "unsigned dev"]),
    ("mknodat", &["int dfd", "const char *filename", "umode_t mode", "unsigned int dev"]),
    ("unlinkat", &["int dfd", "const char *pathname", "int flag"]),
    ("renameat2", &["int olddfd", "const char *oldname", "int newdfd", "const char *newname", "unsigned int flags"]),
    ("linkat", &["int olddfd", "const char *oldname", "int newdfd", "const char *newname", "int flags"]),
    ("umask", &["int mask"]),
    ("pipe2", &["int *fildes", "int flags"]),
    ("tee", &["int fdin", "int fdout", "size_t len", "unsigned int flags"]),
    ("splice", &["int fd_in", "loff_t *off_in", "int fd_out", "loff_t *off_out", "size_t len", "unsigned int flags"]),
    ("vmsplice", &["int fd", "const struct iovec *uiov", "unsigned long nr_segs", "unsigned int flags"]),
    ("copy_file_range", &["int fd_in", "loff_t *off_in", "int fd_out", "loff_t *off_out", "size_t len", "unsigned int flags"]),
    ("sendfile", &["int out_fd", "int in_fd", "loff_t *offset", "size_t count"]),
    ("memfd_create", &["const char *uname", "unsigned int flags"]),
    ("eventfd2", &["unsigned int count", "int flags"]),
    ("epoll_create1", &["int flags"]),
    ("epoll_ctl", &["int epfd", "int op", "int fd", "struct epoll_event *event"]),
    ("inotify_init1", &["int flags"]),
    ("inotify_add_watch", &["int fd", "const char *pathname", "u32 mask"]),
    ("signalfd4", &["int ufd", "sigset_t *user_mask", "size_t sizemask", "int flags"]),
    ("timerfd_create", &["int clockid", "int flags"]),
    ("userfaultfd", &["int flags"]),
    ("fanotify_init", &["unsigned int flags", "unsigned int event_f_flags"]),
    ("fanotify_mark", &["int fanotify_fd", "unsigned int flags", "u64 mask", "int dfd", "const char *pathname"]),
    ("open_by_handle_at", &["int mountdirfd", "struct file_handle *handle", "int flags"]),
    ("name_to_handle_at", &["int dfd", "const char *name", "struct file_handle *handle", "void *mnt_id", "int flag"]),
    ("execveat", &["int fd", "const char *filename", "const char *const *argv", "const char *const *envp", "int flags"]),
    // fs/namespace.c, fs/fsopen.c
    ("mount", &["char *dev_name", "char *dir_name", "char *type", "unsigned long flags", "void *data"]),
    ("umount2", &["char *name", "int flags"]),
    ("open_tree", &["int dfd", "const char *filename", "unsigned flags"]),
    ("move_mount", &["int from_dfd", "const char *from_pathname", "int to_dfd", "const char *to_pathname", "unsigned int flags"]),
    ("fsopen", &["const char *_fs_name", "unsigned int flags"]),
    ("fsmount", &["int fs_fd", "unsigned int flags", "unsigned int attr_flags"]),
    ("fsconfig", &["int fd", "unsigned int cmd", "const char *_key", "const void *_value", "int aux"]),
    ("mount_setattr", &["int dfd", "const char *path", "unsigned int flags", "struct mount_attr *uattr", "size_t usize"]),
    // net/socket.c
    ("socket", &["int family", "int type", "int protocol"]),
    ("socketpair", &["int family", "int type", "int protocol", "int *usockvec"]),
    ("bind", &["int fd", "struct sockaddr *umyaddr", "int addrlen"]),
    ("connect", &["int fd", "struct sockaddr *uservaddr", "int addrlen"]),
    ("listen", &["int fd", "int backlog"]),
    ("accept", &["int fd", "struct sockaddr *upeer_sockaddr", "int *upeer_addrlen"]),
    ("accept4", &["int fd", "struct sockaddr *upeer_sockaddr", "int *upeer_addrlen", "int flags"]),
    ("getsockname", &["int fd", "struct sockaddr *usockaddr", "int *usockaddr_len"]),
    ("getpeername", &["int fd", "struct sockaddr *usockaddr", "int *usockaddr_len"]),
    ("setsockopt", &["int fd", "int level", "int optname", "char *optval", "int optlen"]),
    ("getsockopt", &["int fd", "int level", "int optname", "char *optval", "int *optlen"]),
    ("sendto", &["int fd", "void *buff", "size_t len", "unsigned int flags", "struct sockaddr *addr", "int addr_len"]),
    ("recvfrom", &["int fd", "void *ubuf", "size_t size", "unsigned int flags", "struct sockaddr *addr", "int *addr_len"]),
    ("sendmsg", &["int fd", "struct user_msghdr *msg", "unsigned int flags"]),
    ("recvmsg", &["int fd", "struct user_msghdr *msg", "unsigned int flags"]),
    ("shutdown", &["int fd", "int how"]),
    ("socketcall", &["int call", "unsigned long *args"]),
    // kernel/sys.c, kernel/exec_domain.c, kernel/nsproxy.c, kernel/fork.c, kernel/signal.c
    ("prctl", &["int option", "unsigned long arg2", "unsigned long arg3", "unsigned long arg4", "unsigned long arg5"]),
    ("personality", &["unsigned int personality"]),
    ("setns", &["int fd", "int flags"]),
    ("unshare", &["unsigned long unshare_flags"]),
    // Declared `unsigned long clone_flags`, but kernel/fork.c builds the clone arguments
    // from `lower_32_bits(clone_flags)`: the kernel reads 32 bits.
    ("clone", &["u32 clone_flags", "unsigned long newsp", "int *parent_tidptr", "int *child_tidptr", "unsigned long tls"]),
    ("clone3", &["struct clone_args *uargs", "size_t size"]),
    ("kill", &["pid_t pid", "int sig"]),
    ("tkill", &["pid_t pid", "int sig"]),
    ("tgkill", &["pid_t tgid", "pid_t pid", "int sig"]),
    ("rt_sigqueueinfo", &["pid_t pid", "int sig", "siginfo_t *uinfo"]),
    ("rt_sigaction", &["int sig", "const struct sigaction *act", "struct sigaction *oact", "size_t sigsetsize"]),
    ("rt_sigprocmask", &["int how", "sigset_t *nset", "sigset_t *oset", "size_t sigsetsize"]),
    ("pidfd_open", &["pid_t pid", "unsigned int flags"]),
    ("pidfd_getfd", &["int pidfd", "int fd", "unsigned int flags"]),
    ("pidfd_send_signal", &["int pidfd", "int sig", "siginfo_t *info", "unsigned int flags"]),
    ("wait4", &["pid_t upid", "int *stat_addr", "int options", "struct rusage *ru"]),
    ("waitid", &["int which", "pid_t upid", "struct siginfo *infop", "int options", "struct rusage *ru"]),
    ("exit", &["int error_code"]),
    ("exit_group", &["int error_code"]),
    ("setuid", &["uid_t uid"]),
    ("setgid", &["gid_t gid"]),
    ("setreuid", &["uid_t ruid", "uid_t euid"]),
    ("setregid", &["gid_t rgid", "gid_t egid"]),
    ("setresuid", &["uid_t ruid", "uid_t euid", "uid_t suid"]),
    ("setresgid", &["gid_t rgid", "gid_t egid", "gid_t sgid"]),
    ("setfsuid", &["uid_t uid"]),
    ("setfsgid", &["gid_t gid"]),
    ("setgroups", &["int gidsetsize", "gid_t *grouplist"]),
    ("getpgid", &["pid_t pid"]),
    ("setpgid", &["pid_t pid", "pid_t pgid"]),
    ("getsid", &["pid_t pid"]),
    ("getpriority", &["int which", "int who"]),
    ("setpriority", &["int which", "int who", "int niceval"]),
    ("getrlimit", &["unsigned int resource", "struct rlimit *rlim"]),
    ("setrlimit", &["unsigned int resource", "struct rlimit *rlim"]),
    ("prlimit64", &["pid_t pid", "unsigned int resource", "const struct rlimit64 *new_rlim", "struct rlimit64 *old_rlim"]),
    ("getitimer", &["int which", "struct __kernel_old_itimerval *value"]),
    ("setitimer", &["int which", "struct __kernel_old_itimerval *value", "struct __kernel_old_itimerval *ovalue"]),
    ("sethostname", &["char *name", "int len"]),
    ("setdomainname", &["char *name", "int len"]),
    ("reboot", &["int magic1", "int magic2", "unsigned int cmd", "void *arg"]),
    ("syslog", &["int type", "char *buf", "int len"]),
    ("kcmp", &["pid_t pid1", "pid_t pid2", "int type", "unsigned long idx1", "unsigned long idx2"]),
    // Declared `long pid`, but kernel/ptrace.c looks the tracee up with
    // `find_get_task_by_vpid(pid)`, whose parameter is a `pid_t`: the kernel reads 32 bits.
    ("ptrace", &["long request", "pid_t pid", "unsigned long addr", "unsigned long data"]),
    ("process_vm_readv", &["pid_t pid", "const struct iovec *lvec", "unsigned long liovcnt", "const struct iovec *rvec", "unsigned long riovcnt", "unsigned long flags"]),
    ("process_vm_writev", &["pid_t pid", "const struct iovec *lvec", "unsigned long liovcnt", "const struct iovec *rvec", "unsigned long riovcnt", "unsigned long flags"]),
    ("arch_prctl", &["int option", "unsigned long arg2"]),
    ("seccomp", &["unsigned int op", "unsigned int flags", "void *uargs"]),
    ("membarrier", &["int cmd", "unsigned int flags", "int cpu_id"]),
    // kernel/sched, kernel/time, kernel/futex, mm
    ("sched_setscheduler", &["pid_t pid", "int policy", "struct sched_param *param"]),
    ("sched_setattr", &["pid_t pid", "struct sched_attr *uattr", "unsigned int flags"]),
    ("sched_setaffinity", &["pid_t pid", "unsigned int len", "unsigned long *user_mask_ptr"]),
    ("sched_getaffinity", &["pid_t pid", "unsigned int len", "unsigned long *user_mask_ptr"]),
    ("ioprio_set", &["int which", "int who", "int ioprio"]),
    ("clock_gettime", &["clockid_t which_clock", "struct __kernel_timespec *tp"]),
    ("clock_settime", &["clockid_t which_clock", "const struct __kernel_timespec *tp"]),
    ("clock_adjtime", &["clockid_t which_clock", "struct __kernel_timex *utx"]),
    ("futex", &["u32 *uaddr", "int op", "u32 val", "const struct __kernel_timespec *utime", "u32 *uaddr2", "u32 val3"]),
    // Declared `unsigned long prot` and `flags`, but mm/mmap.c keeps only the PROT_* and
    // MAP_* bits it knows (`calc_vm_prot_bits`, `calc_vm_flag_bits`), all in the low word,
    // and ignores the rest: what decides the mapping is read from 32 bits.
    ("mmap", &["unsigned long addr", "unsigned long len", "unsigned int prot", "unsigned int flags", "unsigned long fd", "unsigned long off"]),
    ("mprotect", &["unsigned long start", "size_t len", "unsigned long prot"]),
    ("mlockall", &["int flags"]),
    ("madvise", &["unsigned long start", "size_t len_in", "int behavior"]),
    ("mlock2", &["unsigned long start", "size_t len", "int flags"]),
    ("set_mempolicy", &["int mode", "const unsigned long *nmask", "unsigned long maxnode"]),
    ("getrandom", &["char *ubuf", "size_t len", "unsigned int flags"]),
    // io_uring, bpf, perf, keys, modules, quota, ipc, landlock
    ("io_uring_setup", &["u32 entries", "struct io_uring_params *params"]),
    ("io_uring_enter", &["unsigned int fd", "u32 to_submit", "u32 min_complete", "u32 flags", "const void *argp", "size_t argsz"]),
    ("io_uring_register", &["unsigned int fd", "unsigned int opcode", "void *arg", "unsigned int nr_args"]),
    ("bpf", &["int cmd", "union bpf_attr *uattr", "unsigned int size"]),
    ("perf_event_open", &["struct perf_event_attr *attr_uptr", "pid_t pid", "int cpu", "int group_fd", "unsigned long flags"]),
    ("keyctl", &["int option", "unsigned long arg2", "unsigned long arg3", "unsigned long arg4", "unsigned long arg5"]),
    ("add_key", &["const char *_type", "const char *_description", "const void *_payload", "size_t plen", "key_serial_t ringid"]),
    ("request_key", &["const char *_type", "const char *_description", "const char *_callout_info", "key_serial_t destringid"]),
    ("finit_module", &["int fd", "const char *uargs", "int flags"]),
    ("delete_module", &["const char *name_user", "unsigned int flags"]),
    ("kexec_file_load", &["int kernel_fd", "int initrd_fd", "unsigned long cmdline_len", "const char *cmdline_ptr", "unsigned long flags"]),
    ("quotactl", &["unsigned int cmd", "const char *special", "qid_t id", "void *addr"]),
    ("swapon", &["const char *specialfile", "int swap_flags"]),
    // Declared `unsigned int call`, but ipc/syscall.c takes the sub-call from its low 16
    // bits (`call & 0xffff`; the upper 16 are a version): which call runs is read from 16.
    ("ipc", &["unsigned short call", "int first", "unsigned long second", "unsigned long third", "void *ptr", "long fifth"]),
    ("shmget", &["key_t key", "size_t size", "int shmflg"]),
    ("shmat", &["int shmid", "char *shmaddr", "int shmflg"]),
    ("shmctl", &["int shmid", "int cmd", "struct shmid_ds *buf"]),
    ("msgget", &["key_t key", "int msgflg"]),
    ("msgctl", &["int msqid", "int cmd", "struct msqid_ds *buf"]),
    ("semget", &["key_t key", "int nsems", "int semflg"]),
    ("semctl", &["int semid", "int semnum", "int cmd", "unsigned long arg"]),
    ("mq_open", &["const char *u_name", "int oflag", "umode_t mode", "struct mq_attr *u_attr"]),
    ("landlock_create_ruleset", &["const struct landlock_ruleset_attr *attr", "size_t size", "__u32 flags"]),
];

/// One argument of a syscall as the kernel declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgInfo {
    /// The C type, for example `unsigned int`.
    pub ty: &'static str,
    /// The parameter's name in the kernel source, for example `cmd`.
    pub name: &'static str,
    /// How many bits of the register the kernel reads: 16, 32 or 64.
    pub bits: u8,
}

fn type_bits(ty: &str) -> u8 {
    if ty.contains('*') {
        return 64;
    }
    match ty {
        "umode_t" | "unsigned short" => 16,
        "int" | "unsigned int" | "unsigned" | "u32" | "__u32" | "pid_t" | "uid_t" | "gid_t"
        | "key_t" | "key_serial_t" | "clockid_t" | "qid_t" => 32,
        _ => 64,
    }
}

/// How the kernel declares argument `index` (0..=5) of syscall `name`, when the table
/// knows the syscall and it has that argument.
pub fn arg_info(name: &str, index: usize) -> Option<ArgInfo> {
    table_index().get(name)?.get(index).copied().flatten()
}

/// One declaration `"type name"` (or `"type *name"`) read.
fn parse_decl(decl: &'static str) -> Option<ArgInfo> {
    let (ty, pname) = decl.rsplit_once(' ')?;
    let (ty, pname) = match pname.strip_prefix('*') {
        // "char *buf" splits as ("char", "*buf")
        Some(p) => (decl[..decl.len() - p.len()].trim_end(), p),
        None => (ty, pname),
    };
    Some(ArgInfo {
        ty,
        name: pname,
        bits: type_bits(ty),
    })
}

/// [`TABLE`] read and indexed by name, built at the first question: validation asks for
/// every compared argument of every rule, and scanning the table was most of its time.
fn table_index() -> &'static rustc_hash::FxHashMap<&'static str, Vec<Option<ArgInfo>>> {
    static INDEX: std::sync::OnceLock<rustc_hash::FxHashMap<&'static str, Vec<Option<ArgInfo>>>> =
        std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        TABLE
            .iter()
            .map(|(n, args)| (*n, args.iter().map(|d| parse_decl(d)).collect()))
            .collect()
    })
}

/// Every syscall the table describes.
pub fn known_syscalls() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(n, _)| *n)
}

/// The bits of argument `i` of `name` the kernel reads: the low 32 bits of an argument
/// it declares narrower than 64 bits (include/linux/syscalls.h, this table), the call
/// number's 16 bits of `ipc`'s first argument (`ipc/syscall.c`), all 64 otherwise. What
/// `record` and the runtimes' entries compare with `SCMP_CMP_MASKED_EQ`.
pub(crate) fn kernel_mask(name: &str, i: usize) -> u64 {
    if name == "ipc" && i == 0 {
        return 0xffff;
    }
    match arg_info(name, i) {
        Some(info) if info.bits < 64 => 0xffff_ffff,
        _ => u64::MAX,
    }
}

/// The mask of the bits the kernel reads of a `bits`-wide argument.
pub fn read_mask(bits: u8) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// When argument `index` of `name` is narrower than the register on `arch`, the width
/// the kernel reads (16 or 32): the bits above it reach the filter but not the syscall.
/// `None` when the argument is full width, the ABI's registers are 32 bits (libseccomp
/// then compares the low word only), or the table does not know the syscall.
pub fn dodgeable_bits(name: &str, index: usize, arch: &ArchInfo) -> Option<u8> {
    if arch.narrow_args() {
        return None;
    }
    let info = arg_info(name, index)?;
    (info.bits < 64).then_some(info.bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for (name, args) in TABLE {
            assert!(seen.insert(*name), "{name} twice");
            assert!(args.len() <= 6, "{name}");
            for i in 0..args.len() {
                let a = arg_info(name, i).unwrap_or_else(|| panic!("{name} arg {i}"));
                assert!(
                    !a.ty.is_empty() && !a.name.is_empty(),
                    "{name} arg {i}: {a:?}"
                );
            }
            assert!(
                libseccomp::ScmpSyscall::from_name(name).is_ok(),
                "{name} is not a syscall libseccomp knows"
            );
        }
        let ioctl = arg_info("ioctl", 1).unwrap();
        assert_eq!(
            (ioctl.ty, ioctl.name, ioctl.bits),
            ("unsigned int", "cmd", 32)
        );
        let buf = arg_info("read", 1).unwrap();
        assert_eq!((buf.ty, buf.name, buf.bits), ("char *", "buf", 64));
        assert_eq!(arg_info("chmod", 1).unwrap().bits, 16);
        assert_eq!(arg_info("unshare", 0).unwrap().bits, 64);
        assert_eq!(arg_info("ioctl", 3), None);
    }
}
