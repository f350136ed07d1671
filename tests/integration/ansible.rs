//! The Ansible fleet (`ansible/`): `ansible/lab.sh` starts three gateways as network
//! namespaces with their own sshd and a controller namespace, lints the collection, and rolls
//! fwgen rulesets out over real SSH with ansible-core (PyPI, which `.ci/run` installs into
//! `target/ansible-venv`): check mode changes nothing, the rollout is proven by real packets,
//! a second run changes nothing, and a gateway whose live audit fails stops the rollout there,
//! rolled back byte-equal. This test runs the script with the binary under test.

use std::path::Path;
use std::process::Command;

use crate::util::{have_tools, installed_tool, is_root, missing};

#[test]
fn the_fleet_lab_rolls_out_proves_and_stops_at_a_broken_gateway() {
    if !is_root() {
        missing("the fleet lab needs root (network namespaces, sshd, nft)");
        return;
    }
    if !have_tools(&["ip", "nft", "ssh", "ssh-keygen"]) {
        return;
    }
    if !Path::new("/usr/sbin/sshd").is_file() {
        missing("sshd is not installed (apt-get install openssh-server)");
        return;
    }
    let Some(playbook) = installed_tool(
        "FWGEN_ANSIBLE_PLAYBOOK",
        "ansible-venv/bin/ansible-playbook",
        "ansible-core (PyPI)",
    ) else {
        return;
    };
    let venv = playbook.parent().and_then(Path::parent).unwrap();
    if installed_tool(
        "FWGEN_ANSIBLE_LINT",
        "ansible-venv/bin/ansible-lint",
        "ansible-lint (PyPI)",
    )
    .is_none()
    {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("ansible/lab.sh"))
        .env("FWGEN", env!("CARGO_BIN_EXE_fwgen"))
        .env("FWGEN_ANSIBLE_VENV", venv)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "ansible/lab.sh failed:\n{stdout}\n{stderr}"
    );
    for line in [
        "Profile 'production' was required, and it passed",
        "all three reported changed; listings unchanged",
        "gw3 SSH from the ICAP client: 198.18.1.101 -> 198.18.1.3:22 blocked",
        "gw2 SMTP alerts out: 198.18.1.2 -> 198.18.1.100:25 open",
        "changed=0 on all three",
        "gw1 changed; gw2 failed its live audit and was restored byte-equal; gw3 untouched",
        "== lab: passed",
    ] {
        assert!(stdout.contains(line), "no `{line}` in:\n{stdout}");
    }
}

/// The guide's inventory is the shipped example (its comments aside), so the lab, which runs
/// the example, runs what the guide shows.
#[test]
fn the_guides_inventory_is_the_shipped_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = std::fs::read_to_string(root.join("docs/src/fleet.md")).unwrap();
    let block = guide
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap();
    let example = std::fs::read_to_string(root.join("ansible/inventory.example.yml")).unwrap();
    let example: String = example
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(block, example);
}
