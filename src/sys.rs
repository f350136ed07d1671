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
