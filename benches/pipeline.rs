//! criterion benches for the pipeline stages at 10, 1,000 and 100,000 catalogue entries:
//! load (parse and validate YAML), select (bind and merge), render (every firewall backend).
//! Run with `cargo bench`; a regression shows up as a number, not as a failing test.

use std::fmt::Write;

use clap::ValueEnum;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fwgen::model::Platform;
use fwgen::render::{Backend, Placement, RenderOptions};
use fwgen::select::{Request, select};
use fwgen::site::Site;

const PORTS: &[&str] = &[
    "22",
    "25",
    "53",
    "80",
    "123",
    "389",
    "443",
    "636",
    "993",
    "3306",
    "5432",
    "\"8000-8010\"",
];

/// A synthetic catalogue: `n` outbound entries, each to its own host group of `m` addresses.
fn catalogue(n: usize, m: usize) -> String {
    let mut y = String::from(
        "product: synth\ntitle: Synthetic\nversion: \"1\"\ndocument: {file: none, title: synthetic}\ncomponents: [{id: gateway, description: gw}]\nhost_groups:\n",
    );
    for i in 0..n {
        let addrs: Vec<String> = (0..m)
            .map(|j| {
                let x = i * m + j; // distinct and never adjacent: no aggregation shortcut
                format!(
                    "10.{}.{}.{}",
                    (x >> 15) & 255,
                    (x >> 7) & 255,
                    (x & 127) << 1
                )
            })
            .collect();
        let _ = writeln!(
            y,
            "  - {{id: g{i}, description: g, hosts: [h{i}.example], addresses: [{}], address_source: document, source: {{section: s, row: r, line: 1}}}}",
            addrs.join(", ")
        );
    }
    y.push_str("entries:\n");
    for i in 0..n {
        let proto = if i % 5 == 0 { "udp" } else { "tcp" };
        let _ = writeln!(
            y,
            "  - {{id: e{i}, description: e, protocols: [{proto}], ports: [{}], directions: [out], peer: {{group: g{i}}}, source: {{section: s, row: r, line: 1}}}}",
            PORTS[i % PORTS.len()]
        );
    }
    y
}

/// Options a backend renders with, and the platform of the host it is for: perimeter
/// placement (the Linux gateway) where it can, else host placement on its own platform.
fn fitting(backend: Backend) -> (RenderOptions, Platform) {
    let d = backend.description();
    if d.fits(Placement::Perimeter, Platform::Linux) {
        return (RenderOptions::default(), Platform::Linux);
    }
    let platform = d.host_platforms.first().copied().unwrap_or_default();
    let opts = RenderOptions {
        placement: Placement::Host,
        ..RenderOptions::default()
    };
    (opts, platform)
}

fn stages(c: &mut Criterion) {
    let site = Site::parse("site.yaml", "product: synth\ngateway: [192.0.2.1]\n").expect("site");
    let req = Request {
        product: Some("synth".into()),
        ..Request::default()
    };
    for n in [10usize, 1_000, 100_000] {
        let text = catalogue(n, 1);
        let mut g = c.benchmark_group(format!("{n} entries"));
        if n >= 100_000 {
            g.sample_size(10);
        }
        g.bench_function("load", |b| {
            b.iter(|| fwgen::catalogue::load_text("synth.yaml", &text).expect("loads"))
        });
        let cat = fwgen::catalogue::load_text("synth.yaml", &text).expect("loads");
        g.bench_function("select", |b| {
            b.iter(|| select(&cat, &site, &req).expect("selects"))
        });
        let rules = select(&cat, &site, &req).expect("selects");
        for backend in Backend::value_variants() {
            // The same rules for the host each backend is for: a Windows host's own firewall
            // for the Windows backend, the perimeter of the Linux gateway for the others.
            let (opts, platform) = fitting(*backend);
            let mut rules = rules.clone();
            rules.meta.platform = platform;
            g.bench_with_input(
                BenchmarkId::new("render", backend.name()),
                backend,
                |b, backend| b.iter(|| backend.render(&rules, &opts).expect("renders")),
            );
        }
        g.finish();
    }
}

