//! Writing output files: atomically, only when their content changes, or not at all (check
//! mode, which reports a unified diff instead).
//!
//! A file is written to a temporary file in its own directory and then renamed over the old
//! one, so an error (or an interrupt) never leaves a partial file: the old file stays whole.
//! A plan of several files is committed in three steps: every changed file is staged (written
//! to its temporary file), then all are flushed to disk together, then all are renamed. A
//! failure while staging or flushing (a full disk, a read-only directory) renames nothing.

use std::io::Write;
use std::path::{Path, PathBuf};

use similar::TextDiff;

/// Why an output file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write `{}`: {reason}", .path.display())]
pub struct OutputError {
    pub path: PathBuf,
    pub reason: String,
}

/// A file to be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub path: PathBuf,
    pub contents: String,
}

/// Write the files, or only compare them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Write,
    Check,
}

/// What applying a plan did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Written because they were new or different.
    pub written: Vec<PathBuf>,
    /// Already up to date (and not touched).
    pub unchanged: Vec<PathBuf>,
    /// Check mode: out of date, with a unified diff from the file on disk to the new content.
    pub stale: Vec<(PathBuf, String)>,
}

/// A unified diff from `old` to `new`, labelled with `path`.
pub fn unified_diff(path: &Path, old: &str, new: &str) -> String {
    let p = path.display().to_string();
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{p} (on disk)"), &format!("{p} (generated)"))
        .to_string()
}

/// What an output path is, decided before anything is read or written.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Destination {
    /// A regular file, or nothing yet: replaced atomically at this path (for a symlink, the
    /// path is its final target, so the link stays a link).
    File(PathBuf),
    /// A character device or a FIFO (`/dev/null`, `/dev/stdout` into a pipe, a terminal):
    /// written through, never replaced, never read.
    Stream(PathBuf),
}

/// Follow `path` through symbolic links (relative ones resolved against the link's
/// directory) to what it finally names, which may not exist yet. At most 40 links, as the
/// kernel allows.
fn final_target(path: &Path) -> Result<PathBuf, String> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&p).map_err(|e| e.to_string())?;
                p = parent_dir(&p).join(link);
            }
            _ => return Ok(p),
        }
    }
    Err("too many levels of symbolic links".into())
}

/// Where `path` leads, and whether fwgen may write there: regular files (replaced) and
/// character devices or FIFOs (written through); never a directory, a block device or a
/// socket.
fn destination(path: &Path) -> Result<Destination, OutputError> {
    let err = |reason: String| OutputError {
        path: path.to_path_buf(),
        reason,
    };
    // `metadata` follows links the way `open` does (also /proc's magic links such as
    // /dev/stdout -> /proc/self/fd/1 -> pipe:[…], which name no path).
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        // Nothing there, or a link to nothing: create what the link names.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return final_target(path).map(Destination::File).map_err(err);
        }
        Err(e) => return Err(err(e.to_string())),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_char_device() || t.is_fifo() {
            return Ok(Destination::Stream(path.to_path_buf()));
        }
        if t.is_block_device() || t.is_socket() {
            return Err(err(format!(
                "it is a {}; fwgen writes regular files, character devices and FIFOs only",
                if t.is_socket() {
                    "socket"
                } else {
                    "block device"
                }
            )));
        }
    }
    if meta.is_dir() {
        return Err(err("it is a directory; give a file name".into()));
    }
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
    }
    // A regular file, perhaps behind links: replace the file itself, keep the links.
    std::fs::canonicalize(path)
        .map(Destination::File)
        .map_err(|e| err(e.to_string()))
}

