//! The Aerleon export (`-b aerleon`) through Aerleon's own `aclgen` (PyPI `aerleon==1.18.0`,
//! which `.ci/run` installs into `target/aerleon-venv`): every target generates for every
//! product version, component and feature set; what Aerleon wrote for PAN-OS, FortiGate,
//! the SRX and Junos holds every rule, address and port of fwgen's JSON ruleset and nothing
//! else (`fixtures/aerleon/check.py`); its nftables and iptables outputs, loaded by the
//! kernel, pass fwgen's exact audit; and real packets cross Aerleon's nftables ruleset as
//! they cross fwgen's own.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::tools::matrix;
use crate::util::{fwgen, have_tools, in_throwaway_netns};

const CHECK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/aerleon/check.py"
);
const SITE: &str = "examples/site.yaml";

/// Aerleon's `aclgen`: `FWGEN_ACLGEN`, else the virtual environment `.ci/run` installs.
pub(crate) fn aclgen() -> Option<PathBuf> {
    crate::util::installed_tool(
        "FWGEN_ACLGEN",
        "aerleon-venv/bin/aclgen",
        "Aerleon's aclgen (aerleon==1.18.0)",
    )
}

/// Run `aclgen` on the export in `dir` (`policies/`, `def/`), writing into `dir/out`; the
/// names of the files it wrote. It must finish without errors.
pub(crate) fn run_aclgen(aclgen: &Path, dir: &Path) -> Vec<String> {
    let out = dir.join("out");
    let r = Command::new(aclgen)
        .arg("--base_directory")
        .arg(dir.join("policies"))
        .arg("--definitions_directory")
        .arg(dir.join("def"))
        .arg("--output_directory")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(
        r.status.success() && !stderr.contains("with errors"),
        "aclgen on {}: {stderr}\n--- policy ---\n{}",
        dir.display(),
        std::fs::read_to_string(dir.join("policies/pol/fwgen.yaml")).unwrap_or_default()
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Export with `args` into `dir`; fwgen's standard error (warnings).
fn export(dir: &Path, args: &[String]) -> String {
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    let d = dir.to_str().unwrap();
    all.extend(["--output-dir", d]);
    let r = fwgen(&all);
    assert_eq!(r.code, 0, "fwgen {all:?}: {}", r.stderr);
    r.stderr
}

/// The files Aerleon writes for each target.
fn files_of(targets: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = targets
        .iter()
        .flat_map(|t| match *t {
            "paloalto" => vec!["fwgen.xml"],
            "srx" => vec!["fwgen.srx"],
            "fortigate" => vec!["fwgen.fgacl"],
            "juniper" => vec!["fwgen.jcl"],
            "ciscoasa" => vec!["fwgen.asa"],
            "arista" => vec!["fwgen.eacl"],
            "cisconx" => vec!["fwgen.nxacl"],
            "nftables" => vec!["fwgen.nft"],
            "iptables" => vec!["fwgen", "fwgen-inet6"],
            "windows_advfirewall" => vec!["fwgen.bat"],
            other => panic!("target {other}"),
        })
        .map(String::from)
        .collect();
    out.sort();
    out
}

const PERIMETER: &[&str] = &[
    "paloalto",
    "srx",
    "fortigate",
    "juniper",
    "ciscoasa",
    "arista",
    "cisconx",
    "nftables",
    "iptables",
];

/// The targets of a selection's placement and host (`args` are `tools::matrix`'s).
fn fitting(args: &[String]) -> Vec<&'static str> {
    let arg = |flag: &str| {
        let i = args.iter().position(|a| a == flag).unwrap();
        args[i + 1].clone()
    };
    if arg("--placement") == "perimeter" {
        return PERIMETER.to_vec();
    }
    match crate::tools::platform(&arg("-p"), &arg("-V"), &arg("-c")) {
        fwgen::model::Platform::Linux => vec!["nftables", "iptables"],
        fwgen::model::Platform::Windows => vec!["windows_advfirewall"],
    }
}

/// What check.py says of Aerleon's PAN-OS, FortiGate, SRX and Junos files in `out` against
/// fwgen's JSON ruleset for `args`: the files with problems.
fn structural_problems(args: &[String], out: &Path, zones: (&str, &str)) -> Vec<String> {
    // The same selection as JSON: the Aerleon flags (each with its value) left out.
    let mut json_args: Vec<&str> = Vec::new();
    let mut it = args.iter().map(String::as_str);
    while let Some(a) = it.next() {
        match a {
            "--aerleon-target" | "--zone-inside" | "--zone-outside" => {
                it.next();
            }
            "aerleon" => json_args.push("json"),
            _ => json_args.push(a),
        }
    }
    let json = fwgen(&json_args);
    assert_eq!(json.code, 0, "{json_args:?}: {}", json.stderr);
    let file = out.join("ruleset.json");
    std::fs::write(&file, &json.stdout).unwrap();
    let r = Command::new("python3")
        .arg(CHECK)
        .arg(&file)
        .arg(out)
        .args([zones.0, zones.1])
        .output()
        .unwrap();
    assert!(
        r.status.success(),
        "check.py: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    let found: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&r.stdout).unwrap();
    found
        .into_iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(f, p)| format!("{f} ({args:?}):\n  {}", p.join("\n  ")))
        .collect()
}

/// One selection: the default targets with a dual-stack gateway (those Aerleon cannot write
/// left out with a warning), then every fitting target by name with an IPv4 gateway;
/// aclgen writes each without errors, and the structural checks hold.
fn one_selection(aclgen: &Path, args: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let fits = fitting(args);
    // Dual stack: Aerleon 1.18's ASA generator writes IPv4 only, and its nftables generator
    // cannot admit neighbour discovery on a host.
    let host = !fits.contains(&"paloalto");
    let dual: Vec<&str> = fits
        .iter()
        .copied()
        .filter(|t| *t != "ciscoasa" && !(host && *t == "nftables"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let warnings = export(dir.path(), args);
    for left in fits.iter().filter(|t| !dual.contains(t)) {
        assert!(
            warnings.contains(&format!("target {left} left out")),
            "{args:?}: no warning for {left}: {warnings}"
        );
    }
    let got = run_aclgen(aclgen, dir.path());
    assert_eq!(got, files_of(&dual), "{args:?}");
    problems.extend(structural_problems(
        args,
        &dir.path().join("out"),
        ("inside", "outside"),
    ));

    let mut v4: Vec<String> = args.to_vec();
    let g = v4.iter().position(|a| a == "2001:db8::1").unwrap();
    v4.drain(g - 1..=g);
    v4.extend(["--aerleon-target".to_string(), fits.join(",")]);
    let dir = tempfile::tempdir().unwrap();
    export(dir.path(), &v4);
    assert_eq!(run_aclgen(aclgen, dir.path()), files_of(&fits), "{v4:?}");
    problems.extend(structural_problems(
        &v4,
        &dir.path().join("out"),
        ("inside", "outside"),
    ));
    problems
}

#[test]
fn aclgen_writes_every_target_for_every_product_version_component_and_feature_set() {
    let Some(aclgen) = aclgen() else {
        return;
    };
    let cases = matrix("aerleon", &[]);
    assert!(cases.len() > 20, "only {} selections", cases.len());
    // aclgen is a Python program: run the selections on every core.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunks: Vec<&[Vec<String>]> = cases.chunks(cases.len().div_ceil(workers)).collect();
    let problems: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                let aclgen = &aclgen;
                s.spawn(move || {
                    chunk
                        .iter()
                        .flat_map(|args| one_selection(aclgen, args))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The example site with zones of one's own: every rule between them, in both files that
/// name zones.
#[test]
fn zones_of_ones_own_reach_every_zone_based_target() {
    let Some(aclgen) = aclgen() else {
        return;
    };
    let args: Vec<String> = [
        "generate",
        "--site",
        SITE,
        "-b",
        "aerleon",
        "--zone-inside",
        "dmz",
        "--zone-outside",
        "untrust",
    ]
    .map(String::from)
    .to_vec();
    let dir = tempfile::tempdir().unwrap();
    export(dir.path(), &args);
    run_aclgen(&aclgen, dir.path());
    let out = dir.path().join("out");
    let problems = structural_problems(&args, &out, ("dmz", "untrust"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let srx = std::fs::read_to_string(out.join("fwgen.srx")).unwrap();
    assert!(srx.contains("from-zone untrust to-zone dmz"), "{srx}");
    assert!(srx.contains("from-zone dmz to-zone untrust"), "{srx}");
}

/// The errors a user meets, each naming what to do.
#[test]
fn what_a_target_cannot_express_is_an_error_naming_the_target() {
    let site = ["generate", "--site", SITE, "-b", "aerleon"];
    let err = |extra: &[&str]| {
        let mut args = site.to_vec();
        args.extend(extra);
        let r = fwgen(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        r.stderr
    };
    // The example's gateway has an IPv6 address.
    let e = err(&["--aerleon-target", "ciscoasa"]);
    assert!(
        e.contains("ciscoasa") && e.contains("IPv4 entries only"),
        "{e}"
    );
    let e = err(&["--aerleon-target", "nftables", "--placement", "host"]);
    assert!(
        e.contains("nftables") && e.contains("neighbour discovery"),
        "{e}"
    );
    let e = err(&["--aerleon-target", "windows_advfirewall"]);
    assert!(
        e.contains("perimeter placement") && e.contains("use paloalto"),
        "{e}"
    );
    // A site whose host groups have no address: the firewall follows their names.
    let unbound = [
        "generate",
        "--site",
        "tests/fixtures/sites/live-icap.yaml",
        "-b",
        "aerleon",
        "--names",
        "fqdn",
    ];
    let r = fwgen(&[&unbound[..], &["--aerleon-target", "paloalto"]].concat());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("paloalto") && r.stderr.contains("srx only"),
        "{}",
        r.stderr
    );
    let e = err(&["--zone-inside", "outside"]);
    assert!(e.contains("both `outside`"), "{e}");
    let e = err(&["--zone-inside", "a zone"]);
    assert!(e.contains("--zone-inside `a zone`"), "{e}");
    let r = fwgen(&[
        "generate",
        "--site",
        SITE,
        "-b",
        "nftables",
        "--aerleon-target",
        "srx",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("are for -b aerleon"), "{}", r.stderr);
    // With names the firewall follows, fwgen's choice is the SRX alone, said.
    let dir = tempfile::tempdir().unwrap();
    let warnings = export(
        dir.path(),
        &unbound.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
    );
    assert!(warnings.contains("target paloalto left out"), "{warnings}");
    let policy = std::fs::read_to_string(dir.path().join("policies/pol/fwgen.yaml")).unwrap();
    assert!(
        policy.contains("srx:") && !policy.contains("paloalto:"),
        "{policy}"
    );
    assert!(policy.contains("destination-fqdn: FWGEN-DNS-"), "{policy}");
    if let Some(aclgen) = aclgen() {
        run_aclgen(&aclgen, dir.path());
        let srx = std::fs::read_to_string(dir.path().join("out/fwgen.srx")).unwrap();
        assert!(srx.contains("dns-name "), "{srx}");
    }
}

/// The files of Aerleon's output in `out` that the kernel loads: its nftables script, or
/// its iptables fragments (`-P`, `-N`, `-A`) with a table around them, which makes them
/// files iptables-restore reads (`rules.v4`, `rules.v6`, written beside them).
pub(crate) fn loadable(out: &Path) -> Vec<PathBuf> {
    if out.join("fwgen.nft").exists() {
        return vec![out.join("fwgen.nft")];
    }
    let mut files = Vec::new();
    for (from, to) in [("fwgen", "rules.v4"), ("fwgen-inet6", "rules.v6")] {
        let body: String = std::fs::read_to_string(out.join(from))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(out.join(to), format!("*filter\n{body}COMMIT\n")).unwrap();
        files.push(out.join(to));
    }
    files
}

/// Aerleon's nftables or iptables output for `args`, loaded by the kernel in a throwaway
/// namespace and dumped (`nft -j`, `iptables-save`, `ip6tables-save`): the dumps' paths.
fn kernel_dumps(aclgen: &Path, dir: &Path, args: &[&str]) -> Vec<PathBuf> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    export(dir, &args);
    let files = run_aclgen(aclgen, dir);
    let out = dir.join("out");
    let s = |p: PathBuf| p.to_str().unwrap().to_string();
    let script = if files.contains(&"fwgen.nft".to_string()) {
        format!(
            "nft -f {} && nft -j list ruleset > {}",
            s(out.join("fwgen.nft")),
            s(dir.join("dump.json"))
        )
    } else {
        loadable(&out);
        format!(
            "iptables-restore < {} && ip6tables-restore < {} && iptables-save > {} && ip6tables-save > {}",
            s(out.join("rules.v4")),
            s(out.join("rules.v6")),
            s(dir.join("dump.v4")),
            s(dir.join("dump.v6"))
        )
    };
    let r = in_throwaway_netns(&["sh", "-c", &script]);
    assert!(
        r.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    let mut dumps: Vec<PathBuf> = ["dump.json", "dump.v4", "dump.v6"]
        .iter()
        .map(|f| dir.join(f))
        .filter(|p| p.exists())
        .collect();
    dumps.sort();
    dumps
}

/// fwgen's exact audit of `dumps` for the selection `site` and `placement`: every entry
/// admitted, nothing over-broad (`--strict` fails on either).
fn assert_proven(site: &str, placement: &str, dumps: &[PathBuf], what: &str) {
    let mut args = vec![
        "audit",
        "--site",
        site,
        "--placement",
        placement,
        "--strict",
        "--format",
        "json",
    ];
    for d in dumps {
        args.extend(["--ruleset", d.to_str().unwrap()]);
    }
    let r = fwgen(&args);
    assert_eq!(r.code, 0, "{what}: {}\n{}", r.stderr, r.stdout);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let entries = v["findings"].as_array().expect("findings");
    assert!(entries.len() > 10, "{what}: {} entries", entries.len());
    for e in entries {
        assert_eq!(e["verdict"], "admitted", "{what}: {e}");
    }
    assert_eq!(v["over_broad"], serde_json::json!([]), "{what}");
}

/// The proof by the kernel: Aerleon's nftables and iptables rulesets of the example site,
/// host and perimeter, loaded and dumped, then audited exactly. The nftables host ruleset is
/// proven for an IPv4 gateway (with an IPv6 address it is refused, see above).
#[test]
fn aerleons_nftables_and_iptables_pass_the_exact_audit() {
    let Some(aclgen) = aclgen() else {
        return;
    };
    if !have_tools(crate::tools::LOADERS) {
        return;
    }
    let v4_dir = tempfile::tempdir().unwrap();
    let v4_site = v4_dir.path().join("site.yaml");
    let text = std::fs::read_to_string(SITE).unwrap();
    assert!(text.contains("gateway: [192.0.2.25, 2001:db8:25::25]"));
    // The example site names no other file: it reads the same from another directory.
    let text = text.replace(
        "gateway: [192.0.2.25, 2001:db8:25::25]",
        "gateway: [192.0.2.25]",
    );
    std::fs::write(&v4_site, text).unwrap();
    let v4_site = v4_site.to_str().unwrap();
    for (site, placement, target) in [
        (SITE, "host", "iptables"),
        (SITE, "perimeter", "iptables"),
        (SITE, "perimeter", "nftables"),
        (v4_site, "host", "nftables"),
        (v4_site, "host", "iptables"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let args = [
            "generate",
            "--site",
            site,
            "-b",
            "aerleon",
            "--placement",
            placement,
            "--aerleon-target",
            target,
        ];
        let dumps = kernel_dumps(&aclgen, dir.path(), &args);
        assert_proven(
            site,
            placement,
            &dumps,
            &format!("{target} {placement} {site}"),
        );
    }
}

/// Real packets through Aerleon's nftables ruleset on a router in front of the gateway (the
/// live perimeter lab: both families), as through fwgen's own.
#[test]
fn live_traffic_through_aerleons_nftables_on_a_perimeter_firewall() {
    if crate::live::ready() {
        crate::live::live_perimeter("aerleon", "aenft");
    }
}

/// Real packets through Aerleon's iptables ruleset on the gateway (both families).
#[test]
fn live_traffic_through_aerleons_iptables_on_the_gateway() {
    if crate::live::ready() {
        crate::live::live("aerleon", "aeipt");
    }
}

/// A manifest target takes the Aerleon targets and zones; an unknown target is an error
/// with a did-you-mean.
#[test]
fn manifests_name_aerleon_targets_and_zones() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::copy(format!("{root}/{SITE}"), dir.path().join("site.yaml")).unwrap();
    let manifest = dir.path().join("fwgen.yaml");
    std::fs::write(
        &manifest,
        "targets:\n  - name: edge\n    site: site.yaml\n    backend: aerleon\n    \
         aerleon_targets: [paloalto, junipersrx]\n    zone_inside: dmz\n    \
         zone_outside: untrust\n    output: out/edge\n",
    )
    .unwrap();
    let r = fwgen(&["build", manifest.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let policy =
        std::fs::read_to_string(dir.path().join("out/edge/policies/pol/fwgen.yaml")).unwrap();
    assert!(
        policy.contains("paloalto: from-zone untrust to-zone dmz mixed"),
        "{policy}"
    );
    assert!(
        policy.contains("srx: from-zone dmz to-zone untrust mixed"),
        "{policy}"
    );
    assert!(
        !policy.contains("fortigate:") && !policy.contains("juniper:"),
        "{policy}"
    );

    std::fs::write(
        &manifest,
        "targets:\n  - name: edge\n    site: site.yaml\n    backend: aerleon\n    \
         aerleon_targets: [paloato]\n    output: out/edge\n",
    )
    .unwrap();
    let r = fwgen(&["build", manifest.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("paloato") && r.stderr.contains("paloalto"),
        "{}",
        r.stderr
    );
}
