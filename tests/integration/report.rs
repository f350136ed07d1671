//! Review reports: a self-contained HTML page, rendered by headless Chromium with a
//! screenshot check that the flow diagram is drawn (the Markdown snapshot is in `backends`).

use std::path::Path;
use std::process::Command;

use crate::util::{find_tool, missing, ok};

#[test]
fn html_report_is_self_contained_and_escaped() {
    let html = ok(&["generate", "--site", "examples/site.yaml", "-b", "html"]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    for forbidden in [
        "<script", "<link", "@import", "http://", "https://", "url(http",
    ] {
        assert!(
            !html.contains(forbidden),
            "the page loads something from outside: {forbidden}"
        );
    }
    assert!(html.contains("<svg id=\"flows\""));
    assert!(
        html.contains("Gateway&apos;s Web Interface"),
        "catalogue text is HTML-escaped"
    );
    // A row open to any address cannot be missed: marked row, bold red cell, and the reason.
    // The example site binds every peer, so only SMTP (both directions) is left.
    assert_eq!(html.matches("<tr class=\"any\">").count(), 2, "{html}");
    assert!(html.contains(
        "<td class=\"any\"><strong>ANY ADDRESS: the row names no server (entry `smtp`)</strong></td>"
    ));
    let md = ok(&["generate", "--site", "examples/site.yaml", "-b", "markdown"]);
    assert_eq!(
        md.matches("| **ANY ADDRESS: the row names no server (entry \\`smtp\\`)** |")
            .count(),
        2,
        "{md}"
    );
    assert!(
        md.contains("| Any address | **2 of 12 rules admit any address (document: 2): in tcp 25 (smtp): the row names no server (entry \\`smtp\\`); out tcp 25 (smtp, smtp-alerts): the row names no server (entry \\`smtp\\`)** |"),
        "{md}"
    );
    // Hostile catalogue text stays text.
    let page = review_of_text(
        "<script>alert(1)</script><img src=x onerror=alert(2)>",
        "html",
    );
    assert!(
        !page.contains("<script") && !page.contains("<img"),
        "markup from the catalogue reached the page"
    );
    assert!(page.contains("&lt;script&gt;"));
}

fn chromium() -> Option<std::path::PathBuf> {
    let found = find_tool("chromium").or_else(|| find_tool("chromium-browser"));
    if found.is_none() {
        missing("chromium is not installed (apt-get install chromium)");
    }
    found
}

/// Lay `page` out in headless Chromium `width` pixels wide and read what the measuring
/// script it carries left in `<pre id="measured">`, as JSON.
fn measured_at(browser: &Path, profile: &Path, page: &Path, width: u32) -> serde_json::Value {
    let dom = headless(browser, profile)
        .args([
            &format!("--window-size={width},3000"),
            "--virtual-time-budget=3000",
            "--dump-dom",
            &format!("file://{}", page.display()),
        ])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    let json = dom
        .split("<pre id=\"measured\">")
        .nth(1)
        .and_then(|r| r.split("</pre>").next())
        .unwrap_or_else(|| panic!("no measurement at {width}px in {}", page.display()));
    serde_json::from_str(&json.replace("&quot;", "\"").replace("&amp;", "&")).unwrap()
}

fn headless(browser: &Path, profile: &Path) -> Command {
    let mut c = Command::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
    ])
    .args([
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// RGB pixels of a PNG file.
fn pixels(path: &Path) -> (usize, usize, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    let px = buf[..info.buffer_size()]
        .chunks(step)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    (info.width as usize, info.height as usize, px)
}

/// The example site's HTML review, written into `dir`.
fn example_review(dir: &Path) -> std::path::PathBuf {
    let page = dir.join("review.html");
    ok(&[
        "generate",
        "--site",
        "examples/site.yaml",
        "-b",
        "html",
        "-o",
        page.to_str().unwrap(),
    ]);
    page
}

#[test]
fn html_report_renders_its_diagram_in_headless_chromium() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = example_review(dir.path());
    let url = format!("file://{}", page.display());

    // The DOM Chromium built holds the diagram and the tables.
    let dom = headless(&browser, &dir.path().join("p1"))
        .args(["--dump-dom", &url])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("<svg id=\"flows\""), "no diagram in the DOM");
    assert_eq!(
        dom.matches("class=\"flow in\"").count() + dom.matches("class=\"flow out\"").count(),
        count_flows(&page)
    );
    assert!(dom.contains("<table class=\"rules\">"));
    assert_eq!(
        dom.matches("<tr class=\"any\">").count(),
        2,
        "the SMTP rows are marked as open to any address in the DOM"
    );

    // A screenshot: the gateway box (#1f6feb) and inbound (#2da44e) and outbound (#bf8700)
    // arrows are on screen, in the diagram's place.
    let shot = dir.path().join("review.png");
    let out = headless(&browser, &dir.path().join("p2"))
        .args([
            "--window-size=1200,1400",
            &format!("--screenshot={}", shot.display()),
            &url,
        ])
        .output()
        .unwrap();
    assert!(
        shot.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (w, _h, px) = pixels(&shot);
    let near = |p: &[u8; 3], c: [u8; 3]| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) < 12);
    let count = |c| px.iter().filter(|p| near(p, c)).count();
    let gateway = count([0x1f, 0x6f, 0xeb]);
    assert!(
        gateway > 20_000,
        "the gateway box is not drawn ({gateway} pixels)"
    );
    assert!(count([0x2d, 0xa4, 0x4e]) > 100, "no inbound arrows drawn");
    assert!(count([0xbf, 0x87, 0x00]) > 500, "no outbound arrows drawn");
    // The gateway box sits in the middle third of the page.
    let xs: Vec<usize> = px
        .iter()
        .enumerate()
        .filter(|(_, p)| near(p, [0x1f, 0x6f, 0xeb]))
        .map(|(i, _)| i % w)
        .collect();
    let mean = xs.iter().sum::<usize>() / xs.len();
    assert!(
        w / 3 < mean && mean < 2 * w / 3,
        "gateway box at x={mean} of {w}"
    );
}

