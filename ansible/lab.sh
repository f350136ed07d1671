#!/usr/bin/env bash
# The fleet lab: three gateways as network namespaces, each with its own sshd, and a
# controller namespace that rolls fwgen rulesets out to them with the fwgen.firewall
# collection over real SSH. Exits 0 only when all of this holds:
#   1. ansible-lint passes on the collection and the playbook, and --syntax-check on the playbook;
#   2. check mode (--check --diff) reports every gateway changed, shows the diff, and changes nothing;
#   3. the rollout applies every gateway, and real packets from the controller are admitted
#      and dropped as the ruleset says (before it, the same ports were open);
#   4. a second run on unchanged input reports nothing changed;
#   5. with a live table on gw2 that drops 443 and a changed input, the rollout changes gw1,
#      fails on gw2 (its live audit fails; fwgen restores gw2's ruleset byte-equal) and never
#      reaches gw3 (its ruleset untouched).
# Runs as root (namespaces, sshd, nft). Cleans up after itself, on failure too.
#   ansible/lab.sh
# FWGEN: the fwgen binary (default target/x86_64-unknown-linux-gnu/release/fwgen, built if missing);
# FWGEN_ANSIBLE_VENV: a virtual environment with ansible-core and ansible-lint (default
# target/ansible-venv, installed from PyPI if missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

# The log of the step that runs now (run sets it): shown with any failure after it.
log=
fail() {
  if [ -n "$log" ] && [ -s "$log" ]; then cat "$log" >&2; fi
  echo "lab: FAILED: $*" >&2
  exit 1
}
step() { echo "== lab: $*"; }

