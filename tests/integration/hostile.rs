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
