//! `oci-seccomp features`: what this kernel and libseccomp support.

use serde_json::json;

use crate::output;
use crate::{CliError, CliResult};

/// Arguments of `features`.
#[derive(Debug, clap::Args)]
pub struct FeaturesArgs {
    /// Print JSON (the OCI features.json shape).
    #[arg(long)]
    pub json: bool,
}

/// Runs `features`.
pub fn run(args: FeaturesArgs) -> CliResult<u8> {
    let as_json = args.json;
    let f = oci_seccomp_load::features_report();
    let text = if as_json {
        let v = json!({ "linux": { "seccomp": f } });
        let mut s =
            serde_json::to_string_pretty(&v).map_err(|e| CliError::problem(e.to_string()))?;
        s.push('\n');
        s
    } else {
        let names = |v: &[String]| v.join(" ");
        let oci = &f.oci;
        let list = |v: &Option<Vec<String>>| v.as_deref().map(names).unwrap_or_default();
        let json_names = |v: serde_json::Value| {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default()
        };
        format!(
            "seccomp enabled:   {}\nlibseccomp:        {} (API level {})\nactions:           {}\nsupported actions: {}\noperators:         {}\narchitectures:     {}\nknown flags:       {}\nsupported flags:   {}\n",
            oci.enabled().unwrap_or(false),
            f.libseccomp.version,
            f.libseccomp.api_level,
            json_names(json!(oci.actions())),
            json_names(json!(f.supported_actions)),
            list(oci.operators()),
            json_names(json!(oci.archs())),
            list(oci.known_flags()),
            list(oci.supported_flags()),
        )
    };
    output::write_output(None, text.as_bytes())?;
    Ok(0)
}
