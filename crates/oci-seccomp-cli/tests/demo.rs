//! `demo`: the tour runs, as root and as an unprivileged user.

mod common;

use common::{cli, is_root, need_root, stderr, stdout};

#[test]
fn demo_runs() {
    need_root();
    let o = cli(&["demo"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let s = stdout(&o);
    for h in ["== 1.", "== 2.", "== 3.", "== 4."] {
        assert!(s.contains(h), "{s}");
    }
    assert!(!s.contains("FAIL"), "{s}");
}

/// The demo needs no privilege: run as uid 4242 (no capabilities; from a copy of the
/// binary that uid can reach), every step behaves. `run` sets no-new-privileges itself,
/// and the supervisor is the user's own, its socket in a directory of the user's own.
#[test]
fn the_demo_runs_as_an_unprivileged_user() {
    assert!(
        is_root(),
        "this test becomes uid 4242: run the tests as root"
    );
    let o = common::oci_seccomp(&["demo"], None, Some(4242));
    let s = stdout(&o);
    assert!(o.status.success(), "{s}\n{}", stderr(&o));
    for h in ["== 1.", "== 2.", "== 3.", "== 4."] {
        assert!(s.contains(h), "{s}");
    }
    assert!(!s.contains("FAIL"), "{s}");
    assert!(s.contains("setting no-new-privileges"), "{s}");
}
