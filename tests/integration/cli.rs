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

/// `--component`: the product versions that have the host, the features that concern it
/// (none for the Exchange Server, whose three rows are always required), its entries only.
#[test]
fn products_and_features_take_a_component() {
    let text = ok(&["products", "--component", "exchange-server"]);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.contains("components: gateway, exchange-server (Windows)")
            && text.contains("3 entries of exchange-server"),
        "{text}"
    );
    let j: Value = serde_json::from_str(&ok(&[
        "products",
        "-c",
        "exchange-server",
        "--format",
        "json",
    ]))
    .unwrap();
    let v = &j[0]["versions"][0];
    assert_eq!(v["entries"], 3);
    assert_eq!(v["component_details"][1]["platform"], "windows");
    assert_eq!(j.as_array().unwrap().len(), 1);

    let features = ok(&[
        "features",
        "-p",
        "exchange-gateway",
        "-c",
        "exchange-server",
    ]);
    assert_eq!(
        features,
        "exchange-gateway 2018 (003_cbcffee6cd8d5eb3.txt), component exchange-server\n  \
         no feature: every entry of this component is always required\n"
    );
    // The gateway's features list only the gateway's entries (all of them, here).
    let all = ok(&["features", "-p", "exchange-gateway", "--format", "json"]);
    let gw = ok(&[
        "features",
        "-p",
        "exchange-gateway",
        "-c",
        "gateway",
        "--format",
        "json",
    ]);
    assert_eq!(all, gw);

    for (args, want) in [
        (
            &["products", "-c", "exchang"][..],
            "no product has a component `exchang`; did you mean `exchange-server`?",
        ),
        (
            &["features", "-p", "email-gateway", "-c", "exchange-server"],
            "email-gateway 5.3 has no component `exchange-server`",
        ),
    ] {
        let r = crate::util::fwgen(args);
        assert_eq!(r.code, 2, "{args:?}");
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
    }
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
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.lines().count(), 4, "{}", r.stderr);
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_fwgen"))
        .args([
            "generate",
            "--allow-unbound",
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

#[test]
fn shell_completions_and_man_pages() {
    let bash = ok(&["completions", "bash"]);
    for sub in [
        "generate", "build", "diff", "products", "features", "validate",
    ] {
        assert!(bash.contains(sub), "bash completion lacks {sub}");
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("fwgen.bash");
    std::fs::write(&f, &bash).unwrap();
    let st = std::process::Command::new("bash")
        .args(["-n", f.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success(), "bash rejects the completion script");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        assert!(ok(&["completions", shell]).contains("fwgen"), "{shell}");
    }
    let man = ok(&["man"]);
    assert!(
        man.starts_with(".ie") || man.contains(".TH fwgen 1"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(ok(&["man", "generate"]).contains(".TH fwgen-generate 1"));
    let r = fwgen(&["man", "genrate"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("did you mean `generate`?"),
        "{}",
        r.stderr
    );
    if let Some(man_cmd) = crate::util::find_tool("man") {
        let page = dir.path().join("fwgen.1");
        std::fs::write(&page, &man).unwrap();
        let out = std::process::Command::new(man_cmd)
            .args(["-l", page.to_str().unwrap()])
            .env("MANWIDTH", "80")
            .env("MANPAGER", "cat")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("SYNOPSIS") && text.contains("generate"),
            "{text}"
        );
    }
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    // Piped: no escape codes.
    let r = fwgen(&["generate", "-p", "nope", "-b", "json"]);
    assert!(r.stderr.starts_with("error: "), "{:?}", r.stderr);
    let Some(script) = crate::util::find_tool("script") else {
        crate::util::missing("script (util-linux) is not installed");
        return;
    };
    let bin = env!("CARGO_BIN_EXE_fwgen");
    let run = |no_color: bool| {
        let mut c = std::process::Command::new(&script);
        c.args([
            "-qec",
            &format!("{bin} generate -p nope -b json"),
            "/dev/null",
        ])
        .env_remove("NO_COLOR")
        .env("TERM", "xterm");
        if no_color {
            c.env("NO_COLOR", "1");
        }
        String::from_utf8_lossy(&c.output().unwrap().stdout).into_owned()
    };
    assert!(
        run(false).contains("\u{1b}[31merror:") || run(false).contains("\u{1b}[1m\u{1b}[31merror:"),
        "a terminal gets colour: {:?}",
        run(false)
    );
    assert!(!run(true).contains('\u{1b}'), "NO_COLOR: {:?}", run(true));
}

/// What bash offers after `fwgen ARGS… ` at a flag, with fwgen's own completion script.
fn bash_offers(script_args: &[&str], words: &[&str]) -> Vec<String> {
    let mut args = script_args.to_vec();
    args.extend(["completions", "bash"]);
    let script = crate::util::ok(&args);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fwgen.bash");
    std::fs::write(&path, script).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cur = words.last().unwrap();
    let prev = words[words.len() - 2];
    let cmd = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; _fwgen fwgen '{cur}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display(),
        quoted.join(" "),
        words.len() - 1
    );
    // In the crate directory, where file names would be offered if the script fell back to
    // them.
    let out = std::process::Command::new("bash")
        .args(["--norc", "-c", &cmd])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn completion_offers_the_catalogues_values_not_file_names() {
    assert_eq!(
        bash_offers(&[], &["fwgen", "generate", "--product", ""]),
        ["email-gateway", "exchange-gateway", "icap-gateway"]
    );
    assert_eq!(
        bash_offers(
            &[],
            &["fwgen", "diff", "-p", "email-gateway", "--from", "4"]
        ),
        ["4.8", "4.9", "4.x"]
    );
    let features = bash_offers(&[], &["fwgen", "site", "init", "-F", "kas"]);
    assert_eq!(features, ["kaspersky", "kaspersky-ksn"]);
    let backends = bash_offers(&[], &["fwgen", "generate", "-b", ""]);
    assert!(
        backends.contains(&"nftables".to_string()) && backends.contains(&"windows".to_string()),
        "{backends:?}"
    );
    assert!(
        !backends.iter().any(|b| b.contains("Cargo")),
        "{backends:?}"
    );
    // A user's own catalogue: its ids too.
    let own = ["--catalogue", "examples/own-product/my-appliance.yaml"];
    assert!(
        bash_offers(&own, &["fwgen", "features", "--product", "d"])
            .contains(&"dmz-proxy".to_string())
    );
    // A version label that is shell code is not offered: bash would run it while completing.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let evil = dir.path().join("evil.yaml");
    let text = std::fs::read_to_string("examples/own-product/my-appliance.yaml")
        .unwrap()
        .replace(
            "version: \"1\"",
            &format!("version: \"$(touch${{IFS}}{})\"", marker.display()),
        );
    assert!(text.contains("$(touch"), "{text}");
    std::fs::write(&evil, text).unwrap();
    let own = ["--catalogue", evil.to_str().unwrap()];
    let offered = bash_offers(&own, &["fwgen", "generate", "-V", ""]);
    assert!(!marker.exists(), "completion ran code from the catalogue");
    assert!(
        offered.contains(&"5.3".to_string()) && !offered.iter().any(|v| v.contains('$')),
        "{offered:?}"
    );
}
