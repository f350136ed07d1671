//! Least privilege: with every role and host group bound, no rule admits any address except
//! where the document itself says so, and every rule that does says why.
//!
//! See: issue "Rulesets as narrow as the vendor's rows: no `any` that the document does not say".

use std::collections::BTreeSet;
use std::fmt::Write;

use fwgen::model::{Peer, ProductVersion};
use serde_json::Value;

use crate::util::{fwgen, rule_for, seeds_dir};

/// The entries whose peer is any address because the document says so, with the words on the
/// cited line that say it. Anything else with `peer: any` is a transcription that lost the
/// server the row names.
const DOCUMENT_ANY: &[(&str, &str, &str, &str)] = &[
    ("email-gateway", "4.x", "smtp-in", "Inbound SMTP"),
    ("email-gateway", "4.x", "smtp-out", "Outbound SMTP"),
    ("email-gateway", "4.9", "smtp-in", "Inbound SMTP"),
    ("email-gateway", "4.9", "smtp-out", "Outbound SMTP"),
    ("email-gateway", "5.3", "smtp", "SMTP\tTCP\t25\tAny\tAny"),
    (
        "email-gateway",
        "5.3",
        "dns-unrestricted",
        "needs to have unrestricted access to DNS",
    ),
    (
        "exchange-gateway",
        "2018",
        "smtp-in",
        "SMTP を使ってメッセージを受信する",
    ),
    (
        "exchange-gateway",
        "2018",
        "smtp-out",
        "SMTP を使ってメッセージを送信する",
    ),
    (
        "icap-gateway",
        "4.8",
        "dns-internet",
        "DNS requests to Internet servers",
    ),
];

fn versions() -> Vec<ProductVersion> {
    fwgen::catalogue::load_embedded()
        .unwrap()
        .products
        .into_values()
        .flat_map(|p| p.versions.into_values())
        .collect()
}

fn document_any(pv: &ProductVersion, id: &str) -> Option<&'static str> {
    DOCUMENT_ANY
        .iter()
        .find(|(p, v, e, _)| *p == pv.product && *v == pv.version.as_str() && *e == id)
        .map(|t| t.3)
}

/// A site file that binds every role and every host group (by id) of `pv` to an address of
/// its own: what an administrator with a complete inventory writes.
fn complete_site(pv: &ProductVersion, component: &str) -> String {
    let mut s = format!(
        "product: {}\nversion: \"{}\"\ncomponent: {component}\ngateway: [192.0.2.25, 2001:db8::25]\nroles:\n",
        pv.product, pv.version
    );
    for (i, r) in pv.roles.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {}: [198.51.100.{}, 2001:db8:1::{:x}]",
            r.id,
            i + 1,
            i + 1
        );
    }
    s.push_str("hosts:\n");
    for (i, g) in pv.host_groups.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {}: [203.0.113.{}, 2001:db8:2::{:x}]",
            g.id,
            i + 1,
            i + 1
        );
    }
    s
}

fn generate_json(site: &str, extra: &[&str]) -> (Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("site.yaml");
    std::fs::write(&path, site).unwrap();
    let mut args = vec!["generate", "--site", path.to_str().unwrap(), "-b", "json"];
    args.extend(extra);
    let r = fwgen(&args);
    assert_eq!(
        r.code, 0,
        "fwgen {args:?}:\n{}\n--- site ---\n{site}",
        r.stderr
    );
    (serde_json::from_str(&r.stdout).unwrap(), r.stderr)
}

