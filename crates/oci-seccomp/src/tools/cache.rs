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
//! filter.
//!
//! # Trust
//!
//! A cached program is installed as the container's filter, so whoever can write an entry
//! decides what the container may do. The cache trusts nothing it did not write itself:
//!
//! - [`Cache::open`] walks the path from `/` one component at a time with
//!   `O_DIRECTORY|O_NOFOLLOW` (a symbolic link anywhere is refused) and checks every
//!   ancestor: owned by root or the caller, and not writable by group or others unless it
//!   is sticky (like `/tmp`). The directory itself must be owned by the caller and not
//!   writable by group or others. Otherwise [`CacheError::InsecureDirectory`] names the
//!   offending directory; callers warn and compile without the cache.
//! - Every later access goes through the directory fd opened then, entries opened
//!   relative to it with `O_NOFOLLOW`: renaming or swapping directories above it changes
//!   nothing, and a symlinked entry is never followed.
//! - Each entry is authenticated with a keyed MAC (BLAKE3 keyed mode) over the whole entry
//!   — the cache key (profile, options, versions) and the program bytes. The 32-byte key
//!   lives in the directory as `mac.key`, created mode 0600 with `O_EXCL|O_NOFOLLOW` and
//!   owned by the caller, so only the cache's owner can make an entry that verifies. An
//!   entry that fails the MAC (forged, copied from another cache, damaged) is reported,
//!   removed, recompiled and rewritten — never returned.
//!
//! Entries are written to a temporary file with mode 0600 and renamed into place, so
//! concurrent writers and readers only ever see whole entries. The size is bounded
//! (entries and bytes) with least-recently-used eviction.

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::UnlinkatFlags;
use oci_spec::runtime::LinuxSeccomp;

use crate::error::CompileError;
use crate::program::Program;
use crate::{compile, CompileOptions};

const ENTRY_MAGIC: [u8; 8] = *b"OCISCACH";
const ENTRY_VERSION: u32 = 2;
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

