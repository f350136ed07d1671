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
        "<td class=\"any\"><strong>ANY ADDRESS: the document says any address (entry `smtp`)</strong></td>"
    ));
    let md = ok(&["generate", "--site", "examples/site.yaml", "-b", "markdown"]);
    assert_eq!(
        md.matches("| **ANY ADDRESS: the document says any address (entry \\`smtp\\`)** |")
            .count(),
        2,
        "{md}"
    );
    assert!(md.contains("- any address: 2 of 12 rules admit any address (document: 2)"));
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

#[test]
fn html_report_renders_its_diagram_in_headless_chromium() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("review.html");
    ok(&[
        "generate",
        "--site",
        "examples/site.yaml",
        "-b",
        "html",
        "-o",
        page.to_str().unwrap(),
    ]);
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
    assert!(dom.contains("<table>"));
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
    // A `|` in the text does not add a table cell: every row of a table has 7 cells.
    for row in html.split("<tr>").skip(1) {
        let row = row.split("</tr>").next().unwrap_or_default();
        let cells = row.matches("<td").count() + row.matches("<th>").count();
        assert_eq!(cells, 7, "{row}");
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