fn count_flows(page: &Path) -> usize {
    let html = std::fs::read_to_string(page).unwrap();
    html.matches("<line class=\"flow ").count()
}

/// Catalogue text reaches a Markdown review as text: a real CommonMark renderer
/// (pulldown-cmark, with GitHub's tables and strikethrough) turns the report into HTML
/// without a script, an image, a link or raw markup from the catalogue.
///
/// See: issue "Safe to run as root and in CI", item 11.
#[test]
fn markdown_report_renders_catalogue_text_as_text() {
    let evil = "<script>alert(1)</script> ![x](http://203.0.113.9/x.png) \
                [click](javascript:alert(1)) <img src=x onerror=alert(2)> **bold** `code` | cell ~~s~~ &amp;";
    let md = review_of_text(evil, "markdown");
    let mut opts = pulldown_cmark::Options::empty();
    opts.insert(pulldown_cmark::Options::ENABLE_TABLES);
    opts.insert(pulldown_cmark::Options::ENABLE_STRIKETHROUGH);
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new_ext(&md, opts));
    for markup in [
        "<script",
        "<img",
        "href=",
        "<strong>bold",
        "<code>code",
        "<del>",
    ] {
        assert!(
            !html.contains(markup),
            "`{markup}` reached the rendered review:\n{html}"
        );
    }
    // The text itself is all there, as text.
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("[click](javascript:alert(1))"), "{html}");
    // A `|` in the text does not add a table cell: every row of a table has as many cells
    // as its header (7 for connections, 2 for the summary and the approval block).
    for table in html.split("<table>").skip(1) {
        let table = table.split("</table>").next().unwrap_or_default();
        let mut widths = table.split("<tr>").skip(1).map(|row| {
            let row = row.split("</tr>").next().unwrap_or_default();
            row.matches("<td").count() + row.matches("<th").count()
        });
        let header = widths.next().unwrap();
        assert!(header == 7 || header == 2, "{table}");
        assert!(widths.all(|w| w == header), "{table}");
    }
}

/// The review (`backend`) of the text-template catalogue with `text` in every text field.
fn review_of_text(text: &str, backend: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let tpl = std::fs::read_to_string("tests/fixtures/catalogue/text-template.yaml").unwrap();
    std::fs::write(
        dir.path().join("c.yaml"),
        tpl.replace("@TEXT@", &serde_json::to_string(text).unwrap())
            .replace("@HOST1@", "\"a.example\"")
            .replace("@HOST2@", "\"b.example\""),
    )
    .unwrap();
    ok(&[
        "--catalogue",
        dir.path().join("c.yaml").to_str().unwrap(),
        "generate",
        "-p",
        "text-gateway",
        "-b",
        backend,
    ])
}

