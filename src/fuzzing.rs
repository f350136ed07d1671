//! Entry points for the fuzz targets under `fuzz/` and their regression tests: each takes
//! arbitrary bytes and must return without panicking, whatever they hold.

use clap::ValueEnum;

use crate::catalogue;
use crate::render::{Backend, Placement, Policy, RenderOptions};
use crate::select::{Request, select};
use crate::site::Site;

/// The catalogue loader on arbitrary text; and parsing big files in pieces must agree with
/// parsing them whole (checked on every input, in pieces of a few bytes).
pub fn catalogue(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = catalogue::load_text("fuzz.yaml", text);
        assert!(
            catalogue::split_agrees(text),
            "a split parse disagrees with the whole parse"
        );
    }
}

/// The split and whole catalogue parsers on a shipped catalogue with the input spliced in:
/// `OFFSET (3 bytes, big-endian) BYTES…` inserts BYTES at that offset (modulo the length, on a
/// character boundary). Starting from a real file keeps the text near the shape the splitter
/// cuts, where a disagreement (a key hidden behind a line break only one parser sees) hides.
pub fn split(data: &[u8]) {
    let [a, b, c, rest @ ..] = data else {
        return;
    };
    let Ok(insert) = std::str::from_utf8(rest) else {
        return;
    };
    let Some((_, base)) = catalogue::embedded_texts().next() else {
        return;
    };
    let offset = u32::from_be_bytes([0, *a, *b, *c]);
    let mut at = usize::try_from(offset).unwrap_or(0) % (base.len() + 1);
    while !base.is_char_boundary(at) {
        at -= 1;
    }
    let text = [
        base.get(..at).unwrap_or_default(),
        insert,
        base.get(at..).unwrap_or_default(),
    ]
    .concat();
    assert!(
        catalogue::split_agrees(&text),
        "a split parse disagrees with the whole parse"
    );
}

/// What fwgen reads about host names from outside: an `ip-ranges.json`, a lock file, and a
/// DNS server's answer (the first byte picks the question's type).
pub fn names(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::names::IpRanges::parse("fuzz.json", text);
        let _ = crate::names::Lock::parse("fuzz.lock", text);
    }
    let Some((first, reply)) = data.split_first() else {
        return;
    };
    let qtype = if first & 1 == 0 {
        simple_dns::TYPE::A
    } else {
        simple_dns::TYPE::AAAA
    };
    let mut seen = vec!["a.example".to_string()];
    let _ = crate::names::resolve::read_answer(reply, "a.example", qtype, &mut seen);
    assert!(seen.len() <= 18, "the chain is bounded");
}

/// `fwgen audit` on an arbitrary ruleset dump: parsed, then every probe of the example
/// site's selection decided, in both placements (no panic, no hang: the chain depth and the
/// rules a packet visits are bounded).
pub fn audit(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The same bytes as an nftables dump, an iptables-save, an ipset save and a Cisco
    // configuration (bound to interfaces it may name); as nft's bytecode listing, whose
    // misprinted rules mark those of the dump.
    let cisco = crate::audit::Interfaces {
        gateway: "dmz".into(),
        ingress: vec!["outside".into()],
    };
    let gateway: Vec<ipnet::IpNet> = ["198.18.0.1/32", "2001:db8:f::1/128"]
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect();
    // And as a listing beside a save text, split at the first blank line (iptables-nft's
    // tables read from the save text in place of the listing's).
    let (listing, save) = text.split_once("\n\n").unwrap_or((text, text));
    let parsed = [
        crate::audit::nft::parse_checked(&[text], Some(crate::audit::nft::netlink::read(text))),
        crate::audit::iptables::beside((&[listing], None), &[save], &[]),
        crate::audit::iptables::parse(&[text], &[]),
        crate::audit::iptables::parse(&[], &[text]),
        crate::audit::cisco::parse(text, &gateway, &cisco),
    ];
    for fw in parsed.iter().flatten() {
        audit_one(fw);
    }
}

fn audit_one(fw: &crate::audit::model::Ruleset) {
    use std::sync::OnceLock;
    static RULES: OnceLock<Option<crate::ruleset::Ruleset>> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        let cat = catalogue::load_embedded().ok()?;
        let site = Site::parse(
            "site.yaml",
            "product: icap-gateway\ngateway: [198.18.0.1, 2001:db8:f::1]\nroles:\n  admin-clients: [198.18.0.2]\n",
        )
        .ok()?;
        select(&cat, &site, &Request::default()).ok()
    });
    if let Some(rules) = rules {
        for placement in [Placement::Host, Placement::Perimeter] {
            let at = crate::audit::Interfaces {
                gateway: "eth0".into(),
                ingress: vec!["eth1".into()],
            };
            let _ = crate::audit::audit(rules, placement, fw, &at);
        }
    }
}

/// The site-file parser on arbitrary text, checked against every shipped product version.
pub fn site(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(site) = Site::parse("fuzz-site.yaml", text) else {
        return;
    };
    if let Ok(cat) = catalogue::load_embedded() {
        for p in cat.products.values() {
            for v in p.versions.values() {
                let _ = site.check(v);
            }
        }
        let _ = select(
            &cat,
            &site,
            &Request {
                strict: false,
                allow_unbound: true,
                ..Request::default()
            },
        );
    }
}

/// The whole pipeline: `OPTIONS CATALOGUE \0 SITE` through selection and every backend.
/// The first byte picks placement, policy, log-drops and features.
pub fn pipeline(data: &[u8]) {
    let Some((&options, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(2, |b| *b == 0);
    let (Some(cat_bytes), site_bytes) = (parts.next(), parts.next()) else {
        return;
    };
    let (Ok(cat_text), Ok(site_text)) = (
        std::str::from_utf8(cat_bytes),
        std::str::from_utf8(site_bytes.unwrap_or_default()),
    ) else {
        return;
    };
    let Ok(cat) = catalogue::load_text("fuzz.yaml", cat_text) else {
        return;
    };
    let Ok(site) = Site::parse("fuzz-site.yaml", site_text) else {
        return;
    };
    let product = cat.products.keys().next().cloned();
    let req = Request {
        product,
        all_features: options & 1 != 0,
        no_default_features: options & 2 != 0,
        strict: options & 4 != 0,
        allow_unbound: options & 64 == 0,
        gateway: "192.0.2.1/32".parse().into_iter().collect(),
        ..Request::default()
    };
    let Ok(rules) = select(&cat, &site, &req) else {
        return;
    };
    let opts = RenderOptions {
        windows: crate::render::WindowsOptions::default(),
        cisco: crate::render::CiscoOptions::default(),
        aerleon: crate::render::AerleonOptions::default(),
        output_name: None,
        placement: if options & 8 != 0 {
            Placement::Host
        } else {
            Placement::Perimeter
        },
        log_drops: options & 16 != 0,
        policy: if options & 32 != 0 {
            Policy::Accept
        } else {
            Policy::Drop
        },
    };
    for backend in Backend::value_variants() {
        let _ = backend.render(&rules, &opts);
    }
}
