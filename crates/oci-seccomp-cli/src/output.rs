//! Writing outputs: standard output for none or `-`, else a file created or truncated
//! without following a symbolic link, blocking on a FIFO or overwriting another user's
//! file; and removed again when the command that created it fails.

use std::path::Path;

use crate::{CliError, CliResult};

/// Writes `bytes` to `path` (or standard output when `None`).
pub fn write_output(path: Option<&Path>, bytes: &[u8]) -> CliResult<()> {
    use std::io::Write;
    match path.filter(|p| !is_stdout(p)) {
        Some(p) => create_output(p, 0o644)
            .and_then(|mut f| f.write_all(bytes))
            .map_err(|e| CliError::problem(format!("{}: cannot write: {e}", p.display()))),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)
                .and_then(|()| out.flush())
                .map_err(|e| CliError::problem(format!("<stdout>: cannot write: {e}")))
        }
    }
}

/// Whether an output path is `-`: standard output, as the CLI's users expect.
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Creates (mode `mode`) or truncates the file at `path` for writing, without acting on
/// another user's behalf: every directory on the way is opened with `O_NOFOLLOW` (a
/// symbolic link anywhere in the path is refused, so another user cannot redirect the
/// write by swapping one in), the file is opened `O_NONBLOCK` (a FIFO cannot block us)
/// and must then be a regular file with one link, owned by us, or a character device
/// (`/dev/null`; only root can make one, so no other user can plant it).
///
/// # Errors
///
/// The `open` error, or `InvalidInput` naming what is wrong with the existing file.
pub fn create_output(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    let f = open_output(path, mode)?;
    if f.metadata()?.is_file() {
        f.set_len(0)?;
    }
    Ok(f)
}

/// [`create_output`] without the truncation: the file is created if missing, and an
/// existing one keeps its content until the caller writes (`record` checks its output
/// before the run and replaces the content only after a successful one).
///
/// # Errors
///
/// As [`create_output`].
pub fn open_output(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    let (f, created) = open_output_created(path, mode)?;
    if let Some(c) = created {
        c.keep();
    }
    Ok(f)
}

/// The directory that holds the last component of `path` (opened `O_PATH`, every
/// directory on the way without following a symbolic link) and that component.
fn parent_of(path: &Path) -> std::io::Result<(rustix::fd::OwnedFd, std::ffi::OsString)> {
    parent_of_with(path, None)
}

/// What [`parent_of_with`] requires of every directory on the way, and may create.
struct Walk {
    /// Create a missing directory (mode 0755).
    create: bool,
    /// Every directory must belong to root or to us, and be writable by no one else
    /// unless it has the sticky bit.
    safe_owners: bool,
}

/// [`parent_of`], checking (and creating) directories as `walk` says.
fn parent_of_with(
    path: &Path,
    walk: Option<&Walk>,
) -> std::io::Result<(rustix::fd::OwnedFd, std::ffi::OsString)> {
    use rustix::fs::{Mode, OFlags};
    let bad = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
    let dir_flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut dir = rustix::fs::open(
        if path.is_absolute() { "/" } else { "." },
        dir_flags,
        Mode::empty(),
    )?;
    let parts: Vec<&std::ffi::OsStr> = path
        .components()
        .filter_map(|c| match c {
            std::path::Component::RootDir | std::path::Component::CurDir => None,
            c => Some(c.as_os_str()),
        })
        .collect();
    let Some((name, dirs)) = parts.split_last() else {
        return Err(bad(format!("{}: not a file name", path.display())));
    };
    let check = |dir: &rustix::fd::OwnedFd, shown: &Path| -> std::io::Result<()> {
        if !walk.is_some_and(|w| w.safe_owners) {
            return Ok(());
        }
        let st = rustix::fs::fstat(dir)?;
        let me = rustix::process::geteuid().as_raw();
        let mode = st.st_mode;
        if st.st_uid != 0 && st.st_uid != me {
            return Err(bad(format!(
                "{}: the directory belongs to uid {}, neither root nor us: it could replace \
                 what we write",
                shown.display(),
                st.st_uid
            )));
        }
        if mode & 0o022 != 0 && mode & 0o1000 == 0 {
            return Err(bad(format!(
                "{}: the directory is writable by others (mode {:o}) without the sticky bit: \
                 another user could replace what we write",
                shown.display(),
                mode & 0o7777
            )));
        }
        Ok(())
    };
    let mut shown = std::path::PathBuf::from(if path.is_absolute() { "/" } else { "." });
    check(&dir, &shown)?;
    for d in dirs {
        shown.push(d);
        let opened = match rustix::fs::openat(&dir, *d, dir_flags, Mode::empty()) {
            Err(rustix::io::Errno::NOENT) if walk.is_some_and(|w| w.create) => {
                rustix::fs::mkdirat(&dir, *d, Mode::from_raw_mode(0o755))?;
                rustix::fs::openat(&dir, *d, dir_flags, Mode::empty())
            }
            other => other,
        };
        dir = opened.map_err(|e| {
            if e == rustix::io::Errno::NOTDIR || e == rustix::io::Errno::LOOP {
                bad(format!(
                    "{} is not a directory (a symbolic link is not followed here; give the \
                     real path)",
                    shown.display()
                ))
            } else {
                std::io::Error::from(e)
            }
        })?;
        check(&dir, &shown)?;
    }
    Ok((dir, name.to_os_string()))
}

