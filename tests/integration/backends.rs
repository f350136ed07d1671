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
