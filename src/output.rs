//! Writing output files atomically: a temporary file in the same directory, then a rename.
//! An error at any point leaves the old file as it was and no partial file behind.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why an output file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write `{}`: {reason}", .path.display())]
pub struct OutputError {
    pub path: PathBuf,
    pub reason: String,
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
    tmp.as_file().sync_all().map_err(|e| err(e.to_string()))?;
    tmp.persist(path).map_err(|e| err(e.error.to_string()))?;
    Ok(())
}
