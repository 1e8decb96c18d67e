#!/usr/bin/env python3
"""Connects to an abstract unix socket in a loop for SECONDS: what an unprivileged user
can do to `oci-seccomp supervise --socket @NAME` (BENCHMARKS.md).

usage: scripts/connect-loop.py NAME SECONDS   (NAME without the @)

Each connection waits until the agent closes it (a refusal), so the count printed is the
number of refusals.
"""

import socket
import sys
import time


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    name, seconds = sys.argv[1], float(sys.argv[2])
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect("\0" + name)
        s.recv(1)
        s.close()
        n += 1
    print(n, "connections")


if __name__ == "__main__":
    main()
