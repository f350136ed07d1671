//! A host's netfilter read whole, as `apply` must read it to prove anything: the kernel runs
//! nftables' own tables and iptables' beside them (iptables-nft keeps its tables among
//! nftables', where nft lists iptables' own matches only as `xt` and cannot load them back;
//! iptables-legacy keeps them apart). A snapshot holds every view a host has: nftables'
//! listing, iptables' and ip6tables' saves and ipset's sets; the result of an apply is
//! modelled by loading each table with the tool that made it, and audited from every view.

use std::path::Path;

use super::ApplyError;
use super::live::{Files, file, installed, run, write_all};
use crate::audit::iptables::tables_of;

/// A snapshot's files: nftables' listing (`nft list ruleset`), the saves, ipset's sets.
pub(super) const LISTING: &str = "ruleset.nft";
pub(super) const V4: &str = "v4.save";
pub(super) const V6: &str = "v6.save";
pub(super) const IPSETS: &str = "ipset.save";

/// What the audit reads of a live nftables ruleset (firewalld's too), each a command line:
/// the listing, and the bytecode that shows the rules nft lists wrongly (audit::nft::netlink).
pub(super) const NFT_DUMPS: &[&str] = &["nft -j list ruleset", "nft --debug=netlink list ruleset"];

/// What the audit reads of iptables, each a command line.
const IPTABLES_DUMPS: &[&str] = &["iptables-save", "ip6tables-save", "ipset save"];

fn has(files: &Files, name: &str) -> bool {
    files.iter().any(|f| f.0 == name)
}

/// What is live. `nftables`: whether nftables is the backend applied (else iptables). The
/// backend's own view is always taken (its tool missing is an error); the other where its
/// tool is installed and it shows a table of its own, since the kernel runs that table too.
pub(super) fn snapshot(nftables: bool) -> Result<Files, ApplyError> {
    let mut files = Files::new();
    if nftables || installed("nft") {
        super::loadable::check(&run("nft", &["-j", "list", "ruleset"], None)?)?;
        files.push((LISTING.into(), run("nft", &["list", "ruleset"], None)?));
    }
    if !nftables || installed("iptables-save") {
        if !nftables || installed("ipset") {
            files.push((IPSETS.into(), run("ipset", &["save"], None)?));
        }
        files.push((V4.into(), run("iptables-save", &[], None)?));
        files.push((V6.into(), run("ip6tables-save", &[], None)?));
    }
    legacy_beside()?;
    let saves_hold_tables = [V4, V6]
        .iter()
        .any(|n| !tables_of(file(&files, n)).is_empty());
    let made = iptables_made(&files);
    let native = blocks(file(&files, LISTING))
        .into_iter()
        .any(|b| !made.contains(&(b.family, b.name)));
    if nftables && !saves_hold_tables {
        files.retain(|f| f.0 == LISTING);
    }
    if !nftables && !native {
        files.retain(|f| f.0 != LISTING);
    }
    Ok(files)
}

/// What to say where an earlier apply with the other backend left fwgen's rules live: they
/// filter too, beside the new ones (switching backends does not remove them).
pub(super) fn other_backends_rules(snapshot: &Files, nftables: bool) -> Option<String> {
    if nftables {
        let saves = [V4, V6].map(|n| file(snapshot, n)).concat();
        (saves.contains(":FWGEN-") || saves.contains("--comment \"fwgen ")).then(|| {
            "warning: fwgen's iptables rules (an earlier apply -b iptables) are live beside \
             nftables' table and filter too: to switch backends, remove them (restore an \
             empty filter table with iptables-restore and ip6tables-restore, then ipset \
             destroy the fwgen- sets)"
                .to_string()
        })
    } else {
        blocks(file(snapshot, LISTING))
            .iter()
            .any(Block::is_fwgen)
            .then(|| {
                "warning: fwgen's nftables table (an earlier apply -b nftables) is live beside \
                 iptables' rules and filters too: to switch backends, remove it (nft delete \
                 table inet fwgen)"
                    .to_string()
            })
    }
}

