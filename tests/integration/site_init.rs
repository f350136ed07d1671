//! `fwgen site init`: the commented site file of a selection, which filled in is a site file
//! that `generate --strict` accepts.

use crate::util::{fwgen, ok};

/// Replace every empty address list the template leaves (`gateway: []`, `  ROLE: []`) with
/// an address, as a user fills it in.
fn fill(template: &str) -> String {
    let mut n = 0;
    template
        .lines()
        .map(|l| {
            let t = l.trim_start();
            if l.ends_with(": []") && !t.starts_with('#') && !t.starts_with("features:") {
                n += 1;
                format!(
                    "{} [192.0.2.{n}, 2001:db8::{n:x}]",
                    l.trim_end_matches(" []")
                )
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn every_selection_s_template_filled_in_passes_strict() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for (p, v, c) in crate::tools::targets() {
        for features in [&[][..], &["--all-features"][..]] {
            let mut args = vec!["site", "init", "-p", &p, "-V", &v, "-c", &c];
            args.extend(features);
            let template = ok(&args);
            // Parses as it is; unfilled, strict refuses it (the peers are unbound), naming them.
            let path = dir.path().join("site.yaml");
            std::fs::write(&path, &template).unwrap();
            let site = path.to_str().unwrap();
            let v1 = fwgen(&["validate", "--site", site]);
            assert_eq!(v1.code, 0, "{args:?}: {}\n{template}", v1.stderr);
            let filled = fill(&template);
            std::fs::write(&path, &filled).unwrap();
            let r = fwgen(&["generate", "--site", site, "--strict", "-b", "json"]);
            assert_eq!(r.code, 0, "{args:?} filled in:\n{filled}\n{}", r.stderr);
            // The filled-in file selects what the template was made for.
            let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
            assert_eq!(j["product"], p.as_str());
            assert_eq!(j["version"], v.as_str());
            assert_eq!(j["component"], c.as_str());
            if features.is_empty() {
                let unfilled = fwgen(&["generate", "-p", &p, "-V", &v, "-c", &c, "-b", "json"]);
                assert_eq!(
                    j["features"],
                    serde_json::from_str::<serde_json::Value>(&unfilled.stdout).unwrap()["features"]
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked}");
}

#[test]
fn the_template_names_each_peer_with_what_it_is_for_and_who_needs_it() {
    let t = ok(&[
        "site",
        "init",
        "-p",
        "icap-gateway",
        "-F",
        "ldap,backup-sftp,kaspersky",
    ]);
    for want in [
        "product: icap-gateway\nversion: \"4.8\"\n",
        "features: [backup-sftp, kaspersky, ldap]\n",
        "gateway: []\n",
        "  # The backup server\n  # needed by: sftp-backup (out tcp 22)\n  backup-server: []\n",
        "  # LDAP / Active Directory servers\n",
        "# Host group `kaspersky-update-servers`",
    ] {
        assert!(t.contains(want), "missing {want:?} in\n{t}");
    }
    // Features off: their peers are not asked for.
    assert!(!t.contains("snmp-managers"), "{t}");
    // Another component: its own addresses under `components:`.
    let t = ok(&[
        "site",
        "init",
        "-p",
        "exchange-gateway",
        "-c",
        "exchange-server",
    ]);
    assert!(t.contains("component: exchange-server\n"), "{t}");
    assert!(t.contains("components:\n  exchange-server: []\n"), "{t}");
    assert!(!t.contains("\ngateway:"), "{t}");
    // Errors are the selection's, with did-you-mean.
    let r = fwgen(&["site", "init", "-p", "icap-gatewy"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("did you mean `icap-gateway`"),
        "{}",
        r.stderr
    );
}

/// Catalogue text becomes comment text only: a description with a line break cannot add a
/// key to the site file.
#[test]
fn catalogue_text_cannot_add_keys_to_the_template() {
    let dir = tempfile::tempdir().unwrap();
    let own = std::fs::read_to_string("examples/own-product/my-appliance.yaml")
        .unwrap()
        .replace(
            "description: Internal DNS servers",
            "description: \"DNS\\nroles: {evil: [0.0.0.0/0]}\\r\\u2028x\"",
        );
    let path = dir.path().join("my-appliance.yaml");
    let init = |catalogue: &str| {
        std::fs::write(&path, catalogue).unwrap();
        ok(&[
            "--catalogue",
            path.to_str().unwrap(),
            "site",
            "init",
            "-p",
            "dmz-proxy",
        ])
    };
    let t = init(&own);
    assert!(t.contains("  # DNS roles: {evil: [0.0.0.0/0]}"), "{t}");
    assert!(!t.lines().any(|l| l.starts_with("roles: {evil")), "{t}");
    // A version label with quotes stays one value: the template parses and names it.
    let own = std::fs::read_to_string("examples/own-product/my-appliance.yaml")
        .unwrap()
        .replace("version: \"1\"", "version: '1\",gateway:[0.0.0.0/0],x:\"'");
    let t = init(&own);
    let doc: serde_yaml::Value = serde_yaml::from_str(&t).unwrap();
    assert_eq!(doc["version"], "1\",gateway:[0.0.0.0/0],x:\"", "{t}");
    assert_eq!(doc["gateway"], serde_yaml::Value::Sequence(vec![]), "{t}");
}
