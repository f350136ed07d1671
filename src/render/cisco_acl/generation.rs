//! Generations: Cisco configurations that can be applied over the one before.
//!
//! Every access list and object group a file defines is named after the file's content: the
//! base name (`FWGEN-TO-GW`, `FWGEN-DNS-SERVERS`) and 8 hex digits of the SHA-256 of the
//! configuration written with the base names (`FWGEN-TO-GW-1a2b3c4d`). The same inputs give
//! the same names; any other ruleset gives other names, so a new generation is built beside
//! the old one, never into it. With `--interface` the file then binds the new lists (each
//! `ip access-group` / `access-group` replaces the list bound before: the interface always
//! has one) and removes what the previous generation defined and this one does not, lists
//! first (object groups in use cannot be removed).
//!
//! The previous generation is read from the file being replaced (fwgen wrote it) or from
//! `--previous FILE`. A file records its generation and the one it replaced, so rendering the
//! same inputs over it again gives the same bytes.

use std::collections::HashSet;
use std::fmt::Write;

use sha2::Digest;

use super::Dialect;

/// What kind of object a configuration defines, which decides how it is removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// IOS `ip access-list extended`.
    IosList,
    /// IOS `ipv6 access-list`.
    IosList6,
    /// ASA `access-list` (both families).
    AsaList,
    /// `object-group network`.
    NetGroup,
    /// `object-group service` (ASA).
    SvcGroup,
    /// ASA `object network` (FQDN objects).
    Object,
}

impl Kind {
    /// The word that names the kind in a file's `replaces` line.
    fn word(self) -> &'static str {
        match self {
            Kind::IosList => "ip-access-list",
            Kind::IosList6 => "ipv6-access-list",
            Kind::AsaList => "access-list",
            Kind::NetGroup => "object-group-network",
            Kind::SvcGroup => "object-group-service",
            Kind::Object => "object-network",
        }
    }

    fn from_word(w: &str) -> Option<Kind> {
        [
            Kind::IosList,
            Kind::IosList6,
            Kind::AsaList,
            Kind::NetGroup,
            Kind::SvcGroup,
            Kind::Object,
        ]
        .into_iter()
        .find(|k| k.word() == w)
    }

    fn is_list(self) -> bool {
        matches!(self, Kind::IosList | Kind::IosList6 | Kind::AsaList)
    }

    /// The command that removes an object of this kind.
    fn removal(self, name: &str) -> String {
        match self {
            Kind::IosList => format!("no ip access-list extended {name}"),
            Kind::IosList6 => format!("no ipv6 access-list {name}"),
            Kind::AsaList => format!("clear configure access-list {name}"),
            Kind::NetGroup => format!("no object-group network {name}"),
            Kind::SvcGroup => format!("no object-group service {name}"),
            Kind::Object => format!("no object network {name}"),
        }
    }

    /// Which dialect defines objects of this kind (`None`: both).
    fn dialect(self) -> Option<Dialect> {
        match self {
            Kind::IosList | Kind::IosList6 => Some(Dialect::Ios),
            Kind::AsaList | Kind::SvcGroup | Kind::Object => Some(Dialect::Asa),
            Kind::NetGroup => None,
        }
    }
}

/// One object a configuration defines.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Defined {
    pub kind: Kind,
    pub name: String,
}

/// The generation a new file replaces: what fwgen wrote before.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Previous {
    /// Its generation (`None` for files written before generations).
    pub generation: Option<String>,
    /// What it defined.
    pub defined: Vec<Defined>,
    /// The generation it replaced in turn, as its `replaces` line records it.
    pub replaced: Option<Box<Previous>>,
}

/// The longest name fwgen gives an object: the ASA takes 64 characters, and the generation
/// suffix takes 9 of them.
pub(super) const BASE_MAX: usize = 64 - 9;

