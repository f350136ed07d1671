//! Writing output files: atomically, only when their content changes, or not at all (check
//! mode, which reports a unified diff instead).
//!
//! A file is written to a temporary file in its own directory and then renamed over the old
//! one, so an error (or an interrupt) never leaves a partial file: the old file stays whole.

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
            Mode::Write => {
                write_atomic(&p.path, p.contents.as_bytes())?;
                applied.written.push(p.path.clone());
            }
        }
    }
    Ok(applied)
}

/// Write `contents` to `path` atomically.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), OutputError> {
    let err = |reason: String| OutputError {
        path: path.to_path_buf(),
        reason,
    };
    if path.is_dir() {
        return Err(err("it is a directory; give a file name".into()));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
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
    tmp.as_file().sync_all().map_err(|e| err(e.to_string()))?;
    tmp.persist(path).map_err(|e| err(e.error.to_string()))?;
    Ok(())
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
