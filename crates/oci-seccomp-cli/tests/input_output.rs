//! Inputs and outputs of every command: a size limit on what is read, `-` for standard
//! output, /dev/null, and no write through a planted file.

mod common;

use common::{cli, stderr, stdout, TempDir};

/// An input that never ends is refused after the most a profile may take.
#[test]
fn an_endless_input_is_refused_after_the_size_limit() {
    for cmd in ["check", "compile", "render"] {
        let o = cli(&[cmd, "/dev/zero"]);
        assert_eq!(o.status.code(), Some(1), "{cmd}: {}", stderr(&o));
        assert!(stderr(&o).contains("larger than"), "{cmd}: {}", stderr(&o));
    }
}

/// Output to a character device (`/dev/null`) is written as asked; what another user could
/// plant (a FIFO, a symbolic link) is still refused.
#[test]
fn output_to_dev_null_works_and_planted_files_are_still_refused() {
    let o = cli(&["compile", "--default", "-o", "/dev/null"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = cli(&["compile", "--default", "--format", "raw", "-o", "/dev/null"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = TempDir::new("output-kinds");
    let fifo = t.path("fifo");
    nix::unistd::mkfifo(
        fifo.as_str(),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let o = cli(&["compile", "--default", "-o", &fifo]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("FIFO"), "{}", stderr(&o));
    let link = t.path("link");
    std::os::unix::fs::symlink("/dev/null", &link).unwrap();
    let o = cli(&["compile", "--default", "-o", &link]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
}

/// `-o -` is standard output for every command that writes a file, not a file named `-`.
#[test]
fn a_dash_output_is_standard_output() {
    let t = TempDir::new("dash-output");
    let p = t.write("p.json", r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_oci-seccomp"))
        .args(["compile", &p, "-o", "-", "--format", "hex"])
        .current_dir(t.path(""))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!o.stdout.is_empty());
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_oci-seccomp"))
        .args(["render", "--default", "-o", "-"])
        .current_dir(t.path(""))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("defaultAction"));
    assert!(
        !std::path::Path::new(&t.path("-")).exists(),
        "a file named - was written"
    );
}
