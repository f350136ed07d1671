//! An nftables ruleset as `nft -j list ruleset` prints it (libnftables JSON), read into the
//! audit's model ([`crate::audit::model`]) as it streams.
//!
//! Read: tables of every family and their flags (`dormant`; nft 1.0.6's misprinted flags are
//! noted as unreadable), chains with their type, hook, priority, policy and device, named sets
//! and verdict maps, and rules: `match` with `==`, `!=`, `in` and `<`, `>`, `<=`, `>=`, on
//! `ip`/`ip6` addresses, `tcp`/`udp`/`th` ports, `meta l4proto`/`nfproto`/`pkttype`, `ct
//! state`, `tcp flags`, interfaces, `icmpv6`, `ip6 hoplimit`, `fib daddr type`; verdicts and
//! jumps; statements that do not decide (`counter`, `log`, …); rate limits, quotas and
//! connection counts, taken as never reached, and set statements, whose key a packet must
//! have. What it does not know becomes a named `Unknown` expression.

mod json;
pub(crate) mod netlink;

use json::{compare, elem, fragment, implied, left, set_statement, small_mss, stateful, tcp_flags};

use std::collections::BTreeMap;

use serde_json::Value;

use super::model::{
    Base, Elem, Expr, Family, Kind, Left, ParseError, Point, Policy, Right, Ruleset, Tally, Verdict,
};

/// Where the notes' rules are.
const LISTING: &str = "of the JSON listing";

/// A table's flags as nft names them (`owner` and `persist` do not change what it filters).
const TABLE_FLAGS: &[&str] = &["dormant", "owner", "persist"];

fn text(o: &Value, k: &str) -> Option<String> {
    o.get(k).and_then(Value::as_str).map(String::from)
}

/// Read `nft -j list ruleset` output (several dumps are read as one ruleset). Sets come
/// before the rules that use them, and chains before their rules, as nft prints them.
/// Without the bytecode listing, the ranges of the listing are taken as printed, and the
/// ruleset's notes say how many rules have one.
pub fn parse(texts: &[&str]) -> Result<Ruleset, ParseError> {
    parse_checked(texts, None)
}

/// [`parse`], with what the bytecode listing (`nft --debug=netlink list ruleset`, see
/// [`netlink`]) says the JSON listing gets wrong: the rules whose ranges are misprinted
/// (their matches are unreadable), and the comparisons of the family it leaves out. `None`:
/// no bytecode listing was given, and nothing tells a real range from a misprinted one.
pub(crate) fn parse_checked(
    texts: &[&str],
    bytecode: Option<netlink::Bytecode>,
) -> Result<Ruleset, ParseError> {
    parse_beside(texts, bytecode, &[])
}

/// [`parse_checked`] without the chains and rules of the tables `skipped` (family, name),
/// which `iptables::beside` reads from iptables-save texts instead: neither read nor
/// counted in the notes.
pub(crate) fn parse_beside(
    texts: &[&str],
    bytecode: Option<netlink::Bytecode>,
    skipped: &[(String, String)],
) -> Result<Ruleset, ParseError> {
    let mut reader = Reader {
        bytecode,
        skipped: skipped.to_vec(),
        ..Reader::default()
    };
    reader.parse(texts)?;
    let notes = [
        reader.unchecked_resets.note(
            LISTING,
            "reject",
            "with a TCP reset in a table of both families",
            "where nft 1.0.6 leaves out a `meta nfproto` the rule has (`meta nfproto ipv6 reject \
             with tcp reset` is listed `meta l4proto tcp reject with tcp reset`): taken as \
             printed, for both families. Give `nft --debug=netlink list ruleset` output as \
             another --ruleset and the audit reads the family from it",
        ),
        reader.stateful.note(
            LISTING,
            "hold",
            "a rate limit, quota, connection count or set statement",
            "each taken as never reached, and no set as full: `limit rate 10/second` holds for \
             every packet and `limit rate over 10/second` for none, and so for `quota`, `ct \
             count` and a meter's or set's own limit. What a flood, a used-up quota or a full \
             set would change is not audited",
        ),
        reader.names_bare.note(
            LISTING,
            "name",
            "a set or map listed without elements",
            "each taken as empty, as it is when nothing has filled it yet (a set that DNS \
             lookups fill, before the first); but `nft -t` lists no set's elements at all: \
             give `nft -j list ruleset` without -t",
        ),
        reader.unchecked.note(
            LISTING,
            "compare",
            "a header field with a range",
            "which nft 1.0.6 also prints for two comparisons of different fields (`tcp sport >= \
             1000 tcp dport <= 2000` is listed `tcp dport 1000-2000`): taken as printed. Give \
             `nft --debug=netlink list ruleset` output as another --ruleset and the audit tells \
             them apart",
        ),
    ];
    reader.r.notes.extend(notes.into_iter().flatten());
    reader.r.finish();
    Ok(reader.r)
}

