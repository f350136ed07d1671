#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: the fwgen authors. MIT or Apache-2.0, as fwgen.
"""Apply a fwgen ruleset on the managed host: fwgen proves it live and rolls it back itself."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: apply
short_description: Load a fwgen ruleset into this host's firewall, proven live by fwgen's exact audit
description:
  - Runs C(fwgen apply --dry-run) on the managed host to learn whether the live ruleset differs
    from the one the selection makes (the difference is this module's diff), then, outside check
    mode and only when it differs, C(fwgen apply --auto-confirm). fwgen snapshots what is live,
    starts a guard that restores the snapshot at the deadline, loads the ruleset, audits the live
    firewall exactly and restores the snapshot at once when the audit fails. A failed apply is a
    failed task, so a play with C(max_fail_percentage=0) stops its rollout there.
  - Over SSH, fwgen refuses (before anything changes) a ruleset that would lock out the SSH
    session the module runs in.
  - With O(expect), the host first renders the ruleset itself and compares it with the one the
    controller built; another fwgen version, catalogue or input on the host is an error, not a
    silent difference.
version_added: "0.1.0"
author: the fwgen authors
options:
  fwgen:
    description: The fwgen binary on the managed host.
    type: path
    required: true
  site:
    description: The site file on the managed host (C(--site)).
    type: path
    required: true
  gateway:
    description: The gateway's own addresses, added to the site file's C(gateway:) (C(--gateway)).
    type: list
    elements: str
    default: []
  product:
    description: Product id (C(--product)); default the site file's.
    type: str
  version:
    description: Product version (C(--version)); default the site file's, else the newest.
    type: str
  features:
    description: Features on top of the site file's and the vendor's defaults (C(--features)).
    type: list
    elements: str
    default: []
  allow_unbound:
    description: Let unbound roles and host groups admit any address (C(--allow-unbound)).
    type: bool
    default: false
  strict:
    description: Refuse a selection with entries that admit any address (C(--strict)).
    type: bool
    default: false
  backend:
    description: The firewall to load the ruleset into.
    type: str
    choices: [nftables, iptables, firewalld]
    default: nftables
  placement:
    description: Where the firewall sits; C(host) is the gateway's own firewall.
    type: str
    choices: [host, perimeter]
    default: host
  interface:
    description: The gateway's interface, as the live audit sees it (C(--interface)).
    type: str
  state_dir:
    description: fwgen's state directory on the host (snapshot, deadline, lock).
    type: path
    default: /run/fwgen
  confirm_within:
    description: Seconds after which fwgen's guard restores the snapshot unless confirmed.
    type: int
    default: 120
  expect:
    description:
      - The ruleset the controller built for this host (a file, or a directory for iptables and
        firewalld), copied to the host. Every file of the host's own rendering must be in it,
        byte-equal.
    type: path
notes:
  - Check mode runs only C(fwgen apply --dry-run); C(--diff) shows the difference between the
    live listing and the listing after apply. A dry run whose audit fails fails the task, as
    the apply would.
"""

EXAMPLES = r"""
- name: Apply the gateway's ruleset
  fwgen.firewall.apply:
    fwgen: /var/lib/fwgen/bin/fwgen
    site: /var/lib/fwgen/site/fleet.yaml
    gateway: [198.18.1.1]
    state_dir: /run/fwgen
    expect: /var/lib/fwgen/ruleset.nft
"""

RETURN = r"""
summary:
  description: fwgen's audit summary of the live ruleset (or of the ruleset as it would be live).
  type: str
  returned: always
audit:
  description: fwgen's audit, one line per entry.
  type: str
  returned: always
dry_run:
  description: What C(fwgen apply --dry-run) printed (the difference, then the audit).
  type: str
  returned: always
"""

import filecmp
import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule

# `fwgen apply --dry-run` starts its output with this line when nothing would change.
NO_CHANGE = "no change:"


def selection(p):
    """The selection flags `fwgen generate` and `fwgen apply` share."""
    args = ["--site", p["site"], "-b", p["backend"], "--placement", p["placement"]]
    for a in p["gateway"]:
        args += ["--gateway", a]
    for flag in ("product", "version"):
        if p[flag]:
            args += ["--" + flag, p[flag]]
    if p["features"]:
        args += ["--features", ",".join(p["features"])]
    if p["allow_unbound"]:
        args.append("--allow-unbound")
    if p["strict"]:
        args.append("--strict")
    return args


