//! Big catalogue files parsed in pieces, on every core.
//!
//! yaml_serde reads a whole document's events into memory before it deserialises anything
//! (about 25 bytes of events per byte of YAML), and parses one document on one core. A
//! catalogue file is a block mapping whose big values are block sequences (`host_groups:`,
//! `entries:`). Cut at its top-level keys and between those sequences' items, every piece is
//! a small document of its own: the pieces parse in parallel, and only a few of them are in
//! memory at a time.
//!
//! This is a faster way to the same result, never a different one. The text must have that
//! shape (checked line by line), and if anything about a piece is off (a syntax error, an
//! unknown, repeated or missing key, an alias of an anchor in another piece) [`parse`] gives
//! up and the caller parses the whole document as usual, which reports the usual positioned
//! error. The fuzz target and the tests check that a split parse never succeeds where the
//! whole parse fails, and gives the same value where both succeed.

use super::raw::{File, Parts};
use crate::diagnostic::{Diagnostic, Problem};

/// Files smaller than this are parsed whole: pieces would not pay off.
pub(super) const MIN_BYTES: usize = 256 * 1024;
/// About this much YAML per piece.
pub(super) const PIECE_BYTES: usize = 16 * 1024;

/// Top-level keys whose block sequences are cut between items.
const SPLIT_KEYS: &[&str] = &["host_groups", "entries"];

/// One piece of the text: for the first piece, the comments and blank lines before the first
/// key (every byte of the file is parsed by some piece); the key line of a cut sequence (when
/// the piece is a run of its items); then a contiguous slice.
struct Piece<'t> {
    head: &'t str,
    key_line: Option<&'t str>,
    body: &'t str,
}

impl Piece<'_> {
    fn parse(&self) -> Option<Parts> {
        let parsed = match (self.head, self.key_line) {
            ("", None) => serde_yaml::from_str(self.body),
            (head, key_line) => {
                serde_yaml::from_str(&[head, key_line.unwrap_or_default(), self.body].concat())
            }
        };
        parsed.ok()
    }
}

/// The file parsed in pieces of about `piece_bytes`, or `None` when it does not have the
/// shape this needs or any piece fails (then parse it whole).
pub(super) fn parse(text: &str, piece_bytes: usize) -> Option<File> {
    let pieces = pieces(text, piece_bytes.max(1))?;
    let parsed = crate::par::map(&pieces, pieces.len() > 1, Piece::parse);
    let mut parts = Parts::default();
    for p in parsed {
        parts.append(p?);
    }
    parts.finish()
}

/// Top-level keys whose block sequences [`problems`] reads item by item.
const LIST_KEYS: &[&str] = &[
    "notes",
    "components",
    "roles",
    "features",
    "host_groups",
    "entries",
];

/// Every schema problem of a file whose whole parse failed: each top-level key, and each item
/// of a top-level block sequence, is parsed on its own, so one bad entry does not hide the
/// next. Errors keep the whole parse's wording, with the file's line and the item's index.
/// `None` when the text does not have the plain shape this needs, or no piece fails on its
/// own (then the whole parse's one error stands).
pub(super) fn problems(display: &str, text: &str) -> Option<Vec<Diagnostic>> {
    let sections = sections(text)?;
    let mut found = Vec::new();
    let mut parts = Parts::default();
    for (i, &(key, start, bare)) in sections.iter().enumerate() {
        let end = sections.get(i + 1).map_or(text.len(), |s| s.1);
        let section = text.get(start..end)?;
        let key_len = section.find('\n').map_or(section.len(), |n| n + 1);
        let items = if bare && LIST_KEYS.contains(&key) {
            item_spans(section.get(key_len..)?)
        } else {
            None
        };
        let Some(items) = items else {
            match serde_yaml::from_str::<Parts>(section) {
                Ok(p) => parts.append(p),
                Err(e) => found.push(moved(display, &e, line_at(text, start), None)),
            }
            continue;
        };
        let key_line = section.get(..key_len)?;
        for (index, (from, to)) in items.into_iter().enumerate() {
            let item = section.get(key_len + from..key_len + to)?;
            match serde_yaml::from_str::<Parts>(&[key_line, item].concat()) {
                Ok(p) => {
                    if let Some(field) = p.entry_lacks() {
                        // Where the item's mapping starts, after its `- `, as serde says it.
                        let column = item.find("- ").map(|at| at + 3);
                        found.push(Diagnostic {
                            path: display.to_string(),
                            line: line_at(text, start + key_len + from),
                            column,
                            kind: Problem::Syntax(format!(
                                "{key}[{index}]: missing field `{field}`"
                            )),
                        });
                    }
                    parts.append(p);
                }
                Err(e) => {
                    let first = line_at(text, start + key_len + from);
                    found.push(moved(display, &e, first - 1, Some((key, index))));
                }
            }
        }
    }
    if found.is_empty() {
        // Every piece parses: what is left is a missing key.
        found.extend(parts.missing().into_iter().map(|field| Diagnostic {
            path: display.to_string(),
            line: 1,
            column: None,
            kind: Problem::Syntax(format!("missing field `{field}`")),
        }));
    }
    (!found.is_empty()).then_some(found)
}

