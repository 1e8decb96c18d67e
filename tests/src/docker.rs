//! Docker's own default seccomp profile, for conformance tests and benchmarks.
//!
//! The upstream file comes from the Debian package `golang-github-docker-docker-dev`
//! (DESIGN.md §6). In CI (`CI` set) a missing file is a failure; locally the tests that
//! need it skip with a visible reason.

use std::path::{Path, PathBuf};

use oci_seccomp::moby::{parse_moby, render, render_default, MobyProfile, RenderOptions};

/// Where the Debian package installs Docker's `default.json`.
pub const UPSTREAM_DOCKER_PROFILE: &str =
    "/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json";

/// The path of Docker's upstream default profile, if it is installed.
pub fn upstream_docker_profile_path() -> Option<PathBuf> {
    let p = Path::new(UPSTREAM_DOCKER_PROFILE);
    p.is_file().then(|| p.to_path_buf())
}

/// Docker's upstream default profile, parsed.
///
/// When the file is missing: panics if the `CI` environment variable is set (CI must
/// install the package), otherwise prints why on stderr and returns `None` so that the
/// caller can skip. Panics if the file exists but does not parse (that is a real bug).
pub fn upstream_docker_profile() -> Option<MobyProfile> {
    let Some(path) = upstream_docker_profile_path() else {
        if std::env::var_os("CI").is_some() {
            panic!(
                "{UPSTREAM_DOCKER_PROFILE} is missing: CI must install golang-github-docker-docker-dev"
            );
        }
        eprintln!(
            "SKIPPED: Docker's default profile is not installed ({UPSTREAM_DOCKER_PROFILE}); \
             install golang-github-docker-docker-dev to run this test"
        );
        return None;
    };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    Some(parse_moby(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// Docker's upstream default profile rendered for Docker's default capabilities on the
/// host's architecture and running kernel; our embedded default (rendered the same way)
/// when the upstream file is not installed. Used by benchmarks.
pub fn docker_profile() -> oci_seccomp::LinuxSeccomp {
    let opts = RenderOptions::host();
    let upstream = upstream_docker_profile_path()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| parse_moby(&t).ok());
    match upstream {
        Some(p) => render(&p, &opts),
        None => render_default(&opts),
    }
    .unwrap_or_else(|e| panic!("rendering Docker's default profile: {e}"))
}