def rendered_as_expected(rendered, expect):
    """Whether every file of the host's rendering (a file, or a directory tree) is in `expect`
    with the same bytes. Files only in `expect` are left over from earlier copies (content-named
    sets of another generation) and do not count."""
    if os.path.isfile(rendered):
        return os.path.isfile(expect) and filecmp.cmp(rendered, expect, shallow=False)
    if not os.path.isdir(expect):
        return False
    for root, _, files in os.walk(rendered):
        for name in files:
            mine = os.path.join(root, name)
            theirs = os.path.join(expect, os.path.relpath(mine, rendered))
            if not (os.path.isfile(theirs) and filecmp.cmp(mine, theirs, shallow=False)):
                return False
    return True


def check_expected(module, p):
    """The host renders the ruleset itself; it must be the controller's, byte for byte."""
    scratch = tempfile.mkdtemp(prefix="fwgen-ansible-")
    try:
        out = os.path.join(scratch, "ruleset")
        rc, _, err = module.run_command([p["fwgen"], "generate"] + selection(p) + ["-o", out])
        if rc != 0:
            module.fail_json(msg="fwgen generate on the host failed: " + err.strip(), rc=rc)
        if not rendered_as_expected(out, p["expect"]):
            module.fail_json(
                msg="the ruleset this host renders differs from the one the controller built "
                "(%s): another fwgen version, catalogue or input on the host" % p["expect"]
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def split(stdout):
    """A dry run's output: the difference (or the no-change line), a blank line, the audit."""
    head, _, audit = stdout.partition("\n\n")
    return head + "\n", audit


def fwgen_says(err):
    """fwgen's own one-line account of the run: its last `fwgen apply` line, or None."""
    lines = [l for l in err.splitlines() if l.startswith("fwgen apply")]
    return lines[-1] if lines else None


def summary(err, audit):
    """fwgen's one-line summary, else the audit's first line."""
    return fwgen_says(err) or (audit.splitlines()[0] if audit else "")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            fwgen=dict(type="path", required=True),
            site=dict(type="path", required=True),
            gateway=dict(type="list", elements="str", default=[]),
            product=dict(type="str"),
            version=dict(type="str"),
            features=dict(type="list", elements="str", default=[]),
            allow_unbound=dict(type="bool", default=False),
            strict=dict(type="bool", default=False),
            backend=dict(type="str", default="nftables", choices=["nftables", "iptables", "firewalld"]),
            placement=dict(type="str", default="host", choices=["host", "perimeter"]),
            interface=dict(type="str"),
            state_dir=dict(type="path", default="/run/fwgen"),
            confirm_within=dict(type="int", default=120),
            expect=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["expect"]:
        check_expected(module, p)
    base = [p["fwgen"], "apply"] + selection(p) + ["--state-dir", p["state_dir"]]
    if p["interface"]:
        base += ["--interface", p["interface"]]
    rc, out, err = module.run_command(base + ["--dry-run"])
    if rc not in (0, 1):
        module.fail_json(msg="fwgen apply --dry-run: " + err.strip(), rc=rc, stdout=out, stderr=err)
    diff, audit = split(out)
    changed = not diff.startswith(NO_CHANGE)
    result = dict(
        changed=changed,
        dry_run=out,
        audit=audit,
        summary=summary(err, audit),
        diff=dict(prepared=diff) if changed else dict(),
    )
    if module.check_mode or (not changed and rc == 0):
        if rc != 0:
            module.fail_json(
                msg="as it would be live, the ruleset fails fwgen's audit: " + result["summary"],
                stderr=err,
                **result
            )
        module.exit_json(**result)
    # It differs (or what is live fails the audit): apply it. fwgen proves it live and
    # restores the snapshot itself when the audit fails.
    rc, out, err = module.run_command(
        base + ["--auto-confirm", "--confirm-within", str(p["confirm_within"])]
    )
    result.update(audit=out, summary=summary(err, out), stdout=out, stderr=err, rc=rc)
    if rc != 0:
        result["changed"] = False
        module.fail_json(msg=fwgen_says(err) or "fwgen apply failed: " + err.strip(), **result)
    result["changed"] = True
    module.exit_json(**result)


if __name__ == "__main__":
    main()
