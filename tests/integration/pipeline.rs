//! For CI pipelines and change reviews: check mode, batch builds, version and catalogue diffs.

use std::path::Path;

use insta::assert_snapshot;

use crate::util::{fwgen, fwgen_in, ok};

#[test]
fn generate_check_reports_stale_files_with_a_diff_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.nft");
    let o = out.to_str().unwrap();
    let base = [
        "generate",
        "--site",
        "examples/site.yaml",
        "-b",
        "nftables",
        "-o",
        o,
    ];
    // Missing file: out of date, still nothing written.
    let r = fwgen(&[&base[..], &["--check"]].concat());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!out.exists());
    ok(&base);
    let before = std::fs::metadata(&out).unwrap().modified().unwrap();
    let r = fwgen(&[&base[..], &["--check"]].concat());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("is up to date"), "{}", r.stderr);
    // Broken input is not "out of date": exit 2, as diff(1) says trouble (it was 1, the same
    // as out of date, so a CI gate could not tell them apart).
    let r = fwgen(&[&base[..], &["--check", "-F", "no-such-feature"]].concat());
    assert_eq!(r.code, 2, "{}", r.stderr);
    // A change: exit 1, unified diff on stderr, file untouched.
    let r = fwgen(&[&base[..], &["--check", "-F", "ssh-console"]].concat());
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains(&format!("--- {o} (on disk)\n+++ {o} (generated)\n@@")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(
            "\n+# features: backup-sftp, cockpit, kaspersky, ldap, snmp, sophos, ssh-console, syslog\n"
        ),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
    // Regenerating identical content does not rewrite the file.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let r = fwgen(&base);
    assert!(r.stderr.contains("is up to date"), "{}", r.stderr);
    assert_eq!(std::fs::metadata(&out).unwrap().modified().unwrap(), before);
    // Check mode needs somewhere to compare with.
    assert_eq!(
        fwgen(&[
            "generate",
            "--site",
            "examples/site.yaml",
            "-b",
            "nftables",
            "--check"
        ])
        .code,
        2
    );
}

#[test]
fn generate_check_covers_output_directories() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("fw");
    let args = [
        "generate",
        "--site",
        "examples/site.yaml",
        "-b",
        "firewalld",
        "--output-dir",
        d.to_str().unwrap(),
    ];
    assert_eq!(fwgen(&[&args[..], &["--check"]].concat()).code, 1);
    assert!(!d.exists(), "check mode created the directory");
    ok(&args);
    assert_eq!(fwgen(&[&args[..], &["--check"]].concat()).code, 0);
    let zone = d.join("zones/fwgen-gateway.xml");
    let text = std::fs::read_to_string(&zone).unwrap();
    std::fs::write(&zone, format!("{text}edited by hand\n")).unwrap();
    let r = fwgen(&[&args[..], &["--check"]].concat());
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("-edited by hand"), "{}", r.stderr);
    // A file that is no longer fwgen's is reported, and its content is not shown.
    std::fs::write(&zone, "edited by hand\n").unwrap();
    let r = fwgen(&[&args[..], &["--check"]].concat());
    assert_eq!(r.code, 1);
    assert!(!r.stderr.contains("edited by hand"), "{}", r.stderr);
    assert!(r.stderr.contains("is not an fwgen file"), "{}", r.stderr);
}

/// Copy `examples/` (sites and manifest) into a scratch directory.
fn scratch_examples() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sites")).unwrap();
    for e in std::fs::read_dir("examples/sites").unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join("sites").join(p.file_name().unwrap())).unwrap();
    }
    std::fs::copy("examples/fwgen.yaml", dir.path().join("fwgen.yaml")).unwrap();
    dir
}

