#!/usr/bin/env python3
"""fwgen against Aerleon on the same workloads (see bench/aerleon.sh, which runs this).

For each workload of N terms x M addresses it writes the same policy twice: as an fwgen
catalogue + site + build manifest, and as an Aerleon policy + definitions, then times each
tool generating iptables, nftables, Cisco IOS and ASA output in one run (wall time: the median
of RUNS runs timed by hyperfine, each run writing its output afresh; peak RSS: /usr/bin/time on
one more run), counts the rules each emitted per target, and times `nft -f` loading each
nftables output into a throwaway network namespace. Without hyperfine, Python times the runs
the same way (no shell, output removed before each run, as many runs as fit in 3 s): not
around the /usr/bin/time run, which adds about 1.5 ms to every run (small read 39x for 106x).

  compare.py FWGEN_BIN ACLGEN_BIN [RUNS]
"""
import os
import re
import shutil
import json
import statistics
import subprocess
import sys
import tempfile
import time

WORKLOADS = [("small", 10, 1), ("2000x10", 2000, 10), ("20x1000", 20, 1000), ("20000x1", 20000, 1)]
PORTS = ["22", "25", "53", "80", "123", "389", "443", "636", "993", "3306", "5432", "8000-8010"]


def addr(i, j, m):
    """The j-th of term i's m addresses: all distinct and never adjacent (no aggregation)."""
    n = i * m + j
    return "10.%d.%d.%d" % ((n >> 15) & 255, (n >> 7) & 255, (n & 127) << 1)


def write_fwgen(d, n, m):
    with open(os.path.join(d, "cat.yaml"), "w") as f:
        f.write('product: synth\ntitle: Synthetic\nversion: "1"\ndocument: {file: none, title: synthetic}\n')
        f.write("components: [{id: gateway, description: gw}]\nhost_groups:\n")
        for i in range(n):
            addrs = ", ".join(addr(i, j, m) for j in range(m))
            f.write("  - {id: g%d, description: g, hosts: [h%d.example], addresses: [%s], address_source: document, source: {section: s, row: r, line: 1}}\n" % (i, i, addrs))
        f.write("entries:\n")
        for i in range(n):
            port = PORTS[i % len(PORTS)]
            port = '"%s"' % port if "-" in port else port
            proto = "udp" if i % 5 == 0 else "tcp"
            f.write("  - {id: e%d, description: e, protocols: [%s], ports: [%s], directions: [out], peer: {group: g%d}, source: {section: s, row: r, line: 1}}\n" % (i, proto, port, i))
    with open(os.path.join(d, "fwgen.yaml"), "w") as f:
        f.write("catalogue: cat.yaml\ntargets:\n")
        for backend, out in [("iptables", "ipt"), ("nftables", "r.nft"), ("cisco-ios", "ios.acl"), ("cisco-asa", "asa.acl")]:
            f.write("  - {name: %s, product: synth, gateway: [192.0.2.1], backend: %s, output: out/%s}\n" % (backend, backend, out))
    # The Aerleon export of the same selection, for aclgen to generate from.
    with open(os.path.join(d, "export.yaml"), "w") as f:
        f.write("catalogue: cat.yaml\ntargets:\n")
        f.write("  - {name: aerleon, product: synth, gateway: [192.0.2.1], backend: aerleon, aerleon_targets: [nftables, iptables, ciscoasa], output: exp}\n")


def write_aerleon(d, n, m):
    os.makedirs(os.path.join(d, "def"))
    os.makedirs(os.path.join(d, "policies", "pol"))
    with open(os.path.join(d, "def", "naming.yaml"), "w") as f:
        f.write("networks:\n  FWGEN_GATEWAY:\n    values:\n      - address: 192.0.2.1/32\n")
        for i in range(n):
            f.write("  NET_%d:\n    values:\n" % i)
            for j in range(m):
                f.write("      - address: %s/32\n" % addr(i, j, m))
        f.write("services:\n")
        for i in range(n):
            port = PORTS[i % len(PORTS)]
            f.write("  SVC_%d:\n    - port: %s\n      protocol: %s\n" % (i, port, "udp" if i % 5 == 0 else "tcp"))
    with open(os.path.join(d, "policies", "pol", "synth.yaml"), "w") as f:
        f.write("filters:\n  - header:\n      targets:\n")
        f.write("        iptables: FORWARD DROP\n        nftables: mixed output\n        cisco: FWGEN-OUT extended\n        ciscoasa: FWGEN-OUT\n")
        f.write("    terms:\n")
        for i in range(n):
            f.write("      - name: t%d\n        source-address: FWGEN_GATEWAY\n        destination-address: NET_%d\n        destination-port: SVC_%d\n        protocol: %s\n        action: accept\n" % (i, i, i, "udp" if i % 5 == 0 else "tcp"))


