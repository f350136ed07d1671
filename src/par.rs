//! A parallel map over a slice, for independent work such as rendering a manifest's targets
//! or flushing its files: results come back in input order, so output stays deterministic.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `f` applied to every item, on up to `available_parallelism()` threads when `parallel`
/// (starting threads costs more than small work saves: callers say when the work is big);
/// results in input order.
pub(crate) fn map<T: Sync, R: Send>(
    items: &[T],
    parallel: bool,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = if parallel {
        cores().min(items.len())
    } else {
        1
    };
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            done.push((i, f(item)));
        }
        done
    };
    let mut out: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    let mut place = |done: Vec<(usize, R)>| {
        for (i, r) in done {
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(r);
            }
        }
    };
    std::thread::scope(|s| {
        // The calling thread works too: one thread fewer to start, and one malloc arena fewer
        // holding memory (glibc gives every thread its own).
        let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        place(work());
        for h in helpers {
            match h.join() {
                Ok(done) => place(done),
                // A panic in `f` is a bug; let it surface as it would have without threads.
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
    });
    out.into_iter().flatten().collect()
}

/// `available_parallelism()`, asked once: each call reads the process's CPU affinity and
/// its cgroup's CPU quota (several files under /proc and /sys), about 15 µs a time, and a
/// build maps in parallel up to four times.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_input_order() {
        let items: Vec<u64> = (0..1000).collect();
        let got = super::map(&items, true, |&n| {
            // Uneven work, so threads finish out of order.
            (0..(n % 7) * 1000).fold(n, |a, b| a.wrapping_add(b % 3))
                - (0..(n % 7) * 1000).fold(0, |a, b| a + b % 3)
        });
        assert_eq!(got, items);
        assert_eq!(super::map(&[] as &[u8], true, |&b| b), Vec::<u8>::new());
        assert_eq!(super::map(&items, false, |&n| n), items);
    }
}
