//! Text from the catalogue can never break out of a comment or add a rule: descriptions,
//! notes, titles and host names full of quotes, newlines, `;`, braces, `#`, `-j ACCEPT` and
//! 10,000-character strings give output that the real tools accept and that holds exactly the
//! same rules as with plain text.

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use crate::tools::generate_into;
use crate::util::have_tools;

pub(crate) const HOSTILE: &[&str] = &[
    "x\" ; accept\ntcp dport 1-65535 accept comment \"y",
    "a'b\\c\r\n-A INPUT -j ACCEPT\n# not a comment\n}\n} table inet evil { chain c { accept } }",
    "-j ACCEPT -m comment --comment \"\u{7}\u{1b}[31m\u{0}tab\there",
    "日本語の説明 {;} # \" ' \\",
    // Dashes end XML comments: `--` may not appear in one, `---` hides a second `--`.
    "a---b ---- c --> d -",
    // Bidirectional overrides and zero-width characters make text read otherwise.
    "allow \u{202E}lla\u{2066}x\u{2069}\u{200B}\u{FEFF}y",
];

fn long() -> String {
    "\"{;}#-j ACCEPT\n".repeat(10_000 / 15 + 1)
}

/// Write the template with `text` and host names into `dir/catalogue.yaml`.
pub(crate) fn catalogue(dir: &Path, text: &str, host1: &str, host2: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar, escapes included.
    let q = |s: &str| serde_json::to_string(s).unwrap();
    let tpl = std::fs::read_to_string("tests/fixtures/catalogue/text-template.yaml").unwrap();
    let yaml = tpl
        .replace("@TEXT@", &q(text))
        .replace("@HOST1@", &q(host1))
        .replace("@HOST2@", &q(host2));
    let path = dir.join("catalogue.yaml");
    std::fs::write(&path, yaml).unwrap();
    path.to_str().unwrap().to_string()
}

/// The output with every comment removed: what remains are the rules. For firewalld XML,
/// the header comment and the `<short>`/`<description>` elements go too; Cisco names lose
/// their generation (which the remarks are part of).
pub fn rules_only(text: &str) -> String {
    let text = &crate::cisco::without_generations(text);
    let mut out = String::new();
    let mut in_xml_comment = false;
    for line in text.lines().filter(|l| {
        !l.trim_start().starts_with('#')
            && !l.starts_with('!')
            && !l.contains(" remark ")
            // An Aerleon policy's comments (YAML, quoted).
            && !l.trim_start().starts_with("comment: \"")
            // The Windows Firewall script's texts (checked by the PowerShell grammar).
            && !l.starts_with("    -DisplayName '")
            && !l.starts_with("    -Description '")
    }) {
        if line.starts_with("<!--") {
            in_xml_comment = true;
        }
        if in_xml_comment {
            in_xml_comment = !line.starts_with("-->");
            continue;
        }
        if line.contains("<short>") || line.contains("<description>") {
            continue;
        }
        let mut l = line.to_string();
        for marker in [
            "-m comment --comment \"",
            "comment \"",
            "log prefix \"",
            "--log-prefix \"",
        ] {
            while let Some(i) = l.find(marker) {
                let rest = &l[i + marker.len()..];
                let end = rest.find('"').expect("a closed comment");
                l = format!("{}{}", &l[..i], &rest[end + 1..]);
            }
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// Every file below `dir` with its text, sorted by path relative to `dir` (but fwgen's list
/// of them, `.fwgen.files`).
pub fn all_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if !p.ends_with(fwgen::output::OWNED_LIST) {
                let text = std::fs::read_to_string(&p).unwrap();
                out.push((p.strip_prefix(dir).unwrap().to_path_buf(), text));
            }
        }
    }
    out.sort();
    out
}