/// A catalogue made to stress the diagram: ids of the longest length allowed, host names,
/// and entries with many ports in both directions, so that every label is long.
fn long_labels_catalogue(dir: &Path) -> String {
    let role = "a-role-with-the-longest-id-a-catalogue-may-write";
    let group = "a-group-with-the-longest-id-catalogues-may-write";
    assert_eq!((role.len(), group.len()), (48, 48));
    let ports: Vec<String> = (0..40).map(|i| (1000 + i * 7).to_string()).collect();
    let ports = ports.join(", ");
    let mut entries = String::new();
    for (i, (peer, dirs)) in [
        (format!("{{role: {role}}}"), "[in]"),
        (format!("{{role: {role}}}"), "[out]"),
        (format!("{{group: {group}}}"), "[out]"),
        (format!("{{group: {group}}}"), "[in]"),
        ("{role: r2}".to_string(), "[in]"),
        ("any".to_string(), "[in]"),
    ]
    .into_iter()
    .enumerate()
    {
        entries.push_str(&format!(
            "  - id: e{i}\n    description: entry {i}\n    protocols: [tcp, udp]\n    ports: [{ports}]\n    directions: {dirs}\n    peer: {peer}\n    source: {{section: s, row: r, line: 1}}\n"
        ));
    }
    let text = format!(
        "product: long-labels\ntitle: Long labels\nversion: \"1\"\ndocument: {{file: none.txt, title: t}}\ncomponents:\n  - id: a-component-whose-id-is-as-long-as-an-id-can-be\n    description: c\nroles:\n  - {{id: {role}, description: r}}\n  - {{id: r2, description: r}}\nhost_groups:\n  - id: {group}\n    description: g\n    hosts: [a-very-long-host-name.of-a-service.example.com, b.example]\n    address_source: not-given\n    source: {{section: s, row: r, line: 1}}\nentries:\n{entries}"
    );
    let path = dir.join("long.yaml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Measures, in the page as Chromium lays it out, every label of the diagram against its
/// box: a peer's label inside the peer's box, the host's inside the host's, a flow's label
/// clear of every box; and nothing wider than the window. The test adds this script to a
/// copy of the page (the review itself has none) and reads the result from the DOM.
const MEASURE: &str = r#"<script>
(function () {
  const problems = [];
  const svg = document.getElementById('flows');
  const box = (e) => e.getBoundingClientRect();
  const inside = (b, r) => b.left >= r.left - 0.5 && b.right <= r.right + 0.5 && b.top >= r.top - 0.5 && b.bottom <= r.bottom + 0.5;
  const apart = (b, r) => b.right <= r.left || b.left >= r.right || b.bottom <= r.top || b.top >= r.bottom;
  const rects = [...svg.querySelectorAll('rect.peer')];
  const labels = [...svg.querySelectorAll('text.plabel')];
  if (rects.length !== labels.length || rects.length === 0) problems.push('rects ' + rects.length + ' labels ' + labels.length);
  labels.forEach((t, i) => { if (!inside(box(t), box(rects[i]))) problems.push('peer label ' + t.textContent + ' leaves its box'); });
  const gw = svg.querySelector('rect.gateway');
  const gl = svg.querySelector('text.gwlabel');
  if (!inside(box(gl), box(gw))) problems.push('host label ' + gl.textContent + ' leaves its box');
  const flows = [...svg.querySelectorAll('text.flabel')];
  flows.forEach((t) => {
    [gw, ...rects].forEach((r) => { if (!apart(box(t), box(r))) problems.push('flow label ' + t.textContent + ' overlaps a box'); });
    if (!inside(box(t), box(svg))) problems.push('flow label ' + t.textContent + ' leaves the drawing');
  });
  if (document.documentElement.scrollWidth > window.innerWidth) problems.push('page is ' + document.documentElement.scrollWidth + ' wide in a ' + window.innerWidth + ' window');
  const pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify({problems: problems, peers: labels.length, flows: flows.length, width: window.innerWidth});
  document.body.appendChild(pre);
})();
</script>"#;

/// Pixels of the peer label colour (#0a3069) without a peer box's fill on both sides, on
/// their own row, within a box's width: label text outside its box.
fn label_pixels_outside_boxes(shot: &Path, scale: f64) -> (usize, Vec<(usize, usize)>) {
    let (w, _h, px) = pixels(shot);
    let near = |p: &[u8; 3], c: [u8; 3], tol: u8| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) < tol);
    // A box's inside: its fill (grey-blue, or pink for a peer open to any address).
    let border = |p: &[u8; 3]| near(p, [0xee, 0xf2, 0xf7], 6) || near(p, [0xff, 0xf1, 0xf0], 6);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let reach = (262.0 * scale).ceil() as usize;
    // The diagram's rows: from a little above the host's box to a little below it.
    let host: Vec<usize> = px
        .iter()
        .enumerate()
        .filter(|(_, p)| near(p, [0x1f, 0x6f, 0xeb], 12))
        .map(|(i, _)| i / w)
        .collect();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let margin = (40.0 * scale).ceil() as usize;
    let first = host
        .iter()
        .min()
        .copied()
        .unwrap_or(0)
        .saturating_sub(margin);
    let last = host.iter().max().copied().unwrap_or(0) + margin;
    let (mut label, mut outside) = (0, Vec::new());
    for (i, p) in px.iter().enumerate() {
        if !(first..=last).contains(&(i / w)) {
            continue;
        }
        // Ink of the label colour, anti-aliased against the box or the page (no other colour
        // of the page has this blue: not the host's box, the arrows or the body text).
        let [r, g, b] = *p;
        let ink = r < 80 && g > r + 10 && b > g + 30 && b < 200;
        // An arrowhead (#444) blended into the edge of the host's box looks the same.
        let at_host = (i.saturating_sub(2)..=i + 2)
            .any(|k| px.get(k).is_some_and(|q| near(q, [0x1f, 0x6f, 0xeb], 12)));
        if !ink || at_host {
            continue;
        }
        label += 1;
        let (x, row) = (i % w, i - i % w);
        let left = (x.saturating_sub(reach)..x)
            .rev()
            .any(|k| px.get(row + k).is_some_and(border));
        let right = (x + 1..(x + reach).min(w)).any(|k| px.get(row + k).is_some_and(border));
        if !(left && right) {
            outside.push((x, i / w));
        }
    }
    (label, outside)
}

