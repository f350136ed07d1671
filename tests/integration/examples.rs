//! Every file under `examples/` is run: the site files through every backend, the build
//! manifest, and the CI workflow's fwgen commands.

use fwgen::render::Placement;

use crate::tools::{check_with_real_tool, generate_into};
use crate::util::{fwgen_in, have_tools, ok};

const SITES: &[&str] = &[
    "examples/site.yaml",
    "examples/sites/small-icap.yaml",
    "examples/sites/internal-servers.yaml",
    "examples/sites/dual-stack.yaml",
    "examples/sites/exchange-server.yaml",
    "examples/sites/own-rules.yaml",
    "examples/sites/monitoring-ping.yaml",
];

/// The operating system of the host an example site is for (its product's newest version).
fn site_platform(site: &str) -> fwgen::model::Platform {
    let doc: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(site).unwrap()).unwrap();
    let product = doc["product"].as_str().unwrap_or("email-gateway");
    let component = doc["component"].as_str().unwrap_or("gateway");
    let cat = fwgen::catalogue::load_embedded().unwrap();
    let pv = cat.products[product].newest().unwrap();
    pv.components
        .iter()
        .find(|c| c.id == component)
        .unwrap()
        .platform
}

#[test]
fn every_example_site_validates_and_generates_for_every_backend() {
    let tools = have_tools(crate::tools::LOADERS);
    let listed: Vec<String> = std::fs::read_dir("examples/sites")
        .unwrap()
        .map(|e| {
            format!(
                "examples/sites/{}",
                e.unwrap().file_name().to_string_lossy()
            )
        })
        .collect();
    // A lock file beside a site is exercised with it (and by the CI examples' test).
    for l in listed.iter().filter(|l| !l.ends_with(".lock")) {
        assert!(
            SITES.contains(&l.as_str()),
            "{l} is not exercised by this test"
        );
    }
    for site in SITES {
        let r = crate::util::fwgen(&["validate", "--site", site]);
        assert_eq!(r.code, 0, "{site}: {}", r.stderr);
        let platform = site_platform(site);
        for backend in fwgen_backends() {
            for placement in [Placement::Perimeter, Placement::Host] {
                if !crate::util::description(backend).fits(placement, platform) {
                    continue;
                }
                let placement = placement.name();
                let dir = tempfile::tempdir().unwrap();
                let files = generate_into(
                    dir.path(),
                    &[
                        "generate",
                        "--site",
                        site,
                        "-b",
                        backend,
                        "--placement",
                        placement,
                    ],
                );
                if tools && matches!(backend, "nftables" | "iptables") {
                    for f in &files {
                        check_with_real_tool(f);
                    }
                }
            }
        }
    }
}

#[test]
fn dual_stack_site_yields_ipv6_rules() {
    let nft = ok(&[
        "generate",
        "--site",
        "examples/sites/dual-stack.yaml",
        "-b",
        "nftables",
    ]);
    assert!(nft.contains("ip6 daddr @gateway_v6 jump gateway_in"));
    assert!(nft.contains("ip6 saddr @addr_"), "{nft}");
    let server = ok(&[
        "generate",
        "--site",
        "examples/sites/dual-stack.yaml",
        "-c",
        "exchange-server",
        "--placement",
        "host",
        "-b",
        "windows",
    ]);
    assert!(
        server.contains("-RemotePort '10443','23955'")
            && server.contains("-RemoteAddress '192.0.2.50','2001:db8:50::50'"),
        "{server}"
    );
}

