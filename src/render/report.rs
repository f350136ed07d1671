//! `--backend markdown` and `--backend html`: the selected connections as a change record an
//! approver can sign.
//!
//! First a summary (what the ruleset is for, rules, peers, the rules open to any address and
//! why, site overrides and additions), then the warnings, set apart, and an approval block
//! left blank to fill in. Then the connections, grouped by direction and by the feature that
//! needs them (always-required first), with protocol, ports (a site's port beside the
//! vendor's), peer, bound addresses, entry id and the source row (a site addition's line in
//! the site file). Provenance (catalogue and site digests) closes the record.
//!
//! The HTML page is self-contained (inline CSS and SVG, no scripts, no external fonts), prints
//! on A4 (a print stylesheet) and draws the flows: the host in the middle, internal peers
//! (roles) on the left, external peers (host groups, any address) on the right, one arrow per
//! peer and direction. Labels are wrapped to their boxes in a monospace font, whose width is
//! known, so none overflows; peers open to any address are drawn in red.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::model::{Direction, Protocol, Service};
use crate::ruleset::{Meta, Remote, Ruleset, Selected};

use super::RenderOptions;
use super::comment::header_lines;
use crate::text::xml_escape as html;
use crate::text::{markdown as md, visible};

/// Where a site changed a port, a column other than addresses is marked.
const PORTS: usize = 2;

pub(super) const MARKDOWN: super::Description = super::Description {
    name: "markdown",
    kind: super::Kind::Review,
    shape: super::Shape::File,
    file_name: "review.md",
    placements: super::ANY_PLACEMENT,
    placement_note: "",
    needs_gateway: false,
    host_platforms: super::ALL_PLATFORMS,
    replaces_policy: false,
    comment_max: None,
    never_emits: &[],
    names_note: None,
    icmp: super::IcmpSyntax::Numbers,
    forwarder: None,
    render: |rules, opts| super::Rendered::file(markdown(rules, opts)),
    previous: None,
    check: None,
};

pub(super) const HTML: super::Description = super::Description {
    name: "html",
    file_name: "review.html",
    render: |rules, opts| super::Rendered::file(html_page(rules, opts)),
    ..MARKDOWN
};

fn remote_text(r: &Remote) -> String {
    match r {
        Remote::Any => "any".to_string(),
        Remote::Addresses(a) => a
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        Remote::Names(groups) => format!(
            "resolved at run time ({})",
            groups.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
    }
}

fn protocols(p: &[Protocol]) -> String {
    p.iter().map(|p| p.as_str()).collect::<Vec<_>>().join("/")
}

/// The cells of one entry's row, unescaped: entry, protocol, ports, peer, addresses,
/// description, source. Each format escapes them its own way.
fn cells(e: &Selected) -> [String; 7] {
    let peer = if e.hosts.is_empty() {
        e.peer.clone()
    } else {
        format!("{} ({})", e.peer, e.hosts.join(", "))
    };
    let addresses = match &e.any {
        None => remote_text(&e.remote),
        Some(why) => match &e.remote {
            Remote::Any => format!("ANY ADDRESS: {why}"),
            r => format!("ANY ADDRESS ({}): {why}", remote_text(r)),
        },
    };
    let description = match e.reply {
        Some(d) => format!(
            "{} (written {}: the {} half is the reply, admitted as established traffic)",
            e.description,
            e.written,
            if d == Direction::In { "In" } else { "Out" }
        ),
        None => match e.read_as() {
            Some((read, reading)) => format!(
                "{} (written {}, read {read}: {reading})",
                e.description, e.written
            ),
            None => e.description.clone(),
        },
    };
    let ports = match &e.vendor_ports {
        Some((vendor, line)) => {
            format!(
                "{} (site file line {line}; the vendor's: {vendor})",
                Service::cell(&e.services)
            )
        }
        None => Service::cell(&e.services),
    };
    let source = if e.site_addition {
        format!("SITE ADDITION: {}", e.source)
    } else {
        e.source.clone()
    };
    [
        e.id.clone(),
        protocols(&Service::protocols(&e.services)),
        ports,
        visible(&peer),
        visible(&addresses),
        visible(&description),
        visible(&source),
    ]
}

/// The index of the addresses column, which is marked when it admits any address.
const ADDRESSES: usize = 4;

const COLUMNS: [&str; 7] = [
    "entry",
    "protocol",
    "ports",
    "peer",
    "addresses",
    "description",
    "source",
];

/// Entries that one feature (`None`: always required) needs.
type ByFeature<'a> = Vec<(Option<String>, Vec<&'a Selected>)>;

