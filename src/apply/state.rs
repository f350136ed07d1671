//! The state directory of `fwgen apply`: a lock (one apply, confirm or rollback at a time),
//! the snapshot of what was live before, and what was applied (since when, until when
//! unconfirmed, by which guard). Every file is written whole (a temporary file renamed into
//! place); the directory must be a real directory, not a symbolic link.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ApplyError;
use super::live::{Backend, Files};

/// Where an apply stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum Status {
    /// Live, and rolled back at the deadline unless confirmed.
    Unconfirmed,
    Confirmed,
    RolledBack,
}

/// What was applied.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct State {
    /// One apply's id (its process and start time): a guard acts only on its own.
    pub id: String,
    pub backend: Backend,
    pub status: Status,
    /// What the ruleset is for (product, version, component, site).
    pub what: String,
    /// Seconds since the epoch.
    pub applied_at: u64,
    pub deadline: u64,
    /// SHA-256 of the files applied.
    pub digest: String,
    /// The snapshot's files by name, kept in the directory's `snapshot/` by position.
    pub snapshot: Vec<String>,
    /// How it ended, when it did (confirmed by whom, rolled back why).
    #[serde(default)]
    pub note: Option<String>,
}

/// The largest state or snapshot file read back.
const MAX_FILE: u64 = 256 * 1024 * 1024;

pub(super) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `12:34:56 UTC` of a time in seconds since the epoch.
pub(super) fn clock(t: u64) -> String {
    let s = t % 86_400;
    format!("{:02}:{:02}:{:02} UTC", s / 3600, s / 60 % 60, s % 60)
}

/// The state directory, locked while this value lives.
pub(super) struct Dir {
    pub path: PathBuf,
    _lock: File,
}

impl Dir {
    /// Open (creating it, mode 0700) and lock the state directory; refused when another
    /// fwgen holds the lock.
    pub(super) fn lock(path: &Path) -> Result<Dir, ApplyError> {
        use std::os::unix::fs::DirBuilderExt;
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(ApplyError::state(
                    path,
                    "is a symbolic link: give the directory itself",
                ));
            }
            Ok(m) if !m.is_dir() => return Err(ApplyError::state(path, "is not a directory")),
            Ok(m) => {
                use std::os::unix::fs::{MetadataExt, PermissionsExt};
                // Another user could put links or files of their own in it.
                if m.uid() != rustix::process::geteuid().as_raw()
                    || m.permissions().mode() & 0o022 != 0
                {
                    return Err(ApplyError::state(
                        path,
                        "is writable by another user: give a directory only you can write",
                    ));
                }
            }
            Err(_) => std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(path)
                .map_err(|e| ApplyError::state(path, format!("cannot create it: {e}")))?,
        }
        let lock_path = path.join("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&lock_path)
            .map_err(|e| ApplyError::state(&lock_path, format!("cannot open it: {e}")))?;
        if rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
            let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
            return Err(ApplyError::Busy {
                holder: crate::text::flatten(holder.trim(), 200, &[]),
            });
        }
        let mut lock = lock;
        let _ = lock.set_len(0);
        let _ = writeln!(lock, "fwgen apply, process {}", std::process::id());
        Ok(Dir {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    /// Write `name` in the directory whole.
    pub(super) fn write(&self, name: &str, text: &str) -> Result<(), ApplyError> {
        write_in(&self.path, name, text)
    }

    pub(super) fn save(&self, state: &State) -> Result<(), ApplyError> {
        let text = serde_json::to_string_pretty(state).unwrap_or_default();
        self.write("state.json", &format!("{text}\n"))
    }

    /// A new, empty `guard.log` for the guard's standard error (mode 0600, never through a
    /// link).
    pub(super) fn guard_log(&self) -> Result<File, ApplyError> {
        let path = self.path.join(GUARD_LOG);
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&path)
            .map_err(|e| ApplyError::state(&path, format!("cannot open it: {e}")))
    }

    /// Keep the snapshot's files.
    pub(super) fn keep(&self, snapshot: &Files) -> Result<Vec<String>, ApplyError> {
        let dir = self.path.join("snapshot");
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(ApplyError::state(&dir, "is not a directory")),
            Err(_) => std::fs::create_dir(&dir).map_err(|e| ApplyError::state(&dir, e))?,
        }
        // By position: names may hold a directory (`zones/fwgen.xml`).
        for (i, (_, text)) in snapshot.iter().enumerate() {
            write_in(&dir, &i.to_string(), text)?;
        }
        Ok(snapshot.iter().map(|f| f.0.clone()).collect())
    }

    /// The snapshot kept for `state`.
    pub(super) fn snapshot(&self, state: &State) -> Result<Files, ApplyError> {
        state
            .snapshot
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let text = read(&self.path.join("snapshot").join(i.to_string()))?;
                Ok((n.clone(), text))
            })
            .collect()
    }
}