/// The 1-based line of byte `offset`.
fn line_at(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |t| t.matches('\n').count() + 1)
}

/// A piece's error at its place in the file: the piece's line 1 is the file's line `first`;
/// for an item of `key`, the piece's `key[0]` is the file's `key[index]`.
fn moved(
    display: &str,
    e: &serde_yaml::Error,
    first: usize,
    item: Option<(&str, usize)>,
) -> Diagnostic {
    let mut d = crate::yaml::syntax_error(display, e);
    if d.line > 0 {
        d.line += first - 1;
    }
    if let (Some((key, index)), Problem::Syntax(msg)) = (item, &mut d.kind)
        && let Some(rest) = msg.strip_prefix(&format!("{key}[0]"))
    {
        *msg = format!("{key}[{index}]{rest}");
    }
    d
}

/// The byte spans of a block sequence's items in `body` (comments before an item belong to
/// the item before), or `None` when the body does not start with an item.
fn item_spans(body: &str) -> Option<Vec<(usize, usize)>> {
    let first = body.split_inclusive('\n').find(|l| significant(l))?;
    let at = indent(first);
    if !item_at(first, at) {
        return None;
    }
    let mut starts = vec![0];
    let mut offset = 0;
    let mut seen_first = false;
    for line in body.split_inclusive('\n') {
        if item_at(line, at) {
            if seen_first {
                starts.push(offset);
            }
            seen_first = true;
        }
        offset += line.len();
    }
    let ends = starts.iter().skip(1).copied().chain([body.len()]);
    Some(starts.iter().copied().zip(ends).collect())
}

/// A top-level `key:` line: the key and whether only a comment follows the colon.
fn top_key(line: &str) -> Option<(&str, bool)> {
    let (key, rest) = line.split_once(':')?;
    let key_ok = !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    let rest = rest.trim_start_matches([' ', '\r', '\n']);
    let bare = rest.is_empty() || rest.starts_with('#');
    let separated = line
        .as_bytes()
        .get(key.len() + 1)
        .is_none_or(|b| matches!(b, b' ' | b'\r' | b'\n'));
    (key_ok && separated).then_some((key, bare))
}

fn significant(line: &str) -> bool {
    let t = line.trim_start_matches(' ');
    !(t.trim_end().is_empty() || t.starts_with('#'))
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// A block sequence item line at exactly `at` columns: `- …` or a lone `-`.
fn item_at(line: &str, at: usize) -> bool {
    indent(line) == at && {
        let t = line.trim_start_matches(' ').trim_end_matches(['\r', '\n']);
        t == "-" || t.starts_with("- ")
    }
}

/// A top-level section: its key, the offset of its key line, whether the key line holds no
/// value (a block sequence may follow).
type Section<'t> = (&'t str, usize, bool);

