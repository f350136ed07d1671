#!/usr/bin/env bash
# The code layout of release builds: link/symbol-order.txt lists the functions that common
# commands run, and build.rs has the linker put them first, together, in that order. A run
# then maps (and reads from disk) only the part of the binary it uses, instead of a 64 KB
# window wherever one of its functions happens to lie: `fwgen generate --site
# examples/site.yaml -b json` peaked at 5.6 MB before, 3.6 MB after. The layout changes
# nothing a run does, only where its code lies.
#
#   link/order.sh           rewrite link/symbol-order.txt from the current code
#   link/order.sh --check   the release binary is laid out as the list says, and the list
#                           still names what the binary has (CI runs this)
#
# Regenerate after large changes to the code (renamed or new functions fall to the end of
# the layout: correct, only less compact); --check fails when under 80 % of the list is left.
# Needs valgrind (callgrind records which functions each command runs) and nm.
set -euo pipefail
cd "$(dirname "$0")/.."
list=link/symbol-order.txt
bin=target/x86_64-unknown-linux-gnu/release/fwgen
cargo build --release --quiet

if [ "${1:-}" = --check ]; then
  total=$(grep -c . "$list")
  # The addresses of the listed functions the binary has, in the list's order.
  addresses=$(nm --defined-only "$bin" | awk '$2 ~ /^[tTwWi]$/ { print $1, $3 }' |
    awk 'NR == FNR { at[$2] = $1; next } ($0 in at) { print at[$0] }' - "$list")
  found=$(grep -c . <<< "$addresses")
  # Consecutive pairs of Rust functions in ascending order (fixed-width hex compares as text):
  # all of them when the linker followed the list, about half when it did not. The C
  # library's functions are placed too, but a libc.a object that holds several (malloc.o:
  # malloc, realloc, free…) moves whole, to where the list first names one of them.
  rust=$(nm --defined-only "$bin" | awk '$2 ~ /^[tTwW]$/ && $3 ~ /^_(ZN|R)/ { print $1, $3 }' |
    awk 'NR == FNR { at[$2] = $1; next } ($0 in at) { print at[$0] }' - "$list")
  pairs=$(($(grep -c . <<< "$rust") - 1))
  ordered=$(awk 'NR > 1 && ($1 "") > (prev "") { n++ } { prev = $1 } END { print n + 0 }' <<< "$rust")
  echo "symbol order: $found of the $total functions of $list are in $bin, $ordered of $pairs pairs of Rust functions laid out in order"
  if [ $((found * 100)) -lt $((total * 80)) ]; then
    echo "symbol order: the list is stale (under 80 % left): run link/order.sh" >&2
    exit 1
  fi
  if [ $((ordered * 100)) -lt $((pairs * 95)) ]; then
    echo "symbol order: the linker did not follow $list (see build.rs)" >&2
    exit 1
  fi
  exit 0
fi

