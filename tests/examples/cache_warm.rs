//! The warm path of the on-disk cache with Docker's profile (run with --release): open the
//! directory (the ancestor walk and the MAC key included, as `run` does at every start),
//! then one authenticated hit. Prints the median of many rounds.
use std::time::{Duration, Instant};

use oci_seccomp::{Cache, CacheOutcome, CompileOptions};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let spec = oci_seccomp_tests::docker_profile();
    let opts = CompileOptions::default();
    let dir = std::env::temp_dir().join(format!("oci-seccomp-cache-warm-{}", std::process::id()));
    let cache = Cache::open(&dir).expect("cache opens");
    cache.get_or_compile(&spec, &opts).expect("compiles");
    let rounds = 2000;
    let mut open_hit = Vec::with_capacity(rounds);
    let mut hit = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        let c = Cache::open(&dir).expect("cache opens");
        let (_, out) = c.get_or_compile(&spec, &opts).expect("hit");
        open_hit.push(t.elapsed());
        assert_eq!(out, CacheOutcome::Hit);
        let t = Instant::now();
        let (_, out) = cache.get_or_compile(&spec, &opts).expect("hit");
        hit.push(t.elapsed());
        assert_eq!(out, CacheOutcome::Hit);
    }
    println!("open + hit (per start)  {:?}", median(open_hit));
    println!("hit on an open cache    {:?}", median(hit));
    let _ = std::fs::remove_dir_all(&dir);
}
