#!/usr/bin/env bash
# fwgen side by side with Aerleon (PyPI `aerleon`, in a virtual environment under target/) on
# the same workloads: wall time (median of at least RUNS runs, default 3, by hyperfine) and peak
# memory (/usr/bin/time), their ratio,
# rules emitted per target, and nft load times. Release build. Not part of `cargo test`.
#   bench/aerleon.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
venv=target/aerleon-venv
if [ ! -x "$venv/bin/aclgen" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet aerleon==1.18.0
fi
python3 bench/compare.py "$PWD/target/x86_64-unknown-linux-gnu/release/fwgen" "$PWD/$venv/bin/aclgen" "${1:-3}"
