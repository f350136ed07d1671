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
    // Without a link on the part that exists, that part is plainly inside: nothing to
    // resolve (the usual case, a component at a time instead of every ancestor's link).
    let mut probe = root.to_path_buf();
    for c in rel.components() {
        probe.push(c);
        match std::fs::symlink_metadata(&probe) {
            Ok(m) if m.file_type().is_symlink() => return resolved_inside(root, rel),
            Ok(_) => {}
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

/// [`inside`] for a path with a link on the way: the longest part of it that exists, every
/// link resolved, must stay under the directory.
fn resolved_inside(root: &Path, rel: &Path) -> Result<(), String> {
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

#[cfg(test)]
mod tests {
    use super::inside;
    use std::os::unix::fs::symlink;
    use std::path::Path;

    #[test]
    fn a_link_anywhere_on_the_way_is_resolved() {
        let outer = tempfile::tempdir().unwrap();
        let base = outer.path().join("repo");
        std::fs::create_dir_all(base.join("a/b")).unwrap();
        symlink(outer.path(), base.join("a/out")).unwrap();
        symlink(base.join("a/b"), base.join("in")).unwrap();
        symlink(base.join("nothing"), base.join("a/b/dangling")).unwrap();
        let ok = |rel: &str| inside(&base, Path::new(rel));
        // No link: the part that exists is inside, the rest cannot leave.
        assert_eq!(ok("a/b/new/file"), Ok(()));
        assert_eq!(ok("missing/file"), Ok(()));
        assert_eq!(ok("a/b"), Ok(()));
        // A link that stays inside, at the start or deeper.
        assert_eq!(ok("in/file"), Ok(()));
        assert_eq!(ok("in"), Ok(()));
        // A link that leads out, last or on the way; a link to nothing.
        for rel in ["a/out", "a/out/file", "a/out/x/y"] {
            let why = ok(rel).unwrap_err();
            assert!(
                why.starts_with("leads out of the directory"),
                "{rel}: {why}"
            );
        }
        assert_eq!(
            ok("a/b/dangling"),
            Err("is a symbolic link to nothing".to_string())
        );
        assert_eq!(
            ok("../repo/a"),
            Err("leaves the directory with `..`".into())
        );
        assert_eq!(ok("/etc"), Err("is absolute".into()));
    }
}