/// Refuse a host where iptables is iptables-nft and iptables-legacy's tables are there too:
/// the kernel runs them, but neither nft nor iptables-nft's save shows them (iptables-nft
/// only warns, on standard error), so nothing apply reads would prove a ruleset beside them.
fn legacy_beside() -> Result<(), ApplyError> {
    if !installed("iptables-legacy-save")
        || !installed("iptables-save")
        || !run("iptables-save", &["-V"], None)?.contains("(nf_tables)")
    {
        return Ok(());
    }
    let mut found = Vec::new();
    for (tool, family) in [
        ("iptables-legacy-save", ""),
        ("ip6tables-legacy-save", "IPv6 "),
    ] {
        if installed(tool) {
            found.extend(
                tables_of(&run(tool, &[], None)?)
                    .into_iter()
                    .map(|t| format!("{family}{t}")),
            );
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    Err(ApplyError::Unprovable(format!(
        "this host has iptables-legacy tables ({}) beside iptables-nft's: the kernel runs \
         them, but neither nft nor iptables-save shows them, so apply cannot prove a ruleset \
         beside them. Nothing was changed. See them with iptables-legacy-save and \
         ip6tables-legacy-save; remove them (iptables-legacy -F and -X, per table and family) \
         or move their rules to iptables-nft",
        found.join(", ")
    )))
}

/// The commands whose output the audit reads of what a snapshot has views of.
pub(super) fn dumps(snapshot: &Files) -> Vec<&'static str> {
    let mut out = Vec::new();
    if has(snapshot, LISTING) {
        out.extend(NFT_DUMPS);
    }
    if has(snapshot, V4) {
        out.extend(
            IPTABLES_DUMPS
                .iter()
                .filter(|d| **d != "ipset save" || has(snapshot, IPSETS)),
        );
    }
    out
}

/// Each of `commands` run here: (the command, what it printed).
pub(super) fn dump(commands: &[&str]) -> Result<Files, ApplyError> {
    commands
        .iter()
        .map(|line| {
            let mut words = line.split_whitespace();
            let program = words.next().unwrap_or_default();
            let args: Vec<&str> = words.collect();
            Ok(((*line).to_string(), run(program, &args, None)?))
        })
        .collect()
}

/// One table of a listing: its family, name and text (`table … { … }`).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Block {
    pub(super) family: String,
    pub(super) name: String,
    pub(super) text: String,
}

impl Block {
    /// Whether this is fwgen's own table, `inet fwgen`, the only one an nftables apply
    /// loads.
    fn is_fwgen(&self) -> bool {
        self.family == "inet" && self.name == "fwgen"
    }
}

/// The tables of an `nft list ruleset` listing, in its order. A table starts at a line
/// `table FAMILY NAME {` and ends at the next line `}`; nft prints nothing else at the top.
pub(super) fn blocks(listing: &str) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut open = false;
    for line in listing.lines() {
        if let Some(rest) = line.strip_prefix("table ")
            && let Some(head) = rest.strip_suffix(" {")
            && !open
        {
            let (family, name) = head.split_once(' ').unwrap_or((head, ""));
            out.push(Block {
                family: family.to_string(),
                name: name.trim_matches('"').to_string(),
                text: String::new(),
            });
            open = true;
        }
        if open && let Some(b) = out.last_mut() {
            b.text.push_str(line);
            b.text.push('\n');
            if line == "}" {
                open = false;
            }
        }
    }
    out
}