/// Selected entries by direction, then by feature (`None` = always required first).
fn groups(rules: &Ruleset) -> Vec<(Direction, ByFeature<'_>)> {
    let mut out = Vec::new();
    for dir in [Direction::In, Direction::Out] {
        let mut by_feature: BTreeMap<Option<String>, Vec<&Selected>> = BTreeMap::new();
        for s in rules
            .selected
            .iter()
            .filter(|s| s.directions.contains(&dir))
        {
            by_feature.entry(s.feature.clone()).or_default().push(s);
        }
        out.push((dir, by_feature.into_iter().collect()));
    }
    out
}

fn direction_title(d: Direction, m: &Meta) -> String {
    match d {
        Direction::In => format!("Inbound: connections to {}", m.host()),
        Direction::Out => format!("Outbound: connections from {}", m.host()),
    }
}

fn feature_title(f: &Option<String>) -> String {
    match f {
        None => "Always required".to_string(),
        Some(f) => format!("Feature {f}"),
    }
}

/// `none`, or a count and the items.
fn counted(v: &[String]) -> String {
    if v.is_empty() {
        "none".to_string()
    } else {
        format!("{}: {}", v.len(), v.join("; "))
    }
}

/// The site's changes to the vendor's rows: port overrides and own entries.
fn site_changes(rules: &Ruleset) -> (String, String) {
    let overrides: Vec<String> = rules
        .selected
        .iter()
        .filter_map(|e| {
            e.vendor_ports.as_ref().map(|(v, line)| {
                format!(
                    "{}: ports {} instead of the vendor's {v} (site file line {line})",
                    e.id,
                    Service::cell(&e.services)
                )
            })
        })
        .collect();
    let additions: Vec<String> = rules
        .meta
        .site_entries
        .iter()
        .map(|e| format!("{} (site file line {})", e.id, e.line))
        .collect();
    (counted(&overrides), counted(&additions))
}

/// The facts of the summary, unescaped: (label, value) pairs.
fn summary(rules: &Ruleset, opts: &RenderOptions) -> Vec<(&'static str, String)> {
    let m = &rules.meta;
    let gateway: Vec<String> = rules.gateway.iter().map(ToString::to_string).collect();
    let placement = match opts.placement {
        super::Placement::Perimeter => format!("a firewall in front of {}", m.host()),
        super::Placement::Host => format!("the own firewall of {}", m.host()),
    };
    let host = if gateway.is_empty() {
        "no own address given".to_string()
    } else {
        gateway.join(", ")
    };
    let nodes = nodes(rules);
    let internal = nodes.iter().filter(|n| n.internal).count();
    let any_rules: Vec<String> = super::comment::any_lines(rules)
        .into_iter()
        .skip(1)
        .map(|l| l.trim_start_matches("any address: ").to_string())
        .collect();
    let (overrides, additions) = site_changes(rules);
    let any = if any_rules.is_empty() {
        rules.any_summary()
    } else {
        format!("{}: {}", rules.any_summary(), any_rules.join("; "))
    };
    let warnings = if rules.warnings.is_empty() {
        "none".to_string()
    } else {
        format!("{} (below)", rules.warnings.len())
    };
    vec![
        (
            "Ruleset",
            format!("{placement} ({}), {host}", opts.placement.name()),
        ),
        (
            "Product",
            format!(
                "{} {}, component {} ({})",
                m.title, m.version, m.component, m.component_description
            ),
        ),
        ("Document", format!("{} ({})", m.document_title, m.document)),
        (
            "Addresses from",
            if m.names.is_empty() {
                "the site file (no lock file, no ip-ranges file, no names the firewall follows)"
                    .to_string()
            } else {
                m.names.join("; ")
            },
        ),
        (
            "Features",
            if m.features.is_empty() {
                "none".to_string()
            } else {
                m.features.join(", ")
            },
        ),
        (
            "Rules",
            format!(
                "{} rules from {} entries, to and from {} peers ({internal} internal, {} external)",
                rules.rules.len(),
                rules.selected.len(),
                nodes.len(),
                nodes.len() - internal
            ),
        ),
        ("Any address", any),
        ("Site overrides", overrides),
        ("Site additions", additions),
        ("Warnings", warnings),
    ]
}

