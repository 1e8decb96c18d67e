//! Docker (moby) seccomp profile format: parse, validate and render to OCI.
