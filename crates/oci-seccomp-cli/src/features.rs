//! `oci-seccomp features`: what this kernel and libseccomp support.

use serde_json::json;

use crate::util;
use crate::{CliError, CliResult};

/// Runs `features`.
pub fn run(as_json: bool) -> CliResult<u8> {
    let f = oci_seccomp_load::features();
    let text = if as_json {
        let v = json!({ "linux": { "seccomp": f } });
        let mut s =
            serde_json::to_string_pretty(&v).map_err(|e| CliError::problem(e.to_string()))?;
        s.push('\n');
        s
    } else {
        format!(
            "seccomp enabled:   {}\nlibseccomp:        {} (API level {})\nactions:           {}\nsupported actions: {}\noperators:         {}\narchitectures:     {}\nknown flags:       {}\nsupported flags:   {}\n",
            f.enabled,
            f.libseccomp.version,
            f.libseccomp.api_level,
            f.actions.join(" "),
            f.supported_actions.join(" "),
            f.operators.join(" "),
            f.archs.join(" "),
            f.known_flags.join(" "),
            f.supported_flags.join(" "),
        )
    };
    util::write_output(None, text.as_bytes())?;
    Ok(0)
}
