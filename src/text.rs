//! Text from outside (catalogue and site files, audited rulesets, DNS answers) on its way
//! into an output: one function per output grammar, each the only escaper of that grammar.
//!
//! The bottom of the house: it uses nothing of fwgen, and every writer uses it. A grammar's
//! escaper is proved against that grammar's real parser in the tests (nft and iptables for
//! comments, XML and HTML parsers, `pulldown-cmark` for Markdown, PowerShell's grammar for
//! literals).

/// Keep printable characters except `"`, `'`, `` ` `` and `\`; turn other whitespace into
/// spaces and drop control characters; squeeze spaces; cut to at most `max_bytes` bytes.
pub fn sanitize(text: &str, max_bytes: usize) -> String {
    flatten(text, max_bytes, &['"', '\'', '`', '\\'])
}

/// A comment of an Aerleon policy, which Aerleon copies into thirty syntaxes, several of
/// which it does not escape (Junos and SRX `/* */` blocks, where braces and `*/` end the
/// comment or the configuration): ASCII letters, digits, spaces and `.,:()_+=@&%-#!?` only,
/// `'` dropped (`Gateway's` reads `Gateways`, as `sanitize` writes it), every other character
/// a space; one line of at most `max_bytes` bytes.
pub fn aerleon_comment(text: &str, max_bytes: usize) -> String {
    let safe: String = text
        .chars()
        .filter(|c| *c != '\'')
        .map(|c| {
            if c.is_ascii_alphanumeric() || " .,:()_+=@&%-#!?".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    flatten(&safe, max_bytes, &[])
}

/// One line of printable text: whitespace becomes single spaces, control characters and
/// `drop` go, and the result is cut on a character boundary to at most `max_bytes` bytes.
/// For formats that escape quotes themselves (XML), `drop` is empty.
pub fn flatten(text: &str, max_bytes: usize, drop: &[char]) -> String {
    if already_flat(text, max_bytes, drop) {
        return text.to_string();
    }
    flatten_chars(text, max_bytes, drop)
}

/// Whether [`flatten`] would give `text` back as it is: printable ASCII, no space first, last
/// or after another, none of `drop`, short enough. Most text is (every header line a build
/// writes): one look at each byte instead of a character's every test (a small build spent
/// 0.14 M of its 4.3 M instructions flattening header lines).
fn already_flat(text: &str, max_bytes: usize, drop: &[char]) -> bool {
    let b = text.as_bytes();
    if b.len() > max_bytes || b.first() == Some(&b' ') || b.last() == Some(&b' ') {
        return false;
    }
    let mut prev = 0u8;
    b.iter().all(|&c| {
        let plain = (b' '..=b'~').contains(&c)
            && !(c == b' ' && prev == b' ')
            && !drop.contains(&char::from(c));
        prev = c;
        plain
    })
}

/// [`flatten`], a character at a time.
fn flatten_chars(text: &str, max_bytes: usize, drop: &[char]) -> String {
    let mut out = String::with_capacity(text.len().min(max_bytes));
    for c in text.chars() {
        let c = match c {
            c if drop.contains(&c) || is_invisible(c) => continue,
            c if c.is_whitespace() => ' ',
            c if c.is_control() => continue,
            c => c,
        };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        if out.len() + c.len_utf8() > max_bytes {
            break;
        }
        out.push(c);
    }
    out.trim_end().to_string()
}

/// A name from a live system shown in a message as it is: line breaks, quotes and other
/// control characters as Rust escapes them (`\n`, `\"`), on one line of at most `max_bytes`
/// bytes.
pub fn escaped(text: &str, max_bytes: usize) -> String {
    flatten(&text.escape_debug().to_string(), max_bytes, &[])
}

/// Characters that change how text reads without showing themselves: bidirectional
/// overrides and isolates (which can make a comment read differently from what it is, as in
/// "Trojan Source"), zero-width spaces and joiners, and the byte-order mark.
pub fn is_invisible(c: char) -> bool {
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

/// `text` without invisible characters (see [`is_invisible`]), for formats that escape the
/// rest themselves (the reviews).
pub fn visible(text: &str) -> String {
    text.chars().filter(|c| !is_invisible(*c)).collect()
}

/// Lines of text from a live system (a ruleset's listing) kept as lines for a terminal:
/// newlines and tabs stay; other control characters (escape sequences) and invisible ones go.
pub fn terminal_lines(text: &str) -> String {
    text.chars()
        .filter(|c| matches!(c, '\n' | '\t') || !(c.is_control() || is_invisible(*c)))
        .collect()
}

/// XML-escape text for an element or attribute; drop characters XML 1.0 cannot hold.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' || is_invisible(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Text as literal Markdown, for a table cell, a list item, a heading or a paragraph: one
/// line (whitespace squeezed, invisible and control characters dropped) in which every
/// character that could start inline markup (raw HTML and autolinks `<`, links and images
/// `[`/`]`, emphasis `*`/`_`, code spans, strikethrough and subscript `~`, math `$`,
/// superscript `^`, a table cell break `|`, an entity `&`, a heading `#`, a backslash) is
/// backslash-escaped, as CommonMark allows for any ASCII punctuation, and so is a block
/// marker at its start (a block quote `>`, a list item `-`/`+`, an ordered item `1.`/`1)`
/// before a space), which would open a block where the text starts one. What a renderer
/// shows is the text, never markup from the input; ordinary punctuation (`.`, `-`, `:`,
/// `/`, `(`) stays as it is, so addresses and versions read plainly.
pub fn markdown(text: &str) -> String {
    let line = flatten(text, usize::MAX, &[]);
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len() + 8);
    let digits = chars.iter().take_while(|c| c.is_ascii_digit()).count();
    for (i, &c) in chars.iter().enumerate() {
        let next_is_space = chars.get(i + 1).is_none_or(|n| *n == ' ');
        let block_start = (i == 0 && matches!(c, '>' | '-' | '+'))
            || (i == digits && i > 0 && matches!(c, '.' | ')') && next_is_space);
        let inline = matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '|' | '~' | '&' | '#' | '$' | '^'
        );
        if block_start || inline {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `text` as a single-quoted PowerShell literal: one line of printable ASCII (other
/// characters become `?`, whitespace a space), `'` doubled, at most `max` bytes between the
/// quotes (cut before a character, never inside a doubled quote).
pub fn powershell_literal(text: &str, max: usize) -> String {
    let line = ascii(&flatten(text, usize::MAX, &[]));
    let mut out = String::with_capacity(line.len().min(max) + 2);
    out.push('\'');
    for c in line.chars() {
        let quoted = if c == '\'' { 2 } else { 1 };
        if out.len() - 1 + quoted > max {
            break;
        }
        out.push(c);
        if c == '\'' {
            out.push('\'');
        }
    }
    out.push('\'');
    out
}

/// `text` as a YAML double-quoted scalar that reads back exactly: printable ASCII as it is
/// (`"` and `\` escaped), every other character as `\uXXXX` or `\UXXXXXXXX`, which YAML
/// reads whatever the character (control and non-characters included).
pub fn yaml_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if u32::from(c) <= 0xffff => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.extend(char::from_digit(u32::from(b >> 4), 16));
        out.extend(char::from_digit(u32::from(b & 15), 16));
    }
    out
}

/// True when `bytes` start like a file fwgen generated: every output names fwgen in its
/// first lines (`Generated by fwgen`, or JSON's `"generator": "fwgen …"`).
pub fn written_by_fwgen(bytes: &[u8]) -> bool {
    let head = bytes.get(..4096).unwrap_or(bytes);
    let head = String::from_utf8_lossy(head);
    head.contains("Generated by fwgen") || head.contains("\"generator\": \"fwgen ")
}

/// Printable ASCII only: every other character becomes `?`.
pub fn ascii(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortcut gives what the character-by-character path gives, on text made of the
    /// characters that matter (spaces, tabs, controls, quotes, invisible and wide ones).
    #[test]
    fn flat_text_is_returned_as_the_long_way_would() {
        use proptest::prelude::*;
        let chars = proptest::sample::select(vec![
            'a', 'Z', '0', ' ', ' ', '\t', '\n', '\r', '\u{7f}', '\u{1}', '"', '\'', '~', 'é',
            '\u{202e}', '\u{200b}', '\u{a0}', '中',
        ]);
        let text =
            proptest::collection::vec(chars, 0..24).prop_map(|v| v.into_iter().collect::<String>());
        let drops = proptest::sample::select(vec![vec![], vec!['"'], vec!['"', '\'']]);
        let mut runner = proptest::test_runner::TestRunner::default();
        runner
            .run(&(text, 0usize..30, drops), |(text, max, drop)| {
                prop_assert_eq!(flatten(&text, max, &drop), flatten_chars(&text, max, &drop));
                Ok(())
            })
            .unwrap();
        assert!(already_flat("a b ~", 5, &[]));
        for not in ["a  b", " a", "a ", "a\tb", "é", "ab\"", "abcdef"] {
            assert!(!already_flat(not, 5, &['"']), "{not:?}");
        }
    }

    #[test]
    fn hex_is_two_lower_case_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff, 0x10]), "000fa5ff10");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn terminal_lines_keep_lines_and_drop_escapes() {
        let live = "table inet t {\n\tcomment \"\u{1b}[2Jx\u{202E}y\r\"\n}";
        assert_eq!(
            terminal_lines(live),
            "table inet t {\n\tcomment \"[2Jxy\"\n}"
        );
    }

    #[test]
    fn sanitize_strips_everything_that_could_escape_a_string() {
        assert_eq!(sanitize("a\"b'c`d\\e", 100), "abcde");
        assert_eq!(
            sanitize("x\"\ntcp dport 1-65535 accept comment \"y", 100),
            "x tcp dport 1-65535 accept comment y"
        );
        assert_eq!(
            sanitize("  -j ACCEPT\r\n\t; { } #  ", 100),
            "-j ACCEPT ; { } #"
        );
        assert_eq!(sanitize("a\u{0}\u{7}\u{1b}[31mb", 100), "a[31mb");
        assert_eq!(
            sanitize("ad\u{202E}nimda\u{2066}x\u{2069}\u{200B}y\u{FEFF}", 100),
            "adnimdaxy"
        );
        // Cut on a character boundary: 'é' is two bytes.
        assert_eq!(sanitize("ééé", 5), "éé");
        assert_eq!(sanitize(&"x".repeat(10_000), 255).len(), 255);
    }

    #[test]
    fn markdown_escapes_what_could_start_markup() {
        assert_eq!(markdown("<script>x</script>"), "\\<script>x\\</script>");
        assert_eq!(markdown("[x](javascript:y)"), "\\[x\\](javascript:y)");
        assert_eq!(markdown("a|b\nc"), "a\\|b c");
        assert_eq!(markdown("- 1. 10.0.0.1/32 ok"), "\\- 1. 10.0.0.1/32 ok");
        assert_eq!(markdown("12) x"), "12\\) x");
        assert_eq!(markdown("4.8 -> 5.3"), "4.8 -> 5.3");
        assert_eq!(markdown("> quote"), "\\> quote");
        assert_eq!(markdown("# $x$ ^y^"), "\\# \\$x\\$ \\^y\\^");
        assert_eq!(markdown("受信 ok"), "受信 ok");
    }
}
