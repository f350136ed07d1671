//! Every YAML file fwgen reads (catalogues, site files, manifests, lock files) goes through
//! here: bounded reading, a linear pre-scan against absurd nesting and alias bombs, parsing
//! with positioned errors that never echo a file's strings, and the positions of keys and
//! items for messages ([`Positions`]).

mod position;

use std::path::Path;

pub(crate) use position::Positions;

use crate::diagnostic::{Diagnostic, Diagnostics, Problem};

/// Largest catalogue file read (a guard against a mistaken path, not a real-world limit).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Read a YAML file as text: size-limited, UTF-8, a leading BOM dropped, CRLF accepted.
pub(crate) fn read_text(p: &Path) -> Result<String, Problem> {
    read_text_within(p, MAX_FILE_BYTES)
}

/// [`read_text`] with another size limit (a firewall's ruleset dump is larger than any YAML
/// file fwgen reads).
pub(crate) fn read_text_within(p: &Path, limit: u64) -> Result<String, Problem> {
    use std::io::Read;
    let too_big = |n: u64, more: &str| {
        Problem::Invalid(format!("file is {n} bytes{more}; the limit is {limit}"))
    };
    let meta = std::fs::metadata(p).map_err(Problem::read)?;
    if meta.is_dir() {
        return Err(Problem::Invalid("is a directory; give a file".into()));
    }
    if meta.len() > limit {
        return Err(too_big(meta.len(), ""));
    }
    // A device or a FIFO has no length (`/dev/zero`, `<(cat big)`): read at most one byte past
    // the limit, whatever it is.
    // Room for a regular file's length and the byte that would be one too many: read in one
    // call, not in ever larger pieces.
    let room = usize::try_from(meta.len().min(limit)).map_or(0, |n| n.saturating_add(1));
    let mut bytes = Vec::with_capacity(room);
    std::fs::File::open(p)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
        .map_err(Problem::read)?;
    if bytes.len() as u64 > limit {
        return Err(too_big(bytes.len() as u64, " or more"));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        Problem::Invalid(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    Ok(text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text))
}

/// Deepest nesting of flow collections (`[`, `{`) and of block indentation accepted. Far
/// beyond any real file; the YAML parser slows down quadratically with nesting depth, so
/// absurd depths are refused before parsing.
pub const MAX_NESTING: usize = 64;
/// Widest block indentation accepted, in columns.
pub const MAX_INDENT: usize = 256;

/// Parse YAML text after refusing absurd nesting, with positioned errors.
pub(crate) fn parse_yaml<T: serde::de::DeserializeOwned>(
    display: &str,
    text: &str,
) -> Result<T, Diagnostics> {
    let one = |e| Diagnostics(vec![e]);
    check_nesting(text).map_err(|(line, msg)| {
        one(Diagnostic {
            path: display.to_string(),
            line,
            column: None,
            kind: Problem::Invalid(msg),
        })
    })?;
    serde_yaml::from_str(text).map_err(|e| one(syntax_error(display, &e)))
}

/// A quick scan before parsing, linear in the text whatever its shape: nesting depth (quoted
/// strings and comments skipped) and how much aliases could expand.
///
/// A quote opens a quoted scalar only where a node can start (at the start of a line's
/// content or after `[`, `{`, `,`, `:`, `-`, `?` and a space): an apostrophe inside a plain
/// scalar (`[it's, [[[…`) must not hide the brackets after it, which the parser does see.
pub(crate) fn check_nesting(text: &str) -> Result<(), (usize, String)> {
    let mut depth = 0usize;
    let mut aliases = 0usize;
    for (i, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if indent > MAX_INDENT {
            return Err((
                i + 1,
                format!("indented {indent} columns; the limit is {MAX_INDENT}"),
            ));
        }
        let mut quote: Option<u8> = None;
        let mut prev = b' ';
        // Whether a node may start here (a quote then opens a quoted scalar, `*` is an
        // alias), and whether the last character was an indicator that a space turns into a
        // node start (`: `, and `- `/`? ` where they themselves start a node).
        let mut node_start = true;
        let mut indicator = false;
        // Bytes, not chars: every character it looks for is ASCII, and no byte of a longer
        // character is.
        for c in line.bytes() {
            match (quote, c) {
                (None, b'#') if prev == b' ' || prev == b'\t' => break,
                (None, b'"' | b'\'') if node_start => quote = Some(c),
                (Some(q), c) if c == q && !(q == b'"' && prev == b'\\') => quote = None,
                (None, b'[' | b'{') => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Err((i + 1, format!("nested more than {MAX_NESTING} levels deep")));
                    }
                }
                (None, b']' | b'}') => depth = depth.saturating_sub(1),
                (None, b'*') if node_start => aliases += 1,
                _ => {}
            }
            if quote.is_none() {
                match c {
                    b' ' | b'\t' => {
                        node_start |= indicator;
                        indicator = false;
                    }
                    b'[' | b'{' | b',' => {
                        node_start = true;
                        indicator = false;
                    }
                    b'-' | b'?' => {
                        indicator = node_start;
                        node_start = false;
                    }
                    b':' => {
                        indicator = true;
                        node_start = false;
                    }
                    _ => {
                        node_start = false;
                        indicator = false;
                    }
                }
            }
            prev = c;
        }
    }
    // Each alias may repeat its anchor's text, up to the whole file: bound what the parser
    // could build (a 1 MB string aliased a thousand times took 2 GB).
    let expansion = aliases.saturating_mul(text.len());
    if expansion > MAX_ALIAS_EXPANSION {
        return Err((
            1,
            format!(
                "{aliases} aliases in {} bytes could expand to {expansion} bytes; the limit is {MAX_ALIAS_EXPANSION} (use fewer aliases, or write the values out)",
                text.len()
            ),
        ));
    }
    Ok(())
}

