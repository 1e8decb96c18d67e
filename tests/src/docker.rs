//! Docker's own default seccomp profile, for conformance tests and benchmarks.
//!
//! Two upstream files: Docker 20.10's, from the Debian package
//! `golang-github-docker-docker-dev` ([docs/design.md](../../docs/design.md), testing; a
//! missing file is a test failure naming the install command, on every machine: no test
//! passes without running), and Docker's current one, a copy kept in
//! `fixtures/moby/upstream/` ([docs/moby.md](../../docs/moby.md) says where it came from).

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
/// Panics when the file is missing, naming the package that installs it (a test that
/// needs it must fail, not pass without running), and when it does not parse.
pub fn upstream_docker_profile() -> MobyProfile {
    let Some(path) = upstream_docker_profile_path() else {
        panic!(
            "{UPSTREAM_DOCKER_PROFILE} is missing: this test needs Docker's default profile; \
             install it with ./scripts/setup (as root), or: \
             apt-get install -y golang-github-docker-docker-dev"
        );
    };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse_moby(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Which upstream release the copy of Docker's current default profile is.
pub const CURRENT_DOCKER_PROFILE_VERSION: &str =
    "moby/profiles seccomp/v0.2.3 (Docker Engine 29.4.3 to 29.7.2)";

/// Docker's current default profile as JSON text: moby/profiles' `seccomp/default.json`
/// at `seccomp/v0.2.3`, copied verbatim (Apache-2.0).
pub const CURRENT_DOCKER_PROFILE_JSON: &str =
    include_str!("../../fixtures/moby/upstream/default-seccomp-v0.2.3.json");

/// Docker's current default profile, parsed.
///
/// Panics when the copy does not parse.
pub fn current_docker_profile() -> MobyProfile {
    parse_moby(CURRENT_DOCKER_PROFILE_JSON)
        .unwrap_or_else(|e| panic!("{CURRENT_DOCKER_PROFILE_VERSION}: {e}"))
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
