//! Shell completions and manual pages come from the command's own argument definitions:
//! every subcommand (and option such as `--arg-reading`) is in them, the bash script is
//! valid bash, and the pages are roff that `man` renders without a warning.

mod common;

use std::path::Path;
use std::process::Command;

use common::{oci_seccomp, text};

/// The subcommands `--help` lists (clap's own `help` left out).
fn subcommands() -> Vec<String> {
    let o = oci_seccomp(&["--help"], None, None);
    assert_eq!(o.status.code(), Some(0));
    let help = text(&o.stdout);
    let names: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_string)
        .collect();
    for n in ["check", "compile", "explain", "run", "completions", "man"] {
        assert!(names.iter().any(|m| m == n), "{n} not in --help: {help}");
    }
    names
}

#[test]
fn bash_completion_is_valid_bash_and_knows_every_subcommand_and_option() {
    let o = oci_seccomp(&["completions", "bash"], None, None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let script = text(&o.stdout);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("oci-seccomp.bash");
    std::fs::write(&file, &script).unwrap();
    let syntax = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(syntax.status.success(), "bash -n: {}", text(&syntax.stderr));
    for n in subcommands() {
        assert!(script.contains(&n), "{n} missing from the bash completion");
    }
    for opt in ["--arg-reading", "--format", "sarif", "--no-default-caps"] {
        assert!(
            script.contains(opt),
            "{opt} missing from the bash completion"
        );
    }
}

#[test]
fn zsh_and_fish_completions_know_every_subcommand() {
    let names = subcommands();
    for shell in ["zsh", "fish"] {
        let o = oci_seccomp(&["completions", shell], None, None);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", text(&o.stderr));
        let script = text(&o.stdout);
        assert!(!script.trim().is_empty(), "{shell}: empty");
        for n in &names {
            assert!(
                script.contains(n.as_str()),
                "{n} missing from the {shell} completion"
            );
        }
        assert!(script.contains("arg-reading"), "{shell}: --arg-reading");
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    for args in [&["completions", "tcsh"][..], &["completions"][..]] {
        let o = oci_seccomp(args, None, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}

/// The `.TH` line of a page (roff's preamble of string definitions may come first).
fn title(page: &str) -> &str {
    let line = page
        .lines()
        .find(|l| l.starts_with(".TH ") || l.starts_with(".SH "))
        .unwrap_or_default();
    assert!(
        line.starts_with(".TH "),
        "no .TH before the first .SH: {page}"
    );
    line
}

#[test]
fn the_main_page_is_roff_and_lists_every_subcommand() {
    let o = oci_seccomp(&["man"], None, None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let page = text(&o.stdout);
    assert!(title(&page).starts_with(".TH oci-seccomp 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for n in subcommands() {
        // roff escapes the hyphen: oci\-seccomp\-check(1).
        let entry = format!("oci\\-seccomp\\-{}(1)", n.replace('-', "\\-"));
        assert!(page.contains(&entry), "{entry} missing from the page");
    }
    render_if_man_is_installed(&page);
}

#[test]
fn man_dir_writes_one_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man");
    let o = oci_seccomp(&["man", "--dir", out.to_str().unwrap()], None, None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty());
    let main = std::fs::read_to_string(out.join("oci-seccomp.1")).unwrap();
    assert!(title(&main).starts_with(".TH oci-seccomp 1"));
    let names = subcommands();
    for n in &names {
        let page = std::fs::read_to_string(out.join(format!("oci-seccomp-{n}.1")))
            .unwrap_or_else(|e| panic!("oci-seccomp-{n}.1: {e}"));
        assert!(
            title(&page).starts_with(&format!(".TH oci-seccomp-{n} 1")),
            "{n}: {page}"
        );
    }
    let check = std::fs::read_to_string(out.join("oci-seccomp-check.1")).unwrap();
    for opt in ["\\-\\-format", "sarif", "\\-\\-arg\\-reading"] {
        assert!(
            check.contains(opt),
            "{opt} missing from oci-seccomp-check.1"
        );
    }
    // One page per command, no more (no page for clap's `help`).
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), names.len() + 1);
    render_if_man_is_installed(&check);
}

/// `man -l` renders `page` without an error or a warning, when man is installed (it is
/// not required).
fn render_if_man_is_installed(page: &str) {
    let Some(man) = ["/usr/bin/man", "/bin/man"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        eprintln!("man is not installed: the page is not rendered");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("page.1");
    std::fs::write(&file, page).unwrap();
    let o = Command::new(man)
        .args(["--warnings", "-l"])
        .arg(&file)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .output()
        .unwrap();
    assert!(o.status.success(), "man -l: {}", text(&o.stderr));
    assert!(o.stderr.is_empty(), "man -l warns: {}", text(&o.stderr));
    assert!(text(&o.stdout).contains("NAME"), "{}", text(&o.stdout));
}