/// Whether a summary line must stand out: rules open to any address, or warnings.
fn alarming(label: &str, rules: &Ruleset) -> bool {
    match label {
        "Any address" => rules.any_rules().next().is_some(),
        "Warnings" => !rules.warnings.is_empty(),
        _ => false,
    }
}

/// The approval block's fields, left blank.
const APPROVAL: [&str; 5] = [
    "Change id",
    "Requested by",
    "Approved by",
    "Date",
    "Signature",
];

/// The provenance lines: the header of the rulesets without the lines the summary and
/// warnings show.
fn provenance(rules: &Ruleset, opts: &RenderOptions) -> Vec<String> {
    let mut lines = vec![format!(
        "Generated by fwgen {} from the catalogue and the site file below: to change it, change them and regenerate.",
        env!("CARGO_PKG_VERSION")
    )];
    lines.extend(header_lines(rules, opts).into_iter().skip(1).filter(|l| {
        !l.starts_with("warning: ")
            && !l.starts_with("any address: ")
            && !l.starts_with("site additions")
    }));
    lines
}

fn title(m: &Meta) -> String {
    format!(
        "Change record: firewall rules for {} {} ({})",
        m.title, m.version, m.component
    )
}

pub(super) fn markdown(rules: &Ruleset, opts: &RenderOptions) -> String {
    let m = &rules.meta;
    let mut s = format!("# {}\n\n## Summary\n\n| | |\n|---|---|\n", md(&title(m)));
    for (k, v) in summary(rules, opts) {
        let v = md(&visible(&v));
        let v = if alarming(k, rules) {
            format!("**{v}**")
        } else {
            v
        };
        let _ = writeln!(s, "| {k} | {v} |");
    }
    s.push('\n');
    if !rules.warnings.is_empty() {
        s.push_str("## Warnings\n\n");
        for w in &rules.warnings {
            let _ = writeln!(s, "> **Warning:** {}\n>", md(&visible(w)));
        }
        s.push('\n');
    }
    s.push_str("## Approval\n\n| | |\n|---|---|\n");
    for field in APPROVAL {
        let _ = writeln!(s, "| {field} | |");
    }
    s.push('\n');
    for (dir, features) in groups(rules) {
        let _ = writeln!(s, "## {}\n", direction_title(dir, &rules.meta));
        if features.is_empty() {
            s.push_str("None.\n\n");
        }
        for (feature, entries) in features {
            let _ = writeln!(s, "### {}\n", feature_title(&feature));
            let _ = writeln!(
                s,
                "| {} |\n|{}",
                COLUMNS.join(" | "),
                "---|".repeat(COLUMNS.len())
            );
            for e in entries {
                let [id, rest @ ..] = cells(e);
                let mut rest: Vec<String> = rest.iter().map(|c| md(c)).collect();
                // Bold, so that a reviewer cannot miss a rule open to the world, a port the
                // site changed or a rule the vendor does not ask for.
                for (marked, column) in [
                    (e.any.is_some(), ADDRESSES),
                    (e.vendor_ports.is_some(), PORTS),
                    (e.site_addition, COLUMNS.len() - 1),
                ] {
                    if let Some(cell) = rest.get_mut(column - 1).filter(|_| marked) {
                        *cell = format!("**{cell}**");
                    }
                }
                let _ = writeln!(s, "| `{id}` | {} |", rest.join(" | "));
            }
            s.push('\n');
        }
    }
    let baseline = super::baseline::rows(rules, opts);
    if !baseline.is_empty() {
        s.push_str(&format!(
            "## Host baseline\n\nWhat {} admits besides the entries, in this order:\n\n| traffic | inbound | outbound |\n|---|---|---|\n",
            md(&rules.meta.host())
        ));
        for [what, inbound, outbound] in &baseline {
            let _ = writeln!(s, "| {} | {} | {} |", md(what), md(inbound), md(outbound));
        }
        s.push('\n');
    }
    s.push_str("## Provenance\n\n");
    for l in provenance(rules, opts) {
        let _ = writeln!(s, "- {}", md(&l));
    }
    s
}

