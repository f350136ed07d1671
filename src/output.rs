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

/// Write (or check) every planned file. In write mode, missing parent directories below an
/// existing one are created; files whose content is unchanged are left alone.
pub fn apply(planned: &[Planned], mode: Mode) -> Result<Applied, OutputError> {
    let mut applied = Applied::default();
    let mut changed = Vec::new();
    for p in planned {
        let old = match std::fs::read(&p.path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) if p.path.is_dir() => {
                let _ = e;
                return Err(OutputError {
                    path: p.path.clone(),
                    reason: "it is a directory; give a file name".into(),
                });
            }
            Err(e) => {
                return Err(OutputError {
                    path: p.path.clone(),
                    reason: e.to_string(),
                });
            }
        };
        if old.as_deref() == Some(p.contents.as_bytes()) {
            applied.unchanged.push(p.path.clone());
            continue;
        }
        match mode {
            Mode::Check => {
                let old_text = old
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                applied.stale.push((
                    p.path.clone(),
                    unified_diff(&p.path, &old_text, &p.contents),
                ));
            }
            Mode::Write => changed.push(p),
        }
    }
    let staged = changed
        .iter()
        .map(|p| stage(&p.path, p.contents.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    commit(staged)?;
    applied
        .written
        .extend(changed.iter().map(|p| p.path.clone()));
    Ok(applied)
}

/// A file written to a temporary name beside its destination, not yet flushed or renamed.
/// It is closed (a build may stage thousands of files: firewalld has one per service) and
/// removed again if it is dropped before the rename.
struct Staged {
    tmp: tempfile::TempPath,
    path: PathBuf,
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
        std::fs::File::open(&s.tmp)
            .and_then(|f| f.sync_data())
            .map_err(|e| err(&s.path, e))
    }) {
        result?;
    }
    for s in staged {
        s.tmp.persist(&s.path).map_err(|e| err(&s.path, e.error))?;
    }
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Write `contents` to a private temporary file beside `path`, with the mode `path` will have.
fn stage(path: &Path, contents: &[u8]) -> Result<Staged, OutputError> {
    let err = |reason: String| OutputError {
        path: path.to_path_buf(),
        reason,
    };
    if path.is_dir() {
        return Err(err("it is a directory; give a file name".into()));
    }
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(err(format!("directory `{}` does not exist", dir.display())));
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".fwgen-")
        .tempfile_in(dir)
        .map_err(|e| err(e.to_string()))?;
    tmp.write_all(contents).map_err(|e| err(e.to_string()))?;
    // The temporary file is private (0600); give the result the replaced file's mode, or the
    // usual 0644 for a new file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o7777);
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
            .map_err(|e| err(e.to_string()))?;
    }
    Ok(Staged {
        tmp: tmp.into_temp_path(),
        path: path.to_path_buf(),
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
        std::fs::write(&f, "one\ntwo\n").unwrap();
        let plan = vec![Planned {
            path: f.clone(),
            contents: "one\nthree\n".into(),
        }];
        let a = apply(&plan, Mode::Check).unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "one\ntwo\n");
        assert_eq!(a.stale.len(), 1);
        assert!(a.stale[0].1.contains("-two\n+three\n"), "{}", a.stale[0].1);
        let a = apply(&plan, Mode::Write).unwrap();
        assert_eq!(a.written, vec![f.clone()]);
        let a = apply(&plan, Mode::Write).unwrap();
        assert_eq!(a.unchanged, vec![f]);
    }
}
