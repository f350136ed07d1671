#!/usr/bin/env bash
# `fwgen apply` from start to live (snapshot, real-tool check, the ruleset as it would be live
# in a network namespace of its own, load, the exact audit of what is live), against plain
# `nft -f` of the same ruleset in the same hyperfine run; each run in a fresh network
# namespace (`unshare --net`), so nothing of this machine's firewall is touched. Workloads:
# the example site, and a synthetic catalogue of 20,000 entries (bench/compare.py's). Needs
# root.
#   bench/apply.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=$PWD/target/x86_64-unknown-linux-gnu/release/fwgen
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$dir" <<'PY'
import sys
sys.path.insert(0, "bench")
from compare import write_fwgen
write_fwgen(sys.argv[1], 20000, 1)
PY
for w in example synth; do
  if [ $w = example ]; then
    sel="--site examples/site.yaml"
  else
    sel="--catalogue $dir/cat.yaml --no-builtin-catalogue -p synth --gateway 192.0.2.1"
  fi
  $bin generate $sel -b nftables --placement host -o "$dir/$w.nft" 2>/dev/null
  echo "== $w: $(grep -c accept "$dir/$w.nft") accept rules"
  hyperfine -N --warmup 1 --runs 5 \
    "unshare --net nft -f $dir/$w.nft" \
    "unshare --net $bin apply $sel -b nftables --auto-confirm --state-dir $dir/state-$w"
done
