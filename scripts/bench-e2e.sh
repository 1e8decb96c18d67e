#!/usr/bin/env bash
# End-to-end container start cost (issue 5): `oci-seccomp run --bundle` of /bin/true under
# Docker's default profile with a cold and a warm program cache, against the same run with
# seccomp off, and against runc and crun running the same bundles. Needs root, hyperfine,
# runc, crun and busybox-static (the justfile recipe installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${RUNS:-40}"
work="$(mktemp -d /tmp/oci-seccomp-e2e.XXXXXX)"
trap 'rm -rf "$work"' EXIT

cargo build --quiet --release -p oci-seccomp-cli
bin="$PWD/target/release/oci-seccomp"
[ -n "${CARGO_TARGET_DIR:-}" ] && bin="$CARGO_TARGET_DIR/release/oci-seccomp"

upstream=/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json
if [ -r "$upstream" ]; then
    "$bin" render "$upstream" > "$work/seccomp.json"
    profile="Docker's upstream default.json (Debian golang-github-docker-docker-dev)"
else
    "$bin" render --default > "$work/seccomp.json"
    profile="the embedded default (upstream file not installed)"
fi

caps='["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER","CAP_MKNOD","CAP_NET_RAW","CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT","CAP_KILL","CAP_AUDIT_WRITE"]'
make_bundle() { # DIR SECCOMP_JSON_OR_null
    mkdir -p "$1/rootfs/bin" "$1/rootfs/proc" "$1/rootfs/tmp" "$1/rootfs/dev"
    cp "$(command -v busybox)" "$1/rootfs/bin/busybox"
    ln -sf busybox "$1/rootfs/bin/true"
    ln -sf busybox "$1/rootfs/bin/sh"
    cat > "$1/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["/bin/true"],
    "env": ["PATH=/bin"], "cwd": "/", "noNewPrivileges": true,
    "capabilities": {"bounding": $caps, "effective": $caps, "permitted": $caps}
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "e2e",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}
  ],
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "network"}]
    $( [ "$2" != null ] && printf ', "seccomp": %s' "$(cat "$2")" )
  }
}
JSON
}
make_bundle "$work/seccomp" "$work/seccomp.json"
make_bundle "$work/plain" null

cache="$work/cache"
echo "profile: $profile"
echo "machine: $(uname -sr), $(nproc) CPUs; runc $(runc --version | head -1 | awk '{print $3}'), crun $(crun --version | head -1 | awk '{print $3}')"
cmds=(
    -n "ours, no seccomp" "$bin run --no-cache --bundle $work/plain"
    -n "ours, Docker profile, warm cache" "$bin run --cache-dir $cache --bundle $work/seccomp"
    -n "ours, Docker profile, no cache" "$bin run --no-cache --bundle $work/seccomp"
)
if command -v runc >/dev/null; then
    cmds+=(-n "runc, no seccomp" "runc --root $work/runc run --bundle $work/plain e2e-\$RANDOM\$RANDOM")
    cmds+=(-n "runc, Docker profile" "runc --root $work/runc run --bundle $work/seccomp e2e-\$RANDOM\$RANDOM")
fi
if command -v crun >/dev/null; then
    cmds+=(-n "crun, no seccomp" "crun --root $work/crun run --bundle $work/plain e2e-\$RANDOM\$RANDOM")
    cmds+=(-n "crun, Docker profile" "crun --root $work/crun run --bundle $work/seccomp e2e-\$RANDOM\$RANDOM")
fi
# Fill the cache once; the cold-cache case is the --no-cache run (compile every time).
"$bin" run --cache-dir "$cache" --bundle "$work/seccomp"
# A shell runs each command (hyperfine subtracts its start-up cost), so that runc and crun
# get a fresh container id every run.
hyperfine --warmup 3 --runs "$runs" --export-markdown "${E2E_MARKDOWN:-$work/e2e.md}" "${cmds[@]}"
cat "${E2E_MARKDOWN:-$work/e2e.md}"
