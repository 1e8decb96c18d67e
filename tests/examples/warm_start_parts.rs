//! Where a warm start's seccomp work goes, Docker's profile (run with --release), as
//! `oci-seccomp run --profile docker.json` does it at every start, each part the median
//! of many rounds:
//!
//! - read: the profile's JSON parsed (`parse_profile`, Go's key matching);
//! - notify: whether the profile needs a listener (`has_notify_rule`);
//! - open + hit: the cache opened (the ancestor walk, the directory fd, the MAC key)
//!   and one authenticated hit;
//! - hit on an open cache;
//! - install: `oci_seccomp_load::install` of the program in a forked child, timed in the
//!   child around the call alone (the kernel's checks and its action cache included).
use std::time::{Duration, Instant};

use oci_seccomp::{Cache, CacheOutcome, CompileOptions};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let spec = oci_seccomp_tests::docker_profile();
    let text = serde_json::to_string_pretty(&spec).expect("serializes");
    let opts = CompileOptions::default();
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = tmp.path().join("cache");
    let cache = Cache::open(&dir).expect("cache opens");
    let (program, _) = cache.get_or_compile(&spec, &opts).expect("compiles");
    let rounds = 2000;
    let mut parts: [Vec<Duration>; 4] = Default::default();
    for _ in 0..rounds {
        let t = Instant::now();
        let parsed = oci_seccomp::parse_profile(&text).expect("parses");
        parts[0].push(t.elapsed());
        let t = Instant::now();
        assert!(!oci_seccomp_load::agent_client::has_notify_rule(&parsed));
        parts[1].push(t.elapsed());
        let t = Instant::now();
        let c = Cache::open(&dir).expect("cache opens");
        let (_, out) = c.get_or_compile(&parsed, &opts).expect("hit");
        parts[2].push(t.elapsed());
        assert_eq!(out, CacheOutcome::Hit);
        let t = Instant::now();
        let (_, out) = cache.get_or_compile(&parsed, &opts).expect("hit");
        parts[3].push(t.elapsed());
        assert_eq!(out, CacheOutcome::Hit);
    }
    let install =
        oci_seccomp_tests::time_in_children(200, || oci_seccomp_load::install(&program).is_ok())
            / 200;
    let [read, notify, open_hit, hit] = parts.map(median);
    println!(
        "profile {} bytes, program {} instructions",
        text.len(),
        program.instructions().len()
    );
    println!("read (parse_profile)      {read:?}");
    println!("notify (has_notify_rule)  {notify:?}");
    println!("open + hit (per start)    {open_hit:?}");
    println!("hit on an open cache      {hit:?}");
    println!("install (mean, in a child) {install:?}");
    println!(
        "sum per start             {:?}",
        read + notify + open_hit + install
    );
}