/// Everything shipped: every product version and component through every backend, from the
/// embedded catalogue (the issue's 50 ms target is for this whole loop).
fn shipped(c: &mut Criterion) {
    c.bench_function("all shipped products x backends", |b| {
        b.iter(|| {
            let cat = fwgen::catalogue::load_embedded().expect("loads");
            let site =
                Site::parse("site.yaml", "gateway: [192.0.2.1, 2001:db8::1]\n").expect("site");
            for p in cat.products.values() {
                for v in p.versions.values() {
                    for comp in &v.components {
                        let req = Request {
                            product: Some(p.id.clone()),
                            version: Some(v.version.to_string()),
                            component: Some(comp.id.clone()),
                            all_features: true,
                            // No site binds their roles: measured as they are.
                            allow_unbound: true,
                            ..Request::default()
                        };
                        let rules = select(&cat, &site, &req).expect("selects");
                        for backend in Backend::value_variants() {
                            // Each backend in the placement it writes; a host ruleset for a
                            // host of another platform is refused, and counted as such.
                            let (opts, _) = fitting(*backend);
                            let _ = backend.render(&rules, &opts);
                        }
                    }
                }
            }
        })
    });
}

/// Hostile shapes at the size a user could send (issue "Safe to run as root and in CI", item
/// 10): flow nesting refused at the guard, a 3,000-feature `implies` chain, a 1 MB string
/// with aliases refused before parsing, and 20,000 port overrides of a big catalogue. Each should
/// take time in proportion to its size; compare with "10 entries / load" of the same run.
fn hostile_shapes(c: &mut Criterion) {
    let mut g = c.benchmark_group("hostile shapes");
    let nesting = format!("product: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    g.bench_function("100k-deep flow nesting (refused)", |b| {
        b.iter(|| fwgen::catalogue::load_text("n.yaml", &nesting).is_err())
    });
    let mut chain = String::from(
        "product: chain\ntitle: Chain\nversion: \"1\"\ndocument: {file: x.txt, title: x}\ncomponents:\n  - {id: gateway, description: g}\nfeatures:\n",
    );
    for i in 0..3_000 {
        let _ = writeln!(
            chain,
            "  - {{id: f{i}, description: d, default: false, implies: [f{}]}}",
            (i + 1) % 3_000
        );
    }
    chain.push_str("entries:\n  - {id: e, description: d, protocols: [tcp], ports: [80], directions: [out], peer: any, feature: f0, source: {section: s, row: r, line: 1}}\n");
    g.bench_function("3,000-feature implies cycle", |b| {
        b.iter(|| fwgen::catalogue::load_text("c.yaml", &chain).is_ok())
    });
    let aliases = format!(
        "product: &s \"{}\"\nfeatures: [{}]\n",
        "x".repeat(1_000_000),
        vec!["*s"; 2_000].join(", ")
    );
    g.bench_function("1 MB string, 2,000 aliases (refused)", |b| {
        b.iter(|| Site::parse("a.yaml", &aliases).is_err())
    });
    // 20,000 configurable entries on distinct ports, every one overridden by the site: the
    // port check looked entries up one scan per override, and the merge rebuilt the growing
    // port set at every step (both quadratic).
    let mut big = String::from(
        "product: big\ntitle: Big\nversion: \"1\"\ndocument: {file: x.txt, title: x}\ncomponents:\n  - {id: gateway, description: g}\nentries:\n",
    );
    let mut ports = String::from("product: big\nports:\n");
    for i in 0..20_000 {
        let _ = writeln!(
            big,
            "  - {{id: e{i}, description: d, protocols: [tcp], ports: [{}], directions: [out], peer: any, configurable: true, source: {{section: s, row: r, line: 1}}}}",
            1 + i % 60_000
        );
        let _ = writeln!(ports, "  e{i}: [{}]", 2 + i % 60_000);
    }
    let big = fwgen::catalogue::load_text("big.yaml", &big).expect("loads");
    g.bench_function(
        "20,000 configurable entries, all overridden (select)",
        |b| {
            b.iter(|| {
                let site = Site::parse("p.yaml", &ports).expect("parses");
                select(&big, &site, &Request::default()).expect("selects")
            })
        },
    );
    g.finish();
}