/// A peer node of the diagram.
struct Node {
    label: String,
    internal: bool,
    /// Some rule to or from it admits any address.
    any: bool,
    /// (direction, protocol, ports) of the flows to and from it.
    flows: BTreeMap<Direction, Vec<Service>>,
}

fn nodes(rules: &Ruleset) -> Vec<Node> {
    let mut by_peer: BTreeMap<(bool, String), Node> = BTreeMap::new();
    for e in &rules.selected {
        let key = (!e.internal, e.peer.clone());
        let node = by_peer.entry(key).or_insert_with(|| Node {
            label: e.peer.clone(),
            internal: e.internal,
            any: false,
            flows: BTreeMap::new(),
        });
        node.any |= e.any.is_some();
        for &d in &e.directions {
            node.flows
                .entry(d)
                .or_default()
                .extend(e.services.iter().cloned());
        }
    }
    by_peer.into_values().collect()
}

/// `tcp 25, 587; udp 53; icmp echo-request`: the whole label, never cut (it is wrapped to
/// its space instead).
fn flow_label(flows: &[Service]) -> String {
    let mut by_proto: BTreeMap<Protocol, Service> = BTreeMap::new();
    for s in flows {
        match by_proto.get_mut(&s.protocol()) {
            Some(e) => {
                e.absorb(s);
                e.normalize();
            }
            None => {
                by_proto.insert(s.protocol(), s.clone());
            }
        }
    }
    by_proto
        .values()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// `text` in lines of at most `max` characters, broken after a space, comma, semicolon or
/// hyphen where it can be and inside a word where it cannot.
fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    // Words with their trailing separator.
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        word.push(c);
        if matches!(c, ' ' | ',' | ';' | '-' | '/') {
            words.push(std::mem::take(&mut word));
        }
    }
    words.push(word);
    for w in words.into_iter().filter(|w| !w.is_empty()) {
        if line.chars().count() + w.trim_end().chars().count() > max && !line.is_empty() {
            lines.push(line.trim_end().to_string());
            line.clear();
        }
        for c in w.chars() {
            if line.chars().count() >= max && c != ' ' {
                lines.push(line.trim_end().to_string());
                line.clear();
            }
            if !(line.is_empty() && c == ' ') {
                line.push(c);
            }
        }
    }
    if !line.trim().is_empty() || lines.is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// Diagram geometry, in SVG units (the page scales the whole drawing to its width). Labels
/// are set in a monospace font: a character is at most `CHAR_EM` of the font size wide, so a
/// line of `n` characters fits `n * CHAR_EM * size` units.
const CHAR_EM: f64 = 0.62;
const W: usize = 1100;
const PEER_W: usize = 260;
const LEFT_X: usize = 20;
const RIGHT_X: usize = W - 20 - PEER_W;
const GW_W: usize = 160;
const GW_X: usize = (W - GW_W) / 2;
const PAD: usize = 10;
const PEER_FONT: usize = 13;
const FLOW_FONT: usize = 11;
const GW_FONT: usize = 14;

