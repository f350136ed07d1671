//! `--backend markdown` and `--backend html`: the selected connections as a review report
//! for a change-approval ticket.
//!
//! Connections are grouped by direction, then by the feature that needs them (always-required
//! first), with protocol, ports, peer, bound addresses, entry id and the source document row.
//! The HTML page is self-contained (inline CSS and SVG, no scripts, no external fonts) and
//! draws the flows: the gateway in the middle, internal peers (roles) on the left, external
//! peers (host groups, any address) on the right, one arrow per peer and direction.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::model::{Direction, PortSet, Protocol};
use crate::ruleset::{Meta, Remote, Ruleset, Selected};

use super::RenderOptions;
use super::comment::xml_escape as html;
use super::comment::{header_lines, visible};

pub const MARKDOWN: super::Description = super::Description {
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
    forwarder: None,
    render: |rules, opts| super::Rendered::file(markdown(rules, opts)),
    previous: None,
};

pub const HTML: super::Description = super::Description {
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
        None => e.description.clone(),
    };
    [
        e.id.clone(),
        protocols(&e.protocols),
        e.ports.to_string(),
        visible(&peer),
        visible(&addresses),
        visible(&description),
        visible(&e.source),
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

/// Catalogue or site text as literal Markdown: every character that could start markup
/// (raw HTML, an image that fetches a URL, a link, emphasis, a code span, a table cell
/// break) is backslash-escaped, as CommonMark allows for any ASCII punctuation, and line
/// breaks become spaces. What a renderer shows is the text, never markup from the input.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            c if super::comment::is_invisible(c) => {}
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '!' | '|' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

pub fn markdown(rules: &Ruleset, opts: &RenderOptions) -> String {
    let m = &rules.meta;
    let mut s = format!(
        "# Firewall review: {} {} ({})\n\n",
        md(&m.title),
        m.version,
        m.component
    );
    for l in header_lines(rules, opts) {
        let _ = writeln!(s, "- {}", md(&l));
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
                if e.any.is_some()
                    && let Some(cell) = rest.get_mut(ADDRESSES - 1)
                {
                    // Bold, so that a reviewer cannot miss a rule open to the world.
                    *cell = format!("**{cell}**");
                }
                let _ = writeln!(s, "| `{id}` | {} |", rest.join(" | "));
            }
            s.push('\n');
        }
    }
    s
}

/// A peer node of the diagram.
struct Node {
    label: String,
    internal: bool,
    /// (direction, protocol, ports) of the flows to and from it.
    flows: BTreeMap<Direction, Vec<(Protocol, PortSet)>>,
}

fn nodes(rules: &Ruleset) -> Vec<Node> {
    let mut by_peer: BTreeMap<(bool, String), Node> = BTreeMap::new();
    for e in &rules.selected {
        let key = (!e.internal, e.peer.clone());
        let node = by_peer.entry(key).or_insert_with(|| Node {
            label: e.peer.clone(),
            internal: e.internal,
            flows: BTreeMap::new(),
        });
        for &d in &e.directions {
            for &p in &e.protocols {
                node.flows.entry(d).or_default().push((p, e.ports.clone()));
            }
        }
    }
    by_peer.into_values().collect()
}

fn flow_label(flows: &[(Protocol, PortSet)]) -> String {
    let mut by_proto: BTreeMap<Protocol, PortSet> = BTreeMap::new();
    for (p, ports) in flows {
        let e = by_proto.entry(*p).or_default();
        *e = e.union(ports);
    }
    let mut s = by_proto
        .iter()
        .map(|(p, ports)| format!("{p} {ports}"))
        .collect::<Vec<_>>()
        .join("; ");
    if s.len() > 38 {
        s.truncate(s.char_indices().nth(35).map_or(s.len(), |(i, _)| i));
        s.push('…');
    }
    s
}

