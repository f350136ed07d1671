//! The command line: help, listings, exit codes.

use insta::assert_snapshot;
use serde_json::Value;

use crate::util::{fwgen, ok};

#[test]
fn help_text() {
    let help = ok(&["--help"]).replace(env!("CARGO_PKG_VERSION"), "[version]");
    assert_snapshot!("help", help);
    assert_snapshot!("generate_help", ok(&["generate", "--help"]));
}

#[test]
fn version_flag() {
    assert_eq!(
        ok(&["--version"]),
        format!("fwgen {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn products_text_and_json() {
    assert_snapshot!("products", ok(&["products"]));
    let j: Value = serde_json::from_str(&ok(&["products", "--format", "json"])).unwrap();
    let ids: Vec<&str> = j
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["email-gateway", "exchange-gateway", "icap-gateway"]);
    let email = &j[0]["versions"];
    let versions: Vec<&str> = email
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["5.3", "4.9", "4.x"], "newest first");
    assert_eq!(email[0]["newest"], true);
    assert_eq!(
        j[1]["versions"][0]["components"],
        serde_json::json!(["gateway", "exchange-server"])
    );
}

#[test]
fn features_text_and_json() {
    assert_snapshot!(
        "features_icap",
        ok(&["features", "--product", "icap-gateway"])
    );
    let j: Value = serde_json::from_str(&ok(&[
        "features",
        "-p",
        "email-gateway",
        "-V",
        "4.9",
        "--format",
        "json",
    ]))
    .unwrap();
    let find = |id: &str| {
        j.as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .unwrap()
            .clone()
    };
    for id in ["pmm", "ntlm", "kaspersky"] {
        let f = find(id);
        assert_eq!(f["default"], false, "{id}");
        assert!(
            !f["entries"].as_array().unwrap().is_empty(),
            "{id} enables entries"
        );
        assert!(f["description"].as_str().unwrap().len() > 5);
    }
    // Entries come through implied features too: PMM Full Mode opens the NTLM ports.
    let full = find("pmm-full-mode");
    assert_eq!(full["implies"], serde_json::json!(["pmm", "ntlm"]));
    let entries: Vec<&str> = full["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        entries.contains(&"ntlm-445") && entries.contains(&"pmm-web"),
        "{entries:?}"
    );
    assert_eq!(find("ntp")["default"], true);
}

#[test]
fn validate_the_shipped_catalogue_its_directory_and_a_site() {
    assert!(ok(&["validate"]).starts_with("built-in catalogue: ok: 3 products, 5 versions"));
    assert!(ok(&["validate", "data"]).starts_with("data: ok: 3 products, 5 versions"));
    let r = fwgen(&["validate", "--site", "examples/site.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("examples/site.yaml: ok"), "{}", r.stderr);
    let r = fwgen(&[
        "validate",
        "--site",
        "tests/fixtures/invalid-sites/several-problems.yaml",
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr.lines().count(), 4, "{}", r.stderr);
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_fwgen"))
        .args([
            "generate",
            "-p",
            "email-gateway",
            "--all-features",
            "-b",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
