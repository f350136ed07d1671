//! The catalogue against the vendor documents themselves.
//!
//! A small, independent parser reads every connection-table row of every document in
//! `../shared/seeds` as (direction, protocol, port) tuples. The catalogue must cite every row,
//! each entry must stay within its row (its direction cell as the document writes it), and
//! `generate --all-features` must produce exactly the tuples of the documents' rows: every one
//! of them, and nothing that is in no row, less the reply halves of rows written with both
//! directions that the catalogue reads as one connection (`opens: out` or `opens: in`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use fwgen::model::{Direction, ProductVersion, Protocol};

use crate::util::seeds_dir;

type Tuple = (Direction, Protocol, u16);

#[derive(Debug)]
struct Row {
    line: usize,
    component: &'static str,
    tuples: BTreeSet<Tuple>,
}

fn directions(cell: &str) -> Vec<Direction> {
    let mut out = Vec::new();
    for tok in cell.split(['/', ' ']).map(|t| t.trim().to_lowercase()) {
        match tok.as_str() {
            "in" | "受信" => out.push(Direction::In),
            "out" | "送信" => out.push(Direction::Out),
            _ => {}
        }
    }
    assert!(!out.is_empty(), "no direction in `{cell}`");
    out
}

/// `TCP`, `UDP`, `UDP/TCP`, `UDP/ TCP`; FTP, FTPS and SFTP run over TCP.
fn protocols(cell: &str) -> Vec<Protocol> {
    let c = cell.to_uppercase();
    let mut out = Vec::new();
    if c.contains("UDP") {
        out.push(Protocol::Udp);
    }
    if c.contains("TCP") || c.contains("FTP") {
        out.push(Protocol::Tcp);
    }
    assert!(!out.is_empty(), "no protocol in `{cell}`");
    out
}