/// Generate from a catalogue built with `text` and host names; return the output directory.
fn generate(
    backend: &str,
    placement: &str,
    text: &str,
    h1: &str,
    h2: &str,
) -> (tempfile::TempDir, tempfile::TempDir) {
    let cat_dir = tempfile::tempdir().unwrap();
    let cat = catalogue(cat_dir.path(), text, h1, h2);
    let out = tempfile::tempdir().unwrap();
    // The gateway runs Linux; backends for other hosts' own firewalls (Windows) take the
    // catalogue's Windows host.
    let p = fwgen::render::Placement::from_str(placement, false).unwrap();
    let component = if crate::util::description(backend).fits(p, fwgen::model::Platform::Linux) {
        "gateway"
    } else {
        "windows-host"
    };
    let args = [
        "--catalogue",
        &cat,
        "generate",
        "-p",
        "text-gateway",
        "-c",
        component,
        "-b",
        backend,
        "--placement",
        placement,
    ];
    generate_into(
        out.path(),
        &[&args[..], &["--gateway", "192.0.2.1", "--log-drops"]].concat(),
    );
    (cat_dir, out)
}

#[test]
fn hostile_text_changes_no_rule_and_passes_the_real_tools() {
    let tools = have_tools(&[crate::tools::LOADERS, &["firewall-offline-cmd"]].concat());
    let long = long();
    let mut cases: Vec<(String, String, String)> = HOSTILE
        .iter()
        .map(|t| (t.to_string(), format!("h1{t}"), format!("{t}.example")))
        .collect();
    cases.push((long.clone(), long.clone(), format!("{long}.example")));
    for backend in crate::util::backends(fwgen::render::Kind::Firewall) {
        let d = crate::util::description(backend);
        for placement in ["perimeter", "host"] {
            if !crate::util::supports(backend, placement) {
                continue;
            }
            let (_c, plain_dir) = generate(
                backend,
                placement,
                "plain text",
                "one.example",
                "two.example",
            );
            let plain = all_files(plain_dir.path());
            for (text, h1, h2) in &cases {
                let (_c, dir) = generate(backend, placement, text, h1, h2);
                let got = all_files(dir.path());
                assert_eq!(
                    got.len(),
                    plain.len(),
                    "{backend} {placement}: different files"
                );
                for ((path, g), (_, p)) in got.iter().zip(&plain) {
                    let what = format!("{backend} {placement} {}", path.display());
                    assert_eq!(
                        rules_only(g),
                        rules_only(p),
                        "{what}: hostile text changed the rules"
                    );
                    assert!(
                        g.lines().all(|l| l.len() < 2_000),
                        "{what}: a 10,000-character string leaked into a line"
                    );
                    assert!(
                        !g.chars().any(invisible),
                        "{what}: a bidirectional or zero-width character reached the output"
                    );
                    // Every comment (Cisco: remark) within the backend's limit, without
                    // the characters it must never emit.
                    for c in comments(g) {
                        assert!(
                            d.comment_max.is_none_or(|max| c.len() <= max)
                                && !c.contains(d.never_emits)
                                && !c.starts_with('!'),
                            "{what}: comment {c}"
                        );
                    }
                }
                if tools {
                    crate::tools::check_with_real_tools(dir.path());
                }
                // PowerShell's grammar is a library: always at hand.
                let ps1 = dir.path().join("windows-firewall.ps1");
                if ps1.exists() {
                    let plain_script = crate::powershell::check_file(
                        &plain_dir.path().join("windows-firewall.ps1"),
                    );
                    let script = crate::powershell::check_file(&ps1);
                    assert_eq!(
                        crate::powershell::script_rules(&script),
                        crate::powershell::script_rules(&plain_script),
                        "hostile text changed the Windows rules"
                    );
                }
            }
        }
    }
}

/// The comments of one output file: nft and iptables `comment "…"`, Cisco ` remark …`.
fn comments(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for l in text.lines() {
        if let Some((_, r)) = l.split_once(" remark ") {
            out.push(r);
        }
        for (i, _) in l.match_indices("comment \"") {
            let rest = &l[i + 9..];
            out.push(&rest[..rest.find('"').unwrap_or(rest.len())]);
        }
    }
    out
}

/// Bidirectional controls, zero-width characters and the BOM (see issue "Safe to run as root
/// and in CI", weak points): text that reads differently from what it is.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

