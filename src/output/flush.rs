//! Putting staged files' data on disk before they are renamed into place ([`super::commit`]).
//!
//! One `fdatasync` a file waits, every time, for the disk to empty its write cache. Where
//! several files share a file system that syncs whole (ext4, XFS, btrfs) and the system holds
//! little other unwritten data, one `syncfs` writes them all, and one `fdatasync` after it
//! empties the cache once: a small build's seven files took 0.4 ms less on this project's
//! machine (docs/src/performance.md). `syncfs` also writes other programs' unwritten data on
//! that file system, which is why it is used only while there is little of it
//! ([`unwritten_allowed`]).

use std::os::unix::fs::MetadataExt;

use super::{OutputError, Staged, io_error};

/// The unwritten data (`Dirty` and `Writeback` in /proc/meminfo, every file system's) for
/// which one `syncfs` replaces two files' own flushes: what a disk writes in a few
/// milliseconds. Above it, or without /proc, each file is flushed on its own.
const UNWRITTEN_BASE_KIB: u64 = 4 * 1024;

/// What each further flush saved allows more: one flush costs about as long as writing 1 MiB,
/// on a solid-state disk (0.1 to 1 ms against 1 to 2 ms) as on a spinning one (10 ms both).
const UNWRITTEN_PER_FILE_KIB: u64 = 1024;

/// The most unwritten data a `syncfs` may have to write besides the run's own files.
const UNWRITTEN_MAX_KIB: u64 = 64 * 1024;

/// The most unwritten data (KiB) for which `files` files are flushed by one `syncfs`.
fn unwritten_allowed(files: usize) -> u64 {
    let more = u64::try_from(files.saturating_sub(2)).unwrap_or(u64::MAX);
    more.saturating_mul(UNWRITTEN_PER_FILE_KIB)
        .saturating_add(UNWRITTEN_BASE_KIB)
        .min(UNWRITTEN_MAX_KIB)
}

/// The file systems whose `syncfs` puts every file's data and inode on disk (or, for tmpfs,
/// has nothing to do): ext2/3/4, XFS, btrfs, tmpfs. A network or FUSE file system may
/// implement a file's flush and not the whole file system's, so its files are flushed each.
const WHOLE: [u64; 4] = [0xEF53, 0x5846_5342, 0x9123_683E, 0x0102_1994];

/// Flush every staged file that is not yet in place: each file system at once where
/// [`unwritten_allowed`] allows, otherwise (or if that fails) file by file.
pub(super) fn flush(staged: &[Staged]) -> Result<(), OutputError> {
    let pending: Vec<&Staged> = staged.iter().filter(|s| s.tmp.is_some()).collect();
    let little = unwritten_before().is_some_and(|kib| kib <= unwritten_allowed(pending.len()));
    if pending.len() < 2 || !little {
        return each(&pending);
    }
    let mut groups: Vec<(Option<u64>, Vec<&Staged>)> = Vec::new();
    for s in pending {
        let dev = with_file(s, std::fs::File::metadata).ok().map(|m| m.dev());
        match groups.iter_mut().find(|(d, _)| dev.is_some() && *d == dev) {
            Some((_, group)) => group.push(s),
            None => groups.push((dev, vec![s])),
        }
    }
    for (dev, group) in groups {
        if dev.is_none() || group.len() < 2 || whole(&group).is_err() {
            each(&group)?;
        }
    }
    Ok(())
}

/// One file after another, on several threads for many files (a flush mostly waits).
fn each(staged: &[&Staged]) -> Result<(), OutputError> {
    for result in crate::par::map(staged, staged.len() > 8, |s| {
        with_file(s, std::fs::File::sync_data).map_err(|e| io_error(&s.path, e))
    }) {
        result?;
    }
    Ok(())
}

/// `group`'s file system flushed whole, if it is one of [`WHOLE`]: `syncfs` writes every
/// file's data and inode and waits for them; the `fdatasync` of one of them then empties the
/// disk's write cache (ext4 without a journal does not, in `syncfs`, after its last writes).
/// An error here (another program's failed write counts too) leaves each file to its own
/// flush, which names the file that failed, if any.
fn whole(group: &[&Staged]) -> std::io::Result<()> {
    let one = group.iter().find(|s| s.open.is_some()).or(group.first());
    let one = one.ok_or(std::io::ErrorKind::NotFound)?;
    with_file(one, |file| {
        let kind = u64::try_from(rustix::fs::fstatfs(file)?.f_type).unwrap_or(0);
        if !WHOLE.contains(&kind) {
            return Err(std::io::ErrorKind::Unsupported.into());
        }
        rustix::fs::syncfs(file)?;
        file.sync_data()
    })
}