/// A file [`open_output_created`] created: removed when dropped, unless
/// [`CreatedOutput::keep`] was called, so that a command that fails leaves nothing where
/// nothing was. Only the file it created is removed: the name must still lead to it.
#[derive(Debug)]
pub struct CreatedOutput {
    dir: rustix::fd::OwnedFd,
    name: std::ffi::OsString,
    id: (u64, u64),
    armed: bool,
}

impl CreatedOutput {
    /// Keeps the file: the command succeeded.
    pub fn keep(mut self) {
        self.armed = false;
    }
}

impl Drop for CreatedOutput {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        use std::os::unix::ffi::OsStrExt;
        let same = rustix::fs::statat(
            &self.dir,
            self.name.as_bytes(),
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .is_ok_and(|st| (st.st_dev, st.st_ino) == self.id);
        if same {
            let _ = rustix::fs::unlinkat(
                &self.dir,
                self.name.as_bytes(),
                rustix::fs::AtFlags::empty(),
            );
        }
    }
}

/// [`open_output`], and the file as [`CreatedOutput`] when this call created it.
///
/// # Errors
///
/// As [`create_output`].
pub fn open_output_created(
    path: &Path,
    mode: u32,
) -> std::io::Result<(std::fs::File, Option<CreatedOutput>)> {
    use rustix::fs::{Mode, OFlags};
    use std::os::unix::ffi::OsStrExt;
    let bad = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
    let (dir, name) = parent_of(path)?;
    let flags = OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let mode = Mode::from_raw_mode(mode);
    let explain = |e: rustix::io::Errno| -> std::io::Error {
        if e == rustix::io::Errno::LOOP {
            bad("a symbolic link, which is not followed here".into())
        } else if e == rustix::io::Errno::NXIO {
            bad(
                "a FIFO or socket (not a regular file), or a device with nothing behind it \
                 (/dev/tty without a terminal)"
                    .into(),
            )
        } else {
            e.into()
        }
    };
    // Created here, or there before: only a file this call created is ever removed.
    let (fd, created) = match rustix::fs::openat(
        &dir,
        name.as_bytes(),
        flags | OFlags::CREATE | OFlags::EXCL,
        mode,
    ) {
        Ok(fd) => (fd, true),
        Err(rustix::io::Errno::EXIST) => (
            rustix::fs::openat(&dir, name.as_bytes(), flags, mode).map_err(explain)?,
            false,
        ),
        Err(e) => return Err(explain(e)),
    };
    let st = rustix::fs::fstat(&fd)?;
    let kind = rustix::fs::FileType::from_raw_mode(st.st_mode);
    // A character device (`/dev/null`, a terminal) cannot be planted by another user:
    // making one needs CAP_MKNOD. Written to as it is.
    if kind == rustix::fs::FileType::CharacterDevice && !created {
        return Ok((std::fs::File::from(fd), None));
    }
    if kind != rustix::fs::FileType::RegularFile {
        return Err(bad("not a regular file".into()));
    }
    if st.st_uid != rustix::process::geteuid().as_raw() {
        return Err(bad(format!(
            "belongs to uid {}, not to us: not overwritten",
            st.st_uid
        )));
    }
    if st.st_nlink != 1 {
        return Err(bad(format!(
            "has {} hard links: not overwritten",
            st.st_nlink
        )));
    }
    let guard = created.then(|| CreatedOutput {
        dir,
        name,
        id: (st.st_dev, st.st_ino),
        armed: true,
    });
    Ok((std::fs::File::from(fd), guard))
}

/// Writes `bytes` to `path` atomically (mode `mode`): a new file created beside it with
/// `O_EXCL`, written, synced, then renamed over `path`, so that a reader sees the old
/// content or the new one, never a part. Every directory on the way, from `/`, is opened
/// without following a symbolic link, must belong to root or to us and be writable by no
/// one else (unless sticky): another user could otherwise swap a directory or the file
/// after we wrote it. Missing directories are created (0755). A symbolic link at `path`
/// itself is replaced, never followed.
///
/// # Errors
///
/// The system call's error, or `InvalidInput` naming a directory that is a link, belongs
/// to another user or is writable by others.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use rustix::fs::{Mode, OFlags};
    use std::io::Write;
    let walk = Walk {
        create: true,
        safe_owners: true,
    };
    let (dir, name) = parent_of_with(path, Some(&walk))?;
    let tmp_name = std::ffi::OsString::from(format!(".oci-seccomp-{}.tmp", std::process::id()));
    let fd = rustix::fs::openat(
        &dir,
        tmp_name.as_os_str(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(mode),
    )?;
    let mut f = std::fs::File::from(fd);
    let written = f
        .write_all(bytes)
        .and_then(|()| f.sync_all())
        .and_then(|()| {
            rustix::fs::renameat(&dir, tmp_name.as_os_str(), &dir, name.as_os_str())
                .map_err(Into::into)
        });
    if written.is_err() {
        let _ = rustix::fs::unlinkat(&dir, tmp_name.as_os_str(), rustix::fs::AtFlags::empty());
    }
    written
}
