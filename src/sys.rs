//! The C library calls fwgen makes itself, each behind a safe function: the only `unsafe`
//! code in fwgen. Each is an optimisation: on other systems, or if a call fails, the
//! function does nothing and fwgen does the same work, only slower or with more memory.

#![allow(unsafe_code)]

/// The memory this process has freed, given back to the system: every free page of every
/// malloc arena (glibc gives each thread its own, out of the other threads' reach).
pub(crate) fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions: it only releases free pages of the heap.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Start writing `file`'s data to disk, without waiting: the flushes that follow (one
/// `fdatasync` per file, which waits) then find the writes under way or done, and a build's
/// files go to the disk together rather than one after another (small build: 3.1 to 2.5 ms,
/// docs/src/performance.md). Only where files are flushed one by one (`output::flush`).
pub(crate) fn start_writeback(file: &std::fs::File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: the descriptor is open for as long as `file` is borrowed, and
        // sync_file_range only starts writeback of its pages; an error (a pipe, a file
        // system without it) changes nothing, and the flush that follows still waits.
        unsafe {
            libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}
