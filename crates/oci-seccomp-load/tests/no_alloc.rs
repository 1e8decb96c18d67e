//! "install allocates nothing", as a test: a counting global allocator around `install`
//! and the child side of the composed launch (`LaunchSeccompChild::install`, after dropping
//! the parent's part), in forked children, on the success path with and without a listener.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use oci_seccomp::{compile, parse_profile, CompileOptions, Program};
use oci_seccomp_load::install;
use oci_seccomp_load::launch::{Delivery, LaunchSeccomp};

/// Counts every allocation and reallocation of this test binary.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to the system allocator with the same arguments; the
// counter has no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: forwarded with the caller's arguments.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn program(json: &str) -> Program {
    compile(&parse_profile(json).unwrap(), &CompileOptions::default()).unwrap()
}

/// Runs `f` in a forked child with no-new-privileges; the child exits 0 when `f` returned
/// true and allocated nothing, 1 when it allocated, 2 when `f` failed.
fn child_allocations(f: impl FnOnce() -> bool) -> i32 {
    // SAFETY: the child only calls `f`, reads an atomic and `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        let ok = f();
        let after = ALLOCATIONS.load(Ordering::SeqCst);
        let code = if !ok {
            2
        } else if after != before {
            1
        } else {
            0
        };
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status), "child died: {status:#x}");
    libc::WEXITSTATUS(status)
}

const PLAIN: &str = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
    {"names":["getcwd"],"action":"SCMP_ACT_ERRNO","errnoRet":11}]}"#;
const NOTIFY: &str = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
    {"names":["getcwd"],"action":"SCMP_ACT_NOTIFY"}]}"#;

#[test]
fn install_allocates_nothing() {
    for json in [PLAIN, NOTIFY] {
        let p = program(json);
        assert_eq!(child_allocations(|| install(&p).is_ok()), 0, "{json}");
    }
}

#[test]
fn the_child_side_of_the_handoff_allocates_nothing() {
    let p = program(NOTIFY);
    // The composed API: the agent connection is made and split before the fork.
    let (agent_end, ours) = std::os::unix::net::UnixStream::pair().unwrap();
    let (parent, child) = LaunchSeccomp::with_agent(p, Some(ours)).unwrap().split();
    // SAFETY: the child only drops the parent's part (a close), installs, reads an atomic
    // and `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        drop(parent);
        let ok = child.install().is_ok();
        let after = ALLOCATIONS.load(Ordering::SeqCst);
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(if !ok { 2 } else { i32::from(after != before) }) };
    }
    drop(child);
    let state = oci_seccomp_load::process_state(
        pid,
        "",
        "no-alloc",
        oci_seccomp_load::ContainerState::Creating,
        "/b",
        Default::default(),
    );
    let delivered = parent.complete(pid, state).unwrap();
    assert!(
        matches!(delivered, Delivery::SentToAgent { .. }),
        "the agent got the notify fd: {delivered:?}"
    );
    drop(agent_end);
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status), "child died: {status:#x}");
    assert_eq!(libc::WEXITSTATUS(status), 0);
}

/// The counter works: a child that allocates is caught.
#[test]
fn the_counter_sees_an_allocation() {
    assert_eq!(
        child_allocations(|| std::hint::black_box(vec![1u8; 64]).len() == 64),
        1
    );
}