def peak(cmd, cwd):
    """Peak RSS in KiB (/usr/bin/time) of one run, after removing the previous run's output.
    (Not from Python's own wait4: a child forked from Python keeps the interpreter's peak.)"""
    shutil.rmtree(os.path.join(cwd, "out"), ignore_errors=True)
    out = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), out.stderr[-2000:]))
    return int(out.stderr.strip().splitlines()[-1])


def wall(cmd, cwd, runs):
    """Median wall seconds of at least `runs` runs (hyperfine's default: as many as fit in 3
    s), by hyperfine (no shell, output removed before each run), or the same way from Python
    without it."""
    # What earlier steps left unwritten (the build, the workload's files) is written first:
    # it would otherwise be written during, and weigh on, whichever runs come first.
    os.sync()
    if not shutil.which("hyperfine"):
        return spawned(cmd, cwd, runs)
    export = os.path.join(cwd, "hyperfine.json")
    quoted = " ".join("'%s'" % c for c in cmd)
    out = subprocess.run(["hyperfine", "-N", "--style", "none", "--min-runs", str(runs), "--prepare", "rm -rf out",
                          "--export-json", export, quoted], cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("failed: %s\n%s" % (quoted, out.stderr[-2000:]))
    with open(export) as f:
        return json.load(f)["results"][0]["median"]


def spawned(cmd, cwd, runs):
    """hyperfine's measurement from Python: the median of at least `runs` runs and as many as
    fit in 3 s, each from the spawn to the wait, its output removed before (untimed). On this
    machine it agrees with hyperfine to 0.1 ms (small: 3.16 against 3.1 ms)."""
    secs = []
    while len(secs) < runs or (sum(secs) < 3 and len(secs) < 1000):
        shutil.rmtree(os.path.join(cwd, "out"), ignore_errors=True)
        start = time.perf_counter()
        child = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if child.wait() != 0:
            sys.exit("failed: %s" % " ".join(cmd))
        secs.append(time.perf_counter() - start)
    return statistics.median(secs)


def file_system(path):
    """The file system under `path`: its type and, for ext4, whether it has a journal.
    Without one, creating a file reads past the inodes of its block group deleted in the
    last minute or more, so the small workload's figure depends on what ran before it
    (docs/src/performance.md)."""
    out = subprocess.run(["findmnt", "-no", "SOURCE,FSTYPE", "-T", path], capture_output=True, text=True)
    if out.returncode != 0 or " " not in out.stdout.strip():
        return "a file system findmnt does not name"
    source, fstype = out.stdout.strip().rsplit(" ", 1)
    if fstype != "ext4":
        return fstype
    device = os.path.basename(source)
    journals = os.listdir("/proc/fs/jbd2") if os.path.isdir("/proc/fs/jbd2") else []
    journal = any(j.startswith(device + "-") for j in journals)
    return "ext4 %s a journal" % ("with" if journal else "without")


def count(path, pattern):
    """Lines matching `pattern` in a file, or in every file below a directory."""
    files = [path] if os.path.isfile(path) else [os.path.join(r, n) for r, _, ns in os.walk(path) for n in ns]
    total = 0
    for name in files:
        with open(name, errors="replace") as f:
            total += sum(1 for line in f if re.search(pattern, line))
    return total


def nft_load(path):
    start = time.perf_counter()
    out = subprocess.run(["unshare", "-n", "nft", "-f", path], capture_output=True, text=True)
    return time.perf_counter() - start if out.returncode == 0 else float("nan")


def main():
    only = os.environ.get("FWGEN_BENCH_ONLY")
    global WORKLOADS
    if only:
        WORKLOADS = [w for w in WORKLOADS if w[0] in only.split(",")]
    fwgen, aclgen = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    rows = []
    for name, n, m in WORKLOADS:
        base = tempfile.mkdtemp(prefix="fwgen-bench-")
        fw, ae = os.path.join(base, "fwgen"), os.path.join(base, "aerleon")
        os.makedirs(fw)
        os.makedirs(ae)
        write_fwgen(fw, n, m)
        write_aerleon(ae, n, m)
        fw_cmd = [fwgen, "build", "fwgen.yaml"]
        ae_cmd = [aclgen, "--base_directory=policies", "--definitions_directory=def", "--output_directory=out"]
        # fwgen's export, then Aerleon's generation from it.
        ex_cmd = ["sh", "-c", "'%s' build export.yaml && '%s' --base_directory=exp/policies --definitions_directory=exp/def --output_directory=out" % (fwgen, aclgen)]
        # The memory run comes first and also warms the page cache for the timed runs.
        fw_m, ae_m = peak(fw_cmd, fw), peak(ae_cmd, ae)
        # In a directory of its own: each timed run removes `out`.
        ex = os.path.join(base, "export")
        os.makedirs(ex)
        for f in ("cat.yaml", "export.yaml"):
            shutil.copy(os.path.join(fw, f), ex)
        ex_m = peak(ex_cmd, ex)
        ex_rules = count(os.path.join(ex, "out", "fwgen.nft"), r"ct state new accept")
        fw_t, ae_t, ex_t = wall(fw_cmd, fw, runs), wall(ae_cmd, ae, runs), wall(ex_cmd, ex, runs)
        fo, ao = os.path.join(fw, "out"), os.path.join(ae, "out")
        rules = {
            "iptables": (count(fo + "/ipt", r"^-A FWGEN-OUT .*--comment.*-j ACCEPT"), count(os.path.join(ao, "synth"), r"^-A F_.*-j ACCEPT")),
            "nftables": (count(fo + "/r.nft", r" accept comment"), count(os.path.join(ao, "synth.nft"), r"ct state new accept")),
            "cisco-ios": (count(fo + "/ios.acl", r"^ permit"), count(os.path.join(ao, "synth.acl"), r"^ permit")),
            "cisco-asa": (count(fo + "/asa.acl", r"extended permit"), count(os.path.join(ao, "synth.asa"), r"extended permit")),
        }
        loads = (nft_load(fo + "/r.nft"), nft_load(os.path.join(ao, "synth.nft")))
        rows.append((name, fw_t, fw_m, ae_t, ae_m, rules, loads, (ex_t, ex_m, ex_rules)))
        shutil.rmtree(base)
    print("| workload (terms x addresses) | fwgen s | fwgen MB | Aerleon s | Aerleon MB | speed-up | memory ratio | rules iptables (fwgen/Aerleon) | nftables | IOS | ASA | nft -f s (fwgen/Aerleon) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, ft, fm, at, am, rules, loads, _ in rows:
        r = lambda k: "%d / %d" % rules[k]
        print("| %s | %.4f | %.1f | %.2f | %.1f | %.0fx | %.3f | %s | %s | %s | %s | %.3f / %.3f |" % (
            name, ft, fm / 1024, at, am / 1024, at / ft, fm / am, r("iptables"), r("nftables"), r("cisco-ios"), r("cisco-asa"), loads[0], loads[1]))
    print()
    print("Both tools wrote under %s (%s)." % (tempfile.gettempdir(), file_system(tempfile.gettempdir())))
    print()
    print("The export: `fwgen build` of an Aerleon target (nftables, iptables, ASA), then aclgen on it, against Aerleon alone on its own policy.")
    print()
    print("| workload | export + aclgen s | Aerleon alone s | time ratio | export + aclgen MB | Aerleon alone MB | nftables rules from the export |")
    print("|---|---|---|---|---|---|---|")
    for name, ft, fm, at, am, rules, loads, (et, em, er) in rows:
        print("| %s | %.2f | %.2f | %.2f | %.1f | %.1f | %d |" % (name, et, at, et / at, em / 1024, am / 1024, er))


if __name__ == "__main__":
    main()