/// Issue "Your own products, site-local rules, and a review an approver can sign": long port
/// labels overflowed their boxes and were cut. At 700 and 1400 pixels, Chromium's own layout
/// puts every label inside its box, and a screenshot shows no label text outside a box.
#[test]
fn review_labels_never_overflow_their_boxes_at_700_and_1400_pixels() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cat = long_labels_catalogue(dir.path());
    let mut pages = Vec::new();
    for (name, args) in [
        (
            "long",
            vec!["--catalogue", cat.as_str(), "generate", "-p", "long-labels"],
        ),
        ("example", vec!["generate", "--site", "examples/site.yaml"]),
    ] {
        let page = dir.path().join(format!("{name}.html"));
        let mut all = args.clone();
        all.extend(["-b", "html", "-o", page.to_str().unwrap()]);
        ok(&all);
        pages.push(page);
    }
    for page in &pages {
        let html = std::fs::read_to_string(page).unwrap();
        // Wrapped, never cut: the last of the 40 ports is in the label.
        assert!(!html.contains('…'), "a label is cut");
        assert!(
            !page.ends_with("long.html") || html.contains("1266,1273</tspan>"),
            "{html}"
        );
        let measured = page.with_extension("measure.html");
        std::fs::write(
            &measured,
            html.replace("</body>", &format!("{MEASURE}</body>")),
        )
        .unwrap();
        for width in [700, 1400] {
            let profile = dir.path().join(format!("p{width}"));
            let v = measured_at(&browser, &profile, &measured, width);
            assert_eq!(
                v["problems"],
                serde_json::json!([]),
                "{} at {width}px",
                page.display()
            );
            assert!(
                v["peers"].as_u64().unwrap() >= 2 && v["flows"].as_u64().unwrap() >= 2,
                "{v}"
            );

            // The screenshot, looked at: label pixels sit inside boxes.
            let shot = dir.path().join(format!("shot{width}.png"));
            headless(&browser, &dir.path().join(format!("s{width}")))
                .args([
                    &format!("--window-size={width},3000"),
                    "--hide-scrollbars",
                    &format!("--screenshot={}", shot.display()),
                    &format!("file://{}", page.display()),
                ])
                .output()
                .unwrap();
            // The drawing is 1100 units wide, scaled to the page's width (less the margins).
            let scale = (f64::from(width) - 48.0).min(1100.0) / 1100.0;
            let (label, outside) = label_pixels_outside_boxes(&shot, scale);
            assert!(
                label > 200,
                "no peer labels drawn at {width}px ({label} pixels)"
            );
            assert!(
                outside.is_empty(),
                "{} of {label} label pixels outside a box at {width}px ({}), at (x, y) {:?}",
                outside.len(),
                page.display(),
                outside.iter().take(10).collect::<Vec<_>>()
            );
        }
    }
}

