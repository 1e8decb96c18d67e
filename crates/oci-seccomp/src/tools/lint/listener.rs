//! Lints of `listenerPath` and `listenerMetadata`.

use super::{Context, Finding, Findings, Severity};
/// Longest `listenerPath`: `sun_path` holds 108 bytes, the last one the NUL (an abstract
/// `@name` replaces the `@` with the leading NUL).
pub const MAX_LISTENER_PATH: usize = 107;
/// Largest state message an agent accepts (runc's and ours: 64 KiB), of which
/// `listenerMetadata` is part.
pub const MAX_LISTENER_STATE: usize = 64 * 1024;

/// `listener-path` (error): `listenerPath` is neither absolute nor `@name`, or longer
/// than `sun_path` holds; the runtime side of the listener protocol refuses it, so `check`
/// says what `run` would refuse.
pub(super) fn listener_path(cx: &Context<'_>, out: &mut Findings) {
    let Some(p) = cx.spec.listener_path() else {
        return;
    };
    let text = p.to_string_lossy();
    if !(text.starts_with('/') || (text.starts_with('@') && text.len() > 1)) {
        out.push(Finding::new(
            Severity::Error,
            "listener-path",
            "listenerPath",
            format!("{text:?}: must be an absolute path or @name (an abstract socket name)"),
        ));
    } else if text.len() > MAX_LISTENER_PATH {
        out.push(Finding::new(
            Severity::Error,
            "listener-path",
            "listenerPath",
            format!(
                "{} bytes: a socket path must be at most {MAX_LISTENER_PATH} bytes (sun_path)",
                text.len()
            ),
        ));
    }
}

/// `listener-metadata` (error): `listenerMetadata` too long for the state message that
/// carries it, which agents refuse.
pub(super) fn listener_metadata(cx: &Context<'_>, out: &mut Findings) {
    if let Some(m) = cx.spec.listener_metadata() {
        if m.len() >= MAX_LISTENER_STATE {
            out.push(Finding::new(
                Severity::Error,
                "listener-metadata",
                "listenerMetadata",
                format!(
                    "{} bytes: the state message that carries it may be at most \
                     {MAX_LISTENER_STATE} bytes, which agents enforce",
                    m.len()
                ),
            ));
        }
    }
}