/// A name fwgen gives: `FWGEN-…` or `fwgen-…`, letters, digits, `-`, `_`, `.`, `+`, within
/// the ASA's 64 characters. Names read from a file must be such names: nothing else from a
/// file reaches a configuration.
fn is_fwgen_name(name: &str) -> bool {
    (name.starts_with("FWGEN-") || name.starts_with("fwgen-"))
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
}

fn is_generation(g: &str) -> bool {
    g.len() == 8
        && g.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

/// The object a configuration line defines, if it starts a definition.
fn definition(line: &str) -> Option<Defined> {
    // Definitions start in the first column, and their first four words decide: most lines
    // of a big configuration (` network-object …`, remarks) are passed over unsplit.
    if line.starts_with([' ', '!']) {
        return None;
    }
    let mut w = line.splitn(5, ' ');
    let (kind, name) = match (w.next(), w.next(), w.next(), w.next()) {
        (Some("ip"), Some("access-list"), Some("extended"), Some(n)) => (Kind::IosList, n),
        (Some("ipv6"), Some("access-list"), Some(n), _) => (Kind::IosList6, n),
        (Some("access-list"), Some(n), _, _) => (Kind::AsaList, n),
        (Some("object-group"), Some("network"), Some(n), _) => (Kind::NetGroup, n),
        (Some("object-group"), Some("service"), Some(n), _) => (Kind::SvcGroup, n),
        (Some("object"), Some("network"), Some(n), _) => (Kind::Object, n),
        _ => return None,
    };
    Some(Defined {
        kind,
        name: name.to_string(),
    })
}

/// Everything `config` defines, in order of first definition, without repeats (a set of
/// those seen: a configuration defines an object group for each host group, thousands in a
/// big catalogue, and a scan of the list for each took 2,000 x 2,000 comparisons).
pub(super) fn defined(config: &str) -> Vec<Defined> {
    let mut seen = HashSet::new();
    config
        .lines()
        .filter_map(definition)
        .filter(|d| seen.insert(d.clone()))
        .collect()
}

/// The generation of a configuration written with base names: 8 hex digits of its SHA-256.
pub(super) fn generation(config: &str) -> String {
    let hex = crate::text::hex(&sha2::Sha256::digest(config.as_bytes()));
    hex.get(..8).unwrap_or_default().to_string()
}

/// `config` with every defined name `N` (as a whole word, outside remarks and
/// descriptions) written `N-GEN`.
pub(super) fn rename(config: &str, defined: &[Defined], generation: &str) -> String {
    let names: HashSet<&str> = defined.iter().map(|d| d.name.as_str()).collect();
    // The first bytes of the names: most words (`permit`, `tcp`, addresses) start with none
    // of them and are not looked up at all.
    let mut first = [false; 256];
    for n in &names {
        if let Some(slot) = n.bytes().next().and_then(|b| first.get_mut(usize::from(b))) {
            *slot = true;
        }
    }
    let mut out = String::with_capacity(config.len() + defined.len() * 16);
    for line in config.lines() {
        let mut text = false;
        for (i, word) in line.split(' ').enumerate() {
            if i > 0 {
                out.push(' ');
            }
            let candidate = word
                .bytes()
                .next()
                .and_then(|b| first.get(usize::from(b)))
                .copied()
                .unwrap_or(false);
            if !text && candidate && names.contains(word) {
                let _ = write!(out, "{word}-{generation}");
            } else {
                out.push_str(word);
            }
            // What follows `remark` or `description` is text, not names.
            text |= word == "remark" || word == "description";
        }
        out.push('\n');
    }
    out
}

/// The list slot a list name fills: its name without the generation (`FWGEN-TO-GW-V6`).
pub(super) fn base(name: &str) -> &str {
    match name.rsplit_once('-') {
        Some((b, g)) if is_generation(g) => b,
        _ => name,
    }
}

impl Previous {
    /// Read what an earlier fwgen configuration of `dialect` defined: its generation line,
    /// the generation it replaced, and its definitions. Every name must be one fwgen gives
    /// (`FWGEN-…`, `fwgen-…`): nothing else read from the file reaches the new one.
    pub fn parse(text: &str, dialect: Dialect) -> Result<Previous, String> {
        if !crate::text::written_by_fwgen(text.as_bytes()) {
            return Err("it is not a configuration fwgen wrote".into());
        }
        let mut p = Previous::default();
        // What is already in `p.defined`: a file of many definitions must not take a scan of
        // the list for each (the file on disk is read as it is, whoever wrote it).
        let mut seen = HashSet::new();
        for (i, line) in text.lines().enumerate() {
            let at = |what: String| format!("line {}: {what}", i + 1);
            if let Some(g) = line.strip_prefix("! fwgen generation ") {
                if !is_generation(g) {
                    return Err(at("a generation that is not 8 hex digits".into()));
                }
                p.generation = Some(g.to_string());
            } else if let Some(rest) = line.strip_prefix("! fwgen replaces generation ") {
                p.replaced = Some(Box::new(replaces(rest).map_err(at)?));
            } else if let Some(d) = definition(line) {
                if !is_fwgen_name(&d.name) {
                    return Err(at(format!("`{}` is not a name fwgen gives", d.name)));
                }
                if d.kind.dialect().is_some_and(|k| k != dialect) {
                    return Err(at(format!(
                        "`{}` belongs to the other Cisco dialect",
                        line.split(' ').take(3).collect::<Vec<_>>().join(" ")
                    )));
                }
                if seen.insert(d.clone()) {
                    p.defined.push(d);
                }
            }
        }
        if p.defined.is_empty() {
            return Err("it defines no access list".into());
        }
        Ok(p)
    }

    /// The line that records this generation in the file that replaces it.
    fn replaces_line(&self) -> String {
        let what: Vec<String> = self
            .defined
            .iter()
            .map(|d| format!("{} {}", d.kind.word(), d.name))
            .collect();
        format!(
            "! fwgen replaces generation {}: {}",
            self.generation.as_deref().unwrap_or("none"),
            what.join(", ")
        )
    }
}

/// The rest of a `replaces` line: `GEN: kind name, kind name`.
fn replaces(rest: &str) -> Result<Previous, String> {
    let (g, list) = rest
        .split_once(": ")
        .ok_or("a replaces line without names")?;
    let generation = match g {
        "none" => None,
        g if is_generation(g) => Some(g.to_string()),
        _ => return Err("a replaced generation that is not 8 hex digits".into()),
    };
    let mut defined = Vec::new();
    for item in list.split(", ") {
        let (w, name) = item
            .split_once(' ')
            .ok_or("a replaced object without a kind")?;
        let kind = Kind::from_word(w).ok_or_else(|| format!("unknown kind `{w}`"))?;
        if !is_fwgen_name(name) {
            return Err(format!("`{name}` is not a name fwgen gives"));
        }
        defined.push(Defined {
            kind,
            name: name.to_string(),
        });
    }
    Ok(Previous {
        generation,
        defined,
        replaced: None,
    })
}

/// What a new generation does about the one before.
pub(super) struct Succession {
    /// The generation replaced, as the file records it (`None`: the first).
    pub previous: Option<Previous>,
    /// What it defined and the new one does not: lists first, then groups, then objects.
    pub removed: Vec<Defined>,
}

impl Succession {
    /// What replacing `previous` (the file being replaced) with generation `generation`,
    /// which defines `now`, removes. A file of the same generation is the same file: what it
    /// replaced is what this one replaces.
    pub(super) fn new(
        previous: Option<&Previous>,
        generation: &str,
        now: &[Defined],
    ) -> Succession {
        let previous = match previous {
            Some(p) if p.generation.as_deref() == Some(generation) => {
                p.replaced.as_deref().cloned()
            }
            other => other.map(|p| Previous {
                replaced: None,
                ..p.clone()
            }),
        };
        let kept: HashSet<&str> = now.iter().map(|n| n.name.as_str()).collect();
        let mut removed: Vec<Defined> = previous
            .iter()
            .flat_map(|p| p.defined.iter())
            .filter(|d| !kept.contains(d.name.as_str()))
            .cloned()
            .collect();
        // Lists hold references to groups, groups to objects: remove in that order.
        removed.sort_by_key(|d| match d.kind {
            k if k.is_list() => 0,
            Kind::SvcGroup | Kind::NetGroup => 1,
            _ => 2,
        });
        Succession { previous, removed }
    }

    /// The `replaces` line, if there is a previous generation.
    pub(super) fn record(&self) -> Option<String> {
        self.previous.as_ref().map(Previous::replaces_line)
    }

    /// The lists removed, by slot (`FWGEN-TO-GW-V6`).
    pub(super) fn removed_lists(&self) -> impl Iterator<Item = &Defined> {
        self.removed.iter().filter(|d| d.kind.is_list())
    }

    /// The commands that remove the previous generation.
    pub(super) fn removals(&self) -> Vec<String> {
        self.removed
            .iter()
            .map(|d| d.kind.removal(&d.name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "object-group network FWGEN-GW\n host 192.0.2.1\n\
        ip access-list extended FWGEN-TO-GW\n remark fwgen FWGEN-GW stays\n \
        permit tcp any object-group FWGEN-GW eq 25\nip access-list extended FWGEN-TO-GW-V6X\n";

    #[test]
    fn names_take_the_generation_outside_remarks() {
        let d = defined(CONFIG);
        assert_eq!(d.len(), 3);
        let r = rename(CONFIG, &d, "0123abcd");
        assert!(r.contains("object-group network FWGEN-GW-0123abcd\n"));
        assert!(r.contains("ip access-list extended FWGEN-TO-GW-0123abcd\n"));
        assert!(r.contains(" remark fwgen FWGEN-GW stays\n"));
        assert!(r.contains("object-group FWGEN-GW-0123abcd eq 25"));
        assert_eq!(base("FWGEN-TO-GW-V6-0123abcd"), "FWGEN-TO-GW-V6");
        assert_eq!(base("FWGEN-TO-GW"), "FWGEN-TO-GW");
    }

    #[test]
    fn a_file_reads_back_as_what_it_defined_and_replaced() {
        let file = "! Generated by fwgen 0.1.0.\n! fwgen generation 0123abcd\n\
            ! fwgen replaces generation none: ip-access-list FWGEN-TO-GW, object-group-network FWGEN-GW\n\
            ip access-list extended FWGEN-TO-GW-0123abcd\n";
        let p = Previous::parse(file, Dialect::Ios).unwrap();
        assert_eq!(p.generation.as_deref(), Some("0123abcd"));
        assert_eq!(p.replaced.as_ref().unwrap().defined.len(), 2);
        // The same generation again: it replaces what that file replaced.
        let now = [Defined {
            kind: Kind::IosList,
            name: "FWGEN-TO-GW-0123abcd".into(),
        }];
        let s = Succession::new(Some(&p), "0123abcd", &now);
        assert_eq!(
            s.removals(),
            [
                "no ip access-list extended FWGEN-TO-GW",
                "no object-group network FWGEN-GW"
            ]
        );
        // Names that fwgen does not give, another dialect, or another tool's file: refused.
        for bad in [
            file.replace("FWGEN-TO-GW-0123abcd", "CUSTOMER-ACL"),
            file.replace("ip access-list extended", "access-list"),
            file.replace("FWGEN-GW\n", "FWGEN-GW;reload\n"),
            file.replace("Generated by fwgen", "Generated by hand"),
            file.replace("0123abcd\n!", "0123ABCD\n!"),
        ] {
            assert!(Previous::parse(&bad, Dialect::Ios).is_err(), "{bad}");
        }
    }
}
