//! Every lint code `check` can report, with one line that says what it means (SARIF's
//! rule descriptions, `check --format sarif`). A new lint adds its line here.

/// `(code, description)` of every code, the lints' and `check`'s own.
pub const CODES: &[(&str, &str)] = &[
    (
        "parse",
        "The profile is not valid JSON, or a field has the wrong type.",
    ),
    ("invalid", "The profile cannot be installed as written."),
    (
        "compile",
        "The profile does not compile to a proven filter.",
    ),
    ("too-large", "The profile is larger than any real profile."),
    (
        "unknown-key",
        "A key no reader of the format knows: it is ignored.",
    ),
    (
        "docker-invalid",
        "The Docker profile is invalid as moby reads it.",
    ),
    (
        "docker-render",
        "The Docker profile cannot be rendered for the target.",
    ),
    (
        "docker-rendered",
        "A Docker profile, checked as rendered for one target.",
    ),
    ("duplicate-entry", "An entry repeats an earlier one."),
    ("duplicate-name", "A syscall is listed twice in one entry."),
    (
        "shadowed-entry",
        "An entry never decides: an earlier one wins.",
    ),
    (
        "rule-equals-default",
        "An entry gives the default action: it changes nothing.",
    ),
    (
        "unknown-syscall",
        "A syscall name libseccomp does not know: it is skipped.",
    ),
    (
        "repeated-index-ne",
        "Several != comparisons on one argument match every value.",
    ),
    (
        "repeated-index-or",
        "Comparisons on a repeated argument index are ORed.",
    ),
    (
        "masked-eq-bits",
        "SCMP_CMP_MASKED_EQ's valueTwo has bits outside the mask.",
    ),
    (
        "arg-width",
        "A comparison on bits the kernel does not read for the argument.",
    ),
    (
        "conditions-cover-all",
        "Conditional rules that together match every value.",
    ),
    (
        "risky-allow",
        "A syscall that gives a way around the container is allowed.",
    ),
    (
        "vital-denied",
        "A syscall nearly every program needs is refused.",
    ),
    (
        "clone3-default",
        "clone3 is refused with something else than ENOSYS.",
    ),
    (
        "clone3-errno",
        "clone3 is refused with an errno glibc does not fall back on.",
    ),
    (
        "family-bypass",
        "One member of a syscall family is filtered, another is not.",
    ),
    (
        "socketcall-bypass",
        "socketcall reaches what the socket filter refuses.",
    ),
    (
        "notify-hot",
        "SCMP_ACT_NOTIFY on a syscall programs make all the time.",
    ),
    (
        "notify-without-listener",
        "SCMP_ACT_NOTIFY without a listenerPath.",
    ),
    (
        "listener-unused",
        "A listenerPath without any SCMP_ACT_NOTIFY.",
    ),
    (
        "listener-path",
        "The listenerPath is not a usable socket path.",
    ),
    (
        "listener-metadata",
        "The listenerMetadata is longer than agents accept.",
    ),
    (
        "runtime-start",
        "The runtime cannot start a workload under the profile.",
    ),
    ("unfinished", "check stopped some analyses at its budget."),
    (
        "io-uring-bypass",
        "A denied call an allowed io_uring ring can still make.",
    ),
    (
        "kill-thread",
        "SCMP_ACT_KILL_THREAD leaves the other threads running.",
    ),
    (
        "tie",
        "Equally strict entries that match one call: libseccomp's order decides.",
    ),
];

/// What `code` means, in one line (a generic line for a code not in [`CODES`]).
pub fn describe(code: &str) -> &'static str {
    CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("An oci-seccomp check finding.", |(_, d)| d)
}

#[cfg(test)]
mod tests {
    /// The code literals the lints pass to `Finding::new`, `Finding::error` and
    /// `Findings::full`, or keep in a `CODE` constant, read from their sources.
    fn codes_in(src: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (marker, skip_comma) in [
            ("Finding::new(", true),
            ("Finding::error(", false),
            (".full(", false),
            ("const CODE: &str = ", false),
        ] {
            for (i, _) in src.match_indices(marker) {
                let mut rest = &src[i + marker.len()..];
                if skip_comma {
                    let Some(k) = rest.find(',') else { continue };
                    rest = &rest[k + 1..];
                }
                let rest = rest.trim_start();
                if let Some(lit) = rest.strip_prefix('"') {
                    if let Some(end) = lit.find('"') {
                        out.push(lit[..end].to_string());
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_code_a_lint_reports_is_described() {
        let sources = [
            include_str!("mod.rs"),
            include_str!("entries.rs"),
            include_str!("bypass.rs"),
            include_str!("search.rs"),
            include_str!("listener.rs"),
            include_str!("text.rs"),
        ];
        let found: Vec<String> = sources.iter().flat_map(|s| codes_in(s)).collect();
        assert!(found.len() > 25, "{found:?}");
        for code in found {
            assert!(
                super::CODES.iter().any(|(c, _)| *c == code),
                "lint code {code:?} has no description in tools/lint/codes.rs"
            );
        }
    }
}