/// The bytes of an existing regular file, at most `MAX_COMPARE` of them (a longer file is
/// different from anything fwgen writes anyway); `None` when it does not exist.
fn read_existing(path: &Path) -> Result<Option<Vec<u8>>, OutputError> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(OutputError {
                path: path.to_path_buf(),
                reason: e.to_string(),
            });
        }
    };
    let mut bytes = Vec::new();
    file.take(MAX_COMPARE)
        .read_to_end(&mut bytes)
        .map_err(|e| OutputError {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    Ok(Some(bytes))
}

/// Files longer than this are not read to compare them with new output.
const MAX_COMPARE: u64 = 256 * 1024 * 1024;

/// Write (or check) every planned file. In write mode, missing parent directories below an
/// existing one are created; files whose content is unchanged are left alone.
///
/// A symbolic link keeps pointing where it did: its final target is replaced. Character
/// devices and FIFOs are written through (never replaced, never read); in check mode they
/// are an error, since there is nothing to compare with. Directories, block devices and
/// sockets are refused.
pub fn apply(planned: &[Planned], mode: Mode) -> Result<Applied, OutputError> {
    let mut applied = Applied::default();
    let mut changed = Vec::new();
    let mut streams = Vec::new();
    for p in planned {
        let target = match destination(&p.path)? {
            Destination::Stream(target) => {
                if mode == Mode::Check {
                    return Err(OutputError {
                        path: p.path.clone(),
                        reason: "--check compares with a regular file; this is a device or a FIFO"
                            .into(),
                    });
                }
                streams.push((p, target));
                continue;
            }
            Destination::File(target) => target,
        };
        let old = read_existing(&target)?;
        if old.as_deref() == Some(p.contents.as_bytes()) {
            applied.unchanged.push(p.path.clone());
            continue;
        }
        match mode {
            Mode::Check => {
                let diff = match &old {
                    // Never print what fwgen did not write: the path may name any file.
                    Some(bytes) if !written_by_fwgen(bytes) => format!(
                        "{} exists and is not an fwgen file; its content is not shown\n",
                        p.path.display()
                    ),
                    old => unified_diff(
                        &p.path,
                        &old.as_deref()
                            .map(String::from_utf8_lossy)
                            .unwrap_or_default(),
                        &p.contents,
                    ),
                };
                applied.stale.push((p.path.clone(), diff));
            }
            Mode::Write => changed.push((p, target)),
        }
    }
    let staged = changed
        .iter()
        .map(|(p, target)| stage(&p.path, target, p.contents.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    commit(staged)?;
    applied
        .written
        .extend(changed.iter().map(|(p, _)| p.path.clone()));
    for (p, target) in streams {
        write_through(&target, p.contents.as_bytes()).map_err(|e| OutputError {
            path: p.path.clone(),
            reason: e.to_string(),
        })?;
        applied.written.push(p.path.clone());
    }
    Ok(applied)
}

/// True when `bytes` start like a file fwgen generated: every output names fwgen in its
/// first lines (`Generated by fwgen`, or JSON's `"generator": "fwgen …"`).
pub fn written_by_fwgen(bytes: &[u8]) -> bool {
    let head = bytes.get(..4096).unwrap_or(bytes);
    let head = String::from_utf8_lossy(head);
    head.contains("Generated by fwgen") || head.contains("\"generator\": \"fwgen ")
}

/// Write to a device or FIFO as it is: open for writing (no create, no truncation of
/// anything else), write, done.
fn write_through(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(contents)?;
    f.flush()
}

/// Temporary files that exist right now: removed by [`remove_temporary_files`] when a signal
/// ends the run, so that an interrupt leaves no `.fwgen-*` file behind.
static TEMPORARY: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn track(path: &Path) {
    if let Ok(mut t) = TEMPORARY.lock() {
        t.push(path.to_path_buf());
    }
}

fn untrack(path: &Path) {
    if let Ok(mut t) = TEMPORARY.lock() {
        t.retain(|p| p != path);
    }
}

/// Remove every temporary file of this run (called on SIGINT, SIGTERM or SIGHUP, before the
/// process exits). Holding the lock keeps a rename from racing with the removal: a file is
/// either renamed into place or removed, never left as `.fwgen-*`.
pub fn remove_temporary_files() {
    let guard = TEMPORARY.lock();
    if let Ok(t) = &guard {
        for p in t.iter() {
            let _ = std::fs::remove_file(p);
        }
    }
    // Keep the lock: the process exits next, and no rename may start after the removal.
    std::mem::forget(guard);
}

/// A file written to a temporary name beside its destination, not yet flushed or renamed.
/// It is closed (a build may stage thousands of files: firewalld has one per service) and
/// removed again if it is dropped before the rename.
struct Staged {
    /// `None` once renamed into place.
    tmp: Option<tempfile::TempPath>,
    path: PathBuf,
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Not renamed: the TempPath removes the file; forget it here too.
        if let Some(tmp) = &self.tmp {
            untrack(tmp);
        }
    }
}

/// Flush every staged file's data to disk (in parallel: the journal can commit them together),
/// then rename each over its destination. After a crash a file is the old one or the new one,
/// never empty or torn (the directories are not flushed: a rename may be undone by a crash,
/// which leaves the old file).
fn commit(staged: Vec<Staged>) -> Result<(), OutputError> {
    let err = |path: &Path, e: std::io::Error| OutputError {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    // Parallel flushes pay off for many files; for a few, starting threads costs more.
    for result in crate::par::map(&staged, staged.len() > 8, |s| {
        let Some(tmp) = &s.tmp else { return Ok(()) };
        std::fs::File::open(tmp)
            .and_then(|f| f.sync_data())
            .map_err(|e| err(&s.path, e))
    }) {
        result?;
    }
    for mut s in staged {
        let Some(tmp) = s.tmp.take() else { continue };
        let name = tmp.to_path_buf();
        // Under the lock a signal's clean-up waits until the rename is done (or has not begun).
        let held = TEMPORARY.lock();
        let renamed = tmp.persist(&s.path);
        drop(held);
        match renamed {
            Ok(()) => untrack(&name),
            Err(e) => {
                s.tmp = Some(e.path);
                return Err(err(&s.path, e.error));
            }
        }
    }
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Write `contents` to a private temporary file beside `target` (the regular file `path`
/// leads to), with the mode `target` will have. `path` names the file in errors.
fn stage(path: &Path, target: &Path, contents: &[u8]) -> Result<Staged, OutputError> {
    let err = |reason: String| OutputError {
        path: path.to_path_buf(),
        reason,
    };
    let dir = parent_dir(target);
    if !dir.is_dir() {
        return Err(err(format!("directory `{}` does not exist", dir.display())));
    }
    // A random name, created with O_EXCL: a stale `.fwgen-*` file, or a symlink planted with
    // such a name, is never opened or followed.
    let mut tmp = tempfile::Builder::new()
        .prefix(".fwgen-")
        .tempfile_in(dir)
        .map_err(|e| err(e.to_string()))?;
    track(tmp.path());
    tmp.write_all(contents).map_err(|e| err(e.to_string()))?;
    // The temporary file is private (0600); give the result the replaced file's permission
    // bits, or the usual 0644 for a new file, and never set-user-id, set-group-id or sticky
    // bits, whatever the replaced file (or a symlink's target) had.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(target).map_or(0o644, |m| m.permissions().mode() & 0o777);
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
            .map_err(|e| err(e.to_string()))?;
    }
    Ok(Staged {
        tmp: Some(tmp.into_temp_path()),
        path: target.to_path_buf(),
    })
}

/// Create `dir` and its missing parents.
pub fn create_dirs(dir: &Path) -> Result<(), OutputError> {
    std::fs::create_dir_all(dir).map_err(|e| OutputError {
        path: dir.to_path_buf(),
        reason: format!("cannot create directory: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_mode_writes_nothing_and_diffs() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.txt");
        std::fs::write(&f, "# Generated by fwgen\none\ntwo\n").unwrap();
        let plan = vec![Planned {
            path: f.clone(),
            contents: "# Generated by fwgen\none\nthree\n".into(),
        }];
        let a = apply(&plan, Mode::Check).unwrap();
        assert_eq!(
            std::fs::read_to_string(&f).unwrap(),
            "# Generated by fwgen\none\ntwo\n"
        );
        assert_eq!(a.stale.len(), 1);
        assert!(a.stale[0].1.contains("-two\n+three\n"), "{}", a.stale[0].1);
        let a = apply(&plan, Mode::Write).unwrap();
        assert_eq!(a.written, vec![f.clone()]);
        let a = apply(&plan, Mode::Write).unwrap();
        assert_eq!(a.unchanged, vec![f.clone()]);

        // A file fwgen did not write is reported, never shown.
        std::fs::write(&f, "password=x\n").unwrap();
        let a = apply(&plan, Mode::Check).unwrap();
        assert!(!a.stale[0].1.contains("password"), "{}", a.stale[0].1);
    }
}
