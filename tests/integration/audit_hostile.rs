//! Hostile audited rulesets (issue 25): what the audited box chooses (table and chain names,
//! rule comments, table flags) never becomes a command in `--fix`, markup in a Markdown
//! report, or a filtering table that filters nothing.

use std::process::Command;

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::util::{fwgen, have_tools, is_root, missing};

use crate::audit::SITE;

/// A network namespace of its own, deleted on drop.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("fwgen-h{}-{tag}", std::process::id());
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip netns add {name}");
        Netns(name)
    }

    /// `nft ARGS` in the namespace with `input` on standard input: (success, stdout, stderr).
    fn nft(&self, args: &[&str], input: &str) -> (bool, String, String) {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.0, "nft"]).args(args);
        let out = crate::util::output_with_input(cmd, input);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn dump(&self) -> String {
        let (ok, out, err) = self.nft(&["-j", "list", "ruleset"], "");
        assert!(ok, "nft -j list ruleset: {err}");
        out
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn ready() -> bool {
    if !is_root() {
        missing("the hostile-ruleset tests need root (network namespaces)");
        return false;
    }
    have_tools(&["nft", "ip"])
}

/// A ruleset in table `table` (family inet): the input chain `chain` drops what it does not
/// accept, the output chain `out` accepts all.
fn ruleset(table: &str, chain: &str) -> String {
    json!({"nftables": [
        {"table": {"family": "inet", "name": table}},
        {"chain": {"family": "inet", "table": table, "name": chain, "type": "filter",
                   "hook": "input", "prio": 0, "policy": "drop"}},
        {"chain": {"family": "inet", "table": table, "name": "out", "type": "filter",
                   "hook": "output", "prio": 0, "policy": "accept"}},
        {"rule": {"family": "inet", "table": table, "chain": chain, "expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}},
                       "right": 53}},
            {"accept": null}]}},
    ]})
    .to_string()
}

/// `fwgen audit ARGS` of `dump` for the live site, host placement.
fn audit_of(dump: &str, args: &[&str]) -> crate::util::Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dump.json");
    std::fs::write(&path, dump).unwrap();
    let base = ["audit", "--site", SITE, "--placement", "host"];
    let ruleset = ["--ruleset", path.to_str().unwrap()];
    fwgen(&[&base[..], args, &ruleset[..]].concat())
}

/// `fwgen audit --fix` of `dump`.
fn fix_of(dump: &str) -> String {
    let r = audit_of(dump, &["--fix"]);
    assert_eq!(r.code, 1, "findings expected: {}", r.stderr);
    r.stdout
}

/// A chain as (family, table, name, policy).
type ChainShape = (String, String, String, String);

/// The chains of a dump, and its rules' comments.
fn shape(dump: &str) -> (Vec<ChainShape>, Vec<String>) {
    let v: Value = serde_json::from_str(dump).unwrap();
    let mut chains = Vec::new();
    let mut comments = Vec::new();
    for item in v["nftables"].as_array().unwrap() {
        if let Some(c) = item.get("chain") {
            let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
            chains.push((s("family"), s("table"), s("name"), s("policy")));
        }
        if let Some(r) = item.get("rule") {
            comments.push(r["comment"].as_str().unwrap_or("").to_string());
        }
    }
    (chains, comments)
}

/// Whether nft's own syntax can name `s` as a plain word.
fn plain(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == '.')
        && c.all(|x| x.is_ascii_alphanumeric() || "/-_.".contains(x))
        && s.len() <= 64
}