/// [`put`] of `value`'s text (its `Display`), written through `scratch` (no allocation for
/// each field once `scratch` has grown).
fn put_text(out: &mut Vec<u8>, scratch: &mut String, value: &impl std::fmt::Display) {
    use std::fmt::Write as _;
    scratch.clear();
    // Writing into a String cannot fail.
    let _ = write!(scratch, "{value}");
    put(out, scratch.as_bytes());
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

/// The revision of what a profile means and how our generator compiles it: part of every
/// cache key, so that a program cached by a build with other semantics (the same package
/// version during development) is never reused. Change it with any such change.
pub const SEMANTICS: &str =
    "2026-12 default entries in precedence, strictest overlap, kernel argument reading, libseccomp tie order by node chains";

impl CacheKey {
    /// The key for compiling `spec` with `opts` in this process.
    pub fn new(spec: &LinuxSeccomp, opts: &CompileOptions) -> Self {
        let mut b = Vec::with_capacity(16 << 10);
        put(&mut b, b"oci-seccomp cache key v3");
        put(&mut b, env!("CARGO_PKG_VERSION").as_bytes());
        // What a profile means and how it is compiled, beyond the version number (v3).
        put(&mut b, SEMANTICS.as_bytes());
        put(&mut b, crate::arch::libseccomp_version_string().as_bytes());
        put(&mut b, &libseccomp::get_api().to_le_bytes());
        put(&mut b, kernel_release().as_bytes());
        put(&mut b, crate::arch::native().name.as_bytes());
        put(
            &mut b,
            &[
                u8::from(opts.strict),
                u8::from(opts.stub == crate::Stub::Enosys),
                #[allow(deprecated)] // Part of the key as long as it exists.
                u8::from(opts.verify),
            ],
        );
        put(&mut b, &(opts.binary_tree_threshold as u64).to_le_bytes());
        // Which generator, for which host (v2).
        put(&mut b, opts.backend.name().as_bytes());
        put(&mut b, opts.target_arch().name.as_bytes());
        put(&mut b, opts.arg_reading.name().as_bytes());
        // The whole profile, every field, in a fixed order.
        let mut scratch = String::new();
        put_text(&mut b, &mut scratch, &spec.default_action());
        put_opt_u64(&mut b, spec.default_errno_ret().map(u64::from));
        match spec.architectures() {
            None => put(&mut b, b"-"),
            Some(a) => {
                put(&mut b, &(a.len() as u64).to_le_bytes());
                for x in a {
                    put_text(&mut b, &mut scratch, x);
                }
            }
        }
        match spec.flags() {
            None => put(&mut b, b"-"),
            Some(f) => {
                put(&mut b, &(f.len() as u64).to_le_bytes());
                for x in f {
                    put_text(&mut b, &mut scratch, x);
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
                    put_text(&mut b, &mut scratch, &e.action());
                    put_opt_u64(&mut b, e.errno_ret().map(u64::from));
                    match e.args() {
                        None => put(&mut b, b"-"),
                        Some(args) => {
                            put(&mut b, &(args.len() as u64).to_le_bytes());
                            for a in args {
                                put(&mut b, &(a.index() as u64).to_le_bytes());
                                put(&mut b, &a.value().to_le_bytes());
                                put_opt_u64(&mut b, a.value_two());
                                put_text(&mut b, &mut scratch, &a.op());
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

    /// A 128-bit file name for the key: the first 16 bytes of its BLAKE3 hash, in hex.
    /// Only a name: a hit is the entry whose stored key equals this one, under the MAC.
    /// (BLAKE3 rather than a byte-at-a-time hash: the key holds the whole profile, and
    /// this runs at every start.)
    pub fn file_name(&self) -> String {
        let hash = blake3::hash(&self.bytes);
        let mut name = String::with_capacity(32 + 5);
        for b in &hash.as_bytes()[..16] {
            name.push_str(&format!("{b:02x}"));
        }
        name.push_str(".prog");
        name
    }
}

/// Length of the keyed MAC that ends an entry.
const MAC_LEN: usize = 32;
/// Length of the MAC key in `mac.key`.
const MAC_KEY_LEN: usize = 32;
/// The MAC key's file name in the cache directory.
const MAC_KEY_FILE: &str = "mac.key";
/// The largest entry read back (a program is at most 4096 instructions).
const MAX_ENTRY_LEN: u64 = 1 << 20;

fn entry_mac(mac_key: &[u8; MAC_KEY_LEN], body: &[u8]) -> blake3::Hash {
    blake3::keyed_hash(mac_key, body)
}

fn encode_entry(mac_key: &[u8; MAC_KEY_LEN], key: &CacheKey, program: &Program) -> Vec<u8> {
    let prog = program.to_bytes();
    let mut out = Vec::with_capacity(28 + key.bytes.len() + prog.len() + MAC_LEN);
    out.extend_from_slice(&ENTRY_MAGIC);
    out.extend_from_slice(&ENTRY_VERSION.to_le_bytes());
    out.extend_from_slice(&(key.bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(&key.bytes);
    out.extend_from_slice(&(prog.len() as u64).to_le_bytes());
    out.extend_from_slice(&prog);
    let mac = entry_mac(mac_key, &out);
    out.extend_from_slice(mac.as_bytes());
    out
}

/// Why a stored entry was not usable.
#[derive(Debug, PartialEq, Eq)]
enum Decoded {
    Program(Program),
    OtherKey,
    Damaged(String),
}

fn decode_entry(mac_key: &[u8; MAC_KEY_LEN], key: &CacheKey, data: &[u8]) -> Decoded {
    let damaged = |why: &str| Decoded::Damaged(why.to_string());
    if data.len() < 8 + 4 + 8 + 8 + MAC_LEN {
        return damaged("shorter than an entry header");
    }
    let (body, mac) = data.split_at(data.len() - MAC_LEN);
    let mut m = [0u8; MAC_LEN];
    m.copy_from_slice(mac);
    // blake3::Hash compares in constant time.
    if blake3::Hash::from(m) != entry_mac(mac_key, body) {
        return damaged(
            "MAC mismatch: not written with this cache's key (forged, copied from elsewhere, or damaged)",
        );
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
    let Some(kend) = 20usize
        .checked_add(klen)
        .filter(|e| e.checked_add(8).is_some_and(|x| x <= body.len()))
    else {
        return damaged("bad key length");
    };
    if body[20..kend] != key.bytes[..] {
        return Decoded::OtherKey;
    }
    let Some(plen) = read_len(kend) else {
        return damaged("bad program length");
    };
    if (kend + 8).checked_add(plen) != Some(body.len()) {
        return damaged("bad program length");
    }
    match Program::from_bytes(&body[kend + 8..]) {
        Ok(p) => Decoded::Program(p),
        Err(e) => Decoded::Damaged(e.to_string()),
    }
}

/// An on-disk cache of compiled programs (see the module docs for what it trusts).
pub struct Cache {
    dir: PathBuf,
    fd: OwnedFd,
    mac_key: [u8; MAC_KEY_LEN],
    max_entries: usize,
    max_bytes: u64,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the MAC key.
        f.debug_struct("Cache")
            .field("dir", &self.dir)
            .field("fd", &self.fd)
            .field("max_entries", &self.max_entries)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> CacheError + 'a {
    move |source| CacheError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn nix_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(nix::errno::Errno) -> CacheError + 'a {
    move |e| CacheError::Io {
        op,
        path: path.to_path_buf(),
        source: e.into(),
    }
}

/// Writes `data` to a new private file (0600, never following a link, never replacing a
/// file) in the directory `dir_fd` (at `dir`, for messages); returns its name. The caller
/// renames it into place; on an error here nothing is left behind.
fn write_private(
    dir_fd: &OwnedFd,
    dir: &Path,
    what: &str,
    data: &[u8],
) -> Result<String, CacheError> {
    let tmp = tmp_name(what);
    let tmp_path = dir.join(&tmp);
    let result = (|| {
        let f = nix::fcntl::openat(
            dir_fd,
            tmp.as_str(),
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )
        .map_err(nix_err("create", &tmp_path))?;
        let mut f = fs::File::from(f);
        f.write_all(data).map_err(io_err("write", &tmp_path))?;
        f.sync_all().map_err(io_err("sync", &tmp_path))
    })();
    if let Err(e) = result {
        let _ = nix::unistd::unlinkat(dir_fd, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
        return Err(e);
    }
    Ok(tmp)
}

fn tmp_name(what: &str) -> String {
    format!(
        ".tmp-{what}-{}-{}",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Opens `path` (absolute) one component at a time from `/`, never following a symbolic
/// link, creating missing components with mode 0700 when `create`, and checking every
/// directory on the way. Returns an `O_RDONLY|O_DIRECTORY` fd of the last one.
fn open_trusted_dir(path: &Path, create: bool) -> Result<OwnedFd, CacheError> {
    use std::path::Component;
    let euid = nix::unistd::geteuid().as_raw();
    let insecure = |reason: String| CacheError::InsecureDirectory {
        path: path.to_path_buf(),
        reason,
        euid,
    };
    let names: Vec<&std::ffi::OsStr> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(Ok(n)),
            Component::RootDir | Component::CurDir => None,
            Component::ParentDir | Component::Prefix(_) => Some(Err(())),
        })
        .collect::<Result<_, ()>>()
        .map_err(|()| insecure("the path contains '..'".into()))?;
    if names.is_empty() {
        return Err(insecure("the root directory cannot be a cache".into()));
    }
    let walk = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let mut cur = nix::fcntl::open("/", walk, Mode::empty()).map_err(nix_err("open", path))?;
    let mut shown = PathBuf::from("/");
    check_ancestor(&cur, &shown, euid).map_err(insecure)?;
    for (i, name) in names.iter().enumerate() {
        shown.push(name);
        let last = i + 1 == names.len();
        let flags = if last {
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
        } else {
            walk
        };
        let mut opened = nix::fcntl::openat(&cur, *name, flags, Mode::empty());
        if matches!(opened, Err(Errno::ENOENT)) && create {
            match nix::sys::stat::mkdirat(&cur, *name, Mode::from_bits_truncate(0o700)) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(nix_err("create directory", &shown)(e)),
            }
            opened = nix::fcntl::openat(&cur, *name, flags, Mode::empty());
        }
        let next = match opened {
            Ok(fd) => fd,
            Err(Errno::ELOOP | Errno::ENOTDIR) => {
                let what = match nix::sys::stat::fstatat(&cur, *name, AtFlags::AT_SYMLINK_NOFOLLOW)
                {
                    Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => {
                        "is a symbolic link (never followed)"
                    }
                    _ => "is not a directory",
                };
                return Err(insecure(format!("{} {what}", shown.display())));
            }
            Err(e) => return Err(nix_err("open", &shown)(e)),
        };
        if last {
            let st = nix::sys::stat::fstat(&next).map_err(nix_err("inspect", &shown))?;
            if st.st_uid != euid {
                return Err(insecure(format!("it is owned by uid {}", st.st_uid)));
            }
            if st.st_mode & 0o022 != 0 {
                return Err(insecure(format!(
                    "its mode {:04o} lets group or others write to it",
                    st.st_mode & 0o7777
                )));
            }
        } else {
            check_ancestor(&next, &shown, euid).map_err(insecure)?;
        }
        cur = next;
    }
    Ok(cur)
}

/// An ancestor is safe when only root or the caller can rename what is in it: owned by
/// root or the caller, and writable by group or others only when sticky.
fn check_ancestor(fd: &OwnedFd, shown: &Path, euid: u32) -> Result<(), String> {
    let st = nix::sys::stat::fstat(fd)
        .map_err(|e| format!("cannot inspect {}: {e}", shown.display()))?;
    if st.st_uid != 0 && st.st_uid != euid {
        return Err(format!(
            "its ancestor {} is owned by uid {}, who could swap the directory",
            shown.display(),
            st.st_uid
        ));
    }
    if st.st_mode & 0o022 != 0 && st.st_mode & libc::S_ISVTX == 0 {
        return Err(format!(
            "its ancestor {} has mode {:04o}: group or others may rename what is in it",
            shown.display(),
            st.st_mode & 0o7777
        ));
    }
    Ok(())
}

fn fill_random(buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match crate::sys::getrandom(&mut buf[done..]) {
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl Cache {
    /// Opens (creating with mode 0700 if needed) the cache directory `dir`, and its MAC key
    /// (creating it on first use).
    ///
    /// # Errors
    /// [`CacheError::InsecureDirectory`] when `dir` or any ancestor is a symbolic link, an
    /// ancestor is owned by a user other than root and the caller or is writable by group
    /// or others without being sticky, `dir` is owned by another user or writable by group
    /// or others, or the key file is not a private regular file of the caller;
    /// [`CacheError::Io`] when a directory cannot be created or opened.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, CacheError> {
        let given = dir.as_ref();
        let dir = if given.is_absolute() {
            given.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(io_err("resolve", given))?
                .join(given)
        };
        let fd = open_trusted_dir(&dir, true)?;
        let mac_key = Self::load_key(&dir, &fd)?;
        Ok(Self {
            dir,
            fd,
            mac_key,
            max_entries: DEFAULT_MAX_ENTRIES,
            max_bytes: DEFAULT_MAX_BYTES,
        })
    }

    fn load_key(dir: &Path, fd: &OwnedFd) -> Result<[u8; MAC_KEY_LEN], CacheError> {
        let path = dir.join(MAC_KEY_FILE);
        let ro = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK;
        let file = match nix::fcntl::openat(fd, MAC_KEY_FILE, ro, Mode::empty()) {
            Ok(f) => f,
            Err(Errno::ENOENT) => {
                Self::create_key(dir, fd)?;
                nix::fcntl::openat(fd, MAC_KEY_FILE, ro, Mode::empty())
                    .map_err(nix_err("open", &path))?
            }
            Err(Errno::ELOOP) => {
                return Err(CacheError::InsecureDirectory {
                    path: dir.to_path_buf(),
                    reason: format!("{} is a symbolic link (never followed)", path.display()),
                    euid: nix::unistd::geteuid().as_raw(),
                })
            }
            Err(e) => return Err(nix_err("open", &path)(e)),
        };
        let st = nix::sys::stat::fstat(&file).map_err(nix_err("inspect", &path))?;
        let euid = nix::unistd::geteuid().as_raw();
        let bad = if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            Some("it is not a regular file".to_string())
        } else if st.st_uid != euid {
            Some(format!("it is owned by uid {}", st.st_uid))
        } else if st.st_mode & 0o077 != 0 {
            Some(format!(
                "its mode {:04o} lets others read or write it",
                st.st_mode & 0o7777
            ))
        } else if st.st_size != MAC_KEY_LEN as i64 {
            Some(format!("it has {} bytes, not {MAC_KEY_LEN}", st.st_size))
        } else {
            None
        };
        if let Some(why) = bad {
            return Err(CacheError::InsecureDirectory {
                path: dir.to_path_buf(),
                reason: format!("its key file {}: {why}", path.display()),
                euid,
            });
        }
        let mut key = [0u8; MAC_KEY_LEN];
        fs::File::from(file)
            .read_exact(&mut key)
            .map_err(io_err("read", &path))?;
        Ok(key)
    }

    fn create_key(dir: &Path, fd: &OwnedFd) -> Result<(), CacheError> {
        let mut key = [0u8; MAC_KEY_LEN];
        fill_random(&mut key).map_err(io_err("getrandom for", &dir.join(MAC_KEY_FILE)))?;
        let tmp = write_private(fd, dir, "key", &key)?;
        // Another process may have made the key first: keep theirs.
        let result = match nix::fcntl::renameat2(
            fd,
            tmp.as_str(),
            fd,
            MAC_KEY_FILE,
            nix::fcntl::RenameFlags::RENAME_NOREPLACE,
        ) {
            Ok(()) | Err(Errno::EEXIST) => Ok(()),
            Err(e) => Err(nix_err("rename into", &dir.join(MAC_KEY_FILE))(e)),
        };
        let _ = nix::unistd::unlinkat(fd, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
        result
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

    /// Looks `spec` up. `Ok(None)` on a miss; an entry that does not verify is removed and
    /// reported as a miss (with a warning).
    ///
    /// # Errors
    /// [`CacheError::Io`] when the entry exists but cannot be read.
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

    fn reject(&self, name: &str, why: String) -> Option<Result<Program, String>> {
        tracing::warn!(path = %self.dir.join(name).display(), %why, "cache entry ignored");
        let _ = nix::unistd::unlinkat(&self.fd, name, UnlinkatFlags::NoRemoveDir);
        Some(Err(why))
    }

    /// `None`: absent; `Some(Err(why))`: refused; `Some(Ok(p))`: hit.
    fn lookup(&self, key: &CacheKey) -> Result<Option<Result<Program, String>>, CacheError> {
        let name = key.file_name();
        let flags = OFlag::O_RDONLY
            | OFlag::O_NOFOLLOW
            | OFlag::O_CLOEXEC
            | OFlag::O_NONBLOCK
            | OFlag::O_NOCTTY;
        let fd = match nix::fcntl::openat(&self.fd, name.as_str(), flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Ok(None),
            Err(Errno::ELOOP) => {
                return Ok(self.reject(&name, "a symbolic link (never followed)".into()))
            }
            Err(e) => return Err(nix_err("open", &self.dir.join(&name))(e)),
        };
        let st = nix::sys::stat::fstat(&fd).map_err(nix_err("inspect", &self.dir.join(&name)))?;
        let euid = nix::unistd::geteuid().as_raw();
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Ok(self.reject(&name, "not a regular file".into()));
        }
        if st.st_uid != euid {
            return Ok(self.reject(&name, format!("owned by uid {}", st.st_uid)));
        }
        if st.st_size < 0 || st.st_size as u64 > MAX_ENTRY_LEN {
            return Ok(self.reject(&name, format!("{} bytes long", st.st_size)));
        }
        let mut file = fs::File::from(fd);
        let mut data = Vec::with_capacity(st.st_size as usize);
        (&mut file)
            .take(MAX_ENTRY_LEN + 1)
            .read_to_end(&mut data)
            .map_err(io_err("read", &self.dir.join(&name)))?;
        match decode_entry(&self.mac_key, key, &data) {
            Decoded::Program(p) => {
                // Mark as recently used for eviction; failure to do so is harmless.
                let _ = file.set_modified(std::time::SystemTime::now());
                Ok(Some(Ok(p)))
            }
            Decoded::OtherKey => Ok(None),
            Decoded::Damaged(why) => Ok(self.reject(&name, why)),
        }
    }

    /// Stores `program` for `spec` atomically (temporary file, then rename), authenticated
    /// with this cache's key.
    ///
    /// # Errors
    /// [`CacheError::Io`] when the entry cannot be written.
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
        let data = encode_entry(&self.mac_key, key, program);
        let tmp = write_private(&self.fd, &self.dir, "entry", &data)?;
        let name = key.file_name();
        let result = nix::fcntl::renameat(&self.fd, tmp.as_str(), &self.fd, name.as_str())
            .map_err(nix_err("rename into", &self.dir.join(&name)));
        if result.is_err() {
            let _ = nix::unistd::unlinkat(&self.fd, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
        }
        result?;
        self.evict();
        Ok(())
    }

    /// The names of the entries (`*.prog`), read through the directory fd.
    fn entry_names(&self) -> Result<Vec<std::ffi::OsString>, CacheError> {
        use std::os::unix::ffi::OsStrExt;
        let mut d = nix::dir::Dir::openat(
            &self.fd,
            ".",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(nix_err("list", &self.dir))?;
        Ok(d.iter()
            .flatten()
            .map(|e| std::ffi::OsStr::from_bytes(e.file_name().to_bytes()).to_os_string())
            .filter(|n| n.as_bytes().ends_with(b".prog"))
            .collect())
    }

    /// Removes least-recently-used entries until both bounds hold.
    fn evict(&self) {
        let Ok(names) = self.entry_names() else {
            return;
        };
        let mut entries: Vec<(i64, i64, u64, std::ffi::OsString)> = names
            .into_iter()
            .filter_map(|n| {
                let st =
                    nix::sys::stat::fstatat(&self.fd, n.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
                        .ok()?;
                Some((st.st_mtime, st.st_mtime_nsec, st.st_size.max(0) as u64, n))
            })
            .collect();
        let mut total: u64 = entries.iter().map(|e| e.2).sum();
        if entries.len() <= self.max_entries && total <= self.max_bytes {
            return;
        }
        entries.sort();
        let mut count = entries.len();
        for (_, _, len, name) in entries {
            if count <= self.max_entries && total <= self.max_bytes {
                break;
            }
            if nix::unistd::unlinkat(&self.fd, name.as_os_str(), UnlinkatFlags::NoRemoveDir).is_ok()
            {
                count -= 1;
                total = total.saturating_sub(len);
            }
        }
    }

    /// Returns the cached program for `spec`, or compiles and stores it.
    ///
    /// An entry that does not verify is never returned: it is recompiled and replaced. A
    /// failure to store the fresh program is logged and does not fail the call.
    ///
    /// # Errors
    /// [`CacheError::Compile`] when the profile does not compile; [`CacheError::Io`] when an
    /// existing entry cannot be read.
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
    ///
    /// # Errors
    /// [`CacheError::Io`] when the directory cannot be listed or an entry removed.
    pub fn clear(&self) -> Result<(), CacheError> {
        for n in self.entry_names()? {
            nix::unistd::unlinkat(&self.fd, n.as_os_str(), UnlinkatFlags::NoRemoveDir)
                .map_err(nix_err("remove", &self.dir.join(&n)))?;
        }
        Ok(())
    }

    /// The permission bits of the opened directory.
    ///
    /// # Errors
    /// [`CacheError::Io`] when `fstat` fails.
    pub fn mode(&self) -> Result<u32, CacheError> {
        Ok(nix::sys::stat::fstat(&self.fd)
            .map_err(nix_err("inspect", &self.dir))?
            .st_mode
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
    ///
    /// # Errors
    ///
    /// As [`compile`](crate::compile): a [`CompileError`] when the profile does not validate,
    /// compile or prove (nothing is kept then).
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
        let mk = [7u8; MAC_KEY_LEN];
        let e = encode_entry(&mk, &k, &p);
        assert_eq!(decode_entry(&mk, &k, &e), Decoded::Program(p));
        assert_eq!(
            decode_entry(&mk, &CacheKey::new(&spec(3), &o), &e),
            Decoded::OtherKey
        );
        // Another key (another cache's owner) cannot make an entry that verifies here.
        assert!(matches!(
            decode_entry(&[8u8; MAC_KEY_LEN], &k, &e),
            Decoded::Damaged(_)
        ));
        for n in 0..e.len() {
            assert!(
                matches!(decode_entry(&mk, &k, &e[..n]), Decoded::Damaged(_)),
                "prefix {n}"
            );
        }
        for i in (0..e.len() * 8).step_by(7) {
            let mut c = e.clone();
            c[i / 8] ^= 1 << (i % 8);
            assert!(
                !matches!(decode_entry(&mk, &k, &c), Decoded::Program(_)),
                "bit {i}"
            );
        }
    }
}
