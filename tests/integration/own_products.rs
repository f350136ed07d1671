//! A user's own product tables beside the built-in catalogue (`--catalogue` adds,
//! `--no-builtin-catalogue` replaces, a manifest's `catalogue:` list), and their provenance.

use std::path::Path;

use crate::util::{fwgen, fwgen_in, ok};

const OWN: &str = "examples/own-product/my-appliance.yaml";

fn products(args: &[&str]) -> Vec<String> {
    let mut all = args.to_vec();
    all.extend(["products", "--format", "json"]);
    let j: serde_json::Value = serde_json::from_str(&ok(&all)).unwrap();
    j.as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_catalogue_flag_adds_to_the_builtin_catalogue() {
    let builtin = products(&[]);
    assert!(
        builtin.contains(&"email-gateway".to_string()),
        "{builtin:?}"
    );
    assert!(!builtin.contains(&"dmz-proxy".to_string()));
    let both = products(&["--catalogue", OWN]);
    let mut want = builtin.clone();
    want.push("dmz-proxy".into());
    want.sort();
    assert_eq!(both, want);
    assert_eq!(
        products(&["--no-builtin-catalogue", "--catalogue", OWN]),
        ["dmz-proxy"]
    );
    // The same file twice is read once, not a duplicate of itself.
    assert_eq!(products(&["--catalogue", OWN, "--catalogue", OWN]), want);
}

#[test]
fn a_version_defined_twice_is_an_error_naming_both_places() {
    let r = fwgen(&["--catalogue", "data/icap-gateway-4.8.yaml", "products"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "error: data/icap-gateway-4.8.yaml:1: product `icap-gateway` version `4.8` is defined \
             again here; first in `data/icap-gateway-4.8.yaml (built into fwgen; \
             --no-builtin-catalogue leaves it out)`"
        ),
        "{}",
        r.stderr
    );
    // Two of the user's own files.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.yaml");
    std::fs::copy(OWN, &copy).unwrap();
    let r = fwgen(&[
        "--catalogue",
        OWN,
        "--catalogue",
        copy.to_str().unwrap(),
        "products",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "{}:1: product `dmz-proxy` version `1` is defined again here; first in `{OWN}`",
            copy.display()
        )),
        "{}",
        r.stderr
    );
    let r = fwgen(&["--no-builtin-catalogue", "products"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("--no-builtin-catalogue leaves no catalogue"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_manifest_adds_its_catalogue_list_and_can_leave_the_builtin_out() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for f in ["my-appliance.yaml", "site.yaml"] {
        std::fs::copy(Path::new("examples/own-product").join(f), d.join(f)).unwrap();
    }
    let targets = "targets:\n  - {name: proxy, site: site.yaml, backend: nftables, strict: true, output: proxy.nft}\n  - {name: icap, product: icap-gateway, gateway: [192.0.2.9], backend: json, output: icap.json}\n";
    std::fs::write(
        d.join("fwgen.yaml"),
        format!("catalogue: [my-appliance.yaml]\n{targets}"),
    )
    .unwrap();
    let r = fwgen_in(d, &["build", "fwgen.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let nft = std::fs::read_to_string(d.join("proxy.nft")).unwrap();
    assert!(
        nft.contains("tcp dport 443 accept comment \"fwgen https-in\""),
        "{nft}"
    );
    assert!(d.join("icap.json").exists());
    // The same build with `--catalogue` instead of the manifest's key.
    std::fs::write(d.join("fwgen.yaml"), targets).unwrap();
    let again = fwgen_in(
        d,
        &[
            "--catalogue",
            "my-appliance.yaml",
            "build",
            "--check",
            "fwgen.yaml",
        ],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    // Without the built-in catalogue, the shipped product is unknown.
    std::fs::write(
        d.join("fwgen.yaml"),
        format!("catalogue: my-appliance.yaml\nbuiltin_catalogue: false\n{targets}"),
    )
    .unwrap();
    let r = fwgen_in(d, &["build", "fwgen.yaml"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("icap-gateway"), "{}", r.stderr);
    assert!(!r.stderr.contains("target `proxy`"), "{}", r.stderr);
}

#[test]
fn a_table_that_cites_itself_must_cite_its_own_lines() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(OWN).unwrap();
    let lines = text.lines().count();
    let bad = text
        .replacen("line: 21}", &format!("line: {}}}", lines + 1), 1)
        .replacen("line: 21}", "line: 0}", 1);
    let path = dir.path().join("my-appliance.yaml");
    std::fs::write(&path, bad).unwrap();
    let r = fwgen(&["validate", path.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    let p = path.display();
    assert!(
        r.stderr.contains(&format!(
            "{p}:23: entry `https-in`: `source.line: {}` is no line of `my-appliance.yaml`: this \
             file has {lines} lines",
            lines + 1
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "{p}:30: entry `ssh-admin`: `source.line: 0` is no line of `my-appliance.yaml`: lines \
             are counted from 1"
        )),
        "{}",
        r.stderr
    );
}

/// The example's rulesets, every Linux backend, are accepted by the real tools.
#[test]
fn the_own_product_renders_in_every_backend_and_the_real_tools_accept_it() {
    for backend in crate::util::backends(fwgen::render::Kind::Firewall) {
        if !crate::util::supports(backend, "perimeter") {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let files = crate::tools::generate_into(
            dir.path(),
            &[
                "--catalogue",
                OWN,
                "generate",
                "--site",
                "examples/own-product/site.yaml",
                "--strict",
                "-b",
                backend,
            ],
        );
        assert!(!files.is_empty(), "{backend}");
        if crate::util::have_tools(crate::tools::LOADERS) {
            crate::tools::check_with_real_tools(dir.path());
        } else {
            crate::util::missing("nft, iptables-restore, ipset, unshare");
        }
    }
}

/// Issue 25, defect 7: a manifest's catalogue directory stayed inside the manifest's
/// directory, but its `*.yaml` links to `../../outside/…` were read, and `build --check`
/// errors printed integers, ids and key names from those files. A directory's files are read
/// only when they are regular files inside it (a link that stays inside is fine); the rest
/// are refused by name, unread.
#[test]
fn a_catalogue_directory_never_reads_links_that_lead_out() {
    let root = tempfile::tempdir().unwrap();
    let outside = root.path().join("outside");
    let project = root.path().join("project");
    let cat = project.join("cat");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(cat.join("sub")).unwrap();
    std::fs::write(
        outside.join("secret.yaml"),
        "secret_key_name_7f3a: 918273645\nproduct: [x]\n",
    )
    .unwrap();
    // The own product, through a link that stays inside the directory.
    std::fs::copy(
        "examples/own-product/my-appliance.yaml",
        cat.join("sub/my-appliance.yaml"),
    )
    .unwrap();
    std::os::unix::fs::symlink("sub/my-appliance.yaml", cat.join("appliance.yaml")).unwrap();
    std::fs::copy("examples/own-product/site.yaml", project.join("site.yaml")).unwrap();
    let manifest = project.join("fwgen.yaml");
    std::fs::write(
        &manifest,
        "catalogue: cat\ntargets:\n  - name: proxy\n    site: site.yaml\n    backend: json\n    output: out/proxy.json\n",
    )
    .unwrap();
    let m = manifest.to_str().unwrap();
    // A link inside: read, and the build works. (`document.file` names the file itself, so
    // provenance is checked against its own lines through the link.)
    let r = fwgen(&["build", m]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // A link that leads out: refused by name, its content never shown.
    std::os::unix::fs::symlink("../../outside/secret.yaml", cat.join("evil.yaml")).unwrap();
    for args in [vec!["build", m], vec!["build", "--check", m]] {
        let r = fwgen(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("evil.yaml")
                && r.stderr.contains("leads out of its catalogue directory"),
            "{}",
            r.stderr
        );
        for secret in ["secret_key_name_7f3a", "918273645"] {
            assert!(!r.stderr.contains(secret), "{}", r.stderr);
            assert!(!r.stdout.contains(secret), "{}", r.stdout);
        }
    }
}