#[test]
fn only_rows_that_say_any_address_have_peer_any() {
    let seeds = seeds_dir();
    let mut checked = 0;
    for pv in versions() {
        let text = seeds
            .as_ref()
            .map(|d| std::fs::read_to_string(d.join(&pv.document.file)).unwrap());
        for e in pv.entries.iter().filter(|e| e.peer == Peer::Any) {
            let words = document_any(&pv, &e.id).unwrap_or_else(|| {
                panic!(
                    "{} entry `{}` admits any address, but its row (line {}) names a server: \
                     make it a role or a host group",
                    pv.path, e.id, e.source.line
                )
            });
            if let Some(text) = &text {
                let line = text.lines().nth(e.source.line - 1).unwrap_or_default();
                assert!(
                    line.contains(words),
                    "{} entry `{}`: line {} of {} does not say `{words}`: {line}",
                    pv.path,
                    e.id,
                    e.source.line,
                    pv.document.file
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, DOCUMENT_ANY.len(), "an allowed entry is gone");
}

#[test]
fn a_complete_site_admits_any_address_only_where_the_document_says_so() {
    for pv in versions() {
        for c in &pv.components {
            let site = complete_site(&pv, &c.id);
            // --strict: a complete site leaves nothing unbound, so nothing to refuse.
            let (json, stderr) = generate_json(&site, &["--all-features", "--strict"]);
            let what = format!("{} {} {}", pv.product, pv.version, c.id);
            let rules = json["rules"].as_array().unwrap();
            let mut any_rules = 0;
            for r in rules {
                let reasons = r["any_address"].as_array().cloned().unwrap_or_default();
                if r["remote"] == "any" {
                    any_rules += 1;
                    assert!(
                        !reasons.is_empty(),
                        "{what}: {r} admits any address without a reason"
                    );
                    for why in &reasons {
                        assert_eq!(why["reason"], "document", "{what}: {r}");
                        let entry = why["entry"].as_str().unwrap();
                        assert!(
                            document_any(&pv, entry).is_some(),
                            "{what}: entry `{entry}` admits any address: {r}"
                        );
                    }
                } else {
                    assert!(
                        reasons.is_empty(),
                        "{what}: {r} has addresses and a reason for any"
                    );
                }
            }
            let summary = stderr.lines().last().unwrap_or_default();
            assert!(
                summary.starts_with("fwgen: ")
                    && summary.contains(&format!(" of {} rules", rules.len()))
                    || summary.contains("no rule of"),
                "{what}: the summary is the last line of standard error: {stderr}"
            );
            if any_rules > 0 {
                assert!(
                    summary.contains(&format!("{any_rules} of ")) && summary.contains("document: "),
                    "{what}: {summary}"
                );
            }
        }
    }
}

#[test]
fn the_reply_half_of_a_connection_is_never_a_service() {
    let mut replies = 0;
    for pv in versions() {
        for c in &pv.components {
            let (json, _) = generate_json(&complete_site(&pv, &c.id), &["--all-features"]);
            let reply_only: BTreeSet<(&str, &str)> = pv
                .entries
                .iter()
                .filter(|e| e.component == c.id)
                .filter_map(|e| {
                    let d = e.opens?.reply()?;
                    Some((e.id.as_str(), d.as_str()))
                })
                .collect();
            replies += reply_only.len();
            for r in json["rules"].as_array().unwrap() {
                for e in r["entries"].as_array().unwrap() {
                    let key = (e.as_str().unwrap(), r["direction"].as_str().unwrap());
                    assert!(
                        !reply_only.contains(&key),
                        "{} {}: entry `{}` is read as a reply in direction {}, but a rule admits \
                         new connections that way: {r}",
                        pv.product,
                        pv.version,
                        key.0,
                        key.1
                    );
                }
            }
        }
    }
    assert!(replies > 40, "only {replies} reply halves checked");
}

#[test]
fn a_site_binding_to_a_whole_address_family_is_any_address() {
    let site = "product: icap-gateway\ngateway: [192.0.2.25]\nroles:\n  dns-servers: [0.0.0.0/0]\n  smtp-relay: [198.51.100.1]\n  admin-clients: [198.51.100.2]\n  icap-clients: [198.51.100.3]\n";
    let (json, stderr) = generate_json(site, &[]);
    assert!(
        stderr.contains("`dns-servers` is bound to 0.0.0.0/0, which is any IPv4 address"),
        "{stderr}"
    );
    assert!(
        stderr.contains("site.yaml:4"),
        "the warning names the line: {stderr}"
    );
    let dns = rule_for(&json, "dns-internal");
    assert_eq!(dns["any_address"][0]["reason"], "site-binding", "{dns}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("site.yaml");
    std::fs::write(&path, site).unwrap();
    let r = fwgen(&[
        "generate",
        "--site",
        path.to_str().unwrap(),
        "--strict",
        "-b",
        "json",
    ]);
    assert_eq!(
        r.code, 2,
        "--strict refuses a binding to 0.0.0.0/0: {}",
        r.stderr
    );
    assert!(r.stderr.contains("--strict"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

#[test]
fn a_host_group_without_host_names_is_bound_by_its_id() {
    // 4.9's "Clearswift Update Server" rows name no host: the site binds the group by id.
    let base = "product: email-gateway\nversion: \"4.9\"\ngateway: [192.0.2.25]\n";
    let (json, stderr) = generate_json(base, &[]);
    assert!(
        stderr.contains("host group `clearswift-update-server` (The Clearswift Update Server"),
        "an unbound group warns: {stderr}"
    );
    let license = |json: &Value| rule_for(json, "license-management").clone();
    assert_eq!(license(&json)["remote"], "any");
    let why =
        serde_json::json!({"reason": "unbound-host-group", "group": "clearswift-update-server"});
    assert!(
        license(&json)["any_address"]
            .as_array()
            .unwrap()
            .contains(&why),
        "{}",
        license(&json)
    );

    let bound = format!("{base}hosts:\n  clearswift-update-server: [198.51.100.7]\n");
    let (json, stderr) = generate_json(&bound, &[]);
    assert!(!stderr.contains("clearswift-update-server"), "{stderr}");
    assert_eq!(license(&json)["remote"][0], "198.51.100.7/32");
    assert!(license(&json).get("any_address").is_none());
}

/// Binding one host of a multi-host group leaves the others without an address: say so.
///
/// See: issue "Safe to run as root and in CI", weak points.
#[test]
fn a_partly_bound_host_group_warns() {
    let site = "product: email-gateway\nversion: \"5.3\"\ngateway: [192.0.2.25]\nhosts:\n  0.rhel.pool.ntp.org: [198.51.100.123]\n";
    let (_, stderr) = generate_json(site, &[]);
    assert!(
        stderr.contains("site.yaml:5: host group `ntp-pool`: the site file gives addresses for `0.rhel.pool.ntp.org` but not for `1.rhel.pool.ntp.org`"),
        "{stderr}"
    );
    let by_id = site.replace("0.rhel.pool.ntp.org", "ntp-pool");
    let (_, stderr) = generate_json(&by_id, &[]);
    assert!(!stderr.contains("ntp-pool"), "{stderr}");
}
