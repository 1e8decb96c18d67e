# oci-seccomp task runner. `just demo` and `just test` are the quick start.

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# Install the system packages the build needs (libseccomp-dev, pkg-config).
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    missing=()
    dpkg -s libseccomp-dev >/dev/null 2>&1 || missing+=(libseccomp-dev)
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi
    if [ "$(id -u)" -eq 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
    else
        echo "missing system packages; run:" >&2
        echo "  sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi

# Compile the embedded default profile, explain a few syscalls, and run a command under it.
demo: setup
    cargo build --quiet --release -p oci-seccomp-cli
    ./target/release/oci-seccomp demo

# Formatting, lints and every test.
test: setup lint
    cargo test --workspace --all-targets
    cargo test --workspace --doc

# cargo fmt --check and clippy with warnings denied.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Criterion benchmarks; results are recorded in BENCHMARKS.md.
bench: setup
    cargo bench --workspace