#[test]
fn build_writes_every_target_then_only_what_changed() {
    let dir = scratch_examples();
    let run = |args: &[&str]| fwgen_in(dir.path(), args);
    let r = run(&["build"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let last = r.stderr.lines().last().unwrap().to_string();
    assert!(
        last.starts_with("6 targets, ")
            && last.ends_with(" unchanged")
            && last.contains("0 unchanged"),
        "{last}"
    );
    for f in [
        "out/icap-dmz.nft",
        "out/icap-host/rules.v4",
        "out/icap-host/rules.v6",
        "out/mail-dmz-asa.txt",
        "out/mail-host-firewalld/zones/fwgen.xml",
        "out/exchange-dmz-ios.txt",
        "out/exchange-server.ps1",
    ] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    // The Exchange Server's own firewall: its Windows Firewall script, for the Domain profile
    // as the manifest says, and what PowerShell's grammar accepts.
    let script = crate::powershell::check_file(&dir.path().join("out/exchange-server.ps1"));
    assert!(
        script.rules.iter().all(|r| r.profiles == ["Domain"]),
        "{:?}",
        script.rules
    );
    // Same outputs as generate for the same target.
    let nft = std::fs::read_to_string(dir.path().join("out/icap-dmz.nft")).unwrap();
    let site_digest_differs = ok(&[
        "generate",
        "--site",
        "examples/sites/small-icap.yaml",
        "-b",
        "nftables",
    ]);
    assert_eq!(nft, site_digest_differs);
    let r = run(&["build"]);
    assert!(
        r.stderr.lines().last().unwrap().contains(": 0 written, "),
        "{}",
        r.stderr
    );
    assert_eq!(run(&["build", "--check"]).code, 0);
    // A site change makes exactly the targets that use it stale.
    let site = dir.path().join("sites/small-icap.yaml");
    let text = std::fs::read_to_string(&site)
        .unwrap()
        .replace("features: [snmp]", "features: [snmp, ssh-console]");
    std::fs::write(&site, text).unwrap();
    let r = run(&["build", "--check"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("out/icap-dmz.nft is out of date"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("out/icap-host/rules.v4 is out of date"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("mail-dmz-asa.txt is out of date"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("+\t\telements = { 22, 443 }"),
        "the diff shows the new port: {}",
        r.stderr
    );
}

#[test]
fn invalid_manifests() {
    insta::glob!("../fixtures", "invalid-manifests/*.yaml", |path| {
        let rel = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap()
            .display()
            .to_string();
        let r = fwgen(&["build", "--check", &rel]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert_snapshot!(r.stderr);
    });
}

#[test]
fn version_diff_in_three_formats() {
    let args = [
        "diff",
        "--product",
        "email-gateway",
        "--from",
        "4.9",
        "--to",
        "5.3",
    ];
    let text = ok(&args);
    assert_snapshot!("diff_text_4.9_5.3", text);
    let md = ok(&[&args[..], &["--format", "markdown"]].concat());
    assert!(md.starts_with("# email-gateway 4.9 -> 5.3"));
    assert!(
        md.contains("### Added (")
            && md.contains(
                "| `avira-updates` | tcp | 80 | out | group avira-update-servers | avira |"
            ),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&[&args[..], &["--format", "json"]].concat())).unwrap();
    assert_eq!(json["from"], "4.9");
    let changed = json["changed"].as_array().unwrap();
    let snmp = changed
        .iter()
        .find(|c| c["id"] == "ldap")
        .expect("ldap changed between 4.9 and 5.3");
    // 4.9 writes In/Out, 5.3 Out: the documents differ, but both are the gateway's queries,
    // so the connections fwgen admits (`directions`) are the same.
    let change = |field: &str| {
        snmp["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["field"] == field)
            .cloned()
    };
    let written = change("written").expect("the direction cells differ");
    assert_eq!(
        (written["from"].as_str(), written["to"].as_str()),
        (Some("In/Out"), Some("Out"))
    );
    assert!(change("directions").is_none(), "{snmp}");
}

#[test]
fn version_diff_narrowed_by_features() {
    let all = ok(&[
        "diff",
        "-p",
        "email-gateway",
        "--from",
        "4.x",
        "--to",
        "4.9",
    ]);
    let narrow = ok(&[
        "diff",
        "-p",
        "email-gateway",
        "--from",
        "4.x",
        "--to",
        "4.9",
        "--no-default-features",
        "-F",
        "snmp",
    ]);
    assert!(narrow.len() < all.len());
    assert!(narrow.contains("selected features"));
    assert!(!narrow.contains("kaspersky"), "{narrow}");
    let r = fwgen(&[
        "diff",
        "-p",
        "email-gateway",
        "--from",
        "4.x",
        "--to",
        "5.3",
        "-F",
        "pmm",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("unknown feature `pmm` for email-gateway 5.3; did you mean `pmm-full-mode`?"),
        "{}",
        r.stderr
    );
}

#[test]
fn catalogue_diff_for_a_change_under_review() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    for d in [&old, &new] {
        std::fs::create_dir(d).unwrap();
        for e in std::fs::read_dir("data").unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, d.join(p.file_name().unwrap())).unwrap();
        }
    }
    let f = new.join("icap-gateway-4.8.yaml");
    let text = std::fs::read_to_string(&f)
        .unwrap()
        .replace("    ports: [1344]\n", "    ports: [1344, 11344]\n");
    std::fs::write(&f, text).unwrap();
    std::fs::remove_file(new.join("email-gateway-4.x.yaml")).unwrap();
    let r = ok(&["diff", old.to_str().unwrap(), new.to_str().unwrap()]);
    let r = r.replace(dir.path().to_str().unwrap(), "[tmp]");
    assert_snapshot!("catalogue_diff", r);
    let same = ok(&["diff", "data", "data"]);
    assert!(same.contains("no changes"), "{same}");
    let _ = Path::new("");
}

/// All of a build's files are written and flushed before any is renamed: when one cannot be
/// written, none is, and the error names it.
#[test]
fn a_build_that_cannot_write_one_file_changes_none() {
    // /sys refuses new files, even to root.
    if std::fs::write("/sys/fwgen-probe", "").is_ok() || !Path::new("/sys").is_dir() {
        crate::util::missing("an unwritable /sys (to make one target's write fail)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ok_file = dir.path().join("ok.nft");
    let old = dir.path().join("old.json");
    std::fs::write(&old, "old\n").unwrap();
    let manifest = dir.path().join("fwgen.yaml");
    std::fs::write(
        &manifest,
        "targets:\n\
         \x20 - {name: ok, product: icap-gateway, gateway: [192.0.2.1], backend: nftables, output: ok.nft}\n\
         \x20 - {name: changed, product: icap-gateway, gateway: [192.0.2.1], backend: json, output: old.json}\n\
         \x20 - {name: unwritable, product: icap-gateway, gateway: [192.0.2.1], backend: json, output: /sys/fwgen-test.json}\n",
    )
    .unwrap();
    let r = fwgen(&["build", manifest.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("/sys/fwgen-test.json"), "{}", r.stderr);
    assert!(!ok_file.exists(), "a file was written before the failure");
    assert_eq!(std::fs::read_to_string(&old).unwrap(), "old\n");
    let leftovers = crate::util::temporary_files(dir.path());
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    // The control: without the unwritable target, both files are written.
    let text = std::fs::read_to_string(&manifest).unwrap();
    let keep: String = text
        .lines()
        .filter(|l| !l.contains("unwritable"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&manifest, keep).unwrap();
    assert_eq!(fwgen(&["build", manifest.to_str().unwrap()]).code, 0);
    assert!(ok_file.exists());
    assert_ne!(std::fs::read_to_string(&old).unwrap(), "old\n");
}

/// The header digests name what the output depends on: the catalogue file of the product
/// version used, and what the site file says. Another product's file, or a comment in the
/// site file, no longer marks every committed ruleset stale.
///
/// See: issue "Safe to run as root and in CI", item 13.
#[test]
fn header_digests_cover_what_the_output_depends_on() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for e in std::fs::read_dir("data").unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, data.join(p.file_name().unwrap())).unwrap();
    }
    let site = dir.path().join("site.yaml");
    std::fs::write(
        &site,
        "product: icap-gateway\ngateway: [192.0.2.1]\nroles:\n  dns-servers: [198.51.100.53]\n",
    )
    .unwrap();
    let run = || {
        ok(&[
            "--no-builtin-catalogue",
            "--catalogue",
            data.to_str().unwrap(),
            "generate",
            "--site",
            site.to_str().unwrap(),
            "-b",
            "nftables",
        ])
    };
    let before = run();
    // Another product's file changes: the ICAP ruleset does not.
    let other = data.join("email-gateway-5.3.yaml");
    let text = std::fs::read_to_string(&other).unwrap();
    std::fs::write(&other, format!("{text}# an edit elsewhere\n")).unwrap();
    assert_eq!(
        run(),
        before,
        "another product's file changed the ICAP output"
    );
    // A comment, another key order and another spelling of the same address: same meaning.
    std::fs::write(&site, "# the lab\nroles:\n  dns-servers: [198.51.100.53/32]  # resolver\ngateway: [ 192.0.2.1 ]\nproduct: icap-gateway\n").unwrap();
    assert_eq!(
        run(),
        before,
        "a comment in the site file changed the output"
    );
    // A real change does change the digest.
    std::fs::write(
        &site,
        "product: icap-gateway\ngateway: [192.0.2.1]\nroles:\n  dns-servers: [198.51.100.54]\n",
    )
    .unwrap();
    let after = run();
    let site_line = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("# site: "))
            .unwrap()
            .to_string()
    };
    assert_ne!(site_line(&after), site_line(&before));
    // And the ICAP file itself does too.
    let own = data.join("icap-gateway-4.8.yaml");
    let text = std::fs::read_to_string(&own).unwrap();
    std::fs::write(&own, format!("{text}# an edit here\n")).unwrap();
    let cat_line = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("# catalogue: "))
            .unwrap()
            .to_string()
    };
    assert_ne!(cat_line(&run()), cat_line(&after));
}

/// A directory output knows its own files (`.fwgen.files`): regenerating with fewer rules or
/// another placement removes fwgen's files that are no longer generated (and `--check` says
/// so first), and never touches a file it did not write.
///
/// See: issue "Safe to run as root and in CI", item 4.
#[test]
fn directory_outputs_remove_their_own_stale_files_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("fw");
    let gen_args = |placement: &'static str| {
        vec![
            "generate",
            "--site",
            "examples/site.yaml",
            "-b",
            "firewalld",
            "--placement",
            placement,
            "--output-dir",
        ]
    };
    let run = |placement: &'static str, extra: &[&str]| {
        let mut a = gen_args(placement);
        a.push(d.to_str().unwrap());
        a.extend(extra);
        fwgen(&a)
    };
    assert_eq!(run("host", &[]).code, 0);
    let host_policy = d.join("policies/fwgen-out.xml");
    assert!(
        host_policy.is_file(),
        "host placement writes the HOST -> ANY policy"
    );
    // Files that are not fwgen's: the user's own, and one that only claims a listed name.
    let mine = d.join("zones/mine.xml");
    std::fs::write(&mine, "<zone/>\n").unwrap();
    let list = d.join(".fwgen.files");
    let outside = dir.path().join("outside.xml");
    std::fs::write(&outside, "# Generated by fwgen\n").unwrap();
    let text = std::fs::read_to_string(&list).unwrap();
    std::fs::write(&list, format!("{text}zones/mine.xml\n../outside.xml\n")).unwrap();

    // --check: the policy that perimeter placement no longer writes is out of date.
    let r = run("perimeter", &["--check"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("fwgen-out.xml is no longer generated"),
        "{}",
        r.stderr
    );
    assert!(host_policy.is_file(), "--check removed a file");

    let r = run("perimeter", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !host_policy.exists(),
        "the old HOST -> ANY DROP policy stayed"
    );
    assert!(r.stderr.contains("removed"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "<zone/>\n");
    assert!(
        outside.is_file(),
        "a path out of the directory was followed"
    );
    assert_eq!(run("perimeter", &["--check"]).code, 0);
}

/// Every problem of a target's site file is one line that names the target and the
/// manifest's line (the target's name was on the first line only), and a flag-like value
/// from a target is named by its key (`features`, not `--features`).
#[test]
fn every_error_of_a_targets_site_names_the_target() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("site.yaml"),
        "product: icap-gateway\nroles:\n  backup-servr: [192.0.2.1]\n  dns-servr: [192.0.2.2]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("fwgen.yaml"),
        "targets:\n  - name: icap\n    site: site.yaml\n    backend: json\n    output: out.json\n  - name: feat\n    product: icap-gateway\n    features: [snmpp]\n    backend: json\n    output: out2.json\n",
    )
    .unwrap();
    let r = crate::util::fwgen(&["build", dir.path().join("fwgen.yaml").to_str().unwrap()]);
    assert_eq!(r.code, 2);
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 3, "{}", r.stderr);
    for (line, want) in errors.iter().zip(["backup-servr", "dns-servr"]) {
        assert!(
            line.contains("fwgen.yaml:2: target `icap`: ") && line.contains(want),
            "{line}"
        );
    }
    assert!(
        errors[2].contains("fwgen.yaml:6: target `feat`: features: unknown feature `snmpp`"),
        "{}",
        errors[2]
    );
}