/// Load a ruleset named `table`/`chain` into a fresh namespace, take its fix, load the fix
/// there: the chains are as before, and exactly one rule per command line was added (each
/// with fwgen's comment); a name nft's syntax cannot hold gives no command at all.
fn check_fix_names(ns: &Netns, table: &str, chain: &str) -> Result<(), TestCaseError> {
    ns.nft(&["flush", "ruleset"], "");
    let (loaded, _, _) = ns.nft(&["-j", "-f", "-"], &ruleset(table, chain));
    // Names the kernel itself refuses (too long) are not the audit's concern.
    prop_assume!(loaded);
    let before = ns.dump();
    let fix = fix_of(&before);
    let commands: Vec<&str> = fix.lines().filter(|l| !l.starts_with('#')).collect();
    if plain(table) && plain(chain) {
        prop_assert!(!commands.is_empty(), "{fix}");
        for c in &commands {
            let table_chain = format!("insert rule inet {table} {chain} ");
            let prefix = format!("insert rule inet {table} out ");
            prop_assert!(c.starts_with(&table_chain) || c.starts_with(&prefix), "{c}");
        }
    } else {
        prop_assert!(commands.is_empty(), "{fix}");
        prop_assert!(fix.contains("not written: the name"), "{fix}");
    }
    let (applied, _, err) = ns.nft(&["-f", "-"], &fix);
    let after = ns.dump();
    if !applied {
        // A plain name that is one of nft's keywords (`tcp`, `meta`, …) cannot be named in
        // nft's syntax at all: the script fails whole, and nothing changes.
        prop_assert!(
            err.contains("expecting string"),
            "nft -f of the fix: {err}\n{fix}"
        );
        prop_assert_eq!(shape(&before), shape(&after));
        return Ok(());
    }
    let (chains_before, comments_before) = shape(&before);
    let (chains_after, comments_after) = shape(&after);
    prop_assert_eq!(chains_before, chains_after, "{}", fix);
    prop_assert_eq!(
        comments_after.len(),
        comments_before.len() + commands.len(),
        "{}",
        fix
    );
    prop_assert!(
        comments_after
            .iter()
            .filter(|c| !c.is_empty())
            .all(|c| c.starts_with("fwgen")),
        "{comments_after:?}"
    );
    Ok(())
}

/// The names of issue 25's reproduction, and names nft can write.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("c accept\nflush ruleset\nadd table inet filter\n".to_string()),
        Just("f;flush ruleset;".to_string()),
        Just("$(touch /tmp/fwgen-pwned)".to_string()),
        Just("x} accept; flush ruleset #".to_string()),
        Just("filter".to_string()),
        "[a-zA-Z_.][a-zA-Z0-9/_.-]{0,20}",
        "[^\u{0}]{1,30}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Issue 25, defect 1: a chain named `c accept\nflush ruleset…` made the fix script flush
    /// the whole ruleset.
    #[test]
    fn fix_scripts_never_run_names_from_the_audited_box(table in name(), chain in name()) {
        if !ready() {
            return Ok(());
        }
        prop_assume!(chain != "out");
        let ns = Netns::new("fix");
        check_fix_names(&ns, &table, &chain)?;
    }
}

/// Issue 25, defect 1, the reproduction itself (it ran `flush ruleset`).
#[test]
fn the_reproduction_s_names_become_no_command() {
    if !ready() {
        return;
    }
    let ns = Netns::new("repro");
    for (t, c) in [
        ("filter", "c accept\nflush ruleset\nadd table inet filter\n"),
        ("f;flush ruleset;", "input"),
        ("filter", "$(touch /tmp/x)"),
    ] {
        check_fix_names(&ns, t, c).unwrap();
    }
}