/// The fwgen commands of a CI example, in order: GitHub's steps' `run`, GitLab's `script`.
fn ci_commands(file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let lines: Vec<String> = match doc.get("jobs") {
        Some(jobs) => jobs["check"]["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|s| s["run"].as_str().map(String::from))
            .collect(),
        None => doc["firewall-rulesets"]["script"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|s| s.as_str().map(String::from))
            .collect(),
    };
    lines
        .into_iter()
        .filter(|r| r.starts_with("fwgen "))
        .collect()
}

/// The CI examples (GitHub Actions, GitLab CI) run `fwgen resolve --check` and `fwgen build
/// --check` on a copy of the example estate with its outputs built, as a repository commits
/// them: with the DNS answers of the lock file both pass; with an answer moved, the resolve
/// step fails (exit 1) with the difference; with a stale output, the build step does. Both
/// files validate against the published schemas (`check-jsonschema`, offline).
#[test]
fn ci_examples_check_the_lock_file_and_the_rulesets() {
    let github = ci_commands("examples/ci/github-actions.yml");
    let gitlab = ci_commands("examples/ci/gitlab-ci.yml");
    assert_eq!(
        github, gitlab,
        "the two CI examples run the same fwgen commands"
    );
    assert!(
        github
            .iter()
            .any(|c| c.starts_with("fwgen resolve ") && c.ends_with(" --check"))
    );
    assert!(github.iter().any(|c| c.starts_with("fwgen build --check ")));
    for (file, schema) in [
        ("examples/ci/github-actions.yml", "vendor.github-workflows"),
        ("examples/ci/gitlab-ci.yml", "vendor.gitlab-ci"),
    ] {
        if let Some(tool) = check_jsonschema() {
            let r = std::process::Command::new(tool)
                .args(["--builtin-schema", schema, file])
                .output()
                .unwrap();
            assert!(
                r.status.success(),
                "{file} against {schema}: {}{}",
                String::from_utf8_lossy(&r.stdout),
                String::from_utf8_lossy(&r.stderr)
            );
        }
    }

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sites")).unwrap();
    for e in std::fs::read_dir("examples/sites").unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join("sites").join(p.file_name().unwrap())).unwrap();
    }
    std::fs::copy("examples/fwgen.yaml", dir.path().join("fwgen.yaml")).unwrap();
    assert_eq!(fwgen_in(dir.path(), &["build", "fwgen.yaml"]).code, 0);
    if crate::names::dnsmasq().is_none() {
        return;
    }
    // The gateway's resolver, answering what the lock file records.
    let mut dns = crate::names::Dns::new("ci");
    let mut records = vec![
        ("services1.clearswift.net", "203.0.113.31"),
        ("services2.clearswift.net", "203.0.113.32"),
        ("time.clearswift.net", "203.0.113.123"),
    ];
    dns.serve(&records);
    let run = |dns: &crate::names::Dns, cmd: &str| {
        let mut args: Vec<&str> = cmd.split_whitespace().skip(1).collect();
        if args[0] == "resolve" {
            // On the CI machine, its own resolver; here, the test's.
            args.extend(["--dns-server", "198.18.9.1"]);
        }
        dns.fwgen_in(dir.path(), &args)
    };
    for cmd in &github {
        let r = run(&dns, cmd);
        assert_eq!(r.code, 0, "`{cmd}`: {}", r.stderr);
    }
    // An answer moves: the resolve step fails, with the difference in the log.
    records[2].1 = "203.0.113.124";
    dns.serve(&records);
    let resolve = github
        .iter()
        .find(|c| c.starts_with("fwgen resolve"))
        .unwrap();
    let r = run(&dns, resolve);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("203.0.113.124"), "{}", r.stderr);
    // A committed output edited by hand: the build step fails, with the difference.
    std::fs::write(
        dir.path().join("out/icap-dmz.nft"),
        "# Generated by fwgen\nold\n",
    )
    .unwrap();
    let build = github
        .iter()
        .find(|c| c.starts_with("fwgen build"))
        .unwrap();
    let r = run(&dns, build);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("-old"), "{}", r.stderr);
}

/// `check-jsonschema` (PyPI).
fn check_jsonschema() -> Option<std::path::PathBuf> {
    crate::util::installed_tool(
        "FWGEN_CHECK_JSONSCHEMA",
        "check-jsonschema-venv/bin/check-jsonschema",
        "check-jsonschema",
    )
}

