//! Issue 5 item 1: the compiled-program cache.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use oci_seccomp::{
    compile, parse_profile, Cache, CacheError, CacheOutcome, CompileOptions, LinuxSeccomp,
    MemoryCache,
};

static N: AtomicU32 = AtomicU32::new(0);

fn tmpdir() -> PathBuf {
    let p = std::env::temp_dir().join(format!(
        "oci-seccomp-cache-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&p);
    p
}

fn spec(errno: u32) -> LinuxSeccomp {
    parse_profile(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"syscalls":[
        {{"names":["read","write","exit_group","getppid"],"action":"SCMP_ACT_ALLOW"}},
        {{"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":{errno}}}]}}"#
    ))
    .unwrap()
}

fn entries(dir: &PathBuf) -> Vec<PathBuf> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "prog"))
        .collect();
    v.sort();
    v
}

#[test]
fn miss_then_hit_with_identical_program_and_private_permissions() {
    let dir = tmpdir();
    let cache = Cache::open(&dir).unwrap();
    let o = CompileOptions::default();
    let (p1, out1) = cache.get_or_compile(&spec(38), &o).unwrap();
    assert_eq!(out1, CacheOutcome::Miss);
    let (p2, out2) = cache.get_or_compile(&spec(38), &o).unwrap();
    assert_eq!(out2, CacheOutcome::Hit);
    assert_eq!(p1, p2);
    assert_eq!(p1, compile(&spec(38), &o).unwrap());
    // A different errnoRet is a different entry, never the cached one.
    let (p3, out3) = cache.get_or_compile(&spec(39), &o).unwrap();
    assert_eq!(out3, CacheOutcome::Miss);
    assert_ne!(p3, p1);
    assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    for e in entries(&dir) {
        assert_eq!(fs::metadata(&e).unwrap().mode() & 0o777, 0o600, "{e:?}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damaged_entries_are_recompiled_never_returned() {
    let dir = tmpdir();
    let cache = Cache::open(&dir).unwrap();
    let o = CompileOptions::default();
    let good = cache.get_or_compile(&spec(38), &o).unwrap().0;
    let path = entries(&dir).pop().unwrap();
    let bytes = fs::read(&path).unwrap();
    // Truncated.
    fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let (p, out) = cache.get_or_compile(&spec(38), &o).unwrap();
    assert_eq!(out, CacheOutcome::Recompiled);
    assert_eq!(p, good);
    // Rewritten whole, so the next lookup hits.
    assert_eq!(
        cache.get_or_compile(&spec(38), &o).unwrap().1,
        CacheOutcome::Hit
    );
    // A flipped bit anywhere in the program part.
    for at in [bytes.len() - 20, bytes.len() - 200, 40] {
        let mut c = bytes.clone();
        c[at] ^= 0x10;
        fs::write(&path, &c).unwrap();
        assert!(
            cache.get(&spec(38), &o).unwrap().is_none(),
            "flip at {at} returned"
        );
        let (p, out) = cache.get_or_compile(&spec(38), &o).unwrap();
        assert_ne!(out, CacheOutcome::Hit);
        assert_eq!(p, good);
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn concurrent_writers_and_readers_only_see_whole_entries() {
    let dir = tmpdir();
    let o = CompileOptions::default();
    let want: Vec<_> = (0..4)
        .map(|i| compile(&spec(40 + i), &o).unwrap())
        .collect();
    std::thread::scope(|s| {
        for t in 0..6 {
            let dir = &dir;
            let o = &o;
            let want = &want;
            s.spawn(move || {
                let cache = Cache::open(dir).unwrap();
                for round in 0..20 {
                    let i = (t + round) % 4;
                    let (p, _) = cache.get_or_compile(&spec(40 + i as u32), o).unwrap();
                    assert_eq!(p, want[i]);
                }
            });
        }
    });
    assert_eq!(entries(&dir).len(), 4);
    // No temporary files left behind.
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 4);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn size_is_bounded_with_eviction() {
    let dir = tmpdir();
    let cache = Cache::open(&dir).unwrap().with_limits(3, u64::MAX);
    let o = CompileOptions::default();
    for i in 0..8 {
        cache.get_or_compile(&spec(50 + i), &o).unwrap();
    }
    assert_eq!(entries(&dir).len(), 3);
    // The most recent ones survive.
    assert_eq!(
        cache.get_or_compile(&spec(57), &o).unwrap().1,
        CacheOutcome::Hit
    );
    let bytes_bound = Cache::open(&dir).unwrap().with_limits(100, 1);
    bytes_bound.get_or_compile(&spec(60), &o).unwrap();
    assert!(entries(&dir).len() <= 1);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn insecure_directories_are_refused() {
    let dir = tmpdir();
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    let e = Cache::open(&dir).unwrap_err();
    assert!(matches!(e, CacheError::InsecureDirectory { .. }), "{e}");
    assert!(e.to_string().contains("0777"), "{e}");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o720)).unwrap();
    assert!(Cache::open(&dir).is_err());
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    assert!(Cache::open(&dir).is_ok());
    // Owned by someone else (needs root to arrange).
    if nix::unistd::geteuid().is_root() {
        std::os::unix::fs::chown(&dir, Some(65534), None).unwrap();
        let e = Cache::open(&dir).unwrap_err();
        assert!(e.to_string().contains("owned by uid 65534"), "{e}");
    }
    // A symlink to a good directory.
    let link = tmpdir();
    let target = tmpdir();
    fs::create_dir(&target).unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert!(matches!(
        Cache::open(&link),
        Err(CacheError::InsecureDirectory { .. })
    ));
    for p in [&dir, &target] {
        fs::remove_dir_all(p).unwrap();
    }
    fs::remove_file(&link).unwrap();
}

#[test]
fn memory_cache_hits_and_is_bounded() {
    let m = MemoryCache::new(2);
    let o = CompileOptions::default();
    assert_eq!(
        m.get_or_compile(&spec(70), &o).unwrap().1,
        CacheOutcome::Miss
    );
    assert_eq!(
        m.get_or_compile(&spec(70), &o).unwrap().1,
        CacheOutcome::Hit
    );
    m.get_or_compile(&spec(71), &o).unwrap();
    m.get_or_compile(&spec(72), &o).unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(
        m.get_or_compile(&spec(70), &o).unwrap().1,
        CacheOutcome::Miss
    );
}