/// Issue "Your own products, site-local rules, and a review an approver can sign": the same
/// connection under another id is not "added" and "removed", but matched by what it is.
#[test]
fn version_diff_matches_connections_under_other_ids() {
    let args = [
        "diff",
        "-p",
        "email-gateway",
        "--from",
        "4.9",
        "--to",
        "5.3",
    ];
    let text = ok(&args);
    assert!(
        text.contains(
            "email-gateway 4.9 -> 5.3: 21 added, 8 removed, 21 changed, 7 matched under other ids"
        ),
        "{text}"
    );
    assert!(
        text.contains("  = smtp-in, smtp-out -> smtp  (the same connections)\n      kept: tcp 25 in any\n      kept: tcp 25 out any\n"),
        "{text}"
    );
    // Split differently: the connection both sides have, and the one only the old one had.
    assert!(
        text.contains("  > dns-external -> dns-internal\n      kept: udp 53 out role dns-servers\n      removed: tcp 53 out role dns-servers\n"),
        "{text}"
    );
    // Matched entries are no longer listed as added or removed.
    for id in ["smtp-in", "smtp-out", "sftp"] {
        assert!(!text.contains(&format!("  - {id} ")), "{id} {text}");
    }
    assert!(!text.contains("  + smtp "), "{text}");
    // A different host group is a different connection, even on the same port.
    assert!(
        text.contains("  + avira-updates  tcp 80 out group avira-update-servers"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&[&args[..], &["--format", "json"]].concat())).unwrap();
    let m = json["matched"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["to"] == serde_json::json!(["keyservers-http"]))
        .expect("keyservers matched");
    assert_eq!(
        m["from"],
        serde_json::json!(["keyservers-hkp", "keyservers-https"])
    );
    assert_eq!(
        m["kept"],
        serde_json::json!(["tcp 443,11371 out role keyservers"])
    );
    assert_eq!(m["removed"], serde_json::json!([]));
    let md = ok(&[&args[..], &["--format", "markdown"]].concat());
    assert!(md.contains("### Under other ids (7)"), "{md}");
    assert!(
        md.contains("| `smtp-in`, `smtp-out` | `smtp` | tcp 25 in any; tcp 25 out any |  |  |"),
        "{md}"
    );
}