/// An `ip-ranges.json` of the real file's size: `n` prefixes over AWS's services and regions,
/// each narrower service's prefix listed again under `AMAZON` (as AWS does), a third of them
/// IPv6, 150 of them CloudFront's.
fn ip_ranges_file(n: usize) -> String {
    let services = [
        "EC2",
        "S3",
        "ROUTE53",
        "CLOUDFRONT_ORIGIN_FACING",
        "API_GATEWAY",
    ];
    let regions = [
        "eu-west-2",
        "us-east-1",
        "ap-southeast-2",
        "sa-east-1",
        "GLOBAL",
    ];
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    let mut i = 0;
    while v4.len() + v6.len() < n {
        let (service, region) = if i < 75 {
            ("CLOUDFRONT", "GLOBAL")
        } else {
            (services[i % services.len()], regions[i % regions.len()])
        };
        let entry = |prefix: String, key: &str, service: &str| {
            format!(
                "{{\"{key}\": \"{prefix}\", \"region\": \"{region}\", \"service\": \"{service}\", \"network_border_group\": \"{region}\"}}"
            )
        };
        if i % 3 == 2 {
            let p = format!("2600:{:x}:{:x}::/48", 0x1f00 + (i >> 16), i & 0xffff);
            v6.push(entry(p.clone(), "ipv6_prefix", service));
            v6.push(entry(p, "ipv6_prefix", "AMAZON"));
        } else {
            let p = format!("{}.{}.{}.0/24", 3 + (i >> 16), (i >> 8) & 255, i & 255);
            v4.push(entry(p.clone(), "ip_prefix", service));
            v4.push(entry(p, "ip_prefix", "AMAZON"));
        }
        i += 1;
    }
    format!(
        "{{\n  \"syncToken\": \"1732024563\",\n  \"createDate\": \"2024-11-19-13-56-03\",\n  \"prefixes\": [\n    {}\n  ],\n  \"ipv6_prefixes\": [\n    {}\n  ]\n}}\n",
        v4.join(",\n    "),
        v6.join(",\n    ")
    )
}

/// What an ip-ranges file of the real size (10,000 prefixes) adds to one `generate`: parse it
/// and bind the CloudFront group of Email Gateway 5.3, against the same selection without it
/// (its update servers bound in the site file) measured in the same run.
fn ip_ranges(c: &mut Criterion) {
    let mut g = c.benchmark_group("ip-ranges");
    let cat = fwgen::catalogue::load_embedded().expect("loads");
    let file = ip_ranges_file(10_000);
    let req = Request {
        product: Some("email-gateway".into()),
        version: Some("5.3".into()),
        allow_unbound: true,
        ..Request::default()
    };
    let base = "gateway: [192.0.2.1, 2001:db8::1]\n";
    g.bench_function(
        "baseline: select + nftables, group bound in the site",
        |b| {
            b.iter(|| {
                let site = Site::parse(
                    "s.yaml",
                    &format!("{base}hosts:\n  product-update-servers: [203.0.113.10]\n"),
                )
                .expect("site");
                let rules = select(&cat, &site, &req).expect("selects");
                Backend::Nftables.render(&rules, &RenderOptions::default())
            })
        },
    );
    g.bench_function(
        "10,000-prefix ip-ranges.json: parse + select + nftables",
        |b| {
            b.iter(|| {
                let mut site = Site::parse("s.yaml", base).expect("site");
                site.ip_ranges =
                    Some(fwgen::names::IpRanges::parse("ip-ranges.json", &file).expect("parses"));
                let rules = select(&cat, &site, &req).expect("selects");
                Backend::Nftables.render(&rules, &RenderOptions::default())
            })
        },
    );
    g.finish();
}

