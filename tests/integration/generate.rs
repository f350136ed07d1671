//! `fwgen generate`: determinism, site files, features as in cargo, atomic output. Each
//! backend's snapshots are in `backends`.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::tools::targets;
use crate::util::{fwgen, ok, rule_for};

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).unwrap()
}

#[test]
fn output_is_byte_stable_and_the_embedded_catalogue_is_data_dir() {
    for (p, v, c) in targets() {
        let args = [
            "generate",
            "-p",
            &p,
            "-V",
            &v,
            "-c",
            &c,
            "--all-features",
            "-b",
            "json",
        ];
        let a = ok(&args);
        assert_eq!(a, ok(&args), "two runs differ for {p} {v} {c}");
        let mut from_dir = vec!["--no-builtin-catalogue", "--catalogue", "data"];
        from_dir.extend(args);
        assert_eq!(
            a,
            ok(&from_dir),
            "the built-in catalogue differs from data/ for {p} {v} {c}"
        );
    }
}

#[test]
fn embedded_file_list_is_the_data_directory() {
    let mut on_disk: Vec<String> = std::fs::read_dir("data")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    on_disk.sort();
    let embedded: Vec<&str> = fwgen::catalogue::embedded_file_names().collect();
    assert_eq!(on_disk, embedded, "update src/catalogue/embedded.rs");
}

#[test]
fn the_newest_version_and_the_gateway_component_are_the_defaults() {
    let j = json(&["generate", "-p", "email-gateway", "-b", "json"]);
    assert_eq!(j["version"], "5.3");
    let j = json(&["generate", "-p", "exchange-gateway", "-b", "json"]);
    assert_eq!(j["component"], "gateway");
    let ports: BTreeSet<u64> = j["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["ports"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_u64)
        })
        .collect();
    assert!(
        !ports.contains(&23953),
        "exchange-server ports stay out of the gateway component"
    );
}

fn features_of(j: &Value) -> Vec<String> {
    j["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn features_work_as_in_cargo() {
    let base = ["generate", "-p", "email-gateway", "-V", "4.9", "-b", "json"];
    assert_eq!(features_of(&json(&base)), ["ntp"], "4.9 ships with NTP on");
    let none = json(&[&base[..], &["--no-default-features"]].concat());
    assert!(features_of(&none).is_empty());
    // pmm-full-mode implies pmm and ntlm.
    let pmm = json(
        &[
            &base[..],
            &["--no-default-features", "--features", "pmm-full-mode"],
        ]
        .concat(),
    );
    assert_eq!(features_of(&pmm), ["ntlm", "pmm", "pmm-full-mode"]);
    // kaspersky-ksn implies kaspersky, which implies av-updates; repeated and comma forms mix.
    let k = json(
        &[
            &base[..],
            &["-F", "kaspersky-ksn", "--features", "snmp,ntp"],
        ]
        .concat(),
    );
    assert_eq!(
        features_of(&k),
        ["av-updates", "kaspersky", "kaspersky-ksn", "ntp", "snmp"]
    );
    let all = json(&[&base[..], &["--all-features"]].concat());
    let listed = json(&[
        "features",
        "-p",
        "email-gateway",
        "-V",
        "4.9",
        "--format",
        "json",
    ]);
    assert_eq!(features_of(&all).len(), listed.as_array().unwrap().len());
}

#[test]
fn example_site_binds_roles_hosts_ports_and_features() {
    let r = fwgen(&["generate", "--site", "examples/site.yaml", "-b", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["product"], "email-gateway");
    assert_eq!(
        j["gateway"],
        serde_json::json!(["192.0.2.25/32", "2001:db8:25::25/128"])
    );
    assert!(features_of(&j).contains(&"snmp".to_string()));
    // Role bound to addresses.
    let dns = rule_for(&j, "dns-internal");
    assert_eq!(
        dns["remote"],
        serde_json::json!(["198.51.100.53/32", "198.51.100.54/32"])
    );
    // Port override: LDAP moved from 389 to 3389.
    assert_eq!(rule_for(&j, "ldap")["ports"], serde_json::json!([3389]));
    // Host without a document address, bound by the site.
    assert_eq!(
        rule_for(&j, "ntp")["remote"],
        serde_json::json!(["198.51.100.123/32"])
    );
    // Every role the selection uses is bound: no warnings, and only the document's own any
    // address (SMTP in and out) is left, as the one-line summary says.
    assert_eq!(j["warnings"], serde_json::json!([]));
    assert_eq!(
        r.stderr,
        "fwgen: 2 of 12 rules admit any address (document: 2)\n"
    );
    let smtp = rule_for(&j, "smtp");
    assert_eq!(smtp["remote"], "any");
    assert_eq!(
        smtp["any_address"],
        serde_json::json!([{"reason": "document", "entry": "smtp"}])
    );
}

#[test]
fn command_line_overrides_the_site_file() {
    let site = "tests/fixtures/sites/email-common.yaml";
    assert_eq!(
        json(&["generate", "--site", site, "-b", "json"])["version"],
        "5.3"
    );
    let j = json(&[
        "generate",
        "--site",
        site,
        "-V",
        "4.9",
        "--gateway",
        "198.18.0.1",
        "--no-default-features",
        "-b",
        "json",
    ]);
    assert_eq!(j["version"], "4.9");
    // The site's features stay; the defaults (ntp) go.
    assert!(!features_of(&j).contains(&"ntp".to_string()));
    assert!(features_of(&j).contains(&"snmp".to_string()));
    assert_eq!(
        j["gateway"],
        serde_json::json!(["192.0.2.25/32", "198.18.0.1/32"])
    );
}

#[test]
fn unbound_roles_warn_on_stderr_and_in_the_output() {
    let r = fwgen(&["generate", "-p", "icap-gateway", "-b", "json"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stderr
            .contains("warning: role `dns-servers` has no address"),
        "{}",
        r.stderr
    );
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        j["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("`dns-servers`"))
    );
    assert_eq!(rule_for(&j, "dns-internal")["remote"], "any");
}

#[test]
fn output_file_is_written_atomically_and_never_partially() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rules.json");
    let out_s = out.to_str().unwrap();
    let r = fwgen(&["generate", "-p", "icap-gateway", "-b", "json", "-o", out_s]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.contains(&format!("wrote {out_s} (")),
        "{}",
        r.stderr
    );
    let first = std::fs::read_to_string(&out).unwrap();
    assert_eq!(first, ok(&["generate", "-p", "icap-gateway", "-b", "json"]));

    // A failing run leaves the old file exactly as it was, and no temporary file behind.
    let r = fwgen(&[
        "generate",
        "-p",
        "icap-gateway",
        "-F",
        "nope",
        "-b",
        "json",
        "-o",
        out_s,
    ]);
    assert_eq!(r.code, 2);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), first);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");

    // A missing directory, and a directory in place of a file, are clear errors.
    let r = fwgen(&[
        "generate",
        "-p",
        "icap-gateway",
        "-b",
        "json",
        "-o",
        dir.path().join("no/such/x.json").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
    let r = fwgen(&[
        "generate",
        "-p",
        "icap-gateway",
        "-b",
        "json",
        "-o",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("it is a directory"), "{}", r.stderr);
}
