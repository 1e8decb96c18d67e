//! Helpers for the workspace's end-to-end tests: run code under a seccomp filter in a
//! forked child and report what the kernel did.
