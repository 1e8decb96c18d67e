//! Log output: `tracing-subscriber` with an env filter, one line per event on stderr.
//!
//! The filter comes from `OCI_SECCOMP_LOG`, in `RUST_LOG` syntax: a level (`error`, `warn`,
//! `info`, `debug`, `trace`) or directives (`warn,oci_seccomp::cache=debug`). The default
//! is `warn`, so the library's warnings (unknown syscall names skipped, cache problems)
//! reach the user. A line reads `oci-seccomp: LEVEL: message key=value...`.

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The variable that holds the filter.
pub const ENV: &str = "OCI_SECCOMP_LOG";

/// `oci-seccomp: warn: message key=value`.
struct Line;

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = event.metadata().level().as_str().to_ascii_lowercase();
        write!(w, "oci-seccomp: {level}: ")?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// Installs the subscriber (once, at start-up).
pub fn init() {
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::WARN.into())
        .with_env_var(ENV)
        .from_env_lossy();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .event_format(Line)
        .try_init();
}

/// Runs `f` with no log output: for a second validation of a profile whose warnings were
/// logged (or reported as findings) once already.
pub fn quietly<T>(f: impl FnOnce() -> T) -> T {
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), f)
}