/// The ruleset being read, and the verdict maps' elements as read (a map's elements are
/// turned into rules where a rule names it).
#[derive(Default)]
struct Reader {
    r: Ruleset,
    /// A map's elements, or why they are not known.
    maps: BTreeMap<(Family, String, String), Result<Vec<Value>, String>>,
    /// What the bytecode listing found, if one was given.
    bytecode: Option<netlink::Bytecode>,
    /// Without one: the rules with a range on a header field in their listing (which may be
    /// a misprint).
    unchecked: Tally,
    /// Without one: the rules of an `inet` table that reject with a TCP reset with no family
    /// in their listing (which may have left it out).
    unchecked_resets: Tally,
    /// Sets and maps listed without elements (not `dynamic` ones, which packets fill):
    /// empty, or listed by `nft -t`, which leaves every set's elements out.
    bare: std::collections::BTreeSet<(String, String, String)>,
    /// The rules that name one of them.
    names_bare: Tally,
    /// Tables (family, name) left out: read from iptables-save texts instead.
    skipped: Vec<(String, String)>,
    /// The rules with a rate limit, quota, connection count or set statement, each taken as
    /// never reached (see [`stateful`]).
    stateful: Tally,
    /// Named limits and quotas (`limit lim { rate over 10/second }`), which a rule's `limit
    /// name "lim"` refers to.
    objects: BTreeMap<(Family, String, String), Value>,
}

impl Reader {
    fn parse(&mut self, texts: &[&str]) -> Result<(), ParseError> {
        use serde_json::value::RawValue;
        use std::collections::BTreeMap;
        // Read as it streams: the dump is split into its items as borrowed slices of the text
        // (no tree of the whole dump), and each item is read into a small tree only while it
        // is turned into typed rules. Memory stays near the input's size plus the rules'.
        type Item<'a> = BTreeMap<String, &'a RawValue>;
        let mut raws: Vec<&RawValue> = Vec::new();
        for t in texts {
            let top: Item = serde_json::from_str(t).map_err(|e| format!("not JSON: {e}"))?;
            let list: Vec<&RawValue> = top
                .get("nftables")
                .and_then(|raw| serde_json::from_str(raw.get()).ok())
                .ok_or("no `nftables` array: not `nft -j list ruleset` output")?;
            raws.extend(list);
        }
        // Each item is read into its map only while it is used (twice: tables, chains and
        // sets first, then rules), never all of them at once.
        fn item(raw: &RawValue) -> Result<BTreeMap<String, &RawValue>, ParseError> {
            serde_json::from_str(raw.get())
                .map_err(|e| format!("an item of the `nftables` array is not an object: {e}"))
        }
        let value = |raw: &RawValue| -> Result<Value, ParseError> {
            serde_json::from_str(raw.get()).map_err(|e| format!("not JSON: {e}"))
        };
        for raw in &raws {
            let item = item(raw)?;
            if item.contains_key("rule") {
                continue;
            }
            let v = Value::Object(
                item.iter()
                    .map(|(k, raw)| Ok((k.clone(), value(raw)?)))
                    .collect::<Result<_, ParseError>>()?,
            );
            self.item(&v)?;
        }
        for raw in &raws {
            if let Some(rule) = item(raw)?.get("rule") {
                self.rule(&value(rule)?)?;
            }
        }
        Ok(())
    }

