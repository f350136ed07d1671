//! A site file's own entries (`entries:`): the checks of catalogue entries with the site
//! file's lines, every backend renders them and marks them, the real tools accept them.

use std::path::Path;

use crate::util::{fwgen, ok};

const ENTRIES: &str = r#"
# The site's own rules, beyond the vendor's table.
entries:
  - id: dns-tcp
    description: "DNS over TCP\"; } accept; # ' ` \\ $(reboot) \n\r<script>x</script> \u202e\u200b end"
    protocols: [tcp]
    ports: [53]
    directions: [out]
    peer: {role: dns-servers}
  - id: monitoring-agent
    description: Monitoring agent polled from the admin network
    protocols: [tcp]
    ports: [9100]
    directions: [in]
    peer: {role: admin-clients}
    notes: Change CHG-2231
  - id: rsync-backup
    description: Extra backup transport, only with FTPS backups on
    protocols: [tcp]
    ports: [873]
    directions: [out]
    peer: {role: backup-server}
    feature: backup-ftps
"#;

/// `examples/site.yaml` with [`ENTRIES`] appended, in `dir`.
fn site_file(dir: &Path, extra: &str) -> String {
    let text = std::fs::read_to_string("examples/site.yaml").unwrap() + extra;
    let path = dir.join("site.yaml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn line_of(path: &str, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .position(|l| l.contains(needle))
        .unwrap()
        + 1
}

#[test]
fn site_entries_are_rules_with_the_site_files_lines_as_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), ENTRIES);
    let j: serde_json::Value = serde_json::from_str(&ok(&[
        "generate", "--site", &site, "-b", "json", "--strict",
    ]))
    .unwrap();
    let dns = line_of(&site, "- id: dns-tcp");
    let mon = line_of(&site, "- id: monitoring-agent");
    assert_eq!(
        j["site_entries"],
        serde_json::json!([{"id": "dns-tcp", "line": dns}, {"id": "monitoring-agent", "line": mon}]),
        "the feature-gated entry is not selected; the others are listed"
    );
    let rules = j["rules"].as_array().unwrap();
    let has = |dir: &str, proto: &str, port: u64, entry: &str| {
        rules.iter().any(|r| {
            r["direction"] == dir
                && r["protocol"] == proto
                && r["ports"].as_array().unwrap().contains(&port.into())
                && r["entries"].as_array().unwrap().contains(&entry.into())
        })
    };
    assert!(has("out", "tcp", 53, "dns-tcp"), "{j}");
    assert!(has("in", "tcp", 9100, "monitoring-agent"), "{j}");
    assert!(
        !rules
            .iter()
            .any(|r| r["ports"].as_array().unwrap().contains(&873.into()))
    );
    // The peer is bound like a catalogue entry's: the role's addresses, never any.
    let dns_rule = rules
        .iter()
        .find(|r| r["entries"].as_array().unwrap().contains(&"dns-tcp".into()))
        .unwrap();
    assert_eq!(
        dns_rule["remote"],
        serde_json::json!(["198.51.100.53/32", "198.51.100.54/32"])
    );
    // With the feature on, the gated entry comes in.
    let j: serde_json::Value = serde_json::from_str(&ok(&[
        "generate",
        "--site",
        &site,
        "-b",
        "json",
        "-F",
        "backup-ftps",
    ]))
    .unwrap();
    assert!(
        j["site_entries"].to_string().contains("rsync-backup"),
        "{j}"
    );
}

/// Every backend (firewall syntaxes and reviews) renders the site's entries, says they are
/// the site's, and the real tools accept the result: hostile text in a site entry's
/// description (quotes, braces, a shell substitution, line breaks, markup, bidirectional
/// overrides) stays text.
#[test]
fn every_backend_renders_and_marks_site_entries() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(dir.path(), ENTRIES);
    let exchange = dir.path().join("exchange.yaml");
    let text = std::fs::read_to_string("examples/sites/exchange-server.yaml").unwrap()
        + "entries:\n  - id: rdp-admin\n    component: exchange-server\n    description: RDP from the gateway hosts\n    protocols: [tcp]\n    ports: [3389]\n    directions: [in]\n    peer: {role: sxg-gateways}\n";
    std::fs::write(&exchange, text).unwrap();
    let tools = crate::util::have_tools(crate::tools::LOADERS);
    if !tools {
        crate::util::missing("nft, iptables-restore, ipset, unshare");
    }
    use clap::ValueEnum;
    for backend in fwgen::render::Backend::value_variants() {
        let d = backend.description();
        let (site, placement, port) = if d.placements.contains(&fwgen::render::Placement::Perimeter)
        {
            (site.as_str(), "perimeter", "9100")
        } else {
            (exchange.to_str().unwrap(), "host", "3389")
        };
        let out = tempfile::tempdir().unwrap();
        let files = crate::tools::generate_into(
            out.path(),
            &[
                "generate",
                "--site",
                site,
                "--strict",
                "--placement",
                placement,
                "-b",
                d.name,
            ],
        );
        let all: String = files.iter().map(|p| read_all(p)).collect();
        assert!(
            all.contains(port),
            "{}: no port {port} in {files:?}",
            d.name
        );
        assert!(
            all.contains("site additions (entries of the site file")
                || all.contains("\"site_entries\"")
                || (all.contains("Site additions") && all.contains("SITE ADDITION: ")),
            "{}: the site's entries are not marked",
            d.name
        );
        if tools {
            crate::tools::check_with_real_tools(out.path());
        }
    }
}

