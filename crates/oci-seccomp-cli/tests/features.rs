//! `features`: what this kernel and libseccomp support.

mod common;

use common::{cli, stdout};
use serde_json::{json, Value};

#[test]
fn features_reports_the_host() {
    let o = cli(&["features", "--json"]);
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let sc = &v["linux"]["seccomp"];
    assert!(sc["actions"]
        .as_array()
        .unwrap()
        .contains(&json!("SCMP_ACT_NOTIFY")));
    assert!(sc["archs"]
        .as_array()
        .unwrap()
        .contains(&json!("SCMP_ARCH_X86_64")));
    let o = cli(&["features"]);
    assert!(stdout(&o).contains("supported actions"));
}