/// `diff --site` compares the rulesets bound to one site file: its ports and addresses, its
/// own entries marked; what the older version does not know is left out with a note.
#[test]
fn version_diff_of_the_rulesets_bound_to_a_site() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.yaml");
    let text = std::fs::read_to_string("examples/site.yaml").unwrap()
        + "features: [kaspersky, sophos, ldap, snmp, syslog, backup-sftp, cockpit]\n"
        + "entries:\n  - id: cockpit-monitor\n    description: Monitoring of the Cockpit console\n    protocols: [tcp]\n    ports: [9091]\n    directions: [in]\n    peer: {role: admin-clients}\n    feature: cockpit\n";
    // The appended `features:` replaces the example's line (the last key wins is refused by
    // the parser), so drop the first one.
    let text = text.replacen(
        "features: [kaspersky, sophos, ldap, snmp, syslog, backup-sftp]\n",
        "",
        1,
    );
    std::fs::write(&site, text).unwrap();
    let site = site.to_str().unwrap();
    let r = fwgen(&["diff", "--site", site, "--from", "4.9", "--to", "5.3"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The site's port for `ldap` (configurable in 5.3 only) and the document's addresses.
    assert!(r.stdout.contains("  ~ ldap\n"), "{}", r.stdout);
    assert!(
        r.stdout.contains("      ports: 389 -> 3389\n"),
        "{}",
        r.stdout
    );
    // The site's own entry needs a 5.3 feature: added, and marked as the site's.
    assert!(
        r.stdout.contains(
            "  + cockpit-monitor  tcp 9091 in role admin-clients [feature cockpit] [site addition]"
        ),
        "{}",
        r.stdout
    );
    // Bound peers: an address the document gives in 5.3 replaces any.
    assert!(
        r.stdout
            .contains("      addresses: any -> 3.10.94.193/32\n"),
        "{}",
        r.stdout
    );
    for note in [
        "warning: email-gateway 4.9: the site names role `smtp-relay`, which it does not have; left out",
        "warning: email-gateway 4.9: the site names feature `cockpit`, which it does not have; left out",
        "warning: email-gateway 4.9: the site's own entry `cockpit-monitor` is left out:",
    ] {
        assert!(r.stderr.contains(note), "{note}\n{}", r.stderr);
    }
    let j: serde_json::Value = serde_json::from_str(&ok(&[
        "diff", "--site", site, "--from", "4.9", "--to", "5.3", "--format", "json",
    ]))
    .unwrap();
    let added = j["added"].as_array().unwrap();
    let own = added.iter().find(|c| c["id"] == "cockpit-monitor").unwrap();
    assert_eq!(own["site_addition"], true);
    assert_eq!(
        own["addresses"],
        serde_json::json!(["198.51.100.0/28", "2001:db8:100::/64"])
    );
}

/// GNU time, which measures a process's peak memory; `None` (skipped loudly) without it.
fn gnu_time() -> Option<std::path::PathBuf> {
    let time = crate::util::find_tool("time");
    if time.is_none() {
        crate::util::missing("GNU time not installed (apt-get install time)");
    }
    time
}

/// Peak memory (KiB) of `fwgen ARGS` run in `dir`, by GNU time; the run must succeed.
fn peak_kib(time: &Path, dir: &Path, args: &[&str]) -> u64 {
    peak_kib_through(time, dir, &[], args)
}

/// Peak memory (KiB) of `WRAPPER… fwgen ARGS` (`taskset -c 0`) run in `dir`, by GNU time.
fn peak_kib_through(time: &Path, dir: &Path, wrapper: &[&str], args: &[&str]) -> u64 {
    let out = std::process::Command::new(time)
        .args(["-f", "%M"])
        .args(wrapper)
        .arg(env!("CARGO_BIN_EXE_fwgen"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "fwgen {args:?}: {stderr}");
    stderr.lines().last().unwrap().trim().parse().unwrap()
}

/// A build stages each target's files as soon as it is rendered, so it holds one target's
/// text per thread, not every target's until the end: a fleet of many gateways builds in the
/// memory of a few. Sixty-four targets writing about a megabyte each (an ipset file of 20,000
/// addresses): a build that held them all would peak above their 64 MB; this one stays under
/// half of that, whatever the number of targets.
#[test]
fn a_build_holds_one_targets_text_at_a_time() {
    let Some(time) = gnu_time() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write_synth_catalogue(dir.path(), 20, 1000);
    let mut manifest = String::from("catalogue: cat.yaml\ntargets:\n");
    for t in 0..64 {
        manifest.push_str(&format!(
            "  - {{name: t{t}, product: synth, gateway: [192.0.2.1], backend: iptables, output: out/t{t}}}\n"
        ));
    }
    std::fs::write(dir.path().join("fwgen.yaml"), manifest).unwrap();

    let peak_kib = peak_kib(&time, dir.path(), &["build"]);
    let written: u64 = (0..64)
        .map(|t| {
            let ipsets = dir.path().join(format!("out/t{t}/ipsets"));
            std::fs::metadata(ipsets).unwrap().len()
        })
        .sum();
    assert!(written > 60_000_000, "{written} bytes of ipsets");
    assert!(
        peak_kib * 1024 < written / 2,
        "peak memory {peak_kib} KiB for {written} bytes of output"
    );
}

/// A build compares each file with the one on disk (most runs find them unchanged) a piece
/// at a time: the second run of a build of one 10 MB file takes no more memory than the
/// first, which had nothing to compare with. Reading the old file whole held it beside the
/// new text.
#[test]
fn a_build_compares_its_files_without_reading_them_whole() {
    let Some(time) = gnu_time() else {
        return;
    };
    let dir = big_one_target_build("iptables", "out");
    let first = peak_kib(&time, dir.path(), &["build"]);
    let size = std::fs::metadata(dir.path().join("out/ipsets"))
        .unwrap()
        .len();
    assert!(size > 5_000_000, "{size} bytes of ipsets");
    let second = peak_kib(&time, dir.path(), &["build"]);
    assert!(
        second * 1024 < first * 1024 + size / 4,
        "peak memory {second} KiB finding {size} bytes unchanged, {first} KiB writing them"
    );
}

/// A big catalogue is parsed on every core, each thread in a malloc arena of its own, and what
/// a thread's parse frees (the addresses' text, once read) stays in its arena, out of reach
/// of the selection that follows on the main thread: unless it is given back. Two cores then
/// peak within 2 MB of one (200,000 addresses: 0.7 to 1.1 MB more; 3.4 MB more before).
#[test]
fn a_parse_on_several_threads_gives_back_what_it_freed() {
    let Some(time) = gnu_time() else {
        return;
    };
    if crate::util::find_tool("taskset").is_none() {
        crate::util::missing("taskset not installed (apt-get install util-linux)");
        return;
    }
    let dir = big_one_target_build("nftables", "r.nft");
    let all = peak_kib(&time, dir.path(), &["build"]);
    let one = peak_kib_through(&time, dir.path(), &["taskset", "-c", "0"], &["build"]);
    assert!(
        all < one + 2048,
        "peak memory {all} KiB on every core, {one} KiB on one"
    );
}

/// A directory with the catalogue of 200,000 addresses (20 host groups of 10,000) and a
/// manifest of one target of `backend` writing to `output`.
fn big_one_target_build(backend: &str, output: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_synth_catalogue(dir.path(), 20, 10_000);
    std::fs::write(
        dir.path().join("fwgen.yaml"),
        format!(
            "catalogue: cat.yaml\ntargets:\n  - {{name: t, product: synth, gateway: [192.0.2.1], backend: {backend}, output: {output}}}\n"
        ),
    )
    .unwrap();
    dir
}

/// `cat.yaml` in `dir`: a product of `groups` host groups of `addresses` IPv4 addresses
/// each, and an entry to each group on a port of its own.
fn write_synth_catalogue(dir: &Path, groups: usize, addresses: usize) {
    let mut cat = String::from(
        "product: synth\ntitle: Synthetic\nversion: \"1\"\ndocument: {file: none, title: synthetic}\n\
         components: [{id: gateway, description: gw}]\nhost_groups:\n",
    );
    let mut entries = String::from("entries:\n");
    for g in 0..groups {
        let list: Vec<String> = (0..addresses)
            .map(|a| format!("10.{g}.{}.{}", a / 128, (a % 128) * 2))
            .collect();
        cat.push_str(&format!(
            "  - {{id: g{g}, description: g, hosts: [h{g}.example], addresses: [{}], \
             address_source: document, source: {{section: s, row: r, line: 1}}}}\n",
            list.join(", ")
        ));
        entries.push_str(&format!(
            "  - {{id: e{g}, description: e, protocols: [tcp], ports: [{}], directions: [out], \
             peer: {{group: g{g}}}, source: {{section: s, row: r, line: 1}}}}\n",
            1000 + g
        ));
    }
    cat.push_str(&entries);
    std::fs::write(dir.join("cat.yaml"), cat).unwrap();
}

/// Targets are staged as they are rendered, before a later one fails: the failure still
/// writes nothing, and leaves none of the earlier targets' temporary files behind.
#[test]
fn a_target_that_fails_after_others_are_staged_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cat.yaml"),
        "product: synth\ntitle: Synthetic\nversion: \"1\"\ndocument: {file: none, title: synthetic}\n\
         components: [{id: gateway, description: gw}]\nhost_groups:\n\
         \x20 - {id: g, description: g, hosts: [h.example], addresses: [10.0.0.1], address_source: document, source: {section: s, row: r, line: 1}}\n\
         entries:\n\
         \x20 - {id: e, description: e, protocols: [tcp], ports: [443], directions: [out], peer: {group: g}, source: {section: s, row: r, line: 1}}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("fwgen.yaml"),
        "catalogue: cat.yaml\ntargets:\n\
         \x20 - {name: nft, product: synth, gateway: [192.0.2.1], backend: nftables, output: out/r.nft}\n\
         \x20 - {name: ipt, product: synth, gateway: [192.0.2.1], backend: iptables, output: out/ipt}\n\
         \x20 - {name: asa, product: synth, gateway: [192.0.2.1], backend: cisco-asa, output: out/asa.txt, previous: applied.txt}\n",
    )
    .unwrap();
    let r = fwgen_in(dir.path(), &["build"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("target `asa`") && r.stderr.contains("not a regular file"),
        "{}",
        r.stderr
    );
    let mut left = Vec::new();
    let mut dirs = vec![dir.path().to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                left.push(p);
            }
        }
    }
    left.sort();
    assert_eq!(
        left,
        vec![dir.path().join("cat.yaml"), dir.path().join("fwgen.yaml")],
        "the failed build left files"
    );
}

