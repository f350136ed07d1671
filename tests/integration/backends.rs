//! One module per backend, each with its snapshots in its own folder
//! (`snapshots/BACKEND/`), reviewed line by line against the documents. The firewall backends
//! share one set of cases (the live-test ICAP site on the gateway itself, the example Email
//! Gateway site behind a perimeter firewall), each in the placements its description allows.
//! A backend's other checks (a parser, an evaluator, live packets) sit in the module of that
//! concern (`cisco`, `report`, `live`, `tools`).

use insta::assert_snapshot;

use crate::util::{ok, redact};

fn digest() -> String {
    fwgen::catalogue::load_embedded().unwrap().digest
}

fn site_digest(site: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(site).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Run `f` with snapshots in `snapshots/BACKEND/`, named as the test names them.
fn in_folder(backend: &str, f: impl FnOnce()) {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(format!("snapshots/{backend}"));
    s.set_prepend_module_to_snapshot(false);
    s.bind(f);
}

/// The firewall cases for `backend`.
fn firewall(backend: &str) {
    let d = digest();
    let cases = [
        ("icap-host", "tests/fixtures/sites/live-icap.yaml", "host"),
        ("email-perimeter", "examples/site.yaml", "perimeter"),
    ];
    in_folder(backend, || {
        for (name, site, placement) in cases {
            if !crate::util::supports(backend, placement) {
                continue;
            }
            let out = ok(&[
                "generate",
                "--site",
                site,
                "--placement",
                placement,
                "-b",
                backend,
            ]);
            let out = redact(&out, &d).replace(&site_digest(site), "[site-digest]");
            assert_snapshot!(format!("{backend}@{name}"), out);
        }
    });
}

macro_rules! firewall_backend {
    ($module:ident, $name:literal) => {
        mod $module {
            #[test]
            fn snapshots() {
                super::firewall($name);
            }
        }
    };
}

firewall_backend!(nftables, "nftables");
firewall_backend!(iptables, "iptables");
firewall_backend!(firewalld, "firewalld");
firewall_backend!(cisco_ios, "cisco-ios");
firewall_backend!(cisco_asa, "cisco-asa");
firewall_backend!(aerleon, "aerleon");

mod json {
    use insta::assert_snapshot;

    use crate::tools::targets;
    use crate::util::{ok, redact};

    /// One snapshot per product version, component and {default, all} features.
    #[test]
    fn snapshots_of_every_product_version() {
        let d = super::digest();
        super::in_folder("json", || {
            for (p, v, c) in targets() {
                for (label, flag) in [("default", None), ("all", Some("--all-features"))] {
                    let mut args = vec!["generate", "-p", &p, "-V", &v, "-c", &c, "-b", "json"];
                    args.extend(flag);
                    let out = ok(&args);
                    assert_snapshot!(format!("json@{p}-{v}-{c}-{label}"), redact(&out, &d));
                }
            }
        });
    }
}

mod markdown {
    use insta::assert_snapshot;

    use crate::util::{ok, redact};

    /// The connections grouped by direction and feature.
    #[test]
    fn snapshot() {
        let d = super::digest();
        let site = "tests/fixtures/sites/live-icap.yaml";
        let out = ok(&["generate", "--site", site, "-b", "markdown"]);
        super::in_folder("markdown", || {
            assert_snapshot!(
                "markdown@icap",
                redact(&out, &d).replace(&super::site_digest(site), "[site-digest]")
            );
        });
    }
}

/// Every backend of the enum has its module here: a firewall backend its folder of
/// snapshots, a review its own (HTML is checked in Chromium, in `report`).
#[test]
fn every_backend_has_its_snapshots() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/snapshots");
    let mut names = crate::util::backends(fwgen::render::Kind::Firewall);
    names.extend(crate::util::backends(fwgen::render::Kind::Review));
    for name in names.into_iter().filter(|n| *n != "html") {
        let folder = dir.join(name);
        let n = std::fs::read_dir(&folder).map(|d| d.count()).unwrap_or(0);
        assert!(n > 0, "{name}: no snapshots in {}", folder.display());
    }
}

/// The Windows Firewall script: snapshots, every selection through PowerShell's grammar and
/// compared with the JSON ruleset, and the selections it refuses.
mod windows {
    use insta::assert_snapshot;

    use crate::powershell::{check, json_rules, script_rules};
    use crate::tools::matrix;
    use crate::util::{fwgen, ok, redact};

    const SITE: &str = "examples/sites/exchange-server.yaml";

