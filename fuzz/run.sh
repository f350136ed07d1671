#!/usr/bin/env bash
# Fuzz every target for SECONDS each (default 60) with libFuzzer (cargo fuzz), seeded from the
# shipped catalogue, the example sites and the test fixtures, as many targets at a time as
# there are cores. Not part of `cargo test`. Crashes land in fuzz/artifacts/TARGET/ and make
# the run fail; copy each into fuzz/regressions/TARGET/ after the fix, where `cargo test`
# replays it (tests/integration/fuzz_regressions.rs).
#   fuzz/run.sh [SECONDS]
#   fuzz/run.sh build      (only build every target, as the runs will: CI does it early)
# FWGEN_FUZZ_SANITIZER (default `address`) is cargo fuzz's `--sanitizer`: `none` builds in
# three quarters of the time and still catches every panic, hang and memory blow-up, but not
# memory errors in unsafe code (libyaml-rs has much of it); CI's few seconds a target use it.
# FWGEN_FUZZ_PROFILE (default `release`) is the build's profile: `dev` builds in half the
# CPU time of `release` (105 against 215 core-seconds) and runs slower, with overflow checks;
# CI's five seconds a target use it, longer runs should not.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
# cargo fuzz needs nightly-only flags; the machine has the stable toolchain only.
export RUSTC_BOOTSTRAP=1
# cargo-fuzz only starts cargo: a debug build of it does that as fast, in half the time to build.
command -v cargo-fuzz >/dev/null || cargo install --locked --debug cargo-fuzz
# Always fuzz/target, whatever CARGO_TARGET_DIR says (the instrumented build shares nothing
# with the others).
unset CARGO_TARGET_DIR
sanitizer=${FWGEN_FUZZ_SANITIZER:-address}
case ${FWGEN_FUZZ_PROFILE:-release} in
  release) profile=-O ;;
  dev) profile=--dev ;;
  *) echo "fuzz/run.sh: FWGEN_FUZZ_PROFILE is release or dev, not '$FWGEN_FUZZ_PROFILE'" >&2; exit 2 ;;
esac
if [ "$secs" = build ]; then
  exec cargo fuzz build "$profile" -s "$sanitizer"
fi
# FWGEN_FUZZ_CORPUS (default `committed`) is where each target's corpus is: `committed` grows
# fuzz/corpus/TARGET; `seeds` starts from the seeds below alone, in a temporary directory.
# libFuzzer replays its whole corpus before its time limit starts counting: from CI's debug
# build that took 44 s for the catalogue's 691 committed inputs, so CI's five seconds a target
# use the seeds (the crashes found, fuzz/regressions/, are seeds too, and `cargo test` replays
# them anyway).
# The run's temporary directory: each target's log, and with `seeds` the corpora.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case ${FWGEN_FUZZ_CORPUS:-committed} in
  committed) corpus=fuzz/corpus ;;
  seeds) corpus=$work/corpus ;;
  *) echo "fuzz/run.sh: FWGEN_FUZZ_CORPUS is committed or seeds, not '$FWGEN_FUZZ_CORPUS'" >&2; exit 2 ;;
esac

seed() {
  local t=$1 dir=$corpus/$1
  mkdir -p "$dir"
  case $t in
    catalogue) cp data/*.yaml tests/fixtures/catalogue/*.yaml tests/fixtures/invalid/*.yaml "$dir/" ;;
    site) cp examples/site.yaml examples/sites/*.yaml tests/fixtures/sites/*.yaml tests/fixtures/invalid-sites/*.yaml "$dir/" ;;
    split) printf '\x00\x00\x00' > "$dir/seed-empty"; printf '\x00\x01\x00\n' > "$dir/seed-newline" ;;
    names) cp tests/fixtures/names/* "$dir/" ;;
    audit) cp tests/fixtures/audit/* "$dir/" ;;
    pipeline)
      local i=0
      for site in examples/sites/*.yaml tests/fixtures/sites/*.yaml; do
        for opt in 0 1 9 41 63; do
          { printf "\\x$(printf %02x "$opt")"; cat tests/fixtures/catalogue/minimal.yaml; printf '\0'; cat "$site"; } > "$dir/seed-$i"
          i=$((i + 1))
        done
      done ;;
  esac
  cp fuzz/regressions/"$t"/* "$dir/" 2>/dev/null || true
}

# The targets run side by side, as many at a time as there are cores (FWGEN_FUZZ_JOBS
# overrides it): each gets a core, and six targets take a third of the time on two cores.
jobs=${FWGEN_FUZZ_JOBS:-$(nproc)}
targets=(catalogue site pipeline split names audit)
# The crash inputs a target's artifacts directory holds.
crash_count() {
  if [ -d "fuzz/artifacts/$1" ]; then find "fuzz/artifacts/$1" -type f | wc -l; else echo 0; fi
}
fuzz_one() {
  local t=$1 dict=()
  if [ -f "fuzz/$t.dict" ]; then dict=(-dict="fuzz/$t.dict"); fi
  crash_count "$t" >"$work/$t.before"
  cargo fuzz run "$profile" -s "$sanitizer" "$t" "$corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 "${dict[@]}" >"$work/$t" 2>&1 || true
}
for t in "${targets[@]}"; do
  seed "$t"
done
running=0
for t in "${targets[@]}"; do
  fuzz_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

# A crash this run found fails it (CI too): its input is in fuzz/artifacts/TARGET/.
found=0
printf '%-10s %12s %8s %s\n' target executions crashes "seconds"
for t in "${targets[@]}"; do
  runs=$(sed -n 's/.*Done \([0-9]*\) runs.*/\1/p' "$work/$t")
  crashes=$(crash_count "$t")
  printf '%-10s %12s %8s %s\n' "$t" "${runs:-?}" "$crashes" "$secs"
  if [ "$crashes" != 0 ]; then
    grep -m5 -E 'panicked|ERROR' "$work/$t" || true
  fi
  if [ "$crashes" -gt "$(cat "$work/$t.before")" ]; then
    found=1
  fi
  if [ -z "$runs" ] && [ "$crashes" = 0 ]; then
    echo "fuzz/run.sh: target $t did not run:" >&2
    tail -5 "$work/$t" >&2
    found=1
  fi
done
exit "$found"
