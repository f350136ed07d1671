//! What a run has made on disk and not finished: its temporary files (each renamed into
//! place or removed) and the directories it created (removed again if the run fails), and
//! what SIGINT, SIGTERM and SIGHUP do about them.
//!
//! A signal that finds nothing unfinished ends the run at once (exit 130, as a shell reports
//! a signal). Otherwise it is noted, and the run removes what it made and exits at the next
//! step where nothing is half made: every change here ends with that check, and a build makes
//! one between any two files. The signal handler itself only reads and sets flags: removing
//! files takes locks and memory, which a handler may not.
//!
//! There is no thread waiting for signals: starting one cost a small build 0.19 of its 3.2
//! ms (docs/src/performance.md).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

/// The temporary files that exist right now and the directories this run created, in order.
/// A set: a fleet's build stages thousands of files, each removed from it when renamed.
struct Unfinished {
    files: BTreeSet<PathBuf>,
    dirs: Vec<PathBuf>,
}

static UNFINISHED: Mutex<Unfinished> = Mutex::new(Unfinished {
    files: BTreeSet::new(),
    dirs: Vec::new(),
});

static FLAGS: OnceLock<Option<Flags>> = OnceLock::new();

/// The handlers' flags, if [`register`]ed: a run that has made nothing registers nothing,
/// even on its way out through [`remove_created_dirs`].
fn flags() -> Option<&'static Flags> {
    FLAGS.get().and_then(Option::as_ref)
}

/// What the signal handler reads and sets.
struct Flags {
    /// Nothing unfinished: a signal ends the run at once. False from just before a file or
    /// directory is made until it is in place or removed.
    clean: Arc<AtomicBool>,
    /// A signal came while something was unfinished.
    signalled: Arc<AtomicBool>,
}

/// The handlers, registered before the run's first temporary file or directory: a run that
/// writes nothing (`fwgen products`, output to standard output, the guard of `fwgen apply`,
/// which must outlive the hang-up of the session that started it) keeps the default actions.
/// `None` if they could not be registered: a signal then ends the run as it would anyway.
fn register() -> Option<&'static Flags> {
    FLAGS
        .get_or_init(|| {
            let flags = Flags {
                clean: Arc::new(AtomicBool::new(true)),
                signalled: Arc::new(AtomicBool::new(false)),
            };
            for signal in [
                signal_hook::consts::SIGINT,
                signal_hook::consts::SIGTERM,
                signal_hook::consts::SIGHUP,
            ] {
                // The exit first: it acts only when there is nothing to clean up.
                signal_hook::flag::register_conditional_shutdown(
                    signal,
                    130,
                    Arc::clone(&flags.clean),
                )
                .ok()?;
                signal_hook::flag::register(signal, Arc::clone(&flags.signalled)).ok()?;
            }
            Some(flags)
        })
        .as_ref()
}

fn lock() -> MutexGuard<'static, Unfinished> {
    UNFINISHED.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Unfinished {
    /// Tell the handler whether anything is unfinished now.
    fn publish(&self) {
        if let Some(f) = flags() {
            let clean = self.files.is_empty() && self.dirs.is_empty();
            f.clean.store(clean, Ordering::SeqCst);
        }
    }
}

/// A step where nothing is half made: if a signal came, remove what is unfinished and exit
/// (130). Under the lock, which is never released: no file is made or renamed after the
/// removal.
pub(super) fn checkpoint() {
    if !flags().is_some_and(|f| f.signalled.load(Ordering::SeqCst)) {
        return;
    }
    let mut u = lock();
    for p in &u.files {
        let _ = std::fs::remove_file(p);
    }
    remove_dirs(&mut u);
    std::mem::forget(u);
    std::process::exit(130);
}

/// Change what is unfinished with `f` under the lock, tell the handler, then act on a signal
/// that came meanwhile.
fn change<R>(f: impl FnOnce(&mut Unfinished) -> R) -> R {
    let result = {
        let mut u = lock();
        let result = f(&mut u);
        u.publish();
        result
    };
    checkpoint();
    result
}

/// Make a file or directory with `make`, which returns the path it made: tracked from just
/// before it exists, so that a signal meanwhile finds it unfinished and removes it.
fn made<T>(dir: bool, make: impl FnOnce() -> std::io::Result<(T, PathBuf)>) -> std::io::Result<T> {
    change(|u| {
        if let Some(f) = register() {
            f.clean.store(false, Ordering::SeqCst);
        }
        make().map(|(made, path)| {
            if dir {
                u.dirs.push(path);
            } else {
                u.files.insert(path);
            }
            made
        })
    })
}

/// A new temporary file, by `make` (which returns it with its path).
pub(super) fn new_file<T>(
    make: impl FnOnce() -> std::io::Result<(T, PathBuf)>,
) -> std::io::Result<T> {
    made(false, make)
}

/// A new directory (an error if anything of that name exists).
pub(super) fn new_dir(dir: &Path) -> std::io::Result<()> {
    made(true, || {
        std::fs::create_dir(dir).map(|()| ((), dir.to_path_buf()))
    })
}

/// `tmp` renamed to `path` (or removed, `path` being `None`): finished either way.
pub(super) fn finish_file(
    tmp: tempfile::TempPath,
    path: Option<&Path>,
) -> Result<(), tempfile::PathPersistError> {
    change(|u| {
        let name = tmp.to_path_buf();
        let result = match path {
            Some(path) => tmp.persist(path),
            None => {
                drop(tmp);
                Ok(())
            }
        };
        if result.is_ok() {
            u.files.remove(&name);
        }
        result
    })
}

/// Every file is in place: the directories this run created hold them, and are no longer its
/// to remove.
pub(super) fn keep_dirs() {
    change(|u| u.dirs.clear());
}

/// After a failed run: remove the directories it created that are still empty, deepest
/// first, so that a failure leaves no trace (a directory that holds anything stays).
pub fn remove_created_dirs() {
    change(remove_dirs);
}

fn remove_dirs(u: &mut Unfinished) {
    while let Some(d) = u.dirs.pop() {
        let _ = std::fs::remove_dir(d);
    }
}