    /// Issue "A new user's first hour", item 8: the script creates the new generation's
    /// rules first, in a group named after their content, and removes the earlier
    /// generations only after the last of them; it has a dry run; its header names the file
    /// it was written to.
    #[test]
    fn a_new_generation_is_created_before_the_old_one_goes() {
        let dir = tempfile::tempdir().unwrap();
        let script = |name: &str, extra: &[&str]| {
            let path = dir.path().join(name);
            let mut args = vec![
                "generate",
                "--site",
                SITE,
                "--placement",
                "host",
                "-b",
                "windows",
                "-o",
                path.to_str().unwrap(),
            ];
            args.extend(extra);
            ok(&args);
            std::fs::read_to_string(path).unwrap()
        };
        let a = script("exchange-rules.ps1", &[]);
        let parsed = check(&a).unwrap();
        assert!(parsed.current.starts_with(&format!("{} ", parsed.removes)));
        assert!(
            a.contains("-ExecutionPolicy Bypass -File exchange-rules.ps1 -DryRun"),
            "{a}"
        );
        // Created first, removed last: every New-NetFirewallRule comes before the removal
        // of the earlier generations, which spares this one.
        let last_new = a.rfind("New-NetFirewallRule").unwrap();
        let removal = a.find("Get-NetFirewallRule").unwrap();
        assert!(last_new < removal);
        assert!(
            a.find("$ErrorActionPreference = 'Stop'").unwrap()
                < a.find("New-NetFirewallRule").unwrap()
        );
        // The same rules, the same generation; other rules, another.
        let again = check(&script("again.ps1", &[])).unwrap();
        assert_eq!(again.current, parsed.current);
        let other = check(&script("other.ps1", &["--windows-profile", "domain"])).unwrap();
        assert_ne!(other.current, parsed.current);
        assert_eq!(other.removes, parsed.removes);
        // The file name reaches the header's comments only, as text: a hostile one (quotes,
        // `$(…)`, a line break, a block-comment end) changes no command.
        let hostile = script("x'; $(Remove-Item c:) \n#> Stop-Computer \u{2028}.ps1", &[]);
        let h = check(&hostile).unwrap_or_else(|e| panic!("{e}\n{hostile}"));
        assert_eq!(h.rules, parsed.rules);
        assert_eq!(h.current, parsed.current);
        assert!(
            !hostile.lines().any(|l| l.starts_with("Stop-Computer")),
            "{hostile}"
        );
    }

    #[test]
    fn snapshots() {
        let d = super::digest();
        let digest = super::site_digest(SITE);
        super::in_folder("windows", || {
            for (name, extra) in [
                ("exchange-server", &[][..]),
                (
                    "exchange-server-domain-gpo",
                    &[
                        "--windows-profile",
                        "private,domain",
                        "--policy-store",
                        "corp.example\\Exchange Servers",
                    ][..],
                ),
            ] {
                let mut args = vec!["generate", "--site", SITE, "--placement", "host"];
                args.extend(["-b", "windows"]);
                args.extend(extra);
                let out = ok(&args);
                let script = check(&out).unwrap_or_else(|e| panic!("{name}: {e}"));
                let store = extra.last().filter(|_| !extra.is_empty());
                assert_eq!(script.policy_store.as_deref(), store.copied());
                let out = redact(&out, &d).replace(&digest, "[site-digest]");
                assert_snapshot!(format!("windows@{name}"), out);
            }
        });
    }

    /// Every product version, component and feature set that has a Windows host, with and
    /// without the example site's addresses: the script parses, holds only literals, and
    /// its rules are exactly the JSON ruleset's (directions, protocols, ports, addresses).
    #[test]
    fn every_selection_parses_and_holds_exactly_the_rulesets_rules() {
        let mut checked = 0;
        for site in [None, Some(SITE)] {
            for args in matrix("windows", &[]) {
                let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
                if let Some(site) = site {
                    args.extend(["--site", site]);
                }
                let script = ok(&args);
                let parsed = check(&script).unwrap_or_else(|e| panic!("{args:?}: {e}\n{script}"));
                let backend = args.iter().position(|a| *a == "windows").unwrap();
                args[backend] = "json";
                assert_eq!(script_rules(&parsed), json_rules(&ok(&args)), "{args:?}");
                assert!(!parsed.rules.is_empty());
                assert_eq!(parsed.removes, "fwgen exchange-gateway exchange-server");
                checked += 1;
            }
        }
        // One Windows host (the Exchange Server) × {default, all features} × 2 sites.
        assert_eq!(checked, 4);
    }

