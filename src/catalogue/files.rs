//! Reading a catalogue path: one file, or the `*.yaml` files of a directory (links that
//! lead out of it refused, unread).

use super::*;

/// Read the files of one catalogue path into `files`, problems into `errors`.
pub(super) fn read_files(path: &Path, files: &mut Vec<SourceFile>, errors: &mut Vec<Diagnostic>) {
    let err = |kind| Diagnostic {
        path: path.display().to_string(),
        line: 0,
        column: None,
        kind,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return errors.push(err(Problem::read(e))),
    };
    let mut paths = Vec::new();
    if meta.is_dir() {
        let rd = match std::fs::read_dir(path) {
            Ok(rd) => rd,
            Err(e) => return errors.push(err(Problem::read(e))),
        };
        let root = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        for ent in rd {
            let p = match ent {
                Ok(ent) => ent.path(),
                Err(e) => return errors.push(err(Problem::read(e))),
            };
            let is_yaml = p.extension().is_some_and(|x| x == "yaml" || x == "yml");
            if !is_yaml {
                continue;
            }
            match inside_dir(&root, &p) {
                Ok(true) => paths.push(p),
                Ok(false) => {}
                Err(why) => errors.push(Diagnostic {
                    path: p.display().to_string(),
                    line: 0,
                    column: None,
                    kind: Problem::Invalid(why),
                }),
            }
        }
        paths.sort();
        if paths.is_empty() {
            return errors.push(err(Problem::NoFiles));
        }
    } else {
        paths.push(path.to_path_buf());
    }
    for p in paths {
        let display = p.display().to_string();
        let name = p
            .file_name()
            .map_or_else(|| display.clone(), |n| n.to_string_lossy().into_owned());
        match read_text(&p) {
            Ok(text) => files.push(SourceFile {
                display,
                builtin: false,
                name,
                text: text.into(),
                json: None,
            }),
            Err(kind) => errors.push(Diagnostic {
                path: display,
                line: 0,
                column: None,
                kind,
            }),
        }
    }
}
/// Whether the directory entry `p` of the catalogue directory `root` (canonical) is a file to
/// read: a regular file, or a link to one that stays inside `root`. A link that leads out
/// (or to nothing, or to what is not a regular file) is refused by name and never read: a
/// catalogue directory may come from a manifest, which is untrusted input.
fn inside_dir(root: &Path, p: &Path) -> Result<bool, String> {
    let Ok(meta) = std::fs::symlink_metadata(p) else {
        return Ok(false);
    };
    if !meta.file_type().is_symlink() {
        return Ok(meta.is_file());
    }
    match std::fs::canonicalize(p) {
        Ok(real) if real.starts_with(root) && real.is_file() => Ok(true),
        Ok(real) if real.starts_with(root) => Ok(false),
        _ => Err(
            "a symbolic link that leads out of its catalogue directory (or to nothing): not \
             read; a catalogue directory's files stay inside it (name a file outside with \
             --catalogue FILE)"
                .to_string(),
        ),
    }
}