    fn item(&mut self, item: &Value) -> Result<(), ParseError> {
        if let Some(set) = item.get("set").or_else(|| item.get("map")) {
            self.bare_set(set);
        }
        if let Some(t) = item.get("table") {
            self.table(t);
        } else if let Some(c) = item.get("chain") {
            let (Some(family), Some(table), Some(name)) =
                (text(c, "family"), text(c, "table"), text(c, "name"))
            else {
                return Err(format!("a chain without family, table or name: {c}"));
            };
            if self.skips(&family, &table) {
                self.forged(&family, &table, &name);
                return Ok(());
            }
            let base = match (text(c, "type"), text(c, "hook")) {
                (Some(t), Some(h)) => Some(Base {
                    kind: Kind::named(&t),
                    hook: Point::named(&h),
                    priority: c.get("prio").and_then(Value::as_i64).unwrap_or(0),
                    policy: match c.get("policy").and_then(Value::as_str) {
                        Some("drop") => Policy::Drop,
                        _ => Policy::Accept,
                    },
                }),
                _ => None,
            };
            // nft 1.0.6's JSON does not name an ingress or egress chain's device; the listing
            // the bytecode ends with does.
            let device = text(c, "dev").or_else(|| {
                let key = (family.clone(), table.clone(), name.clone());
                self.bytecode.as_ref()?.devices.get(&key).cloned()
            });
            self.r
                .add_chain((Family::named(&family), table, name), base, device);
        } else if let Some(obj) = item.get("limit").or_else(|| item.get("quota")) {
            if let (Some(family), Some(table), Some(name)) =
                (text(obj, "family"), text(obj, "table"), text(obj, "name"))
            {
                self.objects
                    .insert((Family::named(&family), table, name), obj.clone());
            }
        } else if let Some(map) = item
            .get("map")
            .filter(|m| m.get("map").and_then(Value::as_str) == Some("verdict"))
        {
            let (Some(family), Some(table), Some(name)) =
                (text(map, "family"), text(map, "table"), text(map, "name"))
            else {
                return Err(format!("a map without family, table or name: {map}"));
            };
            // Listed without elements the bytecode has (`nft -t`): not known.
            let elements = match map.get("elem").and_then(Value::as_array) {
                Some(a) => Ok(a.clone()),
                None => self
                    .terse(("map", &family, &table, &name))
                    .map_or(Ok(Vec::new()), Err),
            };
            self.maps
                .insert((Family::named(&family), table, name), elements);
        } else if let Some(set) = item.get("set").or_else(|| item.get("map")) {
            let (Some(family), Some(table), Some(name)) =
                (text(set, "family"), text(set, "table"), text(set, "name"))
            else {
                return Err(format!("a set without family, table or name: {set}"));
            };
            let elements = match set.get("elem").and_then(Value::as_array) {
                Some(a) => a.iter().map(elem).collect(),
                None => self
                    .terse(("set", &family, &table, &name))
                    .map(Elem::Unknown)
                    .into_iter()
                    .collect(),
            };
            self.r
                .add_set(Family::named(&family), table, name, elements);
        }
        Ok(())
    }

    /// Why a set or map (`kind`) the JSON listing shows no elements of has unknown ones:
    /// the bytecode listing shows some (the JSON listing was made with `nft -t`).
    fn terse(&self, (kind, family, table, name): (&str, &str, &str, &str)) -> Option<String> {
        let key = (family.to_string(), table.to_string(), name.to_string());
        self.bytecode.as_ref()?.filled.contains(&key).then(|| {
            format!(
                "{kind} {family} {table} {name}: its elements are in the bytecode listing and \
                 not in the JSON listing (`nft -t` leaves them out): give `nft -j list ruleset` \
                 without -t"
            )
        })
    }

    /// A chain of a table read from a save text instead, whose name iptables-save prints as
    /// lines of their own (a line break in it: the kernel takes any name): the save text's
    /// rules of that table are not what the table holds, so its family is not decided.
    fn forged(&mut self, family: &str, table: &str, name: &str) {
        let f = Family::named(family);
        if !name.chars().any(char::is_control)
            || self.r.hidden.iter().any(|(h, t, _)| *h == f && t == table)
        {
            return;
        }
        let shown = crate::text::escaped(name, 80);
        let why = format!(
            "table {family} {table} has a chain named `{shown}`, with a line break, which \
             iptables-save prints as lines of their own (rules that are not there): what the \
             save text says of that table is not audited; rename or remove the chain"
        );
        self.r.hidden.push((f, table.to_string(), why));
    }