/// What aliases may expand a file to, at most (the number of aliases times the file's size).
pub const MAX_ALIAS_EXPANSION: usize = 64 * 1024 * 1024;

pub(crate) fn syntax_error(path: &str, e: &serde_yaml::Error) -> Diagnostic {
    let msg = hide_strings(&strip_positions(&e.to_string()));
    let (line, column) = e
        .location()
        .map_or((0, None), |l| (l.line(), Some(l.column())));
    Diagnostic {
        path: path.to_string(),
        line,
        column,
        kind: Problem::Syntax(msg),
    }
}

/// Replace the quoted text of `string "…"` in a type error with a placeholder: a path given
/// as a site, catalogue or manifest may name any file (`--site /etc/shadow`, a manifest from a
/// pull request), and its first line must not reach the terminal or a CI log.
pub(crate) fn hide_strings(msg: &str) -> String {
    const OPEN: &str = "string \"";
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find(OPEN) {
        out.push_str(&rest[..i]);
        let body = &rest[i + OPEN.len()..];
        // The text is Debug-quoted: skip escaped characters up to the closing quote.
        let mut end = None;
        let mut escaped = false;
        for (k, c) in body.char_indices() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    end = Some(k);
                    break;
                }
                _ => {}
            }
        }
        match end {
            Some(k) => {
                out.push_str("a string (not shown)");
                rest = &body[k + 1..];
            }
            None => {
                out.push_str("a string (not shown)");
                rest = "";
            }
        }
    }
    out.push_str(rest);
    // A key or variant that is no identifier is text of some other file (`/etc/shadow`'s
    // lines parse as keys): name it only when it looks like a misspelt key.
    for what in ["unknown field `", "unknown variant `"] {
        if let Some(i) = out.find(what) {
            let start = i + what.len();
            if let Some(len) = out[start..].find('`') {
                let key = &out[start..start + len];
                let plain = key.len() <= 40
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                if !plain {
                    out.replace_range(start - 1..start + len + 1, "(not shown)");
                }
            }
        }
    }
    if out.contains("expected struct Raw") || out.contains("expected struct File") {
        out.push_str(": the file is not a YAML mapping; is it the right file?");
    }
    out
}

/// Remove libyaml's ` at line N column M` phrases: the position is printed in front once.
pub(crate) fn strip_positions(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find(" at line ") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + " at line ".len()..];
        let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let n = digits(tail);
        match tail[n..].strip_prefix(" column ") {
            Some(col) if n > 0 => rest = &col[digits(col)..],
            _ => {
                out.push_str(" at line ");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}