/// `nft -j list ruleset` output with `n` rules in the input chain that match none of the
/// audit's probes (other sources), then fwgen's own accept rules for the example site: the
/// probes pass all `n` before they are decided.
fn big_nft_dump(n: usize) -> String {
    let mut items = vec![
        r#"{"table": {"family": "inet", "name": "big", "handle": 1}}"#.to_string(),
        r#"{"chain": {"family": "inet", "table": "big", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}"#.to_string(),
        r#"{"chain": {"family": "inet", "table": "big", "name": "output", "handle": 2, "type": "filter", "hook": "output", "prio": 0, "policy": "accept"}}"#.to_string(),
        r#"{"rule": {"family": "inet", "table": "big", "chain": "input", "handle": 3, "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}, {"accept": null}]}}"#.to_string(),
    ];
    for i in 0..n {
        items.push(format!(
            r#"{{"rule": {{"family": "inet", "table": "big", "chain": "input", "handle": {}, "expr": [{{"match": {{"op": "==", "left": {{"payload": {{"protocol": "ip", "field": "saddr"}}}}, "right": "10.{}.{}.{}"}}}}, {{"match": {{"op": "==", "left": {{"payload": {{"protocol": "tcp", "field": "dport"}}}}, "right": {}}}}}, {{"accept": null}}]}}}}"#,
            i + 10,
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255,
            1 + i % 65535
        ));
    }
    items.push(r#"{"rule": {"family": "inet", "table": "big", "chain": "input", "handle": 2, "expr": [{"accept": null}]}}"#.to_string());
    format!("{{\"nftables\": [{}]}}", items.join(",\n"))
}

/// `fwgen audit`'s work on a 100,000-rule ruleset (read the JSON, decide every probe), against
/// the same audit of a 10-rule one in the same run.
fn audit(c: &mut Criterion) {
    let cat = fwgen::catalogue::load_embedded().expect("loads");
    let site = Site::parse(
        "site.yaml",
        &std::fs::read_to_string("examples/site.yaml").expect("the example site"),
    )
    .expect("site");
    let rules = select(&cat, &site, &Request::default()).expect("selects");
    let mut g = c.benchmark_group("audit");
    g.sample_size(10);
    for n in [10usize, 100_000] {
        let dump = big_nft_dump(n);
        g.bench_function(format!("{n} rules"), |b| {
            b.iter(|| {
                let fw = fwgen::audit::nft::parse(&[&dump]).expect("parses");
                fwgen::audit::audit(&rules, Placement::Host, &fw, &Default::default())
            })
        });
    }
    g.finish();
}

/// A catalogue of `n` entries to any address on the 12 ports of `PORTS`, every id prefixed
/// with `prefix`: two of them differ only in ids, the worst case for matching by connection
/// (every entry of a side shares its connection with a twelfth of the other side's).
fn renamed(n: usize, prefix: &str) -> fwgen::model::Catalogue {
    let mut y = String::from(
        "product: synth\ntitle: Synthetic\nversion: \"1\"\ndocument: {file: none, title: synthetic}\ncomponents: [{id: gateway, description: gw}]\nentries:\n",
    );
    for i in 0..n {
        let _ = writeln!(
            y,
            "  - {{id: {prefix}{i}, description: e, protocols: [tcp], ports: [{}], directions: [out], peer: any, source: {{section: s, row: r, line: 1}}}}",
            PORTS[i % PORTS.len()]
        );
    }
    fwgen::catalogue::load_text("synth.yaml", &y).expect("loads")
}

/// `fwgen diff OLD NEW` of two catalogues whose ids all differ (matched by connection), at
/// 100 and 20,000 entries a side, in the same run.
fn diff(c: &mut Criterion) {
    let mut g = c.benchmark_group("diff, every id renamed");
    g.sample_size(10);
    for n in [100usize, 20_000] {
        let (old, new) = (renamed(n, "e"), renamed(n, "r"));
        g.bench_function(format!("{n} entries"), |b| {
            b.iter(|| fwgen::diff::catalogues(&old, &new))
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    stages,
    shipped,
    hostile_shapes,
    ip_ranges,
    audit,
    diff
);
criterion_main!(benches);
