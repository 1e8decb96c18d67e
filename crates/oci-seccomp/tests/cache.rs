//! The compiled-program cache.

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
    // No temporary files left behind: the entries and the MAC key.
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 5);
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

// ---------------------------------------------------------------- trust

/// The unprivileged attacker's uid and gid.
const ATTACKER: u32 = 4242;

fn need_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "these tests run attackers as uid {ATTACKER}: run them as root (sudo -E cargo test)"
    );
}

/// Forks a child that drops to uid/gid 4242 (no supplementary groups) and runs `f`;
/// returns its pid.
fn spawn_attacker(f: impl FnOnce() -> i32) -> nix::unistd::Pid {
    // SAFETY: the child only drops its credentials, runs `f` (plain file operations) and
    // `_exit`s; glibc's malloc is fork-safe.
    match unsafe { nix::unistd::fork() }.expect("fork") {
        nix::unistd::ForkResult::Child => {
            let g = nix::unistd::Gid::from_raw(ATTACKER);
            let u = nix::unistd::Uid::from_raw(ATTACKER);
            let dropped = nix::unistd::setgroups(&[]).is_ok()
                && nix::unistd::setresgid(g, g, g).is_ok()
                && nix::unistd::setresuid(u, u, u).is_ok();
            let code = if dropped {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101)
            } else {
                100
            };
            // SAFETY: ends the child without running the parent's atexit handlers.
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => child,
    }
}

fn wait_code(pid: nix::unistd::Pid) -> i32 {
    match nix::sys::wait::waitpid(pid, None).unwrap() {
        nix::sys::wait::WaitStatus::Exited(_, c) => c,
        other => panic!("attacker ended with {other:?}"),
    }
}

fn as_attacker(f: impl FnOnce() -> i32) -> i32 {
    wait_code(spawn_attacker(f))
}

fn allow_all() -> oci_seccomp::Program {
    compile(
        &parse_profile(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).unwrap(),
        &CompileOptions::default(),
    )
    .unwrap()
}

/// A directory in /tmp that the attacker made and owns (mode 0755).
fn attacker_dir() -> PathBuf {
    let d = tmpdir();
    let d2 = d.clone();
    assert_eq!(
        as_attacker(move || i32::from(fs::create_dir(&d2).is_err())),
        0,
        "attacker could not mkdir {d:?}"
    );
    assert_eq!(fs::metadata(&d).unwrap().uid(), ATTACKER);
    d
}

/// The attacker, in its own cache below its own directory, stores an allow-all program
/// under root's cache key (valid checksums, its own key), and returns that entry's path.
fn forge_entry(base: &std::path::Path, victim: &LinuxSeccomp) -> PathBuf {
    let forged_dir = base.join("forged");
    let (fd2, v2) = (forged_dir.clone(), victim.clone());
    let evil = allow_all();
    let code = as_attacker(move || {
        let c = Cache::open(&fd2).unwrap();
        c.insert(&v2, &CompileOptions::default(), &evil).unwrap();
        0
    });
    assert_eq!(code, 0, "attacker could not forge");
    let name = oci_seccomp::CacheKey::new(victim, &CompileOptions::default()).file_name();
    let p = forged_dir.join(name);
    assert!(p.is_file(), "no forged entry at {p:?}");
    p
}

#[test]
fn cache_below_a_directory_another_user_owns_is_refused_while_it_swaps_directories() {
    need_root();
    let o = CompileOptions::default();
    let victim = spec(77);
    let good = compile(&victim, &o).unwrap();
    let base = attacker_dir();
    let root_cache = base.join("cache");
    // Root's cache is below the attacker's directory (XDG_CACHE_HOME kept across sudo -E,
    // or --cache-dir under /tmp/u/): made by root, mode 0700.
    fs::create_dir(&root_cache).unwrap();
    fs::set_permissions(&root_cache, fs::Permissions::from_mode(0o700)).unwrap();
    forge_entry(&base, &victim);
    // The attacker swaps its forged cache with root's, as fast as it can, for 20 s at most.
    let (rc, fc, stop) = (root_cache.clone(), base.join("forged"), base.join("stop"));
    let swapper = spawn_attacker(move || {
        let t = std::time::Instant::now();
        while !stop.exists() && t.elapsed() < std::time::Duration::from_secs(20) {
            let _ = nix::fcntl::renameat2(
                nix::fcntl::AT_FDCWD,
                &rc,
                nix::fcntl::AT_FDCWD,
                &fc,
                nix::fcntl::RenameFlags::RENAME_EXCHANGE,
            );
        }
        0
    });
    let mut forged = 0;
    let mut refused = 0;
    for _ in 0..40 {
        match Cache::open(&root_cache) {
            Ok(c) => {
                if let Ok((p, _)) = c.get_or_compile(&victim, &o) {
                    if p != good {
                        forged += 1;
                    }
                }
            }
            Err(e) => {
                let text = e.to_string();
                assert!(matches!(e, CacheError::InsecureDirectory { .. }), "{text}");
                assert!(
                    text.contains(&format!("owned by uid {ATTACKER}"))
                        && text.contains(&base.display().to_string()),
                    "{text}"
                );
                refused += 1;
            }
        }
    }
    fs::write(base.join("stop"), b"").unwrap();
    assert_eq!(wait_code(swapper), 0);
    assert_eq!(forged, 0, "root got the attacker's allow-all program");
    assert_eq!(
        refused, 40,
        "a cache below another user's directory was used"
    );
    fs::remove_dir_all(&base).unwrap();
}