/// The flow diagram as inline SVG.
fn diagram(rules: &Ruleset) -> String {
    let nodes = nodes(rules);
    let left: Vec<&Node> = nodes.iter().filter(|n| n.internal).collect();
    let right: Vec<&Node> = nodes.iter().filter(|n| !n.internal).collect();
    let rows = left.len().max(right.len()).max(1);
    let (w, row_h, top) = (1100, 64, 40);
    let h = top * 2 + rows * row_h;
    let (gx, gw, gy, gh) = (470, 160, top, rows * row_h - 16);
    let mut s = format!(
        "<svg id=\"flows\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"connection diagram\">\n"
    );
    s.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#444\"/></marker></defs>\n");
    let _ = writeln!(
        s,
        "<text x=\"110\" y=\"24\" class=\"col\">internal</text><text x=\"880\" y=\"24\" class=\"col\">external</text>"
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"24\" class=\"legend\" text-anchor=\"middle\"><tspan fill=\"#2da44e\">&#8594; to {host}</tspan>   <tspan fill=\"#bf8700\">&#8594; from {host}</tspan></text>",
        w / 2,
        host = html(&rules.meta.host())
    );
    let _ = writeln!(
        s,
        "<rect class=\"gateway\" x=\"{gx}\" y=\"{gy}\" width=\"{gw}\" height=\"{gh}\" rx=\"10\" fill=\"#1f6feb\"/><text x=\"{}\" y=\"{}\" class=\"gwlabel\" text-anchor=\"middle\">{}</text>",
        gx + gw / 2,
        gy + gh / 2,
        html(&rules.meta.component)
    );
    for (side, list) in [(true, &left), (false, &right)] {
        for (i, n) in list.iter().enumerate() {
            let y = top + i * row_h + 8;
            let (bx, bw) = if side { (20, 300) } else { (780, 300) };
            let _ = writeln!(
                s,
                "<rect class=\"peer\" x=\"{bx}\" y=\"{y}\" width=\"{bw}\" height=\"40\" rx=\"6\" fill=\"#eef2f7\" stroke=\"#8893a0\"/>"
            );
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" class=\"plabel\">{}</text>",
                bx + 10,
                y + 25,
                html(&n.label)
            );
            let (peer_x, gw_x) = if side { (bx + bw, gx) } else { (bx, gx + gw) };
            for (k, (dir, flows)) in n.flows.iter().enumerate() {
                let ly = y + 12 + k * 16;
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
                let tx = (peer_x + gw_x) / 2;
                let _ = writeln!(
                    s,
                    "<text x=\"{tx}\" y=\"{}\" class=\"flabel\" text-anchor=\"middle\">{}</text>",
                    ly - 3,
                    html(&flow_label(flows))
                );
            }
        }
    }
    s.push_str("</svg>\n");
    s
}

const STYLE: &str = "body{font-family:sans-serif;margin:24px;color:#1f2328}table{border-collapse:collapse;margin:8px 0 20px}\
th,td{border:1px solid #d0d7de;padding:4px 8px;font-size:13px;text-align:left;vertical-align:top}th{background:#f6f8fa}\
code{font-family:monospace}.col{font-size:14px;font-weight:bold;fill:#57606a}.gwlabel{font-size:16px;fill:#fff;font-weight:bold}\
.plabel{font-size:13px;fill:#1f2328}.flabel{font-size:11px;fill:#1f2328}.legend{font-size:12px;font-weight:bold}ul.meta{font-size:13px;color:#57606a}\
tr.any td{background:#fff1f0}td.any{color:#a40e26}";

pub fn html_page(rules: &Ruleset, opts: &RenderOptions) -> String {
    let m = &rules.meta;
    let title = format!(
        "Firewall review: {} {} ({})",
        m.title, m.version, m.component
    );
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n<ul class=\"meta\">\n",
        html(&title),
        html(&title)
    );
    for l in header_lines(rules, opts) {
        let _ = writeln!(s, "<li>{}</li>", html(&l));
    }
    s.push_str("</ul>\n<h2>Flows</h2>\n");
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
                "<table>\n<tr><th>{}</th></tr>",
                COLUMNS.join("</th><th>")
            );
            for e in entries {
                let [id, rest @ ..] = cells(e);
                let cells: Vec<String> = rest
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        if i == ADDRESSES - 1 && e.any.is_some() {
                            format!("<td class=\"any\"><strong>{}</strong></td>", html(c))
                        } else {
                            format!("<td>{}</td>", html(c))
                        }
                    })
                    .collect();
                let _ = writeln!(
                    s,
                    "<tr{}><td><code>{}</code></td>{}</tr>",
                    if e.any.is_some() {
                        " class=\"any\""
                    } else {
                        ""
                    },
                    html(&id),
                    cells.concat()
                );
            }
            s.push_str("</table>\n");
        }
    }
    s.push_str("</body>\n</html>\n");
    s
}