/// Every backend: reviews first, then firewall syntaxes.
fn fwgen_backends() -> Vec<&'static str> {
    let mut all = crate::util::backends(fwgen::render::Kind::Review);
    all.extend(crate::util::backends(fwgen::render::Kind::Firewall));
    all
}

/// The systemd units that keep a gateway current (issue 26): `systemd-analyze verify`
/// accepts them (and refuses a broken copy, so the check is real), and the shell script of
/// the service parses.
#[test]
fn the_systemd_units_verify() {
    if !have_tools(&["systemd-analyze", "sh"]) {
        return;
    }
    let dir = "examples/systemd";
    let units = [
        format!("{dir}/fwgen-apply.service"),
        format!("{dir}/fwgen-apply.timer"),
    ];
    let verify = |paths: &[String]| {
        std::process::Command::new("systemd-analyze")
            .arg("verify")
            .args(paths)
            .output()
            .unwrap()
    };
    let out = verify(&units);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let broken = tempfile::tempdir().unwrap();
    let timer = std::fs::read_to_string(&units[1])
        .unwrap()
        .replace("OnUnitActiveSec=15min", "OnUnitActiveSec=fifteen");
    let copies = [
        broken.path().join("fwgen-apply.service"),
        broken.path().join("fwgen-apply.timer"),
    ];
    std::fs::copy(&units[0], &copies[0]).unwrap();
    std::fs::write(&copies[1], timer).unwrap();
    let out = verify(&copies.map(|p| p.display().to_string()));
    assert!(
        !out.stderr.is_empty(),
        "a broken timer passed systemd-analyze verify"
    );
    let service = std::fs::read_to_string(&units[0]).unwrap();
    let exec = service
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart=/bin/sh -c '"))
        .and_then(|s| s.strip_suffix('\''))
        .expect("ExecStart runs a shell script");
    let script = exec.replace("$$", "$");
    let parsed = std::process::Command::new("sh")
        .args(["-n", "-c", &script])
        .status()
        .unwrap();
    assert!(parsed.success(), "{script}");
    the_service_always_applies(&script);
    for cmd in ["fwgen resolve", "fwgen apply", "--auto-confirm", "--check"] {
        assert!(script.contains(cmd), "{script}");
    }
}

/// The service's script, run with a `fwgen` that logs its commands: however `resolve
/// --check` ends (names unchanged, moved, DNS that cannot be asked) and whether resolving
/// again works, the script ends in `fwgen apply --auto-confirm`, so a rebooted gateway gets
/// its ruleset back; it resolves again only when the names moved.
fn the_service_always_applies(script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let stub = dir.path().join("fwgen");
    std::fs::write(
        &stub,
        "#!/bin/sh\necho \"$*\" >> \"$LOG\"\ncase \"$*\" in *--check*) exit \"$CHECK\" ;; \
         resolve*) exit \"$RESOLVE\" ;; esac\nexit 0\n",
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (check, resolve, resolves_again) in [
        ("0", "0", false),
        ("1", "0", true),
        ("1", "2", true),
        ("2", "0", false),
    ] {
        let log = dir.path().join(format!("log-{check}-{resolve}"));
        let out = std::process::Command::new("sh")
            .args(["-c", script])
            .env("PATH", &path)
            .env("LOG", &log)
            .env("CHECK", check)
            .env("RESOLVE", resolve)
            .env("FWGEN_SITE", "site.yaml")
            .env("FWGEN_LOCK", "fwgen.lock")
            .output()
            .unwrap();
        let said = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = said.lines().collect();
        assert!(out.status.success(), "check {check}: {said}");
        assert_eq!(
            lines.last().copied(),
            Some("apply --site site.yaml --lock fwgen.lock -b nftables --auto-confirm"),
            "check {check}, resolve {resolve}: {said}"
        );
        assert_eq!(
            lines.len(),
            if resolves_again { 3 } else { 2 },
            "check {check}, resolve {resolve}: {said}"
        );
    }
}
