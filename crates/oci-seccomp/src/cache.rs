//! A compiled-program cache (docs/design.md §6).
//!
//! A runtime pays for libseccomp's rule database at every container start unless it keeps
//! the result. [`Cache`] keeps programs on disk, [`MemoryCache`] in memory for long-lived
//! daemons. Both are keyed by [`CacheKey`]: a canonical, length-prefixed serialisation of
//! the whole `linux.seccomp` object (each rule's `errnoRet` included) plus everything else
//! the output depends on — libseccomp's runtime version, the kernel release, the native
//! architecture, this crate's version and the compile options.
//!
//! An entry stores the full key next to the program, and a lookup compares it byte for
//! byte, so a collision of the file-name hash can only cause a miss, never the wrong
//! filter. Entries carry a checksum (and the program its own); a truncated or altered
//! entry is detected, reported, recompiled and rewritten — never returned.
//!
//! On disk: the directory is created with mode 0700 and refused when another user owns it
//! or when group or others may write to it; entries are written to a temporary file with
//! mode 0600 and renamed into place, so concurrent writers and readers only ever see whole
//! entries. The size is bounded (entries and bytes) with least-recently-used eviction.

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use oci_spec::runtime::LinuxSeccomp;

use crate::compile::{compile, CompileOptions};
use crate::error::CompileError;
use crate::program::{fnv1a64, Program};

const ENTRY_MAGIC: [u8; 8] = *b"OCISCACH";
const ENTRY_VERSION: u32 = 1;
/// Default bound on the number of entries in a [`Cache`].
pub const DEFAULT_MAX_ENTRIES: usize = 256;
/// Default bound on the total size of a [`Cache`]'s entries.
pub const DEFAULT_MAX_BYTES: u64 = 64 << 20;

/// Why the cache could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// A filesystem operation failed.
    #[error("cache: cannot {op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The directory could be changed by someone else, who could then plant a permissive
    /// filter.
    #[error(
        "cache: refusing directory {path}: {reason}; use a directory owned by uid {euid} with mode 0700"
    )]
    InsecureDirectory {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// Our effective uid.
        euid: u32,
    },
    /// Compilation failed (nothing was cached).
    #[error(transparent)]
    Compile(#[from] CompileError),
}

/// How [`Cache::get_or_compile`] obtained the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Read from the cache.
    Hit,
    /// Not cached: compiled (and stored, if the store succeeded).
    Miss,
    /// A damaged entry was found, ignored, and replaced by a fresh compile.
    Recompiled,
}

/// The exact identity of a compilation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    bytes: Vec<u8>,
}

fn put(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(&(field.len() as u64).to_le_bytes());
    out.extend_from_slice(field);
}

fn put_opt_u64(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        None => put(out, b"-"),
        Some(v) => put(out, &v.to_le_bytes()),
    }
}