    /// Whether table `family table` is left out ([`parse_beside`]).
    fn skips(&self, family: &str, table: &str) -> bool {
        self.skipped.iter().any(|(f, t)| f == family && t == table)
    }

    /// A set or map listed without elements, unless packets fill it (`flags dynamic`).
    fn bare_set(&mut self, set: &Value) {
        let dynamic = match set.get("flags") {
            Some(Value::String(f)) => f == "dynamic",
            Some(Value::Array(a)) => a.iter().any(|f| f == "dynamic"),
            _ => false,
        };
        if let (None, false, Some(f), Some(t), Some(n)) = (
            set.get("elem"),
            dynamic,
            text(set, "family"),
            text(set, "table"),
            text(set, "name"),
        ) && self.terse(("set", &f, &t, &n)).is_none()
        {
            self.bare.insert((f, t, n));
        }
    }

    /// A table's flags: `"dormant"`, `["dormant", "owner"]`, or (nft 1.0.6) anything.
    fn table(&mut self, t: &Value) {
        let (Some(family), Some(name)) = (text(t, "family"), text(t, "name")) else {
            return;
        };
        let flags: Vec<String> = match t.get("flags") {
            None => return,
            Some(Value::String(f)) => vec![f.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .map(|f| f.as_str().map_or_else(|| f.to_string(), String::from))
                .collect(),
            Some(other) => vec![other.to_string()],
        };
        let at = format!("{family} {name}");
        if let Some(odd) = flags.iter().find(|f| !TABLE_FLAGS.contains(&f.as_str())) {
            let odd = crate::text::flatten(odd, 80, &[]);
            let note = format!(
                "table {at}: nft printed its flags as {odd:?}, which names no flag (nft 1.0.6 \
                 prints a table's single flag wrongly in JSON), so whether it is dormant is not \
                 known: a connection that it decides is unknown (`nft list table {at}` shows \
                 `flags dormant` if it is)"
            );
            self.r.unreadable(Family::named(&family), name, note);
        } else if flags.iter().any(|f| f == "dormant") {
            let note = format!(
                "table {at} is dormant (flags dormant): the kernel evaluates none of its chains, \
                 so they filter nothing and are not audited"
            );
            self.r.dormant(Family::named(&family), name, note);
        }
    }

    /// Count the rule for the notes: one with a rate limit, quota, connection count or set
    /// statement (the audit takes each as never reached); and without the bytecode listing,
    /// one whose listing may be misprinted (a range on a header field; a TCP reset in an
    /// `inet` table with no family).
    fn count(&mut self, rule: &Value, key: &netlink::RuleKey) {
        let expr = rule.get("expr").and_then(Value::as_array);
        let all = || expr.into_iter().flatten();
        let (family, table, chain, handle) = key;
        let name = || format!("{family} {table} {chain}, handle {handle}");
        if all().any(json::holds_state) {
            self.stateful.add(name);
        }
        let mut named = Vec::new();
        all().for_each(|e| json::set_names(e, &mut named));
        if named.into_iter().any(|n| {
            self.bare
                .contains(&(family.clone(), table.clone(), n.to_string()))
        }) {
            self.names_bare.add(name);
        }
        if self.bytecode.is_some() {
            return;
        }
        if all().any(json::payload_range) {
            self.unchecked.add(name);
        }
        if family == "inet" && json::reset_without_family(all()) {
            self.unchecked_resets.add(name);
        }
    }

    fn rule(&mut self, rule: &Value) -> Result<(), ParseError> {
        let (Some(family), Some(table), Some(chain)) = (
            text(rule, "family"),
            text(rule, "table"),
            text(rule, "chain"),
        ) else {
            return Err(format!("a rule without family, table or name: {rule}"));
        };
        if self.skips(&family, &table) {
            return Ok(());
        }
        let handle = rule.get("handle").and_then(Value::as_i64).unwrap_or(0);
        let key = (family.clone(), table.clone(), chain.clone(), handle);
        let misprinted = self
            .bytecode
            .as_ref()
            .is_some_and(|b| b.merged.contains(&key));
        self.count(rule, &key);
        let family = Family::named(&family);
        if rule.get("expr").is_some_and(json::starts_tracking) {
            self.r.tracks(&family);
        }
        let mut expr = Vec::new();
        for e in rule
            .get("expr")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            expr.extend(implied(e));
            expr.push(self.expr(&family, &table, e));
        }
        if misprinted {
            // What its matches really are, the listing does not say: the rule may match any
            // packet, and decides what it would as unknown.
            expr.retain(|e| !matches!(e, Expr::Match { .. }));
            expr.insert(
                0,
                Expr::Unknown(
                    "a rule nft misprints: its bytecode (nft --debug=netlink) makes two \
                     comparisons where the listing shows one range (nft 1.0.6 merges them)"
                        .into(),
                ),
            );
        }
        // The comparisons of the family the bytecode makes, which the listing may leave out
        // (see `netlink`): each must hold for the rule's verdict. Where in the rule each
        // stands the bytecode says, but not which listed expression that is; so they go
        // before its last statement (its verdict), never earlier: a statement before it then
        // acts on packets of both families, which can only make the audit more careful (an
        // `unknown` from `notrack` for both), never less.
        if let Some(families) = self.bytecode.as_ref().and_then(|b| b.families.get(&key)) {
            let at = expr
                .iter()
                .rposition(|e| !matches!(e, Expr::Match { .. }))
                .unwrap_or(expr.len());
            expr.splice(
                at..at,
                families.iter().map(|&(equal, v6)| Expr::family(v6, !equal)),
            );
        }
        self.r.add_rule(
            (&family, &table, &chain),
            handle,
            text(rule, "comment"),
            expr,
        )
    }

