#!/usr/bin/env bash
# A fleet's rulesets from the controller: `fwgen build` of a manifest with N gateway targets
# (default 1000; one site file, ansible/sites/fleet.yaml, each target with its own address,
# as the fwgen.firewall role writes it) against the baseline of N separate `fwgen generate`
# runs of the same targets, in the same run, release build. Wall time: median of 3 runs;
# peak memory (/usr/bin/time): of the build, and the largest of the N generate processes.
#   bench/fleet.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
cargo build --release --quiet
bin=$PWD/target/x86_64-unknown-linux-gnu/release/fwgen
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp ansible/sites/fleet.yaml "$work/"
addr() { echo "10.$(($1 / 250)).$(($1 % 250 + 1)).1"; }
{
  echo "targets:"
  for i in $(seq 1 "$n"); do
    printf '  - name: gw%d\n    site: fleet.yaml\n    gateway: [%s]\n    backend: nftables\n    placement: host\n    output: out/gw%d.nft\n' \
      "$i" "$(addr "$i")" "$i"
  done
} > "$work/fwgen.yaml"
for i in $(seq 1 "$n"); do
  [ "$i" = 1 ] && echo "set -e; mkdir -p gen"
  echo "$bin generate --site fleet.yaml --gateway $(addr "$i") -b nftables --placement host -o gen/gw$i.nft 2>/dev/null"
done > "$work/generate.sh"
# The baseline's peak: every generate under /usr/bin/time, the largest.
for i in $(seq 1 "$n"); do
  [ "$i" = 1 ] && echo "set -e; mkdir -p gen"
  echo "/usr/bin/time -f %M -a -o peaks $bin generate --site fleet.yaml --gateway $(addr "$i") -b nftables --placement host -o gen/gw$i.nft 2>/dev/null"
done > "$work/generate-peaks.sh"

ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
cd "$work"
build=(); base=()
for _ in 1 2 3; do
  rm -rf out gen
  build+=("$(ms "$bin" build fwgen.yaml)")
  base+=("$(ms bash generate.sh)")
done
rm -rf out gen peaks
build_kb=$(/usr/bin/time -f %M "$bin" build fwgen.yaml 2>&1 >/dev/null | tail -1)
bash generate-peaks.sh
base_kb=$(sort -n peaks | tail -1)
diff -r out gen >/dev/null || { echo "build and generate wrote different files" >&2; exit 1; }
b=$(median "${base[@]}"); t=$(median "${build[@]}")
printf 'fwgen %s, %d gateway targets (nftables, host), %d files\n' "$("$bin" --version | cut -d' ' -f2)" "$n" "$(find out -type f | wc -l)"
printf '%-46s %8s %8s %10s\n' "run (median of 3)" "ms" "vs base" "peak KB"
printf '%-46s %8d %8s %10d\n' "fwgen build of one manifest" "$t" "$(awk -v t="$t" -v b="$b" 'BEGIN{printf "%.3f", t/b}')" "$build_kb"
printf '%-46s %8d %8s %10d\n' "baseline: $n x fwgen generate (largest peak)" "$b" "1.000" "$base_kb"
