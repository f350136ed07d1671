//! Bad input: one snapshot per fixture, so the wording and the file:line get reviewed.
//! Every case must exit 1, print only `error:` lines, and never panic.

use insta::assert_snapshot;

use crate::util::fwgen;

/// Relative path of a fixture, as the user would type it from the crate directory.
fn rel(path: &std::path::Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap()
        .display()
        .to_string()
}

#[track_caller]
fn failure(args: &[&str]) -> String {
    let r = fwgen(args);
    assert_eq!(r.code, 2, "fwgen {args:?} should exit 2:\n{}", r.stderr);
    assert!(r.stdout.is_empty(), "no output on error, got {}", r.stdout);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    for line in r.stderr.lines() {
        assert!(
            line.starts_with("error: "),
            "every line is an error: {line}"
        );
    }
    r.stderr
}

#[test]
fn invalid_catalogues() {
    insta::glob!("../fixtures", "invalid/*.yaml", |path| {
        assert_snapshot!(failure(&["validate", &rel(path)]));
    });
}

#[test]
fn invalid_catalogue_is_refused_by_generate_too() {
    let stderr = failure(&[
        "--catalogue",
        "tests/fixtures/invalid/port-out-of-range.yaml",
        "generate",
        "-p",
        "test-gateway",
        "-b",
        "json",
    ]);
    assert!(
        stderr.contains("port `70000` is outside 1..=65535"),
        "{stderr}"
    );
}

#[test]
fn invalid_sites() {
    insta::glob!("../fixtures", "invalid-sites/*.yaml", |path| {
        assert_snapshot!(failure(&[
            "generate",
            "--site",
            &rel(path),
            "--backend",
            "json"
        ]));
    });
}

#[test]
fn invalid_selections() {
    let cases: &[(&str, &[&str])] = &[
        (
            "unknown_product",
            &["generate", "-p", "email-gatway", "-b", "json"],
        ),
        (
            "unknown_version",
            &["generate", "-p", "email-gateway", "-V", "5.4", "-b", "json"],
        ),
        (
            "unknown_component",
            &[
                "generate",
                "-p",
                "exchange-gateway",
                "-c",
                "exchange",
                "-b",
                "json",
            ],
        ),
        (
            "unknown_feature",
            &[
                "generate",
                "-p",
                "email-gateway",
                "--features",
                "snmp,kaspersy",
                "-b",
                "json",
            ],
        ),
        ("no_product", &["generate", "-b", "json"]),
        ("features_unknown_product", &["features", "-p", "icap"]),
        (
            "strict_unbound_role",
            &[
                "generate",
                "-p",
                "icap-gateway",
                "--no-default-features",
                "--strict",
                "-b",
                "json",
            ],
        ),
        (
            "missing_catalogue",
            &["--catalogue", "no/such/dir", "products"],
        ),
        (
            "missing_site",
            &[
                "generate",
                "-p",
                "icap-gateway",
                "--site",
                "no/such/site.yaml",
                "-b",
                "json",
            ],
        ),
    ];
    for (name, args) in cases {
        assert_snapshot!(*name, failure(args));
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["generate"][..],
        &["generate", "-p", "x", "-b", "pdf"],
        &["frobnicate"],
        &["generate", "-b", "json", "--gateway", "gw.example.com"],
    ] {
        let r = fwgen(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("error:"), "{}", r.stderr);
    }
}

#[test]
fn empty_catalogue_directory() {
    let dir = tempfile::tempdir().unwrap();
    let r = fwgen(&["validate", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("no catalogue files (`*.yaml`) in this directory"),
        "{}",
        r.stderr
    );
}

#[test]
fn every_problem_in_every_file_is_reported_in_path_and_line_order() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["unknown-role.yaml", "port-zero.yaml"] {
        let text = std::fs::read_to_string(format!("tests/fixtures/invalid/{name}")).unwrap();
        // Two files of the same product need distinct versions.
        let text = text.replace("version: \"1.0\"", &format!("version: \"{}\"", name.len()));
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let r = fwgen(&["validate", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 2);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stderr);
    assert!(lines[0].contains("port-zero.yaml:36:13"), "{}", r.stderr);
    assert!(lines[1].contains("unknown-role.yaml:26:"), "{}", r.stderr);
}
