//! Compile time of our generator (validation, generation, complete check) on large and
//! hostile profile shapes of 256 to 4096 rules, for x86_64 and for x86_64 + x86 + x32:
//! The target is at most 10 ms for any profile within the 4096-rule limit.
//! `cargo run --release -p oci-seccomp-tests --example compile_shapes`.
use std::time::Instant;

/// A named profile shape: entry `i` of `n`.
type Shape<'a> = (&'a str, Box<dyn Fn(usize) -> String + 'a>);

fn main() {
    let ops = [
        "SCMP_CMP_EQ",
        "SCMP_CMP_NE",
        "SCMP_CMP_GT",
        "SCMP_CMP_LE",
        "SCMP_CMP_MASKED_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_LT",
    ];
    let native = oci_seccomp::arch::native();
    let names: Vec<String> = (0..1000)
        .filter_map(|nr| oci_seccomp::arch::syscall_name(nr, native))
        .collect();
    let shapes: Vec<Shape> = vec![
        (
            "eq-one-syscall",
            Box::new(|i| {
                format!(
                    r#"{{"names":["getppid"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":{},"op":"SCMP_CMP_EQ"}}]}}"#,
                    i * 7
                )
            }),
        ),
        (
            "eq-spread",
            Box::new(|i| {
                format!(
                    r#"{{"names":["{}"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":{},"op":"SCMP_CMP_EQ"}}]}}"#,
                    names[i % 300],
                    i
                )
            }),
        ),
        (
            "gt-nested-actions",
            Box::new(|i| {
                format!(
                    r#"{{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":{},"args":[{{"index":0,"value":{},"op":"SCMP_CMP_GT"}}]}}"#,
                    1 + i % 50,
                    i * 1000
                )
            }),
        ),
        (
            "six-args",
            Box::new(|i| {
                format!(
                    r#"{{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":{},"args":[{}]}}"#,
                    1 + i % 50,
                    (0..6)
                        .map(|j| format!(
                            r#"{{"index":{j},"value":{},"op":"{}"}}"#,
                            (i * 31 + j * 7) as u64 * 0x1234567,
                            ops[(i + j) % 7]
                        ))
                        .collect::<Vec<_>>()
                        .join(",")
                )
            }),
        ),
        (
            "masked",
            Box::new(|i| {
                format!(
                    r#"{{"names":["{}"],"action":"SCMP_ACT_ERRNO","args":[{{"index":1,"value":{},"valueTwo":{},"op":"SCMP_CMP_MASKED_EQ"}}]}}"#,
                    names[i % 50],
                    1u64 << (i % 64),
                    if i % 3 == 0 { 0 } else { 1u64 << (i % 64) }
                )
            }),
        ),
        (
            "ne-one-syscall",
            Box::new(|i| {
                format!(
                    r#"{{"names":["getppid"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":{},"op":"SCMP_CMP_NE"}}]}}"#,
                    i
                )
            }),
        ),
    ];
    for (label, f) in &shapes {
        for n in [256usize, 1024, 4096] {
            for arches in [
                r#"["SCMP_ARCH_X86_64"]"#,
                r#"["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"]"#,
            ] {
                let entries: Vec<String> = (0..n).map(f).collect();
                let json = format!(
                    r#"{{"defaultAction":"SCMP_ACT_ERRNO","architectures":{arches},"syscalls":[{}]}}"#,
                    entries.join(",")
                );
                let spec = oci_seccomp::parse_profile(&json).unwrap();
                let t = Instant::now();
                let r = oci_seccomp::compile(&spec, &oci_seccomp::CompileOptions::default());
                let el = t.elapsed();
                let what = match &r {
                    Ok(p) => format!("ok {} insns", p.len()),
                    Err(e) => format!("ERR {}", e.to_string().chars().take(90).collect::<String>()),
                };
                println!(
                    "{label:18} n={n:5} arches={} {el:?} {what}",
                    if arches.len() > 25 { 3 } else { 1 }
                );
            }
        }
    }
}