/// How many characters of a `size` font fit `width` units.
fn fits(width: usize, size: usize) -> usize {
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let n = (width as f64 / (CHAR_EM * size as f64)).floor() as usize;
    n.max(1)
}

/// SVG text lines, one `<tspan>` per line, starting at `y` with `step` between lines.
fn tspans(lines: &[String], x: usize, y: usize, step: usize) -> String {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            format!(
                "<tspan x=\"{x}\" y=\"{}\">{}</tspan>",
                y + i * step,
                html(l)
            )
        })
        .collect()
}

/// One peer's row: its box, label and flows, starting at `y`; returns the SVG and the row's
/// height.
fn peer_row(n: &Node, y: usize) -> (String, usize) {
    let (bx, peer_x, gw_x) = if n.internal {
        (LEFT_X, LEFT_X + PEER_W, GW_X)
    } else {
        (RIGHT_X, RIGHT_X, GW_X + GW_W)
    };
    let mut label = wrap(&n.label, fits(PEER_W - 2 * PAD, PEER_FONT));
    if n.any {
        label.push("ANY ADDRESS".to_string());
    }
    let label_h = label.len() * 16 + 14;
    // Each direction's label lines sit above its arrow.
    let gap = gw_x.abs_diff(peer_x);
    let flows: Vec<(Direction, Vec<String>)> = n
        .flows
        .iter()
        .map(|(d, f)| (*d, wrap(&flow_label(f), fits(gap - 2 * PAD, FLOW_FONT))))
        .collect();
    let flows_h: usize = flows.iter().map(|(_, l)| l.len() * 13 + 12).sum::<usize>() + 6;
    let h = label_h.max(flows_h).max(40);
    let mut s = String::new();
    let (fill, stroke, width) = if n.any {
        ("#fff1f0", "#cf222e", 3)
    } else {
        ("#eef2f7", "#8893a0", 1)
    };
    let _ = writeln!(
        s,
        "<rect class=\"peer{}\" x=\"{bx}\" y=\"{y}\" width=\"{PEER_W}\" height=\"{h}\" rx=\"6\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{width}\"/>",
        if n.any { " any" } else { "" }
    );
    let _ = writeln!(
        s,
        "<text class=\"plabel\">{}</text>",
        tspans(&label, bx + PAD, y + 20, 16)
    );
    let mut ly = y + 6;
    for (dir, lines) in &flows {
        let tx = peer_x.min(gw_x) + PAD;
        let _ = writeln!(
            s,
            "<text class=\"flabel\">{}</text>",
            tspans(lines, tx, ly + 10, 13)
        );
        ly += lines.len() * 13 + 4;
        let (x1, x2) = match dir {
            Direction::In => (peer_x, gw_x),
            Direction::Out => (gw_x, peer_x),
        };
        let _ = writeln!(
            s,
            "<line class=\"flow {}\" x1=\"{x1}\" y1=\"{ly}\" x2=\"{x2}\" y2=\"{ly}\" stroke=\"{}\" stroke-width=\"2\" marker-end=\"url(#arrow)\"/>",
            dir.as_str(),
            if *dir == Direction::In {
                "#2da44e"
            } else {
                "#bf8700"
            }
        );
        ly += 8;
    }
    (s, h)
}