fn port(tok: &str) -> Option<u16> {
    let digits: String = tok
        .trim()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn cross(dirs: &[Direction], protos: &[Protocol], ports: &[u16]) -> BTreeSet<Tuple> {
    let mut out = BTreeSet::new();
    for &d in dirs {
        for &p in protos {
            for &n in ports {
                out.insert((d, p, n));
            }
        }
    }
    out
}

fn row(line: usize, component: &'static str, tuples: BTreeSet<Tuple>) -> Row {
    Row {
        line,
        component,
        tuples,
    }
}

/// Every table row of one document.
fn parse_document(file: &str, text: &str) -> Vec<Row> {
    let lines: Vec<(usize, &str)> = text.lines().enumerate().map(|(i, l)| (i + 1, l)).collect();
    let mut rows = Vec::new();
    match file {
        // ICAP 4.8: Description | Protocol | Port | Direction | …; ports like `20/21`.
        "000_209237846fe85703.txt" => {
            for &(n, l) in &lines {
                let f: Vec<&str> = l.split('\t').collect();
                if f.len() >= 4 && (f[1] == "TCP" || f[1] == "UDP") {
                    let ports: Vec<u16> = f[2].split('/').filter_map(port).collect();
                    rows.push(row(
                        n,
                        "gateway",
                        cross(&directions(f[3]), &protocols(f[1]), &ports),
                    ));
                }
            }
        }
        // Email Gateway 5.3. External: Item | UDP/TCP | Port | Hostname | IP, no direction
        // column: outbound, except `53 (in/out)` and the SMTP row whose host is `Any`.
        // Internal: multi-value cells (`TCP UDP TCP TCP` | `135 137 139 445` | `Out Out Out Out`).
        "001_ffbb002e64f227b7.txt" => {
            let internal_from = lines
                .iter()
                .find(|(_, l)| *l == "## Internal Connections")
                .map(|p| p.0)
                .unwrap();
            for &(n, l) in &lines {
                let f: Vec<&str> = l.split('\t').collect();
                if f.len() < 4 || !(f[1].contains("TCP") || f[1].contains("UDP")) || f[0] == "Item"
                {
                    continue;
                }
                if n < internal_from {
                    let dirs = if f[2].contains("(in/out)") || f[3] == "Any" {
                        vec![Direction::In, Direction::Out]
                    } else {
                        vec![Direction::Out]
                    };
                    rows.push(row(
                        n,
                        "gateway",
                        cross(&dirs, &protocols(f[1]), &[port(f[2]).unwrap()]),
                    ));
                } else {
                    let protos: Vec<&str> = f[1].split_whitespace().collect();
                    let ports: Vec<u16> = f[2].split([' ', '/']).filter_map(port).collect();
                    let dirs: Vec<&str> = f[3].split_whitespace().collect();
                    let mut tuples = BTreeSet::new();
                    if protos.len() == ports.len() {
                        for (i, (p, n)) in protos.iter().zip(&ports).enumerate() {
                            let d = dirs.get(i).or(dirs.first()).unwrap();
                            tuples.extend(cross(&directions(d), &protocols(p), &[*n]));
                        }
                    } else {
                        assert_eq!(protos.len(), 1, "line {n}");
                        tuples = cross(&directions(dirs[0]), &protocols(protos[0]), &ports);
                    }
                    rows.push(row(n, "gateway", tuples));
                }
            }
        }
        // Email Gateway, English, no version: `Port | Protocol | Direction | Required for |`.
        "002_b2a6ebed94a667ea.txt" => {
            for &(n, l) in &lines {
                let c: Vec<&str> = l.split('|').map(str::trim).collect();
                if c.len() >= 4
                    && let Some(p) = port(c[0])
                {
                    rows.push(row(
                        n,
                        "gateway",
                        cross(&directions(c[2]), &protocols(c[1]), &[p]),
                    ));
                }
            }
        }
        // Exchange Gateway, Japanese: `PORT PROTOCOL DIRECTION purpose`, two tables.
        "003_cbcffee6cd8d5eb3.txt" => {
            let server_from = lines
                .iter()
                .find(|(_, l)| l.starts_with("Exchange Server のファイアウォールポート"))
                .map(|p| p.0)
                .unwrap();
            for &(n, l) in &lines {
                let t: Vec<&str> = l.split_whitespace().collect();
                let Some(p) = t.first().and_then(|t| port(t)) else {
                    continue;
                };
                if t.len() < 3 {
                    continue; // an address line such as `86.188.240.24`
                }
                let (proto, dir) = if t[2] == "(explicit)" {
                    (t[1], t[3])
                } else {
                    (t[1], t[2])
                };
                let component = if n > server_from {
                    "exchange-server"
                } else {
                    "gateway"
                };
                rows.push(row(
                    n,
                    component,
                    cross(&directions(dir), &protocols(proto), &[p]),
                ));
            }
        }
        // Email Gateway 4.9, Appendix E: `Port\tProtocol\tDirection\tRequired for`.
        "004_c3949882bd098475.txt" => {
            let appendix = lines
                .iter()
                .rfind(|(_, l)| *l == "Appendix E: Firewall Ports")
                .map(|p| p.0)
                .unwrap();
            for &(n, l) in lines.iter().filter(|(n, _)| *n > appendix) {
                let f: Vec<&str> = l.split('\t').collect();
                if f.len() >= 3
                    && let Some(p) = port(f[0])
                {
                    rows.push(row(
                        n,
                        "gateway",
                        cross(&directions(f[2]), &protocols(f[1]), &[p]),
                    ));
                }
            }
        }
        other => panic!("no table parser for document `{other}`: add one here"),
    }
    assert!(!rows.is_empty(), "{file}: no rows parsed");
    rows
}

fn versions() -> Vec<ProductVersion> {
    let cat = fwgen::catalogue::load_embedded().unwrap();
    cat.products
        .into_values()
        .flat_map(|p| p.versions.into_values())
        .collect()
}

/// The tuples an entry transcribes: its document direction cell, whatever fwgen admits.
fn entry_tuples(e: &fwgen::model::Entry) -> BTreeSet<Tuple> {
    use fwgen::model::Written;
    let ports: Vec<u16> = e
        .ports()
        .map(|p| p.iter_ports().collect())
        .unwrap_or_default();
    let dirs: Vec<Direction> = match e.written {
        Written::In => vec![Direction::In],
        Written::Out => vec![Direction::Out],
        Written::InOut | Written::OutIn => vec![Direction::In, Direction::Out],
    };
    let protos: Vec<Protocol> = e.protocols();
    cross(&dirs, &protos, &ports)
}

/// The tuples of the connections an entry opens: its cell's, less the reply halves, or for
/// a one-direction row read the other way (`opens:` against the cell), the other direction.
fn opened_tuples(e: &fwgen::model::Entry) -> BTreeSet<Tuple> {
    if e.reads_other_way() {
        return reversed(&entry_tuples(e));
    }
    &entry_tuples(e) - &reply_tuples(e)
}

/// The same tuples in the other direction.
fn reversed(t: &BTreeSet<Tuple>) -> BTreeSet<Tuple> {
    t.iter()
        .map(|&(d, p, port)| (d.reversed(), p, port))
        .collect()
}

/// The tuples of an entry that carry only replies: the `In` half of a row that the gateway
/// opens (`opens: out`), and the reverse. A firewall admits them as established traffic,
/// never as new connections.
fn reply_tuples(e: &fwgen::model::Entry) -> BTreeSet<Tuple> {
    let Some(d) = e.reply() else {
        return BTreeSet::new();
    };
    let ports: Vec<u16> = e
        .ports()
        .map(|p| p.iter_ports().collect())
        .unwrap_or_default();
    let protos: Vec<Protocol> = e.protocols();
    cross(&[d], &protos, &ports)
}

fn seed(dir: &Path, pv: &ProductVersion) -> String {
    std::fs::read_to_string(dir.join(&pv.document.file))
        .unwrap_or_else(|e| panic!("{}: {e}", pv.document.file))
}

#[test]
fn every_document_in_the_index_is_transcribed() {
    let Some(dir) = seeds_dir() else { return };
    let index = std::fs::read_to_string(dir.join("INDEX.md")).unwrap();
    let cited: BTreeSet<String> = versions().iter().map(|v| v.document.file.clone()).collect();
    for file in index.split('`').filter(|w| w.ends_with(".txt")) {
        assert!(
            cited.contains(file),
            "INDEX.md lists `{file}`, but no catalogue file transcribes it"
        );
    }
}

#[test]
fn every_row_is_cited_and_every_entry_stays_within_its_row() {
    let Some(dir) = seeds_dir() else { return };
    let mut checked_rows = 0;
    for pv in versions() {
        let rows = parse_document(&pv.document.file, &seed(&dir, &pv));
        let by_line: BTreeMap<usize, &Row> = rows.iter().map(|r| (r.line, r)).collect();
        let mut covered: BTreeMap<usize, BTreeSet<Tuple>> = BTreeMap::new();
        for e in &pv.entries {
            let where_ = format!("{} entry `{}`", pv.path, e.id);
            let row = by_line.get(&e.source.line).unwrap_or_else(|| {
                panic!(
                    "{where_} cites line {}, which is no table row",
                    e.source.line
                )
            });
            if let Some(other) = &e.other_end_of {
                // The far end of another component's row: that row's tuples reversed, on
                // this entry's component (checked against the row in the next test).
                let o = pv.entries.iter().find(|o| &o.id == other).unwrap();
                assert_eq!(o.component, row.component, "{where_}: the row's component");
                assert_ne!(e.component, row.component, "{where_}: another component");
                assert_eq!(entry_tuples(e), reversed(&opened_tuples(o)), "{where_}");
                continue;
            }
            assert_eq!(e.component, row.component, "{where_}: component");
            let t = entry_tuples(e);
            let extra: Vec<_> = t.difference(&row.tuples).collect();
            assert!(
                extra.is_empty(),
                "{where_}: {extra:?} are not in its row (line {})",
                row.line
            );
            covered.entry(row.line).or_default().extend(t);
        }
        for r in &rows {
            let got = covered.get(&r.line).cloned().unwrap_or_default();
            let missing: Vec<_> = r.tuples.difference(&got).collect();
            assert!(
                missing.is_empty(),
                "{} line {}: {missing:?} are in no entry",
                pv.document.file,
                r.line
            );
            checked_rows += 1;
        }
    }
    // Counted independently of this parser, with grep over the documents:
    // 000 `^[^\t]*\t(TCP|UDP)\t` 33; 001 external 18 + internal 28; 002 `^[0-9]+\*? \|` 39;
    // 003 `^[0-9]+\*? [A-Z]` 40; 004 `^\d+\t` 41.
    assert_eq!(checked_rows, 33 + 18 + 28 + 39 + 40 + 41);
}

#[test]
fn generate_all_features_produces_exactly_the_documents_tuples() {
    let Some(dir) = seeds_dir() else { return };
    for pv in versions() {
        let rows = parse_document(&pv.document.file, &seed(&dir, &pv));
        for c in &pv.components {
            // Every tuple of the rows, less the reply halves that no entry opens as a
            // connection of its own.
            let entries: Vec<_> = pv.entries.iter().filter(|e| e.component == c.id).collect();
            let opened: BTreeSet<Tuple> = entries
                .iter()
                .filter(|e| e.other_end_of.is_none())
                .flat_map(|e| &entry_tuples(e) - &reply_tuples(e))
                .collect();
            let replies: BTreeSet<Tuple> = entries.iter().flat_map(|e| reply_tuples(e)).collect();
            let mut want: BTreeSet<Tuple> = rows
                .iter()
                .filter(|r| r.component == c.id)
                .flat_map(|r| r.tuples.iter().copied())
                .filter(|t| opened.contains(t) || !replies.contains(t))
                .collect();
            // A one-direction row read the other way opens the other direction (its cell's
            // tuple is not admitted); the far end of another component's row is admitted here.
            for e in &entries {
                if e.reads_other_way() {
                    want = &(&want - &entry_tuples(e)) | &opened_tuples(e);
                }
                if e.other_end_of.is_some() {
                    want.extend(entry_tuples(e));
                }
            }
            let v = pv.version.to_string();
            let out = crate::util::ok(&[
                "generate",
                "--product",
                &pv.product,
                "--version",
                &v,
                "--component",
                &c.id,
                "--all-features",
                "--backend",
                "json",
            ]);
            let json: serde_json::Value = serde_json::from_str(&out).unwrap();
            let mut got = BTreeSet::new();
            for r in json["rules"].as_array().unwrap() {
                let d: Direction = serde_json::from_value(r["direction"].clone()).unwrap();
                let p: Protocol = serde_json::from_value(r["protocol"].clone()).unwrap();
                for port in r["ports"].as_array().unwrap() {
                    match port {
                        serde_json::Value::Number(n) => {
                            got.insert((d, p, n.as_u64().unwrap() as u16));
                        }
                        other => {
                            let (lo, hi) = other.as_str().unwrap().split_once('-').unwrap();
                            for n in lo.parse::<u16>().unwrap()..=hi.parse().unwrap() {
                                got.insert((d, p, n));
                            }
                        }
                    }
                }
            }
            let missing: Vec<_> = want.difference(&got).collect();
            let extra: Vec<_> = got.difference(&want).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{} {v} {}: missing {missing:?}, in no row {extra:?}",
                pv.product,
                c.id
            );
        }
    }
}

