//! Following symbolic links as a careful root process does.
//!
//! fwgen replaces a file by renaming a temporary file over it, so for an output path that is
//! a symbolic link it resolves the link itself and renames over the target. The kernel's
//! `fs.protected_symlinks` rule (the distributions' default), which stops root from writing
//! through a link another user planted in `/tmp`, is checked when a process *opens* a path:
//! resolving and renaming never meets it. So fwgen applies it itself, link by link, and one
//! rule more: it does not write through another user's link into a directory that user
//! could not write.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

/// Why a path could not be resolved.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum LinkError {
    /// A link fwgen must not follow: the reason, and what to do.
    Refused(String),
    /// The path could not be walked (a loop, an unreadable directory).
    Other(String),
}

/// The most links one path may pass through, as the kernel allows.
const MAX_LINKS: usize = 40;

/// One step of a path still to walk.
enum Step {
    Root,
    Parent,
    Name(OsString),
}

fn steps(path: &Path) -> impl Iterator<Item = Step> + '_ {
    path.components().filter_map(|c| match c {
        Component::RootDir | Component::Prefix(_) => Some(Step::Root),
        Component::CurDir => None,
        Component::ParentDir => Some(Step::Parent),
        Component::Normal(n) => Some(Step::Name(n.to_os_string())),
    })
}

/// The process's effective user id.
fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// The working directory, asked once: fwgen never changes it, and a build resolves every
/// file it writes against it.
fn current_dir() -> Result<PathBuf, LinkError> {
    static CWD: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    CWD.get_or_init(|| std::env::current_dir().map_err(|e| e.to_string()))
        .clone()
        .map_err(LinkError::Other)
}

/// Where `path` leads, every link followed (relative ones against their own directory), as
/// an absolute path that may not exist yet; or why a link on the way must not be followed.
pub(super) fn resolve(path: &Path) -> Result<PathBuf, LinkError> {
    let mut done = if path.is_absolute() {
        PathBuf::from("/")
    } else {
        current_dir()?
    };
    let mut todo: VecDeque<Step> = steps(path).collect();
    // Links followed: (the link, its owner).
    let mut followed: Vec<(PathBuf, u32)> = Vec::new();
    while let Some(step) = todo.pop_front() {
        let name = match step {
            Step::Root => {
                done = PathBuf::from("/");
                continue;
            }
            Step::Parent => {
                done.pop();
                continue;
            }
            Step::Name(n) => n,
        };
        let here = done.join(&name);
        match std::fs::symlink_metadata(&here) {
            Ok(m) if m.file_type().is_symlink() => {
                if followed.len() >= MAX_LINKS {
                    return Err(LinkError::Other("too many levels of symbolic links".into()));
                }
                sticky_rule(&here, &done, m.uid())?;
                let target =
                    std::fs::read_link(&here).map_err(|e| LinkError::Other(e.to_string()))?;
                followed.push((here, m.uid()));
                for s in steps(&target).collect::<Vec<_>>().into_iter().rev() {
                    todo.push_front(s);
                }
            }
            Ok(_) => done = here,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => done = here,
            Err(e) => return Err(LinkError::Other(e.to_string())),
        }
    }
    for (link, owner) in &followed {
        writable_rule(link, *owner, &done)?;
    }
    Ok(done)
}

/// The kernel's rule: a link in a sticky, world-writable directory is followed only by its
/// owner, or when the directory's owner owns it.
fn sticky_rule(link: &Path, dir: &Path, owner: u32) -> Result<(), LinkError> {
    let Ok(d) = std::fs::metadata(dir) else {
        return Ok(());
    };
    let sticky_world = d.mode() & 0o1002 == 0o1002;
    let me = euid();
    if sticky_world && owner != me && owner != d.uid() {
        return Err(LinkError::Refused(format!(
            "`{}` is a symbolic link owned by uid {owner} in `{}`, a sticky directory anyone \
             can write to (owned by uid {}): fwgen (uid {me}) does not follow it, as the \
             kernel's protected_symlinks rule would not; remove the link, or give the path \
             of the file to write",
            link.display(),
            dir.display(),
            d.uid()
        )));
    }
    Ok(())
}

/// Another user's link is not written through into a directory that user could not write
/// (group permissions are not counted: fwgen does not know the user's groups).
fn writable_rule(link: &Path, owner: u32, target: &Path) -> Result<(), LinkError> {
    let me = euid();
    if owner == me || owner == 0 {
        return Ok(());
    }
    let dir = target.parent().unwrap_or(Path::new("/"));
    let Ok(d) = std::fs::metadata(dir) else {
        return Ok(());
    };
    let could = (d.uid() == owner && d.mode() & 0o200 != 0) || d.mode() & 0o002 != 0;
    if could {
        return Ok(());
    }
    Err(LinkError::Refused(format!(
        "`{}` is a symbolic link owned by uid {owner}, and it leads to `{}`, in a directory \
         that user cannot write: fwgen (uid {me}) does not write there on that user's behalf; \
         remove the link, or give the path of the file to write",
        link.display(),
        target.display()
    )))
}