/// The flow diagram as inline SVG.
fn diagram(rules: &Ruleset) -> String {
    let nodes = nodes(rules);
    let top = 40;
    let mut rows = String::new();
    let (mut y_left, mut y_right) = (top, top);
    for n in &nodes {
        let y = if n.internal {
            &mut y_left
        } else {
            &mut y_right
        };
        let (svg, h) = peer_row(n, *y);
        rows.push_str(&svg);
        *y += h + 16;
    }
    let bottom = y_left.max(y_right).max(top + 60);
    let h = bottom + 20;
    let gh = bottom - top - 16;
    let mut s = format!(
        "<svg id=\"flows\" viewBox=\"0 0 {W} {h}\" role=\"img\" aria-label=\"connection diagram\">\n"
    );
    s.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#444\"/></marker></defs>\n");
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"24\" class=\"col\">internal</text><text x=\"{}\" y=\"24\" class=\"col\">external</text>",
        LEFT_X + PAD,
        RIGHT_X + PAD
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"24\" class=\"legend\" text-anchor=\"middle\"><tspan fill=\"#2da44e\">&#8594; to {host}</tspan>   <tspan fill=\"#bf8700\">&#8594; from {host}</tspan></text>",
        W / 2,
        host = html(&rules.meta.host())
    );
    let gw_label = wrap(&rules.meta.component, fits(GW_W - 2 * PAD, GW_FONT));
    let _ = writeln!(
        s,
        "<rect class=\"gateway\" x=\"{GW_X}\" y=\"{top}\" width=\"{GW_W}\" height=\"{gh}\" rx=\"10\" fill=\"#1f6feb\"/><text class=\"gwlabel\">{}</text>",
        tspans(&gw_label, GW_X + PAD, top + gh / 2, 18)
    );
    s.push_str(&rows);
    s.push_str("</svg>\n");
    s
}

/// Monospace fonts whose characters are 0.6em wide or less (DejaVu Sans Mono, Menlo 0.602;
/// Liberation Mono, Courier New 0.6; Consolas 0.55): within [`CHAR_EM`].
const MONO: &str = "'DejaVu Sans Mono',Menlo,Consolas,'Liberation Mono','Courier New',monospace";

const STYLE: &str = "body{font-family:sans-serif;margin:24px;color:#1f2328;max-width:1200px}table{border-collapse:collapse;margin:8px 0 20px}\
th,td{border:1px solid #d0d7de;padding:4px 8px;font-size:13px;text-align:left;vertical-align:top;overflow-wrap:break-word}th{background:#f6f8fa}\
table.rules td:nth-child(1),table.rules td:nth-child(3),table.rules td:nth-child(4),table.rules td:nth-child(7){overflow-wrap:anywhere}.addr{white-space:nowrap}\
table.rules td:nth-child(1){min-width:5em}table.rules td:nth-child(4){min-width:6em}table.rules td:nth-child(5),table.rules td:nth-child(7){min-width:7em}\
table.rules td:nth-child(6){min-width:5em}table.rules td:nth-child(3){min-width:3em}table.rules td:nth-child(2){white-space:nowrap}\
code{font-family:monospace}svg#flows{width:100%;max-width:1100px;height:auto;display:block}\
.col{font-size:14px;font-weight:bold;fill:#57606a}.gwlabel{font-family:MONO;font-size:14px;fill:#fff;font-weight:bold}\
.plabel{font-family:MONO;font-size:13px;fill:#0a3069}.flabel{font-family:MONO;font-size:11px;fill:#5a32a3}.legend{font-size:12px;font-weight:bold}\
table.summary th{width:10em}table.summary td{overflow-wrap:anywhere}table.approval td{width:28em;height:2.2em}table.approval th{width:10em}\
div.warning{border:2px solid #bf8700;background:#fff8c5;padding:6px 12px;margin:6px 0;font-size:14px}\
tr.any td{background:#fff1f0}td.any{color:#a40e26}td.site{background:#ddf4ff}ul.provenance{font-size:12px;color:#57606a}\
@media print{body{margin:0;max-width:none}@page{size:A4;margin:14mm}h2,h3{break-after:avoid}tr,div.warning,table.approval,svg#flows{break-inside:avoid}\
table.approval{break-before:auto}a{color:inherit}}";