/// The running kernel's release string (`uname -r`).
pub fn kernel_release() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl CacheKey {
    /// The key for compiling `spec` with `opts` in this process.
    pub fn new(spec: &LinuxSeccomp, opts: &CompileOptions) -> Self {
        let mut b = Vec::with_capacity(4096);
        put(&mut b, b"oci-seccomp cache key v1");
        put(&mut b, env!("CARGO_PKG_VERSION").as_bytes());
        put(
            &mut b,
            crate::profile::libseccomp_version_string().as_bytes(),
        );
        put(&mut b, &libseccomp::get_api().to_le_bytes());
        put(&mut b, kernel_release().as_bytes());
        put(&mut b, crate::arch::native().name.as_bytes());
        put(
            &mut b,
            &[
                u8::from(opts.strict),
                u8::from(opts.enosys_stub),
                u8::from(opts.verify),
            ],
        );
        put(&mut b, &(opts.binary_tree_threshold as u64).to_le_bytes());
        // The whole profile, every field, in a fixed order.
        put(&mut b, spec.default_action().to_string().as_bytes());
        put_opt_u64(&mut b, spec.default_errno_ret().map(u64::from));
        match spec.architectures() {
            None => put(&mut b, b"-"),
            Some(a) => {
                put(&mut b, &(a.len() as u64).to_le_bytes());
                for x in a {
                    put(&mut b, x.to_string().as_bytes());
                }
            }
        }
        match spec.flags() {
            None => put(&mut b, b"-"),
            Some(f) => {
                put(&mut b, &(f.len() as u64).to_le_bytes());
                for x in f {
                    put(&mut b, x.to_string().as_bytes());
                }
            }
        }
        match spec.listener_path() {
            None => put(&mut b, b"-"),
            Some(p) => put(&mut b, p.as_os_str().as_encoded_bytes()),
        }
        match spec.listener_metadata() {
            None => put(&mut b, b"-"),
            Some(m) => put(&mut b, m.as_bytes()),
        }
        match spec.syscalls() {
            None => put(&mut b, b"-"),
            Some(s) => {
                put(&mut b, &(s.len() as u64).to_le_bytes());
                for e in s {
                    put(&mut b, &(e.names().len() as u64).to_le_bytes());
                    for n in e.names() {
                        put(&mut b, n.as_bytes());
                    }
                    put(&mut b, e.action().to_string().as_bytes());
                    put_opt_u64(&mut b, e.errno_ret().map(u64::from));
                    match e.args() {
                        None => put(&mut b, b"-"),
                        Some(args) => {
                            put(&mut b, &(args.len() as u64).to_le_bytes());
                            for a in args {
                                put(&mut b, &(a.index() as u64).to_le_bytes());
                                put(&mut b, &a.value().to_le_bytes());
                                put_opt_u64(&mut b, a.value_two());
                                put(&mut b, a.op().to_string().as_bytes());
                            }
                        }
                    }
                }
            }
        }
        Self { bytes: b }
    }

    /// The canonical serialisation.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A 128-bit file name for the key (two independent FNV-1a hashes, hex).
    pub fn file_name(&self) -> String {
        let a = fnv1a64(&self.bytes);
        let mut salted = Vec::with_capacity(self.bytes.len() + 1);
        salted.push(0x5a);
        salted.extend_from_slice(&self.bytes);
        format!("{a:016x}{:016x}.prog", fnv1a64(&salted))
    }
}

