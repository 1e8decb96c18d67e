//! What a caller chooses about a compile: the options that change the program's meaning
//! (the stub, the reading of narrow arguments, the target) and those that only change how
//! it is built (the backend, libseccomp's layout).

use crate::arch::{self, ArchInfo};
use crate::profile::semantics::Stub;
use crate::profile::ArgReading;

/// Which code generator turns a validated profile into BPF.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Our own generator ([`crate::backend::native`]): binary search over number ranges, argument
    /// decision diagrams, any target architecture from any host. The default.
    #[default]
    Native,
    /// libseccomp's generator (`seccomp_export_bpf`), with our ENOSYS stub on its default
    /// path; subject to the complexity limits that keep libseccomp within seconds, and
    /// only for targets of the build host's byte order.
    Libseccomp,
}

impl Backend {
    /// The name used by `compile --backend`: `native` or `libseccomp`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Libseccomp => "libseccomp",
        }
    }
}

/// Options for [`crate::compile`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CompileOptions {
    /// Refuse unknown syscall names and conflicting unconditional entries instead of
    /// warning about them.
    pub strict: bool,
    /// What the program does with syscalls newer than the profile ([`Stub`]; on the
    /// default path of the program).
    pub stub: Stub,
    /// Use libseccomp's binary-tree layout when the profile has more rules than this.
    /// It is never used with zero rules (libseccomp bug #370).
    pub binary_tree_threshold: usize,
    /// Deprecated: every program [`crate::compile`] returns is proven. `false` skipped the
    /// proof of [`Backend::Libseccomp`]'s programs only (never the native backend's); it
    /// still does, for compatibility. For libseccomp's unproven output in differential
    /// tests, call [`crate::libseccomp::unproven_program`], which says so in its name.
    #[deprecated(
        since = "0.1.0",
        note = "a program that was not proven must never be installed; use \
                `oci_seccomp::libseccomp::unproven_program` to study libseccomp's raw output"
    )]
    pub verify: bool,
    /// The code generator.
    pub backend: Backend,
    /// The architecture of the host the program is for, which every program includes as
    /// runc's reading of OCI does the native one (`None`: the build host's,
    /// [`arch::native`]). Another byte order than the build host's needs
    /// [`Backend::Native`].
    pub target: Option<&'static ArchInfo>,
    /// How comparisons on arguments the kernel reads as 32 (or 16) bits are decided: on
    /// the value the kernel will use (the default), or on all 64 bits as runc does
    /// ([`ArgReading`]).
    pub arg_reading: ArgReading,
}

#[allow(deprecated)] // `verify` keeps its old default.
impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            strict: false,
            stub: Stub::Enosys,
            binary_tree_threshold: 8,
            verify: true,
            backend: Backend::Native,
            target: None,
            arg_reading: ArgReading::Kernel,
        }
    }
}

impl CompileOptions {
    /// Default options with `strict` set.
    pub fn strict() -> Self {
        Self {
            strict: true,
            ..Self::default()
        }
    }

    /// Sets `strict`.
    #[must_use]
    pub fn with_strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Sets `stub` to [`Stub::Enosys`] when `on`, else [`Stub::Off`].
    #[must_use]
    pub fn with_enosys_stub(mut self, on: bool) -> Self {
        self.stub = Stub::enosys_if(on);
        self
    }

    /// Sets `stub`.
    #[must_use]
    pub fn with_stub(mut self, stub: Stub) -> Self {
        self.stub = stub;
        self
    }

    /// Sets the deprecated `verify`.
    #[deprecated(
        since = "0.1.0",
        note = "a program that was not proven must never be installed; use \
                `oci_seccomp::libseccomp::unproven_program` to study libseccomp's raw output"
    )]
    #[allow(deprecated)]
    #[must_use]
    pub fn with_verify(mut self, on: bool) -> Self {
        self.verify = on;
        self
    }

    /// Sets `backend`.
    #[must_use]
    pub fn with_backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Sets `arg_reading`.
    #[must_use]
    pub fn with_arg_reading(mut self, reading: ArgReading) -> Self {
        self.arg_reading = reading;
        self
    }

    /// Sets `target`.
    #[must_use]
    pub fn with_target(mut self, target: Option<&'static ArchInfo>) -> Self {
        self.target = target;
        self
    }

    /// The target architecture: `target`, or the build host's.
    pub fn target_arch(&self) -> &'static ArchInfo {
        self.target.unwrap_or_else(arch::native)
    }

    /// Sets `binary_tree_threshold`.
    #[must_use]
    pub fn with_binary_tree_threshold(mut self, rules: usize) -> Self {
        self.binary_tree_threshold = rules;
        self
    }
}
