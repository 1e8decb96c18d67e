//! The filter flags of `seccomp(SECCOMP_SET_MODE_FILTER, flags, ...)`: what a profile
//! asks for and a program carries to the loader.

bitflags::bitflags! {
    /// Filter flags passed to `seccomp(SECCOMP_SET_MODE_FILTER, flags, ...)`.
    ///
    /// The values are the kernel's `SECCOMP_FILTER_FLAG_*` bits, from `libc`. Bits the
    /// kernel may define later are kept as they are ([`FilterFlags::from_bits_retain`]),
    /// so that the loader can report them rather than drop them.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct FilterFlags: u32 {
        /// `SECCOMP_FILTER_FLAG_TSYNC`: synchronise every thread of the process to this filter.
        const TSYNC = libc::SECCOMP_FILTER_FLAG_TSYNC as u32;
        /// `SECCOMP_FILTER_FLAG_LOG`: log every action except ALLOW.
        const LOG = libc::SECCOMP_FILTER_FLAG_LOG as u32;
        /// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`: do not force the speculative store bypass mitigation.
        const SPEC_ALLOW = libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u32;
        /// `SECCOMP_FILTER_FLAG_NEW_LISTENER`: return a user-notification fd.
        const NEW_LISTENER = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32;
        /// `SECCOMP_FILTER_FLAG_TSYNC_ESRCH`: report TSYNC failure as ESRCH (needed with a listener).
        const TSYNC_ESRCH = libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH as u32;
        /// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`: a notified task waits killably once received.
        const WAIT_KILLABLE_RECV = libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV as u32;
        // Any other bit is the kernel's to define: keep it.
        const _ = !0;
    }
}

impl FilterFlags {
    /// No flags (the same as [`FilterFlags::empty`]).
    pub const EMPTY: Self = Self::empty();

    /// The kernel names of the set bits, in bit order.
    pub fn names(self) -> Vec<&'static str> {
        const NAMES: [(FilterFlags, &str); 6] = [
            (FilterFlags::TSYNC, "SECCOMP_FILTER_FLAG_TSYNC"),
            (FilterFlags::LOG, "SECCOMP_FILTER_FLAG_LOG"),
            (FilterFlags::SPEC_ALLOW, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"),
            (
                FilterFlags::NEW_LISTENER,
                "SECCOMP_FILTER_FLAG_NEW_LISTENER",
            ),
            (FilterFlags::TSYNC_ESRCH, "SECCOMP_FILTER_FLAG_TSYNC_ESRCH"),
            (
                FilterFlags::WAIT_KILLABLE_RECV,
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
            ),
        ];
        NAMES
            .iter()
            .filter(|(f, _)| self.contains(*f))
            .map(|(_, n)| *n)
            .collect()
    }
}
