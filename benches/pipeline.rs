//! criterion benches for the pipeline stages at 10, 1,000 and 100,000 catalogue entries:
//! load (parse and validate YAML), select (bind and merge), render (every firewall backend).
//! Run with `cargo bench`; a regression shows up as a number, not as a failing test.

use std::fmt::Write;

use clap::ValueEnum;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fwgen::render::{Backend, RenderOptions};
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
            g.bench_with_input(
                BenchmarkId::new("render", backend.name()),
                backend,
                |b, backend| {
                    b.iter(|| {
                        backend
                            .render(&rules, &RenderOptions::default())
                            .expect("renders")
                    })
                },
            );
        }
        g.finish();
    }
}

/// Everything shipped: every product version and component through every backend, from the
/// embedded catalogue (the 50 ms target is for this whole loop).
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
                            ..Request::default()
                        };
                        let rules = select(&cat, &site, &req).expect("selects");
                        for backend in Backend::value_variants() {
                            let _ = backend.render(&rules, &RenderOptions::default());
                        }
                    }
                }
            }
        })
    });
}

criterion_group!(benches, stages, shipped);
criterion_main!(benches);
