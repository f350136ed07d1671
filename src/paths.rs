//! Paths that an untrusted file names (a manifest, a site file): they stay inside its
//! directory. The bottom of the house: it uses nothing of fwgen.

use std::path::Path;

/// Whether `rel`, a path the manifest names, stays inside `base` (the manifest's directory):
/// relative, no `..`, and no symbolic link on the way that leads out (checked on the part
/// that exists).
pub(crate) fn inside(base: &Path, rel: &Path) -> Result<(), String> {
    use std::path::Component;
    if rel.is_absolute() {
        return Err("is absolute".into());
    }
    if rel.components().any(|c| {
        matches!(
            c,
            Component::ParentDir | Component::Prefix(_) | Component::RootDir
        )
    }) {
        return Err("leaves the directory with `..`".into());
    }
    let root = if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base
    };
    let Ok(root) = std::fs::canonicalize(root) else {
        return Ok(()); // the manifest was read from there: it exists
    };
    // The longest existing prefix, with its links resolved, must stay under the directory.
    let mut probe = root.join(rel);
    loop {
        if let Ok(real) = std::fs::canonicalize(&probe) {
            return if real.starts_with(&root) {
                Ok(())
            } else {
                Err(format!(
                    "leads out of the directory (to `{}`)",
                    real.display()
                ))
            };
        }
        // A link to nothing could be created anywhere: refuse it rather than follow it.
        if std::fs::symlink_metadata(&probe).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err("is a symbolic link to nothing".into());
        }
        if !probe.pop() {
            return Ok(());
        }
    }
}