use std::os::unix::fs::OpenOptionsExt;

/// Write `dir/name` whole: a temporary file in `dir`, synced, renamed over it (a link there
/// is replaced, not followed).
pub(super) fn write_in(dir: &Path, name: &str, text: &str) -> Result<(), ApplyError> {
    let target = dir.join(name);
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| ApplyError::state(dir, e))?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| ApplyError::state(&target, e))?;
    tmp.persist(&target)
        .map_err(|e| ApplyError::state(&target, e))?;
    Ok(())
}

fn read(path: &Path) -> Result<String, ApplyError> {
    use std::io::Read;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .map_err(|e| ApplyError::state(path, e))?;
    let mut text = String::new();
    f.take(MAX_FILE)
        .read_to_string(&mut text)
        .map_err(|e| ApplyError::state(path, e))?;
    Ok(text)
}

/// Where the guard's standard error goes.
const GUARD_LOG: &str = "guard.log";

/// What the last guard printed (an error it stopped at, a panic), as one line of at most
/// 1,000 bytes with its end kept; none when it printed nothing.
pub(super) fn guard_said(dir: &Path) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(dir.join(GUARD_LOG))
        .ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(4096))).ok()?;
    let mut bytes = Vec::new();
    f.take(4096).read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let said = crate::text::flatten(text.trim(), 4096, &[]);
    let tail = said.len().saturating_sub(1000);
    let start = (tail..=said.len()).find(|&i| said.is_char_boundary(i))?;
    let said = said.get(start..)?.trim();
    (!said.is_empty()).then(|| said.to_string())
}

/// What was applied last, if anything (read without the lock: for the guard and `--status`).
pub(super) fn load(dir: &Path) -> Result<Option<State>, ApplyError> {
    let path = dir.join("state.json");
    if !path.exists() {
        return Ok(None);
    }
    let text = read(&path)?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| ApplyError::state(&path, format!("not fwgen's state: {e}")))
}

#[cfg(test)]
mod tests {
    /// The end of a long log, as one line of at most 1,000 bytes, cut on a character, with
    /// its escape sequences and line breaks gone; nothing for an empty or absent log.
    #[test]
    fn what_the_guard_said_is_the_end_of_its_log_on_one_line() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(super::guard_said(dir.path()), None);
        std::fs::write(dir.path().join(super::GUARD_LOG), "\n \n").unwrap();
        assert_eq!(super::guard_said(dir.path()), None);
        let log = format!(
            "{}\x1b[31merror: é\nthe last line\n",
            "ü".repeat(3000) // 6,000 bytes before the end
        );
        std::fs::write(dir.path().join(super::GUARD_LOG), log).unwrap();
        let said = super::guard_said(dir.path()).unwrap();
        assert!(said.len() <= 1000, "{}", said.len());
        assert!(said.ends_with("[31merror: é the last line"), "{said}");
        assert!(said.starts_with('ü'), "{said}");
        assert!(!said.contains(['\x1b', '\n']), "{said}");
    }
}
