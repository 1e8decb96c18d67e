//! Help and usage: every command has help, and usage errors exit 2.

mod common;

use common::{cli, stderr, stdout};

#[test]
fn every_command_has_help() {
    for cmd in [
        "check",
        "compile",
        "explain",
        "render",
        "run",
        "supervise",
        "features",
        "demo",
    ] {
        let o = cli(&[cmd, "--help"]);
        assert!(o.status.success(), "{cmd} --help: {}", stderr(&o));
        assert!(stdout(&o).contains("Usage"), "{cmd}: {}", stdout(&o));
    }
    assert!(stdout(&cli(&["run", "--help"])).contains("--bundle"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        cli(&["compile", "--no-such-flag", "x"]).status.code(),
        Some(2)
    );
    assert_eq!(cli(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(cli(&["compile"]).status.code(), Some(2));
    assert_eq!(cli(&["run"]).status.code(), Some(2));
}