fn encode_entry(key: &CacheKey, program: &Program) -> Vec<u8> {
    let prog = program.to_bytes();
    let mut out = Vec::with_capacity(32 + key.bytes.len() + prog.len());
    out.extend_from_slice(&ENTRY_MAGIC);
    out.extend_from_slice(&ENTRY_VERSION.to_le_bytes());
    out.extend_from_slice(&(key.bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(&key.bytes);
    out.extend_from_slice(&(prog.len() as u64).to_le_bytes());
    out.extend_from_slice(&prog);
    let sum = fnv1a64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// Why a stored entry was not usable.
#[derive(Debug, PartialEq, Eq)]
enum Decoded {
    Program(Program),
    OtherKey,
    Damaged(String),
}

fn decode_entry(key: &CacheKey, data: &[u8]) -> Decoded {
    let damaged = |why: &str| Decoded::Damaged(why.to_string());
    if data.len() < 8 + 4 + 8 + 8 + 8 {
        return damaged("shorter than an entry header");
    }
    let (body, sum) = data.split_at(data.len() - 8);
    let mut s = [0u8; 8];
    s.copy_from_slice(sum);
    if u64::from_le_bytes(s) != fnv1a64(body) {
        return damaged("checksum mismatch (truncated or altered)");
    }
    if body[..8] != ENTRY_MAGIC {
        return damaged("bad magic");
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&body[8..12]);
    if u32::from_le_bytes(v) != ENTRY_VERSION {
        return damaged("unknown entry version");
    }
    let read_len = |at: usize| -> Option<usize> {
        let mut l = [0u8; 8];
        l.copy_from_slice(body.get(at..at + 8)?);
        usize::try_from(u64::from_le_bytes(l)).ok()
    };
    let Some(klen) = read_len(12) else {
        return damaged("bad key length");
    };
    let Some(kend) = 20usize.checked_add(klen).filter(|e| *e + 8 <= body.len()) else {
        return damaged("bad key length");
    };
    if body[20..kend] != key.bytes[..] {
        return Decoded::OtherKey;
    }
    let Some(plen) = read_len(kend) else {
        return damaged("bad program length");
    };
    if kend + 8 + plen != body.len() {
        return damaged("bad program length");
    }
    match Program::from_bytes(&body[kend + 8..]) {
        Ok(p) => Decoded::Program(p),
        Err(e) => Decoded::Damaged(e.to_string()),
    }
}

/// An on-disk cache of compiled programs.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    max_entries: usize,
    max_bytes: u64,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> CacheError + 'a {
    move |source| CacheError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

impl Cache {
    /// Opens (creating with mode 0700 if needed) the cache directory `dir`.
    ///
    /// Refuses a directory that is a symlink, owned by another user, or writable by group
    /// or others.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, CacheError> {
        let dir = dir.as_ref().to_path_buf();
        match fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
        {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err("create directory", &dir)(e)),
        }
        let meta = fs::symlink_metadata(&dir).map_err(io_err("inspect", &dir))?;
        let euid = nix::unistd::geteuid().as_raw();
        let insecure = |reason: String| CacheError::InsecureDirectory {
            path: dir.clone(),
            reason,
            euid,
        };
        if meta.file_type().is_symlink() || !meta.is_dir() {
            return Err(insecure("it is not a plain directory".into()));
        }
        if meta.uid() != euid {
            return Err(insecure(format!("it is owned by uid {}", meta.uid())));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(insecure(format!(
                "its mode {:04o} lets group or others write to it",
                meta.mode() & 0o7777
            )));
        }
        Ok(Self {
            dir,
            max_entries: DEFAULT_MAX_ENTRIES,
            max_bytes: DEFAULT_MAX_BYTES,
        })
    }

    /// Sets the bounds: at most `entries` entries and `bytes` bytes in total.
    #[must_use]
    pub fn with_limits(mut self, entries: usize, bytes: u64) -> Self {
        self.max_entries = entries.max(1);
        self.max_bytes = bytes;
        self
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_for(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(key.file_name())
    }

    /// Looks `spec` up. `Ok(None)` on a miss; a damaged entry is removed and reported as
    /// a miss (with a warning).
    pub fn get(
        &self,
        spec: &LinuxSeccomp,
        opts: &CompileOptions,
    ) -> Result<Option<Program>, CacheError> {
        let key = CacheKey::new(spec, opts);
        Ok(match self.lookup(&key)? {
            Some(Ok(p)) => Some(p),
            _ => None,
        })
    }

    /// `None`: absent; `Some(Err(why))`: damaged; `Some(Ok(p))`: hit.
    fn lookup(&self, key: &CacheKey) -> Result<Option<Result<Program, String>>, CacheError> {
        let path = self.path_for(key);
        let data = match fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        match decode_entry(key, &data) {
            Decoded::Program(p) => {
                // Mark as recently used for eviction; failure to do so is harmless.
                if let Ok(f) = fs::File::open(&path) {
                    let _ = f.set_modified(std::time::SystemTime::now());
                }
                Ok(Some(Ok(p)))
            }
            Decoded::OtherKey => Ok(None),
            Decoded::Damaged(why) => {
                tracing::warn!(path = %path.display(), %why, "damaged cache entry ignored");
                let _ = fs::remove_file(&path);
                Ok(Some(Err(why)))
            }
        }
    }

    /// Stores `program` for `spec` atomically (temporary file, then rename).
    pub fn insert(
        &self,
        spec: &LinuxSeccomp,
        opts: &CompileOptions,
        program: &Program,
    ) -> Result<(), CacheError> {
        let key = CacheKey::new(spec, opts);
        self.store(&key, program)
    }

    fn store(&self, key: &CacheKey, program: &Program) -> Result<(), CacheError> {
        let data = encode_entry(key, program);
        let tmp = self.dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
                .open(&tmp)
                .map_err(io_err("create", &tmp))?;
            f.write_all(&data).map_err(io_err("write", &tmp))?;
            f.sync_data().map_err(io_err("sync", &tmp))?;
            let path = self.path_for(key);
            fs::rename(&tmp, &path).map_err(io_err("rename into", &path))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result?;
        self.evict();
        Ok(())
    }

    /// Removes least-recently-used entries until both bounds hold.
    fn evict(&self) {
        let Ok(rd) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(std::time::SystemTime, u64, PathBuf)> = rd
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".prog"))
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                Some((m.modified().ok()?, m.len(), e.path()))
            })
            .collect();
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        if entries.len() <= self.max_entries && total <= self.max_bytes {
            return;
        }
        entries.sort();
        let mut count = entries.len();
        for (_, len, path) in entries {
            if count <= self.max_entries && total <= self.max_bytes {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                count -= 1;
                total = total.saturating_sub(len);
            }
        }
    }

    /// Returns the cached program for `spec`, or compiles and stores it.
    ///
    /// A damaged entry is never returned: it is recompiled and replaced. A failure to
    /// store the fresh program is logged and does not fail the call.
    pub fn get_or_compile(
        &self,
        spec: &LinuxSeccomp,
        opts: &CompileOptions,
    ) -> Result<(Program, CacheOutcome), CacheError> {
        let key = CacheKey::new(spec, opts);
        let outcome = match self.lookup(&key)? {
            Some(Ok(p)) => return Ok((p, CacheOutcome::Hit)),
            Some(Err(_)) => CacheOutcome::Recompiled,
            None => CacheOutcome::Miss,
        };
        let program = compile(spec, opts)?;
        if let Err(e) = self.store(&key, &program) {
            tracing::warn!(error = %e, "could not store the compiled program in the cache");
        }
        Ok((program, outcome))
    }

    /// Removes every entry.
    pub fn clear(&self) -> Result<(), CacheError> {
        for e in fs::read_dir(&self.dir)
            .map_err(io_err("list", &self.dir))?
            .flatten()
        {
            if e.file_name().to_string_lossy().ends_with(".prog") {
                fs::remove_file(e.path()).map_err(io_err("remove", &e.path()))?;
            }
        }
        Ok(())
    }

    /// Checks that the directory's permissions are still as [`Cache::open`] requires.
    pub fn mode(&self) -> Result<u32, CacheError> {
        Ok(fs::metadata(&self.dir)
            .map_err(io_err("inspect", &self.dir))?
            .permissions()
            .mode()
            & 0o7777)
    }
}

