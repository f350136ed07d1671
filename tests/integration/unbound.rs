//! Strict about unbound peers by default: a rule that would admit any address because a
//! role or host group is unbound is an error naming each one and how to bind it, unless the
//! user says `--allow-unbound` (manifest: `allow_unbound: true`; `build --allow-unbound`).
//! Rules the document itself opens to any address stay allowed and marked.
//!
//! These tests run fwgen as a user does (`util::fwgen_default`): the rest of the suite
//! allows unbound peers, which its fixtures leave on purpose.
//!
//! See: issue "A new user's first hour", items 3 and 4.

use crate::util::fwgen_default as fwgen;

#[test]
fn a_selection_with_unbound_peers_is_an_error_naming_each() {
    // The ICAP Gateway without a site file: every role and two host groups unbound.
    let icap = |extra: &[&str]| {
        let mut args = vec!["generate", "-p", "icap-gateway", "--gateway", "192.0.2.1"];
        args.extend(extra);
        fwgen(&args)
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rules.nft");
    let r = icap(&["-b", "nftables", "-o", out.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    for peer in [
        "role `admin-clients`",
        "role `icap-clients`",
        "host group `clearswift-ntp`",
    ] {
        assert!(r.stderr.contains(peer), "{peer}: {}", r.stderr);
    }
    assert!(
        r.stderr.contains("add it under `roles:` in the site file"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("pass --allow-unbound"), "{}", r.stderr);
    assert!(!out.exists(), "an error writes nothing");
    assert!(r.stdout.is_empty());

    // Said out loud, it is a warning and the rules admit any address, marked.
    let r = icap(&["-b", "nftables", "--allow-unbound"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("warning: role `admin-clients`"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("unbound role"), "{}", r.stdout);
    // --strict still refuses it.
    let r = icap(&["-b", "json", "--allow-unbound", "--strict"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// `site init`'s template, unfilled, is refused; filled, it generates. The document's own
/// any-address rules (SMTP) are no error.
#[test]
fn an_unfilled_template_is_refused_and_document_rules_stay_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let template = fwgen(&["site", "init", "--product", "email-gateway"]);
    assert_eq!(template.code, 0, "{}", template.stderr);
    let site = dir.path().join("site.yaml");
    std::fs::write(&site, &template.stdout).unwrap();
    let r = fwgen(&["generate", "--site", site.to_str().unwrap(), "-b", "json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("role `admin-clients`"), "{}", r.stderr);

    let r = fwgen(&["generate", "--site", "examples/site.yaml", "-b", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("(document: 2)"), "{}", r.stderr);
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let smtp = crate::util::rule_for(&j, "smtp");
    assert_eq!(smtp["remote"], "any");
    assert_eq!(smtp["any_address"][0]["reason"], "document");
}

/// A manifest target fails on unbound peers, naming its key; `allow_unbound: true` or
/// `build --allow-unbound` allows them.
#[test]
fn manifests_say_allow_unbound_per_target_or_for_the_build() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("fwgen.yaml");
    let target = "targets:\n  - name: bare\n    product: icap-gateway\n    backend: json\n    \
                  output: out/bare.json\n";
    std::fs::write(&manifest, target).unwrap();
    let m = manifest.to_str().unwrap();
    let r = fwgen(&["build", m]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("target `bare`")
            && r.stderr.contains("set `allow_unbound: true` in the target"),
        "{}",
        r.stderr
    );
    assert!(
        !dir.path().join("out").exists(),
        "a failed build writes nothing"
    );

    assert_eq!(fwgen(&["build", "--allow-unbound", m]).code, 0);
    std::fs::write(&manifest, format!("{target}    allow_unbound: true\n")).unwrap();
    let r = fwgen(&["build", "--check", m]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// The audit and apply select as generate does: unbound peers are an error there too.
#[test]
fn audit_refuses_unbound_peers_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump.json");
    std::fs::write(&dump, "{\"nftables\": []}").unwrap();
    let r = fwgen(&[
        "audit",
        "-p",
        "icap-gateway",
        "--gateway",
        "192.0.2.1",
        "--ruleset",
        dump.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("pass --allow-unbound"), "{}", r.stderr);
}

/// A placeholder left empty (`[]`, as `site init` writes them) binds nothing: the other ways
/// of binding the group stay open, and no message says it is bound and unbound at once.
///
/// See: issue "A new user's first hour", item 4.
#[test]
fn an_empty_placeholder_leaves_the_other_ways_of_binding_open() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fwgen.lock"),
        "# Generated by fwgen with `fwgen resolve`. Do not edit: run it again.\nhosts:\n  \
         \"0.rhel.pool.ntp.org\": [198.51.100.123]\n  \"1.rhel.pool.ntp.org\": [198.51.100.124]\n  \
         \"2.rhel.pool.ntp.org\": [198.51.100.125]\n  \"3.rhel.pool.ntp.org\": [198.51.100.126]\n",
    )
    .unwrap();
    let site = dir.path().join("site.yaml");
    std::fs::write(
        &site,
        "product: email-gateway\nversion: \"5.3\"\ngateway: [192.0.2.25]\nroles:\n  \
         admin-clients: [198.51.100.0/28]\n  dns-servers: [198.51.100.53]\n  \
         ocsp-responders: [198.51.100.80]\n  smtp-relay: []\nhosts:\n  ntp-pool: []\n  \
         service-availability: [203.0.113.50]\n  product-update-servers: [203.0.113.40]\n\
         lock: fwgen.lock\nnames:\n  ntp-pool: lock\n",
    )
    .unwrap();
    let r = fwgen(&[
        "generate",
        "--site",
        site.to_str().unwrap(),
        "-b",
        "json",
        "--allow-unbound",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("is not used"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("`ntp-pool`"),
        "ntp-pool is bound by the lock: {}",
        r.stderr
    );
    assert!(r.stdout.contains("198.51.100.124/31"), "{}", r.stdout);
    // The empty role stays unbound, said once.
    assert_eq!(
        r.stderr.matches("role `smtp-relay`").count(),
        1,
        "{}",
        r.stderr
    );
}