/// A fleet's manifest (a target for each gateway, each a selection of its own, as the Ansible
/// role writes it) builds in the memory of a few targets: targets are selected and rendered
/// 64 at a time, and a ruleset is dropped once its last target is rendered. 600 gateways
/// against 60: 10 MB more at the peak when every ruleset was kept (about 20 KB a gateway),
/// now under 4 MB more.
#[test]
fn a_fleets_build_does_not_grow_with_its_gateways() {
    let Some(time) = gnu_time() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("ansible/sites/fleet.yaml"),
        dir.path().join("fleet.yaml"),
    )
    .unwrap();
    let gateway = |i: usize| format!("10.{}.{}.1", i / 250, i % 250 + 1);
    let mut peaks = Vec::new();
    for n in [60, 600] {
        let mut manifest = String::from("targets:\n");
        for i in 1..=n {
            manifest.push_str(&format!(
                "  - {{name: gw{i}, site: fleet.yaml, gateway: [{}], backend: nftables, \
                 placement: host, output: out{n}/gw{i}.nft}}\n",
                gateway(i)
            ));
        }
        // The first gateway again, last: the same ruleset, whichever batch selects it.
        manifest.push_str(&format!(
            "  - {{name: again, site: fleet.yaml, gateway: [{}], backend: nftables, \
             placement: host, output: out{n}/again.nft}}\n",
            gateway(1)
        ));
        std::fs::write(dir.path().join(format!("f{n}.yaml")), manifest).unwrap();
        peaks.push(peak_kib(
            &time,
            dir.path(),
            &["build", &format!("f{n}.yaml")],
        ));
        // Every gateway's own ruleset, the last one's too.
        let last = std::fs::read_to_string(dir.path().join(format!("out{n}/gw{n}.nft"))).unwrap();
        assert!(
            last.contains(&gateway(n)),
            "gw{n}'s ruleset lacks its address"
        );
    }
    assert!(
        peaks[1] < peaks[0] + 4096,
        "peak memory {} KiB for 60 gateways, {} KiB for 600",
        peaks[0],
        peaks[1]
    );
}