/// `f` of a staged file not yet in place: the file kept open, or (beyond those kept open)
/// opened again by its temporary name.
fn with_file<R>(
    s: &Staged,
    f: impl FnOnce(&std::fs::File) -> std::io::Result<R>,
) -> std::io::Result<R> {
    match (&s.open, s.tmp.as_deref()) {
        (Some(open), _) => f(&open.0),
        (None, Some(tmp)) => f(&std::fs::File::open(tmp)?),
        (None, None) => Err(std::io::ErrorKind::NotFound.into()),
    }
}

/// Whether a staged file's writeback should start at once: not where the system held so
/// little unwritten data before the first file was staged that the files will be flushed by
/// `syncfs`, which writes them all in one batch (starting each at once, which pays off before
/// a flush per file, cost a small build 0.1 ms more: docs/src/performance.md).
pub(super) fn early_writeback() -> bool {
    unwritten_before().is_none_or(|kib| kib > unwritten_allowed(2))
}

/// The system's unwritten data in KiB, read once, before the run's first file is staged:
/// the run's own files are not counted (they are written either way).
fn unwritten_before() -> Option<u64> {
    static UNWRITTEN: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *UNWRITTEN.get_or_init(|| meminfo().and_then(|text| unwritten_kib(&text)))
}

/// /proc/meminfo (about 1.5 KB), read into one buffer: the kernel writes it whole into one
/// big enough, where `read_to_string` would first ask for its size (0) and read it in pieces
/// of 32, 32, 64… bytes.
fn meminfo() -> Option<String> {
    use std::io::Read;
    let mut file = std::fs::File::open("/proc/meminfo").ok()?;
    let mut buf = vec![0; 16 * 1024];
    let mut len = 0;
    loop {
        match file.read(buf.get_mut(len..)?) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    buf.truncate(len);
    String::from_utf8(buf).ok()
}

/// `Dirty` and `Writeback` of a /proc/meminfo text, in KiB; `None` without both.
fn unwritten_kib(meminfo: &str) -> Option<u64> {
    let field = |name: &str| {
        meminfo.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            rest.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
        })
    };
    field("Dirty")?.checked_add(field("Writeback")?)
}

#[cfg(test)]
mod tests {
    use super::{unwritten_allowed, unwritten_kib};

    #[test]
    fn allows_more_unwritten_data_for_more_files() {
        assert_eq!(unwritten_allowed(2), 4096);
        assert_eq!(unwritten_allowed(7), 4096 + 5 * 1024);
        // Capped: a build of thousands of files waits for at most 64 MiB of others' data.
        assert_eq!(unwritten_allowed(2159), 64 * 1024);
        assert_eq!(unwritten_allowed(usize::MAX), 64 * 1024);
    }

    /// Files on two file systems (this tree's and tmpfs, where there is one), several on
    /// each: every one flushed (by its file system's `syncfs` or on its own), then renamed.
    #[test]
    fn flushes_the_files_of_every_file_system() {
        let dirs: Vec<tempfile::TempDir> = [Some(std::env::temp_dir()), tmpfs()]
            .into_iter()
            .flatten()
            .map(|d| tempfile::tempdir_in(d).unwrap())
            .collect();
        let mut staged = Vec::new();
        for (d, dir) in dirs.iter().enumerate() {
            for f in 0..3 {
                let path = dir.path().join(format!("f{f}"));
                let text = format!("file {f} of directory {d}\n");
                staged.push(super::super::stage(&path, &path, text.as_bytes(), 0o644).unwrap());
            }
        }
        super::flush(&staged).unwrap();
        super::super::commit(staged).unwrap();
        for (d, dir) in dirs.iter().enumerate() {
            for f in 0..3 {
                let text = std::fs::read_to_string(dir.path().join(format!("f{f}"))).unwrap();
                assert_eq!(text, format!("file {f} of directory {d}\n"));
            }
            // Only the three files: no temporary file is left.
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
        }
    }

    fn tmpfs() -> Option<std::path::PathBuf> {
        let shm = std::path::PathBuf::from("/dev/shm");
        shm.is_dir().then_some(shm)
    }

    #[test]
    fn reads_the_unwritten_data_of_meminfo() {
        let text = "MemTotal:        4002184 kB\nDirty:              1204 kB\n\
                    Writeback:            16 kB\nWritebackTmp:          0 kB\n";
        assert_eq!(unwritten_kib(text), Some(1220));
        // WritebackTmp is not Writeback; a field missing, or not in kB, is no answer.
        assert_eq!(unwritten_kib("Dirty: 5 kB\nWritebackTmp: 0 kB\n"), None);
        assert_eq!(unwritten_kib("Dirty: 5 MB\nWriteback: 0 kB\n"), None);
        assert_eq!(unwritten_kib(""), None);
        let huge = format!("Dirty: {} kB\nWriteback: 1 kB\n", u64::MAX);
        assert_eq!(unwritten_kib(&huge), None);
    }
}