#[test]
fn forged_entry_with_valid_checksums_is_never_returned() {
    need_root();
    let o = CompileOptions::default();
    let victim = spec(78);
    let good = compile(&victim, &o).unwrap();
    let base = attacker_dir();
    let forged = forge_entry(&base, &victim);
    // The forged entry passes every checksum: the program's own one parses.
    let root_dir = tmpdir();
    let cache = Cache::open(&root_dir).unwrap();
    let name = forged.file_name().unwrap();
    // However it got there (a restored backup, a cache dir that was once shared), an entry
    // root's cache did not write itself is refused and recompiled.
    fs::copy(&forged, root_dir.join(name)).unwrap();
    assert!(cache.get(&victim, &o).unwrap().is_none());
    fs::copy(&forged, root_dir.join(name)).unwrap();
    let (p, out) = cache.get_or_compile(&victim, &o).unwrap();
    assert_eq!(out, CacheOutcome::Recompiled);
    assert_eq!(p, good);
    assert_ne!(p, allow_all());
    // And the rewritten entry is root's own: a hit with the genuine program.
    let (p, out) = cache.get_or_compile(&victim, &o).unwrap();
    assert_eq!((out, p), (CacheOutcome::Hit, good));
    fs::remove_dir_all(&base).unwrap();
    fs::remove_dir_all(&root_dir).unwrap();
}

#[test]
fn symlinked_entries_and_ancestors_are_never_followed() {
    need_root();
    let o = CompileOptions::default();
    let victim = spec(79);
    let good = compile(&victim, &o).unwrap();
    let base = attacker_dir();
    let forged = forge_entry(&base, &victim);
    let forged_bytes = fs::read(&forged).unwrap();
    // An entry that is a symbolic link to the attacker's forged entry.
    let root_dir = tmpdir();
    let cache = Cache::open(&root_dir).unwrap();
    let entry = root_dir.join(forged.file_name().unwrap());
    std::os::unix::fs::symlink(&forged, &entry).unwrap();
    let (p, out) = cache.get_or_compile(&victim, &o).unwrap();
    assert_eq!((out, &p), (CacheOutcome::Recompiled, &good));
    assert!(!fs::symlink_metadata(&entry)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        fs::read(&forged).unwrap(),
        forged_bytes,
        "the link was followed"
    );
    // A symlinked ancestor (even one root made) is not followed.
    let parent = tmpdir();
    fs::create_dir(&parent).unwrap();
    Cache::open(parent.join("c")).unwrap();
    let links = tmpdir();
    fs::create_dir(&links).unwrap();
    std::os::unix::fs::symlink(&parent, links.join("link")).unwrap();
    let e = Cache::open(links.join("link/c")).unwrap_err();
    assert!(e.to_string().contains("symbolic link"), "{e}");
    // The MAC key: private to the cache's owner, and refused when it is not.
    let key = root_dir.join("mac.key");
    let m = fs::metadata(&key).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o777, m.len()), (0, 0o600, 32));
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let e = Cache::open(&root_dir).unwrap_err();
    assert!(
        e.to_string().contains("mac.key") && e.to_string().contains("0644"),
        "{e}"
    );
    for d in [&base, &root_dir, &parent, &links] {
        fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn a_private_cache_in_a_sticky_directory_is_used() {
    // /tmp is root-owned, sticky and world-writable: a cache directly below it, owned by
    // the caller, is fine.
    let dir = tmpdir();
    let cache = Cache::open(&dir).unwrap();
    let o = CompileOptions::default();
    cache.get_or_compile(&spec(80), &o).unwrap();
    assert_eq!(
        cache.get_or_compile(&spec(80), &o).unwrap().1,
        CacheOutcome::Hit
    );
    // A world-writable, non-sticky ancestor is refused.
    let ww = tmpdir();
    fs::create_dir(&ww).unwrap();
    fs::set_permissions(&ww, fs::Permissions::from_mode(0o777)).unwrap();
    let e = Cache::open(ww.join("c")).unwrap_err();
    assert!(e.to_string().contains("0777"), "{e}");
    fs::remove_dir_all(&dir).unwrap();
    fs::remove_dir_all(&ww).unwrap();
}

/// The key names the generator and the target host: a program of one is never served for
/// another.
#[test]
fn the_key_names_the_backend_and_the_target() {
    let spec = oci_seccomp::parse_profile(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ALLOW"}]}"#,
    )
    .unwrap();
    let native = CompileOptions::default();
    let libseccomp = native
        .clone()
        .with_backend(oci_seccomp::Backend::Libseccomp);
    let s390x = native
        .clone()
        .with_target(oci_seccomp::arch::by_name("SCMP_ARCH_S390X"));
    let keys = [
        oci_seccomp::CacheKey::new(&spec, &native).file_name(),
        oci_seccomp::CacheKey::new(&spec, &libseccomp).file_name(),
        oci_seccomp::CacheKey::new(&spec, &s390x).file_name(),
    ];
    assert_ne!(keys[0], keys[1]);
    assert_ne!(keys[0], keys[2]);
    assert_ne!(keys[1], keys[2]);
    let memory = oci_seccomp::MemoryCache::new(4);
    let a = memory.get_or_compile(&spec, &native).unwrap();
    let b = memory.get_or_compile(&spec, &s390x).unwrap();
    assert_ne!(a.0.instructions(), b.0.instructions());
}