    /// One expression of a rule in table `family table`.
    fn expr(&self, family: &Family, table: &str, e: &Value) -> Expr {
        let Some((kind, body)) = e.as_object().and_then(|o| o.iter().next()) else {
            return Expr::Unknown(format!("expression {e}"));
        };
        match kind.as_str() {
            "match" => self.matching(family, table, body),
            "accept" => Expr::Accept,
            "drop" | "reject" => Expr::Drop,
            "return" => Expr::Return,
            "jump" | "goto" => {
                let target = body
                    .get("target")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                Expr::Jump(target.to_string(), kind == "goto")
            }
            "counter" | "log" | "ct helper" | "mangle" | "comment" | "continue" => Expr::Nop,
            "limit" | "quota" | "ct count" => match body.as_str() {
                // A named one: `limit name "lim"`.
                Some(name) => self
                    .objects
                    .get(&(family.clone(), table.to_string(), name.to_string()))
                    .and_then(|obj| stateful(kind, obj))
                    .unwrap_or_else(|| {
                        Expr::Unknown(format!(
                            "{kind} `{name}`, which the listing does not define"
                        ))
                    }),
                None => stateful(kind, body).unwrap_or(Expr::Nop),
            },
            "meter" | "set" => set_statement(e)
                .unwrap_or_else(|| Expr::Unknown(format!("a {kind} statement without a key: {e}"))),
            "snat" | "masquerade" => Expr::Snat,
            "notrack" => Expr::Unknown(
                "`notrack`: connection tracking skips these packets, so state matches see them \
                 as untracked"
                    .into(),
            ),
            "dnat" | "redirect" | "tproxy" => Expr::Unknown(format!(
                "`{kind}` rewrites the destination: the connections it touches are not decided"
            )),
            "vmap" => self.vmap(family, table, body),
            // iptables-nft's own matches and targets: the kernel runs iptables' code, and
            // nft's listing shows only the name.
            "xt" => Expr::Unknown(format!(
                "iptables' {} `{}` (a rule of iptables-nft, which nft's listing does not \
                 show): give `iptables-save` and `ip6tables-save` output (with `ipset save`) \
                 as more --ruleset files, and iptables' tables are read from them",
                body.get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("extension"),
                body.get("name").and_then(Value::as_str).unwrap_or("?"),
            )),
            other => Expr::Unknown(format!("`{other}`")),
        }
    }