pub(super) fn html_page(rules: &Ruleset, opts: &RenderOptions) -> String {
    let m = &rules.meta;
    let title = title(m);
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width\">\n<title>{}</title>\n<style>{style}</style>\n</head>\n<body>\n<h1>{}</h1>\n<h2>Summary</h2>\n<table class=\"summary\">\n",
        html(&title),
        html(&title),
        style = STYLE.replace("MONO", MONO)
    );
    for (k, v) in summary(rules, opts) {
        let alert = alarming(k, rules);
        let _ = writeln!(
            s,
            "<tr><th>{k}</th><td{}>{}</td></tr>",
            if alert { " class=\"any\"" } else { "" },
            html(&visible(&v))
        );
    }
    s.push_str("</table>\n");
    if !rules.warnings.is_empty() {
        s.push_str("<h2>Warnings</h2>\n");
        for w in &rules.warnings {
            let _ = writeln!(
                s,
                "<div class=\"warning\"><strong>Warning:</strong> {}</div>",
                html(&visible(w))
            );
        }
    }
    s.push_str("<h2>Approval</h2>\n<table class=\"approval\">\n");
    for field in APPROVAL {
        let _ = writeln!(s, "<tr><th>{field}</th><td></td></tr>");
    }
    s.push_str("</table>\n<h2>Flows</h2>\n");
    s.push_str(&diagram(rules));
    for (dir, features) in groups(rules) {
        let _ = writeln!(s, "<h2>{}</h2>", direction_title(dir, &rules.meta));
        if features.is_empty() {
            s.push_str("<p>None.</p>\n");
        }
        for (feature, entries) in features {
            let _ = writeln!(s, "<h3>{}</h3>", html(&feature_title(&feature)));
            let _ = writeln!(
                s,
                "<table class=\"rules\">\n<tr><th>{}</th></tr>",
                COLUMNS.join("</th><th>")
            );
            for e in entries {
                s.push_str(&html_row(e));
            }
            s.push_str("</table>\n");
        }
    }
    let baseline = super::baseline::rows(rules, opts);
    if !baseline.is_empty() {
        let _ = writeln!(
            s,
            "<h2>Host baseline</h2>\n<p>What {} admits besides the entries, in this order:</p>\n<table class=\"rules\">\n<tr><th>traffic</th><th>inbound</th><th>outbound</th></tr>",
            html(&rules.meta.host())
        );
        for [what, inbound, outbound] in &baseline {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                html(what),
                html(inbound),
                html(outbound)
            );
        }
        s.push_str("</table>\n");
    }
    s.push_str("<h2>Provenance</h2>\n<ul class=\"provenance\">\n");
    for l in provenance(rules, opts) {
        let _ = writeln!(s, "<li>{}</li>", html(&l));
    }
    s.push_str("</ul>\n</body>\n</html>\n");
    s
}

/// One entry's table row: a row open to any address, a port the site changed and a site
/// addition are marked.
/// An addresses cell with each address in a span that never breaks (`198.51.100.161/32` is
/// never split over two lines); lines break only between addresses.
fn address_spans(cell: &str) -> String {
    cell.split(", ")
        .map(|a| {
            if a.parse::<ipnet::IpNet>().is_ok() {
                format!("<span class=\"addr\">{}</span>", html(a))
            } else {
                html(a)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn html_row(e: &Selected) -> String {
    let [id, rest @ ..] = cells(e);
    let cells: Vec<String> = rest
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let column = i + 1;
            if column == ADDRESSES && e.any.is_some() {
                format!("<td class=\"any\"><strong>{}</strong></td>", html(c))
            } else if column == ADDRESSES {
                format!("<td>{}</td>", address_spans(c))
            } else if (column == PORTS && e.vendor_ports.is_some())
                || (column == COLUMNS.len() - 1 && e.site_addition)
            {
                format!("<td class=\"site\"><strong>{}</strong></td>", html(c))
            } else {
                format!("<td>{}</td>", html(c))
            }
        })
        .collect();
    format!(
        "<tr{}><td><code>{}</code></td>{}</tr>\n",
        if e.any.is_some() {
            " class=\"any\""
        } else {
            ""
        },
        html(&id),
        cells.concat()
    )
}
