//! Replays every input kept under `fuzz/regressions/TARGET/` (crashes the fuzzer found, once
//! fixed, and hostile seeds) through the fuzz targets' entry points: none may panic.

use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        let data = std::fs::read(&p).unwrap();
        let r = std::panic::catch_unwind(|| f(&data));
        assert!(
            r.is_ok(),
            "fuzz/regressions/{target}/{} panics",
            p.file_name().unwrap().to_string_lossy()
        );
        n += 1;
    }
    n
}

#[test]
fn fuzz_regressions_do_not_panic() {
    let n = replay("catalogue", fwgen::fuzzing::catalogue)
        + replay("site", fwgen::fuzzing::site)
        + replay("pipeline", fwgen::fuzzing::pipeline)
        + replay("split", fwgen::fuzzing::split)
        + replay("names", fwgen::fuzzing::names)
        + replay("audit", fwgen::fuzzing::audit);
    assert!(n >= 9, "only {n} regression inputs");
}