/// The top-level sections, or `None` when the shape is not the plain one this relies on:
/// everything at column 0 a `key:` line (no document markers, directives, flow or tabs
/// there), each key once, nothing but comments before the first.
fn sections(text: &str) -> Option<Vec<Section<'_>>> {
    // The YAML parser also breaks lines at a bare CR and at NEL, LS and PS (YAML 1.1); this
    // splitter sees `\n` only. Such a file is parsed whole, so that a key hidden behind
    // another line break cannot be read differently here.
    // Each check only where it can find something (`is_ascii` and a byte search are many
    // times faster than a search for characters over a 6 MB file).
    let bytes = text.as_bytes();
    if (!text.is_ascii() && text.contains(['\u{85}', '\u{2028}', '\u{2029}']))
        || (bytes.contains(&b'\r')
            && (bytes
                .windows(2)
                .any(|w| matches!(w, [b'\r', next] if *next != b'\n'))
                || text.ends_with('\r')))
    {
        return None;
    }
    let mut sections: Vec<Section<'_>> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        if !significant(line) || line.starts_with(' ') {
            continue;
        }
        if line.starts_with('-') && !sections.is_empty() {
            continue; // a sequence item at column 0, under the current key
        }
        let (key, bare) = top_key(line)?;
        if sections.iter().any(|(k, _, _)| *k == key) {
            return None;
        }
        sections.push((key, start, bare));
    }
    let head = text.get(..sections.first()?.1)?;
    if head.lines().any(significant) {
        return None;
    }
    Some(sections)
}

/// Cut the text, or `None` when its shape is not the plain one this relies on (see
/// [`sections`]).
fn pieces(text: &str, piece_bytes: usize) -> Option<Vec<Piece<'_>>> {
    let sections = sections(text)?;
    let head = text.get(..sections.first()?.1)?;
    let mut pieces = Vec::new();
    let mut plain_start: Option<usize> = None;
    for (i, &(key, start, bare)) in sections.iter().enumerate() {
        let end = sections.get(i + 1).map_or(text.len(), |s| s.1);
        let section = text.get(start..end)?;
        let split = bare && SPLIT_KEYS.contains(&key) && section.len() > piece_bytes;
        if !split {
            plain_start.get_or_insert(start);
            continue;
        }
        if let Some(p) = plain_start.take() {
            pieces.push(Piece {
                head: "",
                key_line: None,
                body: text.get(p..start)?,
            });
        }
        let key_len = section.find('\n').map_or(section.len(), |n| n + 1);
        let key_line = section.get(..key_len)?;
        pieces.extend(items(key_line, section.get(key_len..)?, piece_bytes)?);
    }
    if let Some(p) = plain_start {
        pieces.push(Piece {
            head: "",
            key_line: None,
            body: text.get(p..)?,
        });
    }
    if let Some(first) = pieces.first_mut() {
        first.head = head;
    }
    Some(pieces)
}

/// A block sequence's items in runs of about `piece_bytes`, each run after `key_line`.
fn items<'t>(key_line: &'t str, body: &'t str, piece_bytes: usize) -> Option<Vec<Piece<'t>>> {
    let first = body.split_inclusive('\n').find(|l| significant(l))?;
    let at = indent(first);
    if !item_at(first, at) {
        return None;
    }
    let mut pieces = Vec::new();
    let (mut run_start, mut offset) = (0, 0);
    for line in body.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        if significant(line) && indent(line) < at {
            return None;
        }
        if item_at(line, at) && start - run_start >= piece_bytes {
            pieces.push(Piece {
                head: "",
                key_line: Some(key_line),
                body: body.get(run_start..start)?,
            });
            run_start = start;
        }
    }
    pieces.push(Piece {
        head: "",
        key_line: Some(key_line),
        body: body.get(run_start..)?,
    });
    Some(pieces)
}