#[test]
fn host_names_and_addresses_are_spelled_as_in_the_document() {
    let Some(dir) = seeds_dir() else { return };
    for pv in versions() {
        let text = seed(&dir, &pv);
        for g in &pv.host_groups {
            for h in &g.hosts {
                assert!(
                    text.contains(h.as_str()),
                    "{} host group `{}`: `{h}` is not in {}",
                    pv.path,
                    g.id,
                    pv.document.file
                );
            }
            let retired = g.retired.iter().flat_map(|r| r.addresses.iter());
            for a in g.addresses.iter().chain(retired) {
                let addr = a.addr().to_string();
                assert!(
                    text.contains(&addr),
                    "{} host group `{}`: address {addr} is not in {}",
                    pv.path,
                    g.id,
                    pv.document.file
                );
            }
            assert!(
                text.lines().count() >= g.source.line,
                "{}: group `{}` cites a line past the end",
                pv.path,
                g.id
            );
        }
    }
}

/// A component that is not a Linux host cites the document's line that says which firewall
/// its table is for, and that line holds the words it quotes.
#[test]
fn component_platforms_cite_their_line() {
    let Some(seeds) = crate::util::seeds_dir() else {
        return;
    };
    let cat = fwgen::catalogue::load_embedded().unwrap();
    let mut windows = 0;
    for p in cat.products.values() {
        for pv in p.versions.values() {
            let text = std::fs::read_to_string(seeds.join(&pv.document.file)).unwrap();
            for c in &pv.components {
                if c.platform == fwgen::model::Platform::Linux {
                    continue;
                }
                let s = c.source.as_ref().expect("a source");
                let line = text.lines().nth(s.line - 1).unwrap_or_default();
                assert!(
                    line.contains(&s.row) && line.contains("Windows"),
                    "{} component `{}`: line {} is {line:?}",
                    pv.path,
                    c.id,
                    s.line
                );
                windows += 1;
            }
        }
    }
    assert_eq!(windows, 1, "the Exchange Server is the one Windows host");
}