/// An in-memory cache for long-lived daemons, bounded by entry count (oldest evicted).
#[derive(Debug)]
pub struct MemoryCache {
    inner: Mutex<(HashMap<CacheKey, Program>, VecDeque<CacheKey>)>,
    max_entries: usize,
}

impl MemoryCache {
    /// A cache holding at most `max_entries` programs.
    pub fn new(max_entries: usize) -> Self {
        Self {
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
            max_entries: max_entries.max(1),
        }
    }

    /// Returns the cached program for `spec`, or compiles and keeps it.
    pub fn get_or_compile(
        &self,
        spec: &LinuxSeccomp,
        opts: &CompileOptions,
    ) -> Result<(Program, CacheOutcome), CompileError> {
        let key = CacheKey::new(spec, opts);
        if let Ok(g) = self.inner.lock() {
            if let Some(p) = g.0.get(&key) {
                return Ok((p.clone(), CacheOutcome::Hit));
            }
        }
        let program = compile(spec, opts)?;
        if let Ok(mut g) = self.inner.lock() {
            if g.0.insert(key.clone(), program.clone()).is_none() {
                g.1.push_back(key);
            }
            while g.1.len() > self.max_entries {
                if let Some(old) = g.1.pop_front() {
                    g.0.remove(&old);
                }
            }
        }
        Ok((program, CacheOutcome::Miss))
    }

    /// Number of programs held.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|g| g.0.len()).unwrap_or(0)
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_profile;

    fn spec(errno: u32) -> LinuxSeccomp {
        parse_profile(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":{errno}}}]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn key_includes_each_rules_errno_ret() {
        let o = CompileOptions::default();
        assert_ne!(CacheKey::new(&spec(2), &o), CacheKey::new(&spec(3), &o));
        assert_eq!(CacheKey::new(&spec(2), &o), CacheKey::new(&spec(2), &o));
        assert_ne!(
            CacheKey::new(&spec(2), &o),
            CacheKey::new(&spec(2), &o.clone().with_enosys_stub(false))
        );
    }

    #[test]
    fn entry_round_trip_and_damage() {
        let o = CompileOptions::default();
        let k = CacheKey::new(&spec(2), &o);
        let p = compile(&spec(2), &o).unwrap();
        let e = encode_entry(&k, &p);
        assert_eq!(decode_entry(&k, &e), Decoded::Program(p));
        assert_eq!(
            decode_entry(&CacheKey::new(&spec(3), &o), &e),
            Decoded::OtherKey
        );
        for n in 0..e.len() {
            assert!(
                matches!(decode_entry(&k, &e[..n]), Decoded::Damaged(_)),
                "prefix {n}"
            );
        }
        for i in (0..e.len() * 8).step_by(7) {
            let mut c = e.clone();
            c[i / 8] ^= 1 << (i % 8);
            assert!(
                !matches!(decode_entry(&k, &c), Decoded::Program(_)),
                "bit {i}"
            );
        }
    }
}