#[test]
fn site_entries_get_every_check_of_a_catalogue_entry_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let bad = "
entries:
  - id: dns-tcp
    description: x
    protocols: [tcp]
    ports: [53]
    directions: [out]
    peer: {role: dns-server}
  - id: web-ui
    description: same id as the catalogue's
    protocols: [tcp]
    ports: [8443]
    directions: [in]
    peer: {role: admin-clients}
  - id: cited
    description: a site entry cannot cite a document
    protocols: [tcp]
    ports: [1]
    directions: [in]
    peer: {group: sophos-update-servrs}
    feature: kasperski
    source: {section: s, row: r, line: 1}
  - id: both
    description: both directions, nobody opens
    protocols: [udp]
    ports: [5000]
    directions: [in, out]
    peer: {role: admin-clients}
";
    let site = site_file(dir.path(), bad);
    let r = fwgen(&["generate", "--site", &site, "-b", "json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let at = |id: &str| format!("{site}:{}: ", line_of(&site, &format!("- id: {id}")));
    for want in [
        format!(
            "{}entry `dns-tcp`: unknown role `dns-server`; did you mean `dns-servers`?",
            at("dns-tcp")
        ),
        format!(
            "{}site entry `web-ui`: email-gateway 5.3 has an entry of that id",
            at("web-ui")
        ),
        format!(
            "{}site entry `cited`: `source:` is for catalogue entries",
            at("cited")
        ),
        format!(
            "{}entry `cited`: unknown host group `sophos-update-servrs`; did you mean `sophos-update-servers`?",
            at("cited")
        ),
        format!(
            "{}entry `cited`: unknown feature `kasperski`; did you mean `kaspersky`?",
            at("cited")
        ),
        format!(
            "{}entry `both`: the row is written `In/Out`: say who opens",
            at("both")
        ),
    ] {
        assert!(
            r.stderr.contains(&want),
            "missing {want:?} in:\n{}",
            r.stderr
        );
    }
    // `validate --site` reports the same.
    let v = fwgen(&["validate", "--site", &site]);
    assert_eq!(v.code, 2);
    assert!(
        v.stderr.contains("unknown role `dns-server`"),
        "{}",
        v.stderr
    );
    // A schema error is positioned in the site file too.
    let site2 = site_file(
        dir.path(),
        "entries:\n  - id: x\n    description: d\n    protocols: [tcp]\n    ports: [\"9-1\"]\n    directions: [out]\n    peer: any\n",
    );
    let r = fwgen(&["generate", "--site", &site2, "-b", "json"]);
    assert!(
        r.stderr
            .contains("entries[0].ports[0]: port range `9-1` is reversed"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_site_entry_to_any_address_is_refused_by_strict_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_file(
        dir.path(),
        "entries:\n  - id: anything\n    description: d\n    protocols: [tcp]\n    ports: [8080]\n    directions: [in]\n    peer: any\n",
    );
    let line = line_of(&site, "- id: anything");
    let r = fwgen(&["generate", "--site", &site, "-b", "nftables", "--strict"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&format!(
            "{site}:{line}: the site's own entry `anything` says `peer: any`"
        )),
        "{}",
        r.stderr
    );
    let r = fwgen(&["generate", "--site", &site, "-b", "nftables"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("the site files own entry anything says peer: any"),
        "{}",
        r.stdout
    );
}

/// A file's text, or a directory's files' texts (firewalld's `zones/`, Aerleon's `policies/pol/`).
fn read_all(p: &std::path::Path) -> String {
    if p.is_dir() {
        let mut paths: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        paths.iter().map(|p| read_all(p)).collect()
    } else {
        std::fs::read_to_string(p).unwrap()
    }
}

/// A site's own role: defined under `roles:` for its own entries, bound like the catalogue's;
/// one that no entry names is a typo, said with a did-you-mean.
///
/// See: issue "A new user's first hour", item 5.
#[test]
fn a_site_defines_roles_of_its_own_for_its_own_entries() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.yaml");
    let text = "product: icap-gateway\ngateway: [192.0.2.40]\nroles:\n  \
                admin-clients: [198.51.100.0/28]\n  monitoring: [198.51.100.70]\nentries:\n  \
                - id: checks\n    description: Checks from the monitoring server\n    \
                protocols: [tcp]\n    ports: [9443]\n    directions: [in]\n    \
                peer: {role: monitoring}\n";
    std::fs::write(&site, text).unwrap();
    let s = site.to_str().unwrap();
    let r = fwgen(&["generate", "--site", s, "-b", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let rule = crate::util::rule_for(&j, "checks");
    assert_eq!(
        rule["remote"],
        serde_json::json!(["198.51.100.70/32"]),
        "{rule}"
    );
    assert_eq!(
        rule["peers"]["roles"],
        serde_json::json!(["monitoring"]),
        "{rule}"
    );
    let review = fwgen(&["generate", "--site", s, "-b", "markdown"]);
    assert!(
        review.stdout.contains("role monitoring"),
        "{}",
        review.stdout
    );

    // A misspelt own role: the entry's role is unknown, and the site's is a typo of it.
    std::fs::write(&site, text.replace("monitoring: [", "monitorin: [")).unwrap();
    let r = fwgen(&["generate", "--site", s, "-b", "json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("unknown role `monitorin`; did you mean `monitoring`?"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("entry `checks`: unknown role `monitoring`"),
        "{}",
        r.stderr
    );
    // A role no entry names, of no catalogue: an error, not a silent binding.
    std::fs::write(
        &site,
        "product: icap-gateway\nroles:\n  admin-clients: [198.51.100.0/28]\n  spare: [198.51.100.9]\n",
    )
    .unwrap();
    let r = fwgen(&["generate", "--site", s, "-b", "json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("unknown role `spare`"), "{}", r.stderr);
}