/// The review printed to PDF by headless Chromium (the README's command), turned into PNG
/// pages by pdftoppm and looked at: A4, the change record's parts in order, the approval
/// block on the first page, and the flow diagram whole on one page.
#[test]
fn review_prints_to_a_pdf_that_renders() {
    let Some(browser) = chromium() else { return };
    let tools: Vec<_> = ["pdftoppm", "pdfinfo", "pdftotext"]
        .iter()
        .map(|t| find_tool(t))
        .collect();
    if tools.iter().any(Option::is_none) {
        missing("poppler-utils (pdftoppm, pdfinfo, pdftotext) is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = example_review(dir.path());
    let pdf = dir.path().join("review.pdf");
    let out = headless(&browser, &dir.path().join("p"))
        .args([
            "--no-pdf-header-footer",
            &format!("--print-to-pdf={}", pdf.display()),
        ])
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        pdf.is_file(),
        "no PDF: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = Command::new("pdfinfo").arg(&pdf).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("(A4)"), "{info}");
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    assert!(pages >= 2, "{info}");
    let text = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    let first = text.split('\u{c}').next().unwrap();
    for part in [
        "Change record",
        "Summary",
        "Any address",
        "Approval",
        "Approved by",
        "Signature",
    ] {
        assert!(first.contains(part), "page 1 lacks {part}:\n{first}");
    }
    assert!(!text.contains("Do not edit"), "{text}");
    let order: Vec<usize> = [
        "Summary",
        "Approval",
        "Flows",
        "Inbound",
        "Outbound",
        "Provenance",
    ]
    .iter()
    .map(|h| text.find(h).unwrap_or_else(|| panic!("no {h}")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    // Every page as a picture: the host's box (#1f6feb) of the diagram is drawn, on one page
    // only (the diagram is not split).
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "50"])
        .arg(&pdf)
        .arg(dir.path().join("page"))
        .status()
        .unwrap();
    assert!(status.success());
    let mut with_host = Vec::new();
    for n in 1..=pages {
        let png = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                let name = p.file_name().unwrap().to_string_lossy().to_string();
                name.starts_with("page-")
                    && name
                        .trim_end_matches(".png")
                        .rsplit('-')
                        .next()
                        .and_then(|d| d.parse::<usize>().ok())
                        == Some(n)
            })
            .unwrap();
        let (_w, _h, px) = pixels(&png);
        let blue = px
            .iter()
            .filter(|p| {
                p.iter()
                    .zip([0x1f, 0x6f, 0xeb])
                    .all(|(a, b): (&u8, u8)| a.abs_diff(b) < 12)
            })
            .count();
        if blue > 0 {
            with_host.push((n, blue));
        }
    }
    assert_eq!(
        with_host.len(),
        1,
        "the diagram's host box on pages {with_host:?}"
    );
    assert!(with_host[0].1 > 2_000, "{with_host:?}");
}

/// Issue "A new user's first hour", item 7: an address in the review's table is never split
/// over two lines (`198.51.100.1` over `61/32`); the summary names the document by its title
/// and file, and where the addresses came from. Chromium lays the page out at 400 and 900
/// pixels and counts the lines of every address.
#[test]
fn review_addresses_are_never_split_and_the_summary_names_the_document() {
    let md = ok(&[
        "generate",
        "--site",
        "examples/sites/small-icap.yaml",
        "-b",
        "markdown",
    ]);
    assert!(
        md.contains("| Document | Clearswift SECURE ICAP Gateway v4.8, Ports and Protocols"),
        "{md}"
    );
    assert!(
        md.contains("| Addresses from | lock: small-icap.lock"),
        "{md}"
    );
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = example_review(dir.path());
    let html = std::fs::read_to_string(&page).unwrap();
    let measure = r#"<script>
(function () {
  const spans = [...document.querySelectorAll('span.addr')];
  const split = spans.filter((s) => s.getClientRects().length !== 1).map((s) => s.textContent);
  const pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify({split: split, addresses: spans.length});
  document.body.appendChild(pre);
})();
</script>"#;
    let measured = dir.path().join("measure.html");
    std::fs::write(
        &measured,
        html.replace("</body>", &format!("{measure}</body>")),
    )
    .unwrap();
    for width in [400, 900] {
        let profile = dir.path().join(format!("p{width}"));
        let v = measured_at(&browser, &profile, &measured, width);
        assert!(v["addresses"].as_u64().unwrap() > 10, "{v}");
        assert_eq!(v["split"], serde_json::json!([]), "at {width}px: {v}");
    }
}