command -v valgrind > /dev/null || { echo "link/order.sh needs valgrind" >&2; exit 1; }
work=$(mktemp -d)
here=$PWD
trap 'rm -rf "$work"' EXIT
cp -r examples "$work/examples"
# bench/compare.py's workloads: the small one, and one big enough (2,000 terms of 10
# addresses) that its catalogue is parsed in pieces and its targets rendered in parallel, as
# big catalogues and manifests are: code the small runs never reach.
mkdir "$work/synth" "$work/synth-big"
python3 -c "import sys; sys.path.insert(0, 'bench'); import compare; compare.write_fwgen(sys.argv[1], 10, 1); compare.write_fwgen(sys.argv[2], 2000, 10)" "$work/synth" "$work/synth-big"
site="$work/examples/site.yaml"
# The commands, most common first: each one's functions follow those of the ones before. A
# build first, each twice (the second run finds its files unchanged, as repeated runs do): a
# small build then maps only its own code, not every function before the last it needs.
# Each command runs in $work/synth, where the builds name their manifest as users and the
# benchmarks do: relative to the directory they run in (which calls getcwd and more).
commands=(
  "build fwgen.yaml"
  "build fwgen.yaml"
  "build ../synth-big/fwgen.yaml"
  "build ../synth-big/fwgen.yaml"
  "generate --site $site -b json"
  "products"
  "generate --site $site -b nftables"
  "generate --site $site -b iptables --output-dir $work/ipt"
  "generate --site $site -b firewalld --output-dir $work/fwd"
  "generate --site $site -b cisco-asa"
  "generate --site $site -b cisco-ios"
  "generate --site $work/examples/sites/exchange-server.yaml --placement host -b windows"
  "generate --site $site -b markdown"
  "generate --site $site -b html"
  "generate --site $site -b aerleon --output-dir $work/aerleon"
  "build $work/examples/fwgen.yaml"
  "audit --site $site --placement host --ruleset $PWD/tests/fixtures/audit/fwgen-email-host.json"
  "audit --site $site --ruleset $work/ipt/rules.v4 --ruleset $work/ipt/rules.v6"
  "validate"
  "diff --product email-gateway --from 4.9 --to 5.3"
)
# Written out first, so that the builds find little unwritten data and flush their files as
# a build usually does (one syncfs, src/output/flush.rs) rather than file by file.
sync
: > "$work/order"
i=0
for c in "${commands[@]}"; do
  i=$((i + 1))
  # shellcheck disable=SC2086 # each command is words
  rc=0
  (cd "$work/synth" && valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/cg.$i" \
    "$here/$bin" $c > /dev/null 2> "$work/err.$i") || rc=$?
  # An audit exits 1 when the ruleset misses something: still a run to learn from.
  if [ $rc -ne 0 ] && ! { [ $rc -eq 1 ] && [[ $c == audit* ]]; }; then
    echo "failed ($rc): fwgen $c" >&2
    tail -5 "$work/err.$i" >&2
    exit 1
  fi
  # Functions in the order callgrind first names them, then only those the binary defines.
  grep -oE '^c?fn=\([0-9]+\) .+' "$work/cg.$i" | sed -E 's/^c?fn=\([0-9]+\) //' >> "$work/order"
done
# Only the functions the binary defines (mangled names), each once, first place kept: code
# (t, T, w, W) and the C library's IFUNC resolvers (i: memcpy, strlen…, which the start-up
# code of a static binary calls, all of them, before main). First the C start-up and exit
# code every run calls, which callgrind names by address only.
start=(_start deregister_tm_clones register_tm_clones __do_global_dtors_aux frame_dummy)
defined=$(nm --defined-only "$bin" | awk '$2 ~ /^[tTwWi]$/ { print $3 }')
# Then the code the CPU picks at run time that callgrind never runs, since valgrind's CPU has
# neither AVX-512 nor the SHA extensions and it gives no vDSO: every variant of each C
# string function it ran (`__memmove_evex_unaligned_erms` beside
# `__memmove_avx_unaligned_erms`), SHA-256's SHA-NI compression, and the start-up code
# that reads the vDSO. Left unlisted, they lie at the end of the code, and each one a run
# calls maps a window of it of its own (small build: 2.6 MB peak, 0.5 MB of it there).
levels='sse2|ssse3|sse4_1|sse4_2|avx|avx2|evex|evex512|avx512'
# (strcmp's too, which the C library's start-up code calls and callgrind names otherwise.)
families=$({ grep -oE "^__[a-z0-9]+_($levels)" "$work/order" | sed -E "s/_($levels)\$/_/"; echo __strcmp_; } | sort -u)
variants=$(for f in $families; do grep -E "^${f}($levels)" <<< "$defined" || true; done)
native=$(grep -E '7x86_sha8compress|^_dl_new_object$|^_dl_add_to_namespace_list$|^_dl_setup_hash$|^setup_vdso' <<< "$defined" || true)
printf '%s\n' "${start[@]}" $variants $native | cat - "$work/order" > "$work/named"
awk 'NR == FNR { keep[$0] = 1; next } ($0 in keep) && !seen[$0]++' - "$work/named" <<< "$defined" > "$list"
echo "wrote $list: $(wc -l < "$list") functions of the $(wc -l <<< "$defined") in $bin"
