#!/usr/bin/env bash
# The audit at scale (issue 24): a 100,000-rule `nft -j list ruleset` dump (rules that match
# other sources, then the example site's accepts), `fwgen audit` of the example site on it
# (read + decide every entry exactly, over-broad included), against Python's `json.load` of
# the same file in the same hyperfine run; and each one's peak memory against the dump's
# size (/usr/bin/time). Targets: at most half json.load's time; at most 4x the dump's size.
# Then the same rules as iptables-save (with an ip6tables-save that accepts), against the
# same json.load and the same dump size.
#   bench/audit.sh [RULES]
set -euo pipefail
cd "$(dirname "$0")/.."
rules=${1:-100000}
cargo build --release --quiet
bin=$PWD/target/x86_64-unknown-linux-gnu/release/fwgen
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$rules" "$dir/big.json" <<'PY'
import json, sys
n, path = int(sys.argv[1]), sys.argv[2]
items = [
    {"table": {"family": "inet", "name": "big", "handle": 1}},
    {"chain": {"family": "inet", "table": "big", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
    {"chain": {"family": "inet", "table": "big", "name": "output", "handle": 2, "type": "filter", "hook": "output", "prio": 0, "policy": "accept"}},
    {"rule": {"family": "inet", "table": "big", "chain": "input", "handle": 3, "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}, {"accept": None}]}},
]
for i in range(n):
    items.append({"rule": {"family": "inet", "table": "big", "chain": "input", "handle": i + 10, "expr": [
        {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)}},
        {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 1 + i % 65535}},
        {"accept": None}]}})
items.append({"rule": {"family": "inet", "table": "big", "chain": "input", "handle": 2, "expr": [{"accept": None}]}})
with open(path, "w") as f:
    f.write('{"nftables": [' + ",\n".join(json.dumps(i) for i in items) + "]}")
PY
python3 - "$rules" "$dir/v4.save" "$dir/v6.save" <<'PY'
import sys
n, v4, v6 = int(sys.argv[1]), sys.argv[2], sys.argv[3]
head = ["*filter", ":INPUT DROP [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]",
        "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"]
lines = head + ["-A INPUT -s 10.%d.%d.%d/32 -p tcp -m tcp --dport %d -j ACCEPT"
                % ((i >> 16) & 255, (i >> 8) & 255, i & 255, 1 + i % 65535) for i in range(n)]
with open(v4, "w") as f:
    f.write("\n".join(lines + ["-A INPUT -j ACCEPT", "COMMIT"]) + "\n")
with open(v6, "w") as f:
    f.write("\n".join(head + ["-A INPUT -j ACCEPT", "COMMIT"]) + "\n")
PY
size=$(stat -c %s "$dir/big.json")
echo "dump: $rules rules, $size bytes"
audit="$bin audit --site examples/site.yaml --placement host --ruleset $dir/big.json"
load="python3 -c 'import json,sys; json.load(open(sys.argv[1]))' $dir/big.json"
saves="$bin audit --site examples/site.yaml --placement host --ruleset $dir/v4.save --ruleset $dir/v6.save"
hyperfine -i --warmup 1 --runs 5 "$load" "$audit" "$saves"
for cmd in "$load" "$audit" "$saves"; do
  /usr/bin/time -f "%M KB peak (dump $((size / 1024)) KB): $cmd" sh -c "$cmd" > /dev/null 2> >(tail -1 >&2) || true
done