    /// A `match` expression: `==`, `!=`, `in`, and `<`, `>`, `<=`, `>=` on numbers (a range).
    fn matching(&self, family: &Family, table: &str, body: &Value) -> Expr {
        if let Some(known) = fragment(body).or_else(|| small_mss(body)) {
            return known;
        }
        let op = body.get("op").and_then(Value::as_str).unwrap_or("==");
        let left = match body.get("left").map(left) {
            Some(Ok(l)) => l,
            Some(Err(what)) => return Expr::Unknown(what),
            None => return Expr::Unknown("a match without left side".into()),
        };
        let Some(rv) = body.get("right") else {
            return Expr::Unknown("a match without right side".into());
        };
        if let Left::TcpFlags(mask) = left {
            return tcp_flags(op, mask, rv);
        }
        let right = match rv {
            Value::String(s) if s.starts_with('@') => {
                match self.r.set_index(family, table, &s[1..]) {
                    Some(i) => Right::Named(i),
                    None => return Expr::Unknown(format!("missing set {s}")),
                }
            }
            Value::Object(o) if o.contains_key("set") => Right::Elems(
                o["set"]
                    .as_array()
                    .map(|a| a.iter().map(elem).collect())
                    .unwrap_or_default(),
            ),
            Value::Array(items) => Right::Elems(items.iter().map(elem).collect()),
            other => Right::Elems(vec![elem(other)]),
        };
        let (negate, right) = match (op, right) {
            ("==" | "in", r) => (false, r),
            ("!=", r) => (true, r),
            (cmp @ ("<" | ">" | "<=" | ">="), Right::Elems(e)) => match e.as_slice() {
                [Elem::Num(n)] => (false, Right::Elems(compare(cmp, *n))),
                _ => return Expr::Unknown(format!("comparison `{cmp}` with {rv}")),
            },
            (other, _) => return Expr::Unknown(format!("comparison `{other}`")),
        };
        Expr::Match {
            negate,
            left,
            right,
        }
    }

    /// A verdict map statement: its key and its elements (anonymous, or a named map).
    fn vmap(&self, family: &Family, table: &str, body: &Value) -> Expr {
        let key = match body.get("key").map(left) {
            Some(Ok(l)) => l,
            Some(Err(what)) => return Expr::Unknown(what),
            None => return Expr::Unknown("a verdict map without key".into()),
        };
        let pairs: Vec<Value> = match body.get("data") {
            Some(Value::Object(o)) if o.contains_key("set") => {
                o["set"].as_array().cloned().unwrap_or_default()
            }
            Some(Value::String(name)) if name.starts_with('@') => {
                let k = (family.clone(), table.to_string(), name[1..].to_string());
                match self.maps.get(&k) {
                    Some(Ok(pairs)) => pairs.clone(),
                    Some(Err(why)) => return Expr::Unknown(why.clone()),
                    None => return Expr::Unknown(format!("missing verdict map {name}")),
                }
            }
            _ => return Expr::Unknown("a verdict map of another form".into()),
        };
        let mut out = Vec::new();
        for pair in &pairs {
            let (Some(k), Some(v)) = (pair.get(0), pair.get(1)) else {
                return Expr::Unknown(format!("verdict map element {pair}"));
            };
            let Some((kind, body)) = v.as_object().and_then(|o| o.iter().next()) else {
                return Expr::Unknown(format!("verdict {v}"));
            };
            let verdict = match kind.as_str() {
                "accept" => Verdict::Accept,
                "drop" | "reject" => Verdict::Drop,
                "return" => Verdict::Return,
                "continue" => Verdict::Continue,
                "jump" | "goto" => Verdict::Jump(
                    body.get("target")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    kind == "goto",
                ),
                other => return Expr::Unknown(format!("verdict `{other}` in a map")),
            };
            out.push((elem(k), verdict));
        }
        Expr::Vmap(key, out)
    }
}
