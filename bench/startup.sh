#!/usr/bin/env bash
# Start-up: `fwgen products` and `fwgen generate --site examples/site.yaml -b json` against
# /bin/true in the same hyperfine run (release build), and each one's peak memory
# (/usr/bin/time). Issue 27's targets: within 4x of /bin/true; at most 4.5 MB.
#   bench/startup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/x86_64-unknown-linux-gnu/release/fwgen
hyperfine -N --warmup 20 --runs 300 /bin/true "$bin products" \
  "$bin generate --site examples/site.yaml -b json"
for cmd in /bin/true "$bin products" "$bin generate --site examples/site.yaml -b json"; do
  /usr/bin/time -f "%M KB peak: $cmd" $cmd > /dev/null 2> >(tail -1 >&2)
done
