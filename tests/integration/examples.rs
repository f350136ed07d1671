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
    for l in &listed {
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

/// The CI workflow runs `fwgen build --check`: in a copy of the examples with freshly built
/// outputs (as a repository would commit them), every fwgen command in it succeeds.
#[test]
fn ci_workflow_example_passes_on_up_to_date_outputs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sites")).unwrap();
    for e in std::fs::read_dir("examples/sites").unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join("sites").join(p.file_name().unwrap())).unwrap();
    }
    std::fs::copy("examples/fwgen.yaml", dir.path().join("fwgen.yaml")).unwrap();
    assert_eq!(fwgen_in(dir.path(), &["build", "fwgen.yaml"]).code, 0);
    let workflow = std::fs::read_to_string("examples/ci/github-actions.yml").unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&workflow).unwrap();
    let steps = doc["jobs"]["check"]["steps"].as_sequence().unwrap();
    let runs: Vec<&str> = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .filter(|r| r.starts_with("fwgen "))
        .collect();
    assert_eq!(runs, ["fwgen build --check fwgen.yaml"]);
    for run in runs {
        let args: Vec<&str> = run.split_whitespace().skip(1).collect();
        let r = fwgen_in(dir.path(), &args);
        assert_eq!(r.code, 0, "`{run}`: {}", r.stderr);
    }
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
        .find_map(|l| l.strip_prefix("ExecStart=/bin/sh -ec '"))
        .and_then(|s| s.strip_suffix('\''))
        .expect("ExecStart runs a shell script");
    let script = exec.replace("$$", "$");
    let parsed = std::process::Command::new("sh")
        .args(["-n", "-c", &script])
        .status()
        .unwrap();
    assert!(parsed.success(), "{script}");
    for cmd in ["fwgen resolve", "fwgen apply", "--auto-confirm", "--check"] {
        assert!(script.contains(cmd), "{script}");
    }
}