/// A listing without what traffic changes by itself: the packets and bytes of each counter
/// (`counter packets 4 bytes 240` becomes `counter`; iptables-nft gives every rule one).
pub(super) fn without_counters(listing: &str) -> String {
    const HEAD: &str = "counter packets ";
    let mut out = String::with_capacity(listing.len());
    let mut rest = listing;
    while let Some(i) = rest.find(HEAD) {
        let (before, after) = rest.split_at(i);
        out.push_str(before);
        out.push_str("counter");
        let tail = after.get(HEAD.len()..).unwrap_or_default();
        let digits = |t: &str| t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let n = digits(tail);
        match tail.get(n..).and_then(|t| t.strip_prefix(" bytes ")) {
            Some(t) if n > 0 && digits(t) > 0 => rest = t.get(digits(t)..).unwrap_or_default(),
            _ => {
                out.push_str(" packets ");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `ipset save` output without what a set made again changes by itself: its hash's random
/// `initval`, and the order of its members (hash order): each set's `create` line, then its
/// members sorted.
pub(super) fn ipsets_compared(text: &str) -> String {
    let mut sets: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        let mut w = line.split_whitespace();
        match (w.next(), w.next()) {
            (Some("create"), Some(_)) => {
                let create = match line.find(" initval ") {
                    Some(i) => {
                        let rest = line.get(i + " initval ".len()..).unwrap_or_default();
                        let after = rest
                            .find(' ')
                            .map_or("", |j| rest.get(j..).unwrap_or_default());
                        format!("{}{after}", line.get(..i).unwrap_or_default())
                    }
                    None => line.to_string(),
                };
                sets.push((create, Vec::new()));
            }
            (Some("add"), Some(_)) if !sets.is_empty() => {
                if let Some(last) = sets.last_mut() {
                    last.1.push(line.to_string());
                }
            }
            _ => sets.push((line.to_string(), Vec::new())),
        }
    }
    let mut out = String::new();
    for (head, mut members) in sets {
        members.sort();
        out.push_str(&head);
        out.push('\n');
        for m in members {
            out.push_str(&m);
            out.push('\n');
        }
    }
    out
}

/// The listing's tables iptables-nft made, as the saves show them: (family, name).
fn iptables_made(files: &Files) -> Vec<(String, String)> {
    [("ip", V4), ("ip6", V6)]
        .iter()
        .flat_map(|(family, save)| {
            crate::audit::iptables::in_listing(file(files, save))
                .into_iter()
                .map(|t| ((*family).to_string(), t))
        })
        .collect()
}

/// One table's part of a save text: from `*table` to its `COMMIT`.
fn section(save: &str, table: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in save.lines() {
        if line.strip_prefix('*') == Some(table) {
            inside = true;
        }
        if inside && !line.starts_with('#') {
            out.push_str(line);
            out.push('\n');
        }
        if inside && line == "COMMIT" {
            break;
        }
    }
    out
}

/// Shell commands that load `snapshot` into an empty network namespace as it is live, with
/// their files written into `dir`: ipset's sets first, then the listing's tables in its
/// order (the order the kernel runs chains of one priority in), each by the tool that made
/// it, then iptables' tables the listing does not show (iptables-legacy's).
pub(super) fn load_script(snapshot: &Files, dir: &Path) -> Result<String, ApplyError> {
    let mut files: Vec<(String, String)> = Vec::new();
    let mut script = String::new();
    let mut add = |script: &mut String, tool: &str, name: String, text: String| {
        script.push_str(&format!("{tool} {}; ", quoted(&dir.join(&name))));
        files.push((name, text));
    };
    if !file(snapshot, IPSETS).trim().is_empty() {
        let sets = file(snapshot, IPSETS).to_string();
        add(
            &mut script,
            "ipset restore -exist -file",
            "before-ipsets".into(),
            sets,
        );
    }
    let made = iptables_made(snapshot);
    let mut restored: Vec<(String, String)> = Vec::new();
    for (i, b) in blocks(file(snapshot, LISTING)).into_iter().enumerate() {
        let key = (b.family.clone(), b.name.clone());
        if made.contains(&key) {
            let (tool, save) = restore_tool(&b.family);
            let text = section(file(snapshot, save), &b.name);
            add(&mut script, tool, format!("before-{i}.save"), text);
            restored.push(key);
        } else {
            add(&mut script, "nft -f", format!("before-{i}.nft"), b.text);
        }
    }
    for family in ["ip", "ip6"] {
        let (tool, save) = restore_tool(family);
        let rest = sections(file(snapshot, save), |t| {
            !restored.contains(&(family.to_string(), t.clone()))
        });
        if !rest.is_empty() {
            add(&mut script, tool, format!("before-{family}.save"), rest);
        }
    }
    write_all(dir, files.iter().map(|(n, t)| (n.clone(), t)))?;
    Ok(script)
}

/// A path as one word of `sh`.
pub(super) fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

fn restore_tool(family: &str) -> (&'static str, &'static str) {
    if family == "ip6" {
        ("ip6tables-restore", V6)
    } else {
        ("iptables-restore", V4)
    }
}

/// The chains of another tool that iptables' new files would remove: iptables-restore
/// replaces each table a file holds whole, so every chain of the snapshot's copy of such a
/// table that the new file does not declare, fwgen's own generations (`FWGEN-`) aside, goes
/// (Docker's `DOCKER-USER`, fail2ban's `f2b-sshd`, libvirt's, a hand-made `LOGDROP`), with
/// the rules that jump to it. As `CHAIN (table)`, IPv6's marked, sorted.
pub(super) fn removed_chains(snapshot: &Files, new: &Files) -> Vec<String> {
    let mut out = Vec::new();
    for (save, rules, family) in [(V4, "rules.v4", ""), (V6, "rules.v6", "IPv6 ")] {
        let declared = |text: &str, table: &str| -> Vec<String> {
            section(text, table)
                .lines()
                .filter_map(|l| l.strip_prefix(':'))
                .filter_map(|l| l.split_whitespace().next())
                .map(String::from)
                .collect()
        };
        for table in tables_of(file(new, rules)) {
            let keeps = declared(file(new, rules), &table);
            out.extend(
                declared(file(snapshot, save), &table)
                    .into_iter()
                    .filter(|c| !c.starts_with("FWGEN-") && !keeps.contains(c))
                    .map(|c| format!("{c} ({family}{table})")),
            );
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The snapshot's entry that names the tables an iptables apply replaced.
pub(super) const REPLACED: &str = "replaced-tables";

/// The entry to keep beside an iptables snapshot: the tables the new files hold (each
/// replaced whole by iptables-restore), one a line.
pub(super) fn replacing(new: &Files) -> (String, String) {
    let mut all: Vec<String> = ["rules.v4", "rules.v6"]
        .iter()
        .flat_map(|f| tables_of(file(new, f)))
        .collect();
    all.sort();
    all.dedup();
    (
        REPLACED.into(),
        all.iter().map(|t| format!("{t}\n")).collect(),
    )
}

/// The tables an iptables apply replaced, as kept beside its snapshot; `None` for a snapshot
/// kept without them (every table is then restored, as before).
pub(super) fn replaced(snapshot: &Files) -> Option<Vec<String>> {
    has(snapshot, REPLACED).then(|| file(snapshot, REPLACED).lines().map(String::from).collect())
}

/// The sections of a save text for the tables `keep` takes, in its order.
pub(super) fn sections(save: &str, keep: impl Fn(&String) -> bool) -> String {
    tables_of(save)
        .iter()
        .filter(|t| keep(t))
        .map(|t| section(save, t))
        .collect()
}

/// The lines of `ipset save` output for fwgen's own sets (`fwgen-`, content-named).
pub(super) fn fwgen_sets(ipsets: &str) -> String {
    ipsets
        .lines()
        .filter(|l| {
            let mut w = l.split_whitespace();
            matches!(w.next(), Some("create" | "add"))
                && w.next().is_some_and(|n| n.starts_with("fwgen-"))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// nftables' rollback, as nft scripts each of one transaction, to try in turn (one that
/// fails changes nothing): fwgen's own table as the snapshot had it (or none), and every
/// other table left as it is, since the apply changed none (another tool may have changed
/// one since). Re-created, fwgen's table comes last in the listing; where the snapshot had
/// tables after it, the first script also re-creates those, in the snapshot's order, so the
/// listing is byte-equal to it again: only where nothing but fwgen's table changed since, and
/// each of those tables' family and name is one word to nft ([`super::loadable::word`], as
/// the snapshot's check requires of every name; nft then loads them as listed, or the script
/// fails).
pub(super) fn rollback_scripts(snapshot: &Files, now: &str) -> Vec<String> {
    let was = blocks(file(snapshot, LISTING));
    let own = was
        .iter()
        .find(|b| b.is_fwgen())
        .map(|b| b.text.as_str())
        .unwrap_or_default();
    let alone = format!("table inet fwgen\ndelete table inet fwgen\n{own}");
    let Some(at) = was.iter().position(Block::is_fwgen) else {
        return vec![alone];
    };
    let after = was.get(at + 1..).unwrap_or_default();
    let now = blocks(now);
    let counted = |b: &Block| without_counters(&b.text);
    let unchanged = was
        .iter()
        .filter(|b| !b.is_fwgen())
        .map(counted)
        .eq(now.iter().filter(|b| !b.is_fwgen()).map(counted));
    let words = |b: &Block| super::loadable::word(&b.family) && super::loadable::word(&b.name);
    if after.is_empty() || !unchanged || !after.iter().all(words) {
        return vec![alone];
    }
    let mut ordered = "table inet fwgen\ndelete table inet fwgen\n".to_string();
    for b in after {
        ordered.push_str(&format!("delete table {} {}\n", b.family, b.name));
    }
    ordered.push_str(own);
    for b in after {
        ordered.push_str(&b.text);
    }
    vec![ordered, alone]
}

/// nftables' listing after an apply, for `--dry-run`'s difference: the live `before` with
/// fwgen's table taken out and the one the model's listing `modelled` holds put last, where
/// loading it puts it. Only fwgen's table is the model's: the model loads iptables-nft's
/// tables with iptables-restore, which makes base chains iptables-nft had not made yet.
pub(super) fn after_apply(before: &str, modelled: &str) -> String {
    let mut out: String = blocks(before)
        .into_iter()
        .filter(|b| !b.is_fwgen())
        .map(|b| b.text)
        .collect();
    if let Some(b) = blocks(modelled).into_iter().find(Block::is_fwgen) {
        out.push_str(&b.text);
    }
    without_counters(&out)
}

/// After nftables' rollback, where the listing `now` is not byte-equal to the snapshot's
/// `before`: what to say when fwgen's table is (the tables that changed since the snapshot,
/// which the rollback left as they are), or `None`.
pub(super) fn others_changed(before: &str, now: &str) -> Option<String> {
    let (before, now) = (
        blocks(&without_counters(before)),
        blocks(&without_counters(now)),
    );
    if before.iter().find(|b| b.is_fwgen()) != now.iter().find(|b| b.is_fwgen()) {
        return None;
    }
    let mut changed: Vec<String> = before
        .iter()
        .filter(|b| !b.is_fwgen() && !now.contains(b))
        .chain(now.iter().filter(|b| !b.is_fwgen() && !before.contains(b)))
        .map(|b| format!("{} {}", b.family, b.name))
        .collect();
    changed.sort();
    changed.dedup();
    Some(if changed.is_empty() {
        "fwgen's table is byte-equal to the snapshot's, and every other table too (in another \
         order)"
            .into()
    } else {
        format!(
            "fwgen's table is byte-equal to the snapshot's; other tables changed since the \
             snapshot and are left as they are: {}",
            changed.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING_TEXT: &str = "table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input \
                                priority filter; policy accept;\n\t\txt match set counter \
                                packets 0 bytes 0 drop\n\t}\n}\ntable inet fwgen {\n\tchain \
                                c {\n\t}\n}\ntable inet other {\n}\n";

    #[test]
    fn the_listing_after_an_apply_is_the_live_one_with_fwgens_table_replaced() {
        let modelled = "table ip filter {\n\tchain FORWARD {\n\t}\n}\ntable inet fwgen {\n\tchain \
                        new {\n\t}\n}\n";
        assert_eq!(
            after_apply(LISTING_TEXT, modelled),
            without_counters(
                &LISTING_TEXT.replace("table inet fwgen {\n\tchain c {\n\t}\n}\n", "")
            ) + "table inet fwgen {\n\tchain new {\n\t}\n}\n"
        );
    }

    #[test]
    fn sets_made_again_compare_equal() {
        let a = "create s hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval \
                 0x431b1c2b\nadd s 10.0.0.2\nadd s 10.0.0.1\ncreate t hash:ip family inet initval \
                 0x1\n";
        let b = "create s hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval \
                 0xaf49eeac\nadd s 10.0.0.1\nadd s 10.0.0.2\ncreate t hash:ip family inet initval \
                 0x2\n";
        assert_eq!(ipsets_compared(a), ipsets_compared(b));
        assert_eq!(
            ipsets_compared(a),
            "create s hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12\nadd s \
             10.0.0.1\nadd s 10.0.0.2\ncreate t hash:ip family inet\n"
        );
        assert_ne!(
            ipsets_compared(a),
            ipsets_compared(&b.replace("10.0.0.2", "10.0.0.3"))
        );
    }

    #[test]
    fn counters_are_left_out() {
        assert_eq!(
            without_counters(
                "\t\tfib daddr type local counter packets 4 bytes 240 jump DOCKER\n\
                 \t\tcounter packets 0 bytes 0 return\n\tcounter packets x\n"
            ),
            "\t\tfib daddr type local counter jump DOCKER\n\t\tcounter return\n\tcounter \
             packets x\n"
        );
    }

    #[test]
    fn a_listing_splits_into_its_tables_in_order() {
        let b = blocks(LISTING_TEXT);
        let names: Vec<_> = b
            .iter()
            .map(|b| (b.family.as_str(), b.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [("ip", "filter"), ("inet", "fwgen"), ("inet", "other")]
        );
        assert_eq!(b[1].text, "table inet fwgen {\n\tchain c {\n\t}\n}\n");
        assert_eq!(
            b.iter().map(|b| b.text.as_str()).collect::<String>(),
            LISTING_TEXT
        );
    }

    #[test]
    fn each_table_is_loaded_by_the_tool_that_made_it() {
        let dir = tempfile::tempdir().unwrap();
        let save = "# Generated by iptables-save v1.8.9 (nf_tables) on x\n*filter\n:INPUT ACCEPT \
                    [0:0]\n-A INPUT -m set --match-set f2b src -j DROP\nCOMMIT\n# Completed\n";
        let snapshot: Files = vec![
            (LISTING.into(), LISTING_TEXT.into()),
            (V4.into(), save.into()),
            (V6.into(), String::new()),
            (IPSETS.into(), "create f2b hash:ip family inet\n".into()),
        ];
        let script = load_script(&snapshot, dir.path()).unwrap();
        let at = |n: &str| dir.path().join(n).display().to_string();
        assert_eq!(
            script,
            format!(
                "ipset restore -exist -file '{}'; iptables-restore '{}'; nft -f '{}'; nft -f \
                 '{}'; ",
                at("before-ipsets"),
                at("before-0.save"),
                at("before-1.nft"),
                at("before-2.nft")
            )
        );
        let filter = std::fs::read_to_string(dir.path().join("before-0.save")).unwrap();
        assert_eq!(
            filter,
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set f2b src -j DROP\nCOMMIT\n"
        );
        // iptables-legacy's tables are not the listing's: each is loaded, after it.
        let legacy = save.replace("(nf_tables)", "(legacy)");
        let snapshot: Files = vec![(LISTING.into(), LISTING_TEXT.into()), (V4.into(), legacy)];
        let script = load_script(&snapshot, dir.path()).unwrap();
        assert!(
            script.starts_with(&format!("nft -f '{}'", at("before-0.nft")))
                && script.ends_with(&format!("iptables-restore '{}'; ", at("before-ip.save"))),
            "{script}"
        );
    }

    #[test]
    fn chains_of_another_tool_that_a_restore_would_remove() {
        let save = "*nat\n:PREROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\nCOMMIT\n*filter\n:INPUT \
                    ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n:FWGEN-IN - [0:0]\n:f2b-sshd - [0:0]\n\
                    -A INPUT -j f2b-sshd\nCOMMIT\n";
        let snapshot: Files = vec![(V4.into(), save.into()), (V6.into(), save.into())];
        let new: Files = vec![
            (
                "rules.v4".into(),
                "*filter\n:INPUT DROP [0:0]\n:FWGEN-OUT - [0:0]\nCOMMIT\n".into(),
            ),
            (
                "rules.v6".into(),
                "*filter\n:INPUT DROP [0:0]\n:f2b-sshd - [0:0]\nCOMMIT\n".into(),
            ),
        ];
        assert_eq!(
            removed_chains(&snapshot, &new),
            [
                "DOCKER-USER (IPv6 filter)",
                "DOCKER-USER (filter)",
                "f2b-sshd (filter)"
            ]
        );
    }

    #[test]
    fn a_rollback_restores_fwgens_table_only() {
        let snapshot: Files = vec![(LISTING.into(), LISTING_TEXT.into())];
        let fwgen = "table inet fwgen {\n\tchain c {\n\t}\n}\n";
        let alone = format!("table inet fwgen\ndelete table inet fwgen\n{fwgen}");
        // Nothing else changed (the applied fwgen table is last): the table after fwgen's
        // is re-created after it.
        let now_listing = LISTING_TEXT.replace(fwgen, "") + "table inet fwgen {\n}\n";
        assert_eq!(
            rollback_scripts(&snapshot, &now_listing),
            [
                format!(
                    "table inet fwgen\ndelete table inet fwgen\ndelete table inet other\n\
                     {fwgen}table inet other {{\n}}\n"
                ),
                alone.clone()
            ]
        );
        // Another table changed since: fwgen's alone.
        let changed = now_listing.replace(
            "table inet other {\n}",
            "table inet other {\n\tset s {\n\t}\n}",
        );
        assert_eq!(
            rollback_scripts(&snapshot, &changed),
            std::slice::from_ref(&alone)
        );
        // No fwgen table in the snapshot: removed, nothing else.
        let none: Files = vec![(LISTING.into(), "table inet other {\n}\n".into())];
        assert_eq!(
            rollback_scripts(&none, LISTING_TEXT),
            ["table inet fwgen\ndelete table inet fwgen\n"]
        );
        let now = LISTING_TEXT.replace("table inet other {\n}\n", "table ip another {\n}\n");
        let said = others_changed(LISTING_TEXT, &now).unwrap();
        assert!(
            said.ends_with("left as they are: inet other, ip another"),
            "{said}"
        );
        let without_fwgen = blocks(LISTING_TEXT)
            .into_iter()
            .filter(|b| b.name != "fwgen")
            .map(|b| b.text)
            .collect::<String>();
        assert_eq!(others_changed(LISTING_TEXT, &without_fwgen), None);
    }
}