[ "$(id -u)" = 0 ] || fail "run as root (network namespaces, sshd, nft)"
# Debian's packages the lab needs, installed when missing (as .ci/run does).
if ! [ -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null || ! command -v nft >/dev/null \
  || ! command -v ip >/dev/null; then
  if command -v apt-get >/dev/null; then
    echo "== lab: installing openssh-server, openssh-client, nftables, iproute2 (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      openssh-server openssh-client nftables iproute2 >/dev/null
  fi
fi
for tool in ip nft python3 /usr/sbin/sshd ssh ssh-keygen; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (apt-get install iproute2 nftables openssh-server)"
done
fwgen=${FWGEN:-$root/target/x86_64-unknown-linux-gnu/release/fwgen}
if [ ! -x "$fwgen" ]; then
  (cd "$root" && cargo build --release --quiet)
fi
venv=${FWGEN_ANSIBLE_VENV:-$root/target/ansible-venv}
if [ ! -x "$venv/bin/ansible-playbook" ] || [ ! -x "$venv/bin/ansible-lint" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet ansible-core==2.18.19 ansible-lint==26.10.1
fi

# The gateways' Python for Ansible's modules: Debian's, else the one on PATH.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
lab=$(mktemp -d /tmp/fwgen-lab.XXXXXX)
tag=fl$$
ctl=$tag-ctl
gws=(gw1 gw2 gw3)
cleanup() {
  for ns in "$ctl" "${gws[@]/#/$tag-}"; do
    if ip netns list | grep -qw "$ns"; then
      ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
      ip netns del "$ns" 2>/dev/null || true
    fi
  done
  rm -rf "$lab"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "namespaces: $ctl (198.18.1.100 admin, .101 ICAP client) and ${gws[*]} (198.18.1.1-3)"
ip netns add "$ctl"
ip -n "$ctl" link set lo up
ip -n "$ctl" link add br0 type bridge
ip -n "$ctl" link set br0 up
ip -n "$ctl" addr add 198.18.1.100/24 dev br0
ip -n "$ctl" addr add 198.18.1.101/24 dev br0
i=0
for gw in "${gws[@]}"; do
  i=$((i + 1))
  ns=$tag-$gw
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip link add "$tag-c$i" netns "$ctl" type veth peer name eth0 netns "$ns"
  ip -n "$ctl" link set "$tag-c$i" master br0 up
  ip -n "$ns" addr add "198.18.1.$i/24" dev eth0
  ip -n "$ns" link set eth0 up
done

step "sshd in every gateway (throwaway host key and client key)"
ssh-keygen -q -t ed25519 -N '' -f "$lab/key"
ssh-keygen -q -t ed25519 -N '' -f "$lab/hostkey"
cp "$lab/key.pub" "$lab/authorized_keys"
mkdir -p /run/sshd
i=0
for gw in "${gws[@]}"; do
  i=$((i + 1))
  mkdir -p "$lab/$gw"
  cat > "$lab/$gw/sshd_config" <<EOF
Port 22
ListenAddress 198.18.1.$i
HostKey $lab/hostkey
PidFile $lab/$gw/sshd.pid
AuthorizedKeysFile $lab/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
EOF
  ip netns exec "$tag-$gw" /usr/sbin/sshd -f "$lab/$gw/sshd_config" -E "$lab/$gw/sshd.log"
done

# Listeners (accept, then close) and a probe: connect within a second or not.
cat > "$lab/listen.py" <<'EOF'
import socket, sys, threading
def serve(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        c.close()
for p in sys.argv[1:]:
    threading.Thread(target=serve, args=(int(p),), daemon=True).start()
threading.Event().wait()
EOF
cat > "$lab/probe.py" <<'EOF'
import socket, sys
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket()
s.settimeout(1.0)
try:
    s.bind((src, 0))
    s.connect((dst, port))
    print("open")
except OSError:
    print("blocked")
EOF
for gw in "${gws[@]}"; do
  ip netns exec "$tag-$gw" python3 "$lab/listen.py" 443 1344 8080 </dev/null >/dev/null 2>&1 &
  disown
done
ip netns exec "$ctl" python3 "$lab/listen.py" 25 8080 </dev/null >/dev/null 2>&1 &
disown
sleep 0.5

probe() { # NS SRC DST PORT -> open|blocked
  ip netns exec "$1" python3 "$lab/probe.py" "$2" "$3" "$4"
}
expect_probe() { # WANT NS SRC DST PORT WHAT
  local got
  got=$(probe "$2" "$3" "$4" "$5")
  [ "$got" = "$1" ] || fail "$6: $3 -> $4 port $5 is $got, expected $1"
  echo "   $6: $3 -> $4:$5 $got"
}
listing() { ip netns exec "$tag-$1" nft list ruleset; }

# The playbook runs in a copy of ansible/ (its build directory and inventory stay in the lab);
# the inventory is the shipped example plus this lab's connection details.
cp -r "$here" "$lab/ansible"
rm -f "$lab/ansible/lab.sh"
{
  cat "$here/inventory.example.yml"
  echo "# The lab's connection details and per-gateway directories (one filesystem for all)."
  echo "lab:"
  echo "  vars:"
  echo "    ansible_user: root"
  echo "    ansible_ssh_private_key_file: $lab/key"
  echo "    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
  echo "    ansible_python_interpreter: $py"
  echo "  hosts:"
  i=0
  for gw in "${gws[@]}"; do
    i=$((i + 1))
    echo "    $gw:"
    echo "      ansible_host: 198.18.1.$i"
    echo "      fwgen_remote_dir: $lab/$gw/fwgen"
    echo "      fwgen_state_dir: $lab/$gw/state"
  done
  # gw3 has fwgen installed already: the role copies none (the module checks what it renders).
  echo "      fwgen_host_binary: $fwgen"
} > "$lab/ansible/inventory.yml"
mkdir -p "$lab/home"
run() { # NAME COMMAND: in the controller's shell (ansible from the venv, fwgen on PATH), into $lab/NAME.log
  log=$lab/$1.log
  (cd "$lab/ansible" && ip netns exec "$ctl" env PATH="$venv/bin:$(dirname "$fwgen"):$PATH" \
    HOME="$lab/home" ANSIBLE_HOME="$lab/home/.ansible" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 \
    ANSIBLE_LOCAL_TEMP="$lab/home/tmp" timeout 600 sh -c "$2") >"$log" 2>&1
}
recap() { # LOG HOST -> the host's recap line
  grep -E "^$2 +:" "$1" || true
}

step "lint: ansible-lint and --syntax-check"
run lint "ansible-lint --offline --profile production rollout.yml ansible_collections/fwgen/firewall" \
  || fail "ansible-lint"
! grep -q 'ERROR' "$log" || fail "ansible-lint reported an error"
tail -1 "$log"
run doc "ansible-doc fwgen.firewall.apply" && ! grep -q 'ERROR' "$log" \
  || fail "ansible-doc fwgen.firewall.apply"
run syntax "ansible-playbook -i inventory.yml rollout.yml --syntax-check" \
  || fail "--syntax-check"

step "before: nothing filters, every listener answers"
for i in 1 2 3; do
  expect_probe open "$ctl" 198.18.1.100 "198.18.1.$i" 8080 "gw$i before"
done

step "check mode: every gateway would change, and nothing does"
declare -A before
for gw in "${gws[@]}"; do before[$gw]=$(listing "$gw"); done
run check "ansible-playbook -i inventory.yml rollout.yml --check --diff" \
  || fail "the check-mode run failed"
grep -q '^+table inet fwgen {' "$log" || fail "--diff showed no diff"
for gw in "${gws[@]}"; do
  grep -q "$gw: changed: " "$log" || fail "$gw not reported changed in check mode"
  [ "$(listing "$gw")" = "${before[$gw]}" ] || fail "check mode changed $gw"
  [ ! -e "$lab/$gw/fwgen" ] || fail "check mode left files on $gw"
done
echo "   all three reported changed; listings unchanged"

step "rollout"
run rollout "ansible-playbook -i inventory.yml rollout.yml" \
  || fail "the rollout failed"
for gw in "${gws[@]}"; do
  recap "$log" "$gw" | grep -q 'changed=[1-9].*failed=0' || fail "$gw: not changed"
  grep -q "$gw: changed: fwgen apply: nftables applied and proven live" "$log" \
    || fail "$gw: no proof reported"
  grep -q "table inet fwgen" <<<"$(listing "$gw")" || fail "$gw has no fwgen table"
done
[ -x "$lab/gw1/fwgen/bin/fwgen" ] || fail "the controller's fwgen was not copied to gw1"
[ ! -e "$lab/gw3/fwgen/bin/fwgen" ] || fail "fwgen was copied to gw3, which has its own"
for i in 1 2 3; do
  gw=198.18.1.$i
  expect_probe open "$ctl" 198.18.1.100 "$gw" 22 "gw$i admin SSH"
  expect_probe open "$ctl" 198.18.1.100 "$gw" 443 "gw$i admin web UI"
  expect_probe open "$ctl" 198.18.1.101 "$gw" 1344 "gw$i ICAP"
  expect_probe blocked "$ctl" 198.18.1.101 "$gw" 22 "gw$i SSH from the ICAP client"
  expect_probe blocked "$ctl" 198.18.1.100 "$gw" 8080 "gw$i unlisted port"
  expect_probe open "$tag-gw$i" "$gw" 198.18.1.100 25 "gw$i SMTP alerts out"
  expect_probe blocked "$tag-gw$i" "$gw" 198.18.1.100 8080 "gw$i unlisted port out"
done

step "again, unchanged input: nothing changes"
for gw in "${gws[@]}"; do before[$gw]=$(listing "$gw"); done
run again "ansible-playbook -i inventory.yml rollout.yml" \
  || fail "the second run failed"
for gw in "${gws[@]}"; do
  recap "$log" "$gw" | grep -q 'changed=0 .*failed=0' || fail "$gw changed on the second run"
  [ "$(listing "$gw")" = "${before[$gw]}" ] || fail "$gw's ruleset changed on the second run"
done
echo "   changed=0 on all three"

step "a broken gateway: gw2 drops 443 in a table of its own; the input changes (SNMP on)"
printf 'table inet other {\n chain input {\n  type filter hook input priority -10; policy accept;\n  tcp dport 443 drop\n }\n}\n' \
  | ip netns exec "$tag-gw2" nft -f -
for gw in "${gws[@]}"; do before[$gw]=$(listing "$gw"); done
if run broken "ansible-playbook -i inventory.yml rollout.yml -e '{\"fwgen_features\": [\"snmp\"]}'"; then
  fail "the rollout passed a gateway whose live audit fails"
fi
recap "$log" gw1 | grep -q 'changed=[1-9].*failed=0' || fail "gw1 not changed"
grep -q "fwgen snmp" <<<"$(listing gw1)" || fail "gw1 does not have the new ruleset"
recap "$log" gw2 | grep -q 'failed=1' || fail "gw2 not failed"
grep -q 'the live audit failed' "$log" || fail "gw2's failure is not the live audit"
[ "$(listing gw2)" = "${before[gw2]}" ] || fail "gw2 was not rolled back byte-equal"
[ -z "$(recap "$log" gw3)" ] || fail "the rollout reached gw3"
[ "$(listing gw3)" = "${before[gw3]}" ] || fail "gw3's ruleset changed"
grep -o '"msg": "fwgen apply: the live audit failed[^"]*' "$log" | head -1 | sed 's/^/   gw2: /'
echo "   gw1 changed; gw2 failed its live audit and was restored byte-equal; gw3 untouched"
expect_probe open "$ctl" 198.18.1.100 198.18.1.3 443 "gw3 still serves"

step "passed"
