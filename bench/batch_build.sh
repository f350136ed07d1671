#!/usr/bin/env bash
# Batch build speed: `fwgen build` of an N-target manifest (default 500) against the baseline
# of N separate `fwgen generate` processes doing the same work, in the same run, release build.
# Prints the median of 3 runs of each, and their ratio. Not part of `cargo test`.
#   bench/batch_build.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-500}
cargo build --release --quiet
bin=$PWD/target/x86_64-unknown-linux-gnu/release/fwgen
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r examples/sites "$work/"

sites=(sites/small-icap.yaml sites/internal-servers.yaml sites/dual-stack.yaml)
backends=(nftables iptables firewalld cisco-ios cisco-asa json markdown html)
{
  echo "targets:"
  for i in $(seq 1 "$n"); do
    site=${sites[$((i % 3))]}
    backend=${backends[$((i % 8))]}
    placement=perimeter
    if [ $((i % 2)) = 0 ] && [[ $backend != cisco-* ]]; then placement=host; fi
    printf '  - name: t%d\n    site: %s\n    backend: %s\n    placement: %s\n    output: out/t%d\n' \
      "$i" "$site" "$backend" "$placement" "$i"
  done
} > "$work/fwgen.yaml"
# The same targets as separate generate commands (the baseline).
awk '/- name:/{n=$3} /site:/{s=$2} /backend:/{b=$2} /placement:/{p=$2} /output:/{o=$2;
     print "'"$bin"' generate --site " s " -b " b " --placement " p " --output-dir gen/" n " 2>/dev/null"}' \
  "$work/fwgen.yaml" > "$work/generate.sh"

ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
cd "$work"
fresh=(); again=(); check=(); base=()
for _ in 1 2 3; do
  rm -rf out gen; mkdir gen
  fresh+=("$(ms "$bin" build fwgen.yaml)")
  again+=("$(ms "$bin" build fwgen.yaml)")
  check+=("$(ms "$bin" build --check fwgen.yaml)")
  base+=("$(ms bash generate.sh)")
done
files=$(find out -type f | wc -l)
b=$(median "${base[@]}")
printf 'fwgen %s, %d targets, %d files\n' "$("$bin" --version | cut -d' ' -f2)" "$n" "$files"
printf '%-44s %8s %8s\n' "run (median of 3)" "ms" "vs base"
for row in "build (writes every file):$(median "${fresh[@]}")" "build again (nothing changed):$(median "${again[@]}")" \
  "build --check:$(median "${check[@]}")" "baseline: $n x generate (separate processes):$b"; do
  name=${row%:*}; t=${row##*:}
  printf '%-44s %8d %8s\n' "$name" "$t" "$(awk -v t="$t" -v b="$b" 'BEGIN{printf "%.3f", t/b}')"
done