#[cfg(test)]
mod tests {
    #[test]
    fn other_line_breaks_are_parsed_whole() {
        // A second `entries:` behind a NEL or a bare CR: the whole parse refuses the duplicate
        // key, so the splitter must not read the file at all.
        for brk in ["\u{85}", "\r", "\u{2028}"] {
            let text = format!("product: p\nentries: []{brk}entries: []\n");
            assert!(pieces(&text, 1).is_none(), "{brk:?}");
        }
        assert!(pieces("product: p\r\nentries: []\r\n", 1).is_some());
    }

    use super::*;

    fn whole(text: &str) -> Option<String> {
        serde_yaml::from_str::<File>(text)
            .ok()
            .map(|f| format!("{f:?}"))
    }

    fn split(text: &str, piece_bytes: usize) -> Option<String> {
        parse(text, piece_bytes).map(|f| format!("{f:?}"))
    }

    const HEAD: &str = "product: p\ntitle: T\nversion: \"1\"\ndocument: {file: f, title: t}\ncomponents: [{id: gateway, description: d}]\n";

    fn entry(i: usize) -> String {
        format!(
            "  - id: e{i}\n    description: \"x\n      y\"\n    protocols: [tcp]\n    ports: [{}]\n    directions: [out]\n    peer: any\n    source: {{section: s, row: r, line: 1}}\n",
            i + 1
        )
    }

    #[test]
    fn same_value_as_the_whole_parse() {
        let text = format!(
            "# comment\n{HEAD}entries:   # the rows\n{}\n# between\n{}notes:\n- a\n- b\n",
            (0..20).map(entry).collect::<String>(),
            (20..25).map(entry).collect::<String>()
        );
        let want = whole(&text).expect("the sample parses");
        for piece_bytes in [1, 100, 500, 100_000] {
            assert_eq!(split(&text, piece_bytes).as_deref(), Some(want.as_str()));
        }
        // Items at column 0 and CRLF line ends.
        let flat = text.replace("\n  ", "\n").replace("\n    ", "\n  ");
        let crlf = text.replace('\n', "\r\n");
        for t in [flat, crlf] {
            let want = whole(&t).expect("the variant parses");
            assert_eq!(split(&t, 1).as_deref(), Some(want.as_str()));
        }
    }

    #[test]
    fn gives_up_where_the_whole_parse_must_decide() {
        let entries: String = (0..4).map(entry).collect();
        for text in [
            // An anchor in one piece, its alias in another.
            format!(
                "{HEAD}entries:\n{}",
                entries.replacen("[out]", "&d [out]", 1).replacen(
                    "directions: [out]",
                    "directions: *d",
                    1
                )
            ),
            // A repeated key, a document marker, a directive, an unknown key, a missing key.
            format!("{HEAD}entries:\n{entries}entries:\n{entries}"),
            format!("---\n{HEAD}entries:\n{entries}"),
            format!("%YAML 1.2\n---\n{HEAD}entries:\n{entries}"),
            format!("{HEAD}entries:\n{entries}colour: red\n"),
            format!("{}entries:\n{entries}", HEAD.replace("product: p\n", "")),
            // A byte YAML refuses, in a comment before the first key (a fuzzer's find).
            format!("# a\0b\n{HEAD}entries:\n{entries}"),
            format!("# a\0b\nentries:\n{entries}{HEAD}"),
            // A quoted scalar running across a cut.
            format!("{HEAD}notes: [\"a\nentries: b\"]\nentries:\n{entries}"),
        ] {
            assert_eq!(split(&text, 1), None, "{text}");
        }
    }

    #[test]
    fn agrees_on_odd_values() {
        let entries: String = (0..4).map(entry).collect();
        for text in [
            format!("{HEAD}roles:\nentries:\n{entries}"),
            format!("{HEAD}roles: ~\nentries:\n{entries}"),
            format!("{HEAD}entries: []\n"),
            format!("{HEAD}entries:\n{entries}  - 5\n"),
            format!(
                "{HEAD}entries:\n{}",
                entries.replace("id: e2", "id: e2\n    id: e3")
            ),
        ] {
            let s = split(&text, 1);
            assert!(s.is_none() || s == whole(&text), "{text}");
        }
    }
}