#[test]
fn reviews_carry_no_invisible_characters() {
    for backend in ["markdown", "html"] {
        for text in HOSTILE {
            let (_c, dir) = generate(backend, "perimeter", text, "a.example", "b.example");
            for (path, g) in all_files(dir.path()) {
                assert!(
                    !g.chars().any(invisible),
                    "{backend} {}: an invisible character reached the review",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn comments_stay_within_the_tools_limits() {
    let dir = tempfile::tempdir().unwrap();
    let long = long();
    let cat = catalogue(dir.path(), &long, &long, &format!("{long}.example"));
    for backend in ["nftables", "iptables"] {
        let out = tempfile::tempdir().unwrap();
        let files = generate_into(
            out.path(),
            &[
                "--catalogue",
                &cat,
                "generate",
                "-p",
                "text-gateway",
                "-b",
                backend,
                "--placement",
                "host",
            ],
        );
        // `ipsets` holds addresses only: no comment to check.
        for f in files.into_iter().filter(|f| !f.ends_with("ipsets")) {
            let text = std::fs::read_to_string(&f).unwrap();
            let limit = crate::util::description(backend).comment_max.unwrap();
            let mut seen = 0;
            for (i, _) in text.match_indices("comment \"") {
                let rest = &text[i + 9..];
                let c = &rest[..rest.find('"').unwrap()];
                assert!(
                    c.len() <= limit,
                    "{} comment of {} bytes: {c}",
                    f.display(),
                    c.len()
                );
                seen += 1;
            }
            assert!(seen > 0);
        }
    }
}

/// Issue 25, defect 6: every Markdown writer (the review, `diff`, `audit`) escapes text from
/// outside with the one escaper, so no element, attribute or link reaches the rendered HTML
/// that fwgen's own template did not put there. Each writer is given `text` in every field
/// it shows (catalogue text, version labels, an audited rule's comment and chain name) and a
/// plain `x`; CommonMark with every extension pulldown-cmark has must give the same tags
/// for both, and no HTML, math or footnote at all.
mod markdown {
    use proptest::prelude::*;
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

    use crate::properties::q;
    use crate::util::fwgen;

    /// The structure of a Markdown text: its tags in order (text left out), and what it
    /// should never hold.
    fn structure(md: &str) -> (Vec<String>, Vec<String>) {
        let mut tags = Vec::new();
        let mut bad = Vec::new();
        for e in Parser::new_ext(md, Options::all()) {
            match e {
                Event::Start(t @ (Tag::Link { .. } | Tag::Image { .. })) => {
                    bad.push(format!("{t:?}"));
                }
                Event::Start(Tag::HtmlBlock) => bad.push("html block".into()),
                Event::Start(t) => tags.push(format!("{:?}", std::mem::discriminant(&t))),
                Event::End(TagEnd::HtmlBlock) => {}
                Event::End(t) => tags.push(format!("end {t:?}")),
                Event::Html(h) | Event::InlineHtml(h) => bad.push(format!("html {h}")),
                Event::InlineMath(m) | Event::DisplayMath(m) => bad.push(format!("math {m}")),
                Event::FootnoteReference(f) => bad.push(format!("footnote {f}")),
                Event::TaskListMarker(_) => bad.push("task list marker".into()),
                _ => {}
            }
        }
        (tags, bad)
    }

    /// A product in two versions, `text` in every text field and in the second version's
    /// label: e1 changes its port, e2 goes, e3 comes.
    fn catalogue(dir: &std::path::Path, text: &str) -> String {
        let t = q(text);
        let entry = |id: &str, port: u16| {
            format!(
                "  - {{id: {id}, description: {t}, protocols: [tcp], ports: [{port}], directions: [in], peer: {{role: r1}}, notes: {t}, source: {{section: {t}, row: {t}, line: 1}}}}\n"
            )
        };
        for (file, version, entries) in [
            ("v1.yaml", q("1"), entry("e1", 443) + &entry("e2", 25)),
            (
                "v2.yaml",
                q(&version2(text)),
                entry("e1", 8443) + &entry("e3", 22),
            ),
        ] {
            std::fs::write(
                dir.join(file),
                format!(
                    "product: mdp\ntitle: {t}\nversion: {version}\ndocument: {{file: {t}, title: {t}}}\nnotes: [{t}]\ncomponents: [{{id: gateway, description: {t}}}]\nroles: [{{id: r1, description: {t}}}]\nentries:\n{entries}"
                ),
            )
            .unwrap();
        }
        dir.to_str().unwrap().to_string()
    }

    /// The second version's label: `2` and `text` without whitespace (a label has none).
    fn version2(text: &str) -> String {
        format!("2{}", text.split_whitespace().collect::<String>())
    }

    /// An audited ruleset whose chain name and accepting rule's comment hold `text`.
    fn dump(text: &str) -> String {
        let chain = format!("c{text}");
        serde_json::json!({"nftables": [
            {"table": {"family": "inet", "name": "t"}},
            {"chain": {"family": "inet", "table": "t", "name": chain, "type": "filter",
                       "hook": "input", "prio": 0, "policy": "drop"}},
            {"rule": {"family": "inet", "table": "t", "chain": chain, "comment": text, "expr": [
                {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                           "right": 1344}},
                {"accept": null}]}},
        ]})
        .to_string()
    }

    /// The three Markdown outputs for `text`.
    fn outputs(text: &str) -> Vec<(&'static str, String)> {
        let dir = tempfile::tempdir().unwrap();
        let cat = catalogue(dir.path(), text);
        let dump_path = dir.path().join("dump.json");
        std::fs::write(&dump_path, dump(text)).unwrap();
        let version2 = version2(text);
        let runs: Vec<(&'static str, Vec<&str>)> = vec![
            (
                "review",
                vec![
                    "--catalogue",
                    &cat,
                    "generate",
                    "-p",
                    "mdp",
                    "-V",
                    "1",
                    "-b",
                    "markdown",
                ],
            ),
            (
                "diff",
                vec![
                    "--catalogue",
                    &cat,
                    "diff",
                    "--product",
                    "mdp",
                    "--from",
                    "1",
                    "--to",
                    &version2,
                    "--format",
                    "markdown",
                ],
            ),
            (
                "audit",
                vec![
                    "audit",
                    "--site",
                    "tests/fixtures/sites/live-icap.yaml",
                    "--placement",
                    "host",
                    "--format",
                    "markdown",
                    "--ruleset",
                    dump_path.to_str().unwrap(),
                ],
            ),
        ];
        runs.into_iter()
            .map(|(what, args)| {
                let r = fwgen(&args);
                assert!(r.code == 0 || r.code == 1, "{what} {args:?}: {}", r.stderr);
                (what, r.stdout)
            })
            .collect()
    }

    fn check(text: &str) -> Result<(), TestCaseError> {
        let plain = outputs("x");
        for ((what, md), (_, plain_md)) in outputs(text).into_iter().zip(plain) {
            let (tags, bad) = structure(&md);
            let (plain_tags, plain_bad) = structure(&plain_md);
            prop_assert!(
                plain_bad.is_empty(),
                "{what}: the template itself: {plain_bad:?}"
            );
            prop_assert!(bad.is_empty(), "{what}: {bad:?} from {text:?}\n{md}");
            prop_assert_eq!(tags, plain_tags, "{}: {:?}\n{}", what, text, md);
        }
        Ok(())
    }

    /// The reproduction's texts: raw HTML, an image that runs script, a script link.
    #[test]
    fn the_reproduction_s_markup_stays_text() {
        for text in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[x](javascript:alert(1))",
            "![i](http://a.example/i.png)",
            "# heading\n- item\n1. one\n---\n> quote",
            "$x^2$ ^sup^ ~sub~ [^1] - [ ] task <http://a.example>",
        ] {
            check(text).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn markdown_outputs_hold_no_markup_from_their_input(
            text in prop_oneof![
                any::<String>(),
                "[ a-z0-9<>\\[\\]()!*_`#|~&$^:/=\"'.\n+-]{0,40}",
            ]
        ) {
            check(&text)?;
        }
    }
}