/// Issue 28: connections the documents need that the rulesets used to block. Each is admitted
/// with its feature on, by the entry that cites its row, and nothing admits the cell's
/// direction where the row's own words read it the other way.
#[test]
fn connections_the_documents_need_are_admitted() {
    let rules = |args: &[&str]| -> Vec<serde_json::Value> {
        let out = crate::util::ok(&[&["generate", "-b", "json"], args].concat());
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        json["rules"].as_array().unwrap().clone()
    };
    let admits = |rules: &[serde_json::Value], dir: &str, proto: &str, port: u64, entry: &str| {
        rules.iter().any(|r| {
            r["direction"] == dir
                && r["protocol"] == proto
                && r["ports"].as_array().unwrap().iter().any(|p| p == port)
                && r["entries"].as_array().unwrap().iter().any(|e| e == entry)
        })
    };
    // 4.9 SNMP polling (004, line 603): written Out, read In.
    let r = rules(&["-p", "email-gateway", "-V", "4.9", "-F", "snmp"]);
    assert!(admits(&r, "in", "udp", 161, "snmp-inbound"), "{r:?}");
    assert!(!admits(&r, "out", "udp", 161, "snmp-inbound"), "{r:?}");
    let md = crate::util::ok(&[
        "generate",
        "-p",
        "email-gateway",
        "-V",
        "4.9",
        "-F",
        "snmp",
        "-b",
        "markdown",
    ]);
    assert!(
        md.contains("(written Out, read In: The row") && md.contains("line 603"),
        "{md}"
    );
    // Exchange Gateway: peers over 443, outbound too (003, lines 69 and 71).
    let r = rules(&["-p", "exchange-gateway", "-F", "peering"]);
    assert!(
        admits(&r, "out", "tcp", 443, "peer-gateway-https-out"),
        "{r:?}"
    );
    assert!(admits(&r, "in", "tcp", 443, "peer-gateway-https"), "{r:?}");
    // The Exchange Servers' calls to the gateway's web service (003, line 96): always.
    assert!(
        admits(&r, "in", "tcp", 10443, "sxg-web-service-in"),
        "{r:?}"
    );
    // The configuration store (003, line 98): on the gateway only where the site says so.
    assert!(!admits(
        &r,
        "in",
        "tcp",
        23955,
        "sxg-configuration-store-in"
    ));
    let r = rules(&["-p", "exchange-gateway", "-F", "store-on-gateway"]);
    assert!(
        admits(&r, "in", "tcp", 23955, "sxg-configuration-store-in"),
        "{r:?}"
    );
    // The shipped example that binds the store to the gateway turns it on, and binds the
    // Exchange Servers.
    let r = rules(&["--site", "examples/sites/dual-stack.yaml"]);
    assert!(admits(&r, "in", "tcp", 23955, "sxg-configuration-store-in"));
    assert!(admits(&r, "in", "tcp", 10443, "sxg-web-service-in"));
    // 5.3 Cockpit (001, line 122): on by default, for the administrators only.
    let r = rules(&["-p", "email-gateway", "-V", "5.3"]);
    assert!(admits(&r, "in", "tcp", 9090, "cockpit"), "{r:?}");
}