    /// The reviews of the Exchange Server speak of it, not of the gateway.
    #[test]
    fn reviews_of_the_exchange_server_speak_of_it() {
        let md = ok(&[
            "generate",
            "--site",
            SITE,
            "--placement",
            "host",
            "-b",
            "markdown",
        ]);
        assert!(
            md.contains("## Inbound: connections to the exchange-server")
                && md.contains("## Outbound: connections from the exchange-server")
                && md.contains("a Windows host)"),
            "{md}"
        );
        let html = ok(&[
            "generate",
            "--site",
            SITE,
            "--placement",
            "host",
            "-b",
            "html",
        ]);
        assert!(
            html.contains("&#8594; to the exchange-server</tspan>"),
            "{html}"
        );
        for text in [&md, &html] {
            assert!(!text.contains("to the gateway") && !text.contains("from the gateway"));
        }
    }

    /// Without a site, the Exchange Server's rules admit any address, and each says why.
    #[test]
    fn rules_that_admit_any_address_say_why() {
        let script = ok(&[
            "generate",
            "-p",
            "exchange-gateway",
            "-c",
            "exchange-server",
            "--placement",
            "host",
            "-b",
            "windows",
        ]);
        let parsed = check(&script).unwrap();
        for r in &parsed.rules {
            assert!(r.remote.is_none(), "{r:?}");
            assert!(
                r.description.contains("any address: role `sxg-"),
                "{}",
                r.description
            );
        }
        assert!(script.contains("# any address: role `sxg-interceptors` is not bound"));
    }

    /// What the Windows Firewall cannot be: a perimeter firewall, the Linux gateway's own
    /// firewall, one that follows names; and what the others are not: a Windows host's own.
    #[test]
    fn refused_selections_say_what_to_use_instead() {
        for (args, want) in [
            (
                &["-c", "exchange-server", "-b", "windows"][..],
                "windows cannot express perimeter placement: the Windows Firewall filters the \
                 Windows host's own connections",
            ),
            (
                &["-b", "windows", "--placement", "host"],
                "windows writes a Windows host firewall, but component `gateway` (The Exchange \
                 Gateway appliance (DMZ firewall table)) runs Linux: for its own firewall use \
                 -b iptables or -b nftables or -b firewalld or -b aerleon",
            ),
            (
                &[
                    "-c",
                    "exchange-server",
                    "-b",
                    "nftables",
                    "--placement",
                    "host",
                ],
                "nftables writes a Linux host firewall, but component `exchange-server` (The \
                 Exchange Server running the SXG interceptor (Windows Firewall table)) runs \
                 Windows: for its own firewall use -b windows or -b aerleon, or --placement \
                 perimeter",
            ),
            (
                &[
                    "-c",
                    "exchange-server",
                    "-b",
                    "nftables",
                    "--gateway",
                    "192.0.2.9",
                ],
                "",
            ),
            (
                &["-c", "exchange-server", "-b", "iptables"],
                "perimeter placement needs the address of `exchange-server` (not the \
                 gateway's): add `components: {exchange-server: [ADDR]}`",
            ),
            (
                &[
                    "-c",
                    "exchange-server",
                    "-b",
                    "windows",
                    "--placement",
                    "host",
                    "--names",
                    "fqdn",
                ],
                "",
            ),
            (
                &["-b", "nftables", "--windows-profile", "domain"],
                "--windows-profile, --policy-store are for -b windows",
            ),
            (
                &[
                    "-c",
                    "exchange-server",
                    "-b",
                    "windows",
                    "--placement",
                    "host",
                    "--policy-store",
                    "corp\\Serveurs \u{e9}t\u{e9}",
                ],
                "policy store: '\u{e9}' is not printable ASCII",
            ),
        ] {
            let mut all = vec!["generate", "-p", "exchange-gateway"];
            all.extend(args);
            let r = fwgen(&all);
            if want.is_empty() {
                // Accepted: a perimeter ruleset for a firewall in front of the Exchange
                // Server, and names where no group needs one.
                assert_eq!(r.code, 0, "{all:?}: {}", r.stderr);
                continue;
            }
            assert_eq!(r.code, 2, "{all:?}: {}", r.stderr);
            assert!(r.stderr.contains(want), "{all:?}: {}", r.stderr);
            assert!(r.stdout.is_empty());
        }
    }
}
