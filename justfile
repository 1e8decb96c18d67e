# oci-seccomp task runner. `just demo` and `just test` are the quick start.

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# What LEVEL needs, installed or named (scripts/setup, the one list): `build` (demo; any user) or `test` (root).
setup LEVEL="test":
    ./scripts/setup {{LEVEL}}

# A tour on the embedded default: a refused `unshare --user`, why (explain), a NOTIFY answered by supervise.
demo: (setup "build")
    cargo run --quiet --release -p oci-seccomp-cli -- demo

# Formatting, lints, benchmarks and examples built, and every test (doc tests, then unit and integration
# tests under cargo-nextest when it is installed, each test in its own process).
test: setup lint
    cargo bench --workspace --no-run --quiet
    cargo build --workspace --examples --quiet
    cargo test --workspace --doc
    if command -v cargo-nextest >/dev/null 2>&1; then \
        cargo nextest run --workspace --lib --bins --tests --no-fail-fast; \
    else \
        cargo test --workspace --lib --bins --tests --no-fail-fast; \
    fi

# cargo fmt --check, clippy and rustdoc (broken links, missing docs) with warnings denied.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

# Manual pages from the command's own definitions: target/man/oci-seccomp.1 and one per subcommand (man -l target/man/oci-seccomp-check.1).
man:
    cargo run --quiet -p oci-seccomp-cli -- man --dir target/man

# The command for shipping: static-pie (glibc and libseccomp linked in, load address still randomized), as runc ships; fat LTO (profile `dist`) and packed relocations; `check` starts in about 65% of the default build's time (BENCHMARKS.md). Prints the binary's path.
release: (setup "build")
    #!/usr/bin/env bash
    set -euo pipefail
    triple="$(rustc -vV | sed -n 's/^host: //p')"
    lib="$(cc -print-file-name=libseccomp.a)"
    if [ ! -f "$lib" ]; then
        echo "libseccomp.a not found (it comes with libseccomp-dev: ./scripts/setup build)" >&2; exit 1
    fi
    # The relative relocations are packed (DT_RELR); a static-pie applies them itself, and
    # glibc's libc.a does that from 2.36 on (older ones ignore them: a binary that crashes).
    glibc="$(getconf GNU_LIBC_VERSION 2>/dev/null | sed -n 's/^glibc //p')" || glibc=""
    if [ -z "$glibc" ] || [ "$(printf '%s\n' 2.36 "$glibc" | sort -V | head -n 1)" != 2.36 ]; then
        echo "just release needs glibc 2.36 or later (packed relocations in a static-pie); this is '${glibc:-not glibc}'" >&2; exit 1
    fi
    # An explicit --target keeps crt-static off build scripts and proc-macros, which the
    # compiler loads as shared objects; libseccomp-sys links the archive.
    LIBSECCOMP_LINK_TYPE=static LIBSECCOMP_LIB_PATH="$(dirname "$lib")" \
    RUSTFLAGS="-C target-feature=+crt-static -C link-arg=-Wl,-z,pack-relative-relocs" \
        cargo build --profile dist --locked --quiet --target "$triple" -p oci-seccomp-cli
    bin="${CARGO_TARGET_DIR:-target}/$triple/dist/oci-seccomp"
    if ldd "$bin" 2>&1 | grep -q '=>'; then
        echo "$bin still loads shared objects:" >&2; ldd "$bin" >&2; exit 1
    fi
    # Starts, parses, compiles and proves the embedded default profile, with both backends
    # (the second is the linked-in libseccomp).
    "$bin" compile --default --format hex >/dev/null
    "$bin" compile --default --backend libseccomp --format hex >/dev/null
    echo "$bin"

# `cargo publish`'s check, nothing uploaded: the four publishable crates packaged in dependency order, each built alone.
package: (setup "build")
    cargo package --locked -p oci-seccomp -p oci-seccomp-load -p oci-seccomp-runtime -p oci-seccomp-cli

# Criterion benchmarks; results are recorded in BENCHMARKS.md.
bench: (setup "build")
    cargo bench --workspace

# End-to-end container start (hyperfine): oci-seccomp run vs runc and crun, one busybox bundle.
bench-e2e: setup
    #!/usr/bin/env bash
    set -euo pipefail
    # runc, crun and busybox come from scripts/setup; hyperfine is for this recipe only.
    if ! command -v hyperfine >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ]; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends hyperfine
        else
            echo "missing hyperfine; run: sudo apt-get install -y hyperfine" >&2; exit 1
        fi
    fi
    ./scripts/bench-e2e.sh

# Run every fuzz target for SECONDS each (cargo-fuzz, installed if missing), seeded from fixtures/; fails on any artifact or crash report.
fuzz SECONDS="60": (setup "build")
    #!/usr/bin/env bash
    set -euo pipefail
    command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
    cd fuzz
    export RUSTC_BOOTSTRAP=1
    # Leaks inside libseccomp itself are not ours to fix (why: fuzz/lsan.supp).
    export LSAN_OPTIONS="suppressions=$PWD/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
    cargo fuzz build -O
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    for target in $(cargo fuzz list); do
        corpus="corpus/$target"
        mkdir -p "$corpus"
        case "$target" in
            parse_compile) cp ../fixtures/bad/profile/*.json "$corpus"/ 2>/dev/null || true
                           cp ../fixtures/*.json "$corpus"/ 2>/dev/null || true ;;
            program_from_bytes) cp ../fixtures/bad/program/*.bin "$corpus"/ ;;
            moby_render) cp ../fixtures/moby/*.json "$corpus"/ 2>/dev/null || true ;;
            listener_message) for f in ../fixtures/bad/listener/*.json; do
                                  { printf '\x81'; cat "$f"; } > "$corpus/$(basename "$f")"; done ;;
            prove_kernel) cp ../fixtures/fuzz/prove_kernel/*.bin "$corpus"/ ;;
        esac
        echo "== fuzz $target for {{SECONDS}} s"
        status=0
        cargo fuzz run -O "$target" "$corpus" -- -max_total_time={{SECONDS}} -rss_limit_mb=2048 -max_len=65536 -print_final_stats=0 \
            2>&1 | tee "$log" || status=$?
        # A crash, leak, timeout, oom or slow unit (over 10 s) leaves a file in
        # artifacts/$target (cargo-fuzz's -artifact_prefix), an earlier run's included
        # until it is removed; a crash report in the log fails too, file or not (a forked
        # child's report claims a crash all the same).
        found=$(find "artifacts/$target" -type f 2>/dev/null || true)
        if [ -n "$found" ]; then
            echo "fuzz $target: artifacts (reproduce with cargo fuzz run $target FILE, then remove them):" >&2
            echo "$found" | sed 's|^|  fuzz/|' >&2
            exit 1
        fi
        if grep -E 'Test unit written to|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|Sanitizer: CHECK failed|ERROR: Failed to mmap' "$log" >&2; then
            echo "fuzz $target: the log above reports a crash" >&2
            exit 1
        fi
        if [ "$status" -ne 0 ]; then
            echo "fuzz $target: cargo fuzz run failed (status $status)" >&2
            exit 1
        fi
    done
