#!/usr/bin/env python3
"""Writes the hostile profiles that BENCHMARKS.md times `oci-seccomp check` on.

usage: scripts/hostile-profiles.py DIR

- masked-16x50x6.json, masked-16x50x2.json: 16 syscalls x 50 ALLOW entries, each with
  6 (or 2) SCMP_CMP_MASKED_EQ comparisons, one per argument, each on one pseudo-random
  bit of the low 16 (the shape of the report: `compile` refuses it at once, `check`'s
  conditions-cover-all search took seconds per syscall).
- proof-1x200.json: 200 entries for `read` with six masked comparisons each, whose
  complete check runs out of its step budget.
- padded-*.json: the masked-16x50x2 profile padded to about 3.8 MB with 380,000 unknown
  syscall names in one entry (OCI, and Docker's format): the most reading work and the
  most searching work in one input.

Deterministic: the same files every run.
"""

import json
import os
import random
import sys

NAMES = ["read", "write", "openat", "close", "fstat", "lseek", "mmap", "mprotect",
         "munmap", "brk", "ioctl", "pread64", "pwrite64", "readv", "writev", "access"]


def one_bit_masks(comparisons, seed=1):
    rnd = random.Random(seed)
    entries = []
    for name in NAMES:
        for _ in range(50):
            args = []
            for i in range(comparisons):
                mask = 1 << rnd.randrange(16)
                args.append({"index": i, "value": mask, "valueTwo": rnd.choice([0, mask]),
                             "op": "SCMP_CMP_MASKED_EQ"})
            entries.append({"names": [name], "action": "SCMP_ACT_ALLOW", "args": args})
    return {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": entries}


def hard_proof():
    entries = []
    for e in range(200):
        args = []
        for i in range(6):
            mask = (0xff << (i * 4)) | (e + 1)
            args.append({"index": i, "value": mask, "valueTwo": ((e * 7 + i) << (i * 4)) & mask,
                         "op": "SCMP_CMP_MASKED_EQ"})
        entries.append({"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": args})
    return {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": entries}


def padded(profile, docker):
    p = json.loads(json.dumps(profile))
    p["syscalls"].append({"names": ["x%d" % i for i in range(380000)],
                          "action": "SCMP_ACT_ALLOW"})
    if docker:
        del p["architectures"]
        p["archMap"] = [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": []}]
        for e in p["syscalls"]:
            e["comment"] = ""
    return p


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    files = {
        "masked-16x50x6.json": one_bit_masks(6),
        "masked-16x50x2.json": one_bit_masks(2),
        "proof-1x200.json": hard_proof(),
        "padded-oci.json": padded(one_bit_masks(2), docker=False),
        "padded-docker.json": padded(one_bit_masks(2), docker=True),
    }
    for name, profile in files.items():
        path = os.path.join(out, name)
        with open(path, "w") as f:
            json.dump(profile, f, separators=(",", ":"))
        print(path, os.path.getsize(path))


if __name__ == "__main__":
    main()