/// `fwgen audit --strict --format json` of `dump`: (exit code, report).
fn audit_json(dump: &str) -> (i32, Value) {
    let r = audit_of(dump, &["--strict", "--format", "json"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    (r.code, serde_json::from_str(&r.stdout).unwrap())
}

/// Issue 25, defect 3: a dormant table filters nothing, but its chains were audited as if
/// they filtered: 20 admitted, 0 over-broad, exit 0 under `--strict`. nft 1.0.6 cannot dump
/// a dormant table as JSON (it prints freed memory for a table's single flag, or stops
/// there), so the flags are written into the active table's dump as later versions print
/// them (`"dormant"`, `["dormant", "owner"]`) and as 1.0.6 may (a string that names no
/// flag: dormant or not, unknown).
#[test]
fn a_dormant_table_filters_nothing() {
    if !ready() {
        return;
    }
    let ns = Netns::new("dormant");
    let (ok, _, err) = ns.nft(&["-f", "-"], &crate::audit::live_site_nftables());
    assert!(ok, "{err}");
    let dump = ns.dump();
    // Active: every entry admitted, nothing over-broad.
    let (code, active) = audit_json(&dump);
    assert_eq!(code, 0, "{active}");
    assert!(active["notes"].as_array().unwrap().is_empty(), "{active}");
    let with_flags = |flags: Value| {
        let mut v = serde_json::from_str::<Value>(&dump).unwrap();
        for item in v["nftables"].as_array_mut().unwrap() {
            if let Some(t) = item.get_mut("table") {
                t["flags"] = flags.clone();
            }
        }
        v.to_string()
    };
    for (flags, sure) in [
        (json!("dormant"), true),
        (json!(["dormant", "owner"]), true),
        (json!("\u{1}\u{7f}garbage"), false),
    ] {
        let (code, report) = audit_json(&with_flags(flags.clone()));
        assert_eq!(code, 1, "{flags}: --strict must fail: {report}");
        let over_broad = report["over_broad"].as_array().unwrap();
        assert!(!over_broad.is_empty(), "{flags}: {report}");
        let notes = report["notes"].to_string();
        assert!(notes.contains("table inet fwgen"), "{flags}: {notes}");
        for f in report["findings"].as_array().unwrap() {
            assert_eq!(f["verdict"], "admitted", "{flags}: {f}");
        }
        // Dormant for sure: exactly what a machine without a ruleset admits; unknown: what
        // it may admit.
        let word = if sure {
            " is admitted "
        } else {
            " may be admitted "
        };
        for o in over_broad {
            assert!(o.as_str().unwrap().contains(word), "{flags}: {o}");
        }
    }
    // `owner` alone filters as before.
    let (code, report) = audit_json(&with_flags(json!("owner")));
    assert_eq!(code, 0, "{report}");
}

/// A note quotes the audited file (here a dormant table's name): a name with line breaks
/// cannot add a line to the text report.
#[test]
fn notes_cannot_forge_a_report_line() {
    let dump = json!({"nftables": [
        {"table": {"family": "inet", "name": "t\nadmitted  forged-entry  accepted", "flags": "dormant"}},
    ]})
    .to_string();
    let r = audit_of(&dump, &[]);
    assert!(
        r.stdout.contains("note: table inet t admitted"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout
            .lines()
            .any(|l| l.starts_with("admitted  forged-entry")),
        "{}",
        r.stdout
    );
}

/// Issue 24: nft 1.0.6's JSON leaves out an ingress chain's device, so whether the audited
/// packets meet the chain is not known. It used to make every inbound connection unknown;
/// now the connections are decided with and without the chain: where both agree (the chain
/// drops only what no entry needs) that is the answer, else unknown, naming the chain.
#[test]
fn an_ingress_chain_without_its_device_decides_where_it_cannot_matter() {
    if !ready() {
        return;
    }
    let ns = Netns::new("ingress");
    let ok = Command::new("ip")
        .args([
            "-n", &ns.0, "link", "add", "d0", "type", "veth", "peer", "name", "d1",
        ])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ip link add d0 type veth");
    for (port, needed) in [(9999, false), (1344, true)] {
        let (ok, _, err) = ns.nft(&["flush", "ruleset"], "");
        assert!(ok, "{err}");
        let (ok, _, err) = ns.nft(&["-f", "-"], &crate::audit::live_site_nftables());
        assert!(ok, "{err}");
        let ingress = format!(
            "table netdev t {{\n chain ing {{\n type filter hook ingress device \"d0\" \
             priority 0; policy accept;\n tcp dport {port} drop\n }}\n}}\n"
        );
        let (ok, _, err) = ns.nft(&["-f", "-"], &ingress);
        assert!(ok, "{err}");
        let dump = ns.dump();
        assert!(dump.contains("\"ingress\""), "{dump}");
        let r = audit_of(&dump, &["--format", "json"]);
        let report: Value =
            serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"));
        let findings = report["findings"].as_array().unwrap();
        let unknown: Vec<&Value> = findings
            .iter()
            .filter(|f| f["verdict"] != "admitted")
            .collect();
        if needed {
            assert_eq!(r.code, 1, "{report}");
            assert!(!unknown.is_empty(), "{report}");
            for f in unknown {
                assert_eq!(f["verdict"], "unknown", "{f}");
                assert!(
                    f.to_string()
                        .contains("ingress chain netdev t ing sees these packets"),
                    "{f}"
                );
            }
        } else {
            assert_eq!(r.code, 0, "{report}");
            assert!(unknown.is_empty(), "{report}");
        }
    }
}
