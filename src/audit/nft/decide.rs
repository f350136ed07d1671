//! What a read ruleset decides about one packet: every base chain on its hook, in priority
//! order, in every table that is not dormant (tables whose flags could not be read are
//! decided both ways); user chains through jumps and gotos, bounded.

use super::*;

impl Ruleset {
    /// What the base chains on `hook` do with `p`: every one must accept it (in priority
    /// order; a drop in any ends it).
    pub fn decide(&self, hook: Hook, p: &Packet) -> Decision {
        self.decide_at(hook, p).0
    }

    /// [`Ruleset::decide`], and for a drop the base chain it happened in (family, table,
    /// name): where a rule that admits the packet would go.
    ///
    /// Dormant tables are left out. Where tables' flags are unreadable, every combination of
    /// them being dormant or not is decided: one answer for all is the answer, else unknown.
    pub fn decide_at(&self, hook: Hook, p: &Packet) -> (Decision, Option<ChainRef>) {
        let unreadable: Vec<&(String, String)> = self.unreadable.iter().collect();
        let kind = |d: &Decision| std::mem::discriminant(d);
        if unreadable.is_empty() {
            return self.decide_without(hook, p, &self.dormant);
        }
        if unreadable.len() > MAX_UNREADABLE {
            return (
                Decision::Unknown(format!(
                    "{} tables whose flags nft printed wrongly: whether each is dormant is not \
                     known",
                    unreadable.len()
                )),
                None,
            );
        }
        let first = self.decide_without(hook, p, &self.dormant);
        for mask in 1..(1u32 << unreadable.len()) {
            let mut absent = self.dormant.clone();
            for (i, t) in unreadable.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    absent.insert((*t).clone());
                }
            }
            let other = self.decide_without(hook, p, &absent);
            if kind(&other.0) != kind(&first.0) {
                let names: Vec<String> = unreadable
                    .iter()
                    .map(|(f, t)| format!("table {f} {t}"))
                    .collect();
                return (
                    Decision::Unknown(format!(
                        "whether {} is dormant decides it (nft printed its flags wrongly)",
                        names.join(" or ")
                    )),
                    None,
                );
            }
        }
        first
    }

    /// For rulesets of one family per file: the packet's family was not given.
    fn family_missing(&self, p: &Packet) -> Option<Decision> {
        let family = if p.src.is_ipv4() { "ip" } else { "ip6" };
        let given = self.families.as_ref()?;
        (!given.contains(&family)).then(|| {
            Decision::Unknown(format!(
                "no {} given: {} is not audited",
                if family == "ip" {
                    "iptables-save"
                } else {
                    "ip6tables-save"
                },
                if family == "ip" { "IPv4" } else { "IPv6" }
            ))
        })
    }

    /// [`Ruleset::decide_at`] with the tables in `absent` left out.
    fn decide_without(
        &self,
        hook: Hook,
        p: &Packet,
        absent: &std::collections::BTreeSet<(String, String)>,
    ) -> (Decision, Option<ChainRef>) {
        if let Some(missing) = self.family_missing(p) {
            return (missing, None);
        }
        let path = hook.path();
        let on_path = |c: &Chain| {
            c.base
                .as_ref()
                .and_then(|b| path.iter().position(|h| *h == b.1))
        };
        let mut chains: Vec<&Chain> = self
            .chains
            .iter()
            .filter(|c| on_path(c).is_some())
            .filter(|c| family_applies(&c.family, p))
            .filter(|c| !absent.contains(&(c.family.clone(), c.table.clone())))
            .collect();
        chains.sort_by_key(|c| (on_path(c), c.base.as_ref().map_or(0, |b| b.2)));
        let mut last = format!("no base chain on the {} hook: accepted", hook.name());
        let mut accepted_by: Option<String> = None;
        for c in chains {
            let Some((kind, _, prio, policy)) = &c.base else {
                continue;
            };
            let at = format!("{} {} {}", c.family, c.table, c.name);
            match kind.as_str() {
                // A nat chain sees only the first packet of a connection; what it does to
                // that one (a drop, or a rewrite the reader names as unknown) is decided.
                "nat" if p.state != State::New => continue,
                "filter" | "nat" | "route" => {}
                _ if c.rules.is_empty() && policy == "accept" => continue,
                _ => {
                    return (
                        Decision::Unknown(format!(
                            "chain {at}: type {kind} on the {} hook",
                            hook.name()
                        )),
                        None,
                    );
                }
            }
            match &c.worst {
                Err(why) => return (Decision::Unknown(format!("chain {at}: {why}")), None),
                Ok(n) if *n > BUDGET => {
                    return (
                        Decision::Unknown(format!(
                            "chain {at}: up to {n} rules to visit for one packet (chains that jump \
                         to each other over and over); at most {BUDGET} are followed"
                        )),
                        None,
                    );
                }
                Ok(_) => {}
            }
            let mut budget = BUDGET;
            let here = || Some((c.family.clone(), c.table.clone(), c.name.clone()));
            match self.run(c, p, 0, &mut budget) {
                // The first rule that accepts says most (later chains may only let it pass).
                Flow::Verdict(Decision::Accept(why)) => {
                    if accepted_by.is_none() {
                        accepted_by = Some(why);
                    }
                }
                Flow::Verdict(d @ Decision::Drop(_)) => return (d, here()),
                Flow::Verdict(d) => return (d, None),
                Flow::Through => match policy.as_str() {
                    "accept" => {
                        last = format!("policy accept of chain {at} (priority {prio})");
                    }
                    _ => {
                        return (
                            Decision::Drop(format!("policy {policy} of chain {at}")),
                            here(),
                        );
                    }
                },
            }
        }
        (Decision::Accept(accepted_by.unwrap_or(last)), None)
    }

    /// Run one chain; `Through` when no rule decides (the caller continues, or the base
    /// chain's policy applies).
    fn run(&self, c: &Chain, p: &Packet, depth: usize, budget: &mut usize) -> Flow {
        if *budget < c.rules.len() {
            return Flow::Verdict(Decision::Unknown(format!(
                "more than {BUDGET} rules to visit for one packet (chains that jump to each other \
                 over and over?) at {} {} {}",
                c.family, c.table, c.name
            )));
        }
        *budget -= c.rules.len();
        if depth > DEPTH {
            return Flow::Verdict(Decision::Unknown(format!(
                "more than {DEPTH} nested chains (a loop?) at {} {} {}",
                c.family, c.table, c.name
            )));
        }
        for r in &c.rules {
            let at = || {
                let comment = r
                    .comment
                    .as_ref()
                    .map(|t| format!(" \"{t}\""))
                    .unwrap_or_default();
                format!(
                    "rule {} {} {} handle {}{comment}",
                    c.family, c.table, c.name, r.handle
                )
            };
            match self.rule_step(r, p) {
                Step::NoMatch | Step::Continue => {}
                Step::Unknown(what) => {
                    return Flow::Verdict(Decision::Unknown(format!("{}: {what}", at())));
                }
                Step::Accept => return Flow::Verdict(Decision::Accept(at())),
                Step::Drop => return Flow::Verdict(Decision::Drop(at())),
                Step::Return => return Flow::Through,
                Step::Jump(target, goto) => {
                    let key = (c.family.clone(), c.table.clone(), target.to_string());
                    let Some(&next) = self.by_name.get(&key) else {
                        return Flow::Verdict(Decision::Unknown(format!(
                            "{}: jump to a missing chain {target}",
                            at()
                        )));
                    };
                    let Some(next) = self.chains.get(next) else {
                        return Flow::Through;
                    };
                    match self.run(next, p, depth + 1, budget) {
                        Flow::Verdict(d) => return Flow::Verdict(d),
                        // After a goto, the chain that called this one goes on.
                        Flow::Through if goto => return Flow::Through,
                        Flow::Through => {}
                    }
                }
            }
        }
        Flow::Through
    }

    /// One rule: its matches in order, then what its statements do.
    fn rule_step<'r>(&self, r: &'r Rule, p: &Packet) -> Step<'r> {
        for e in &r.expr {
            match e {
                Expr::Match {
                    negate,
                    left,
                    right,
                } => match self.matches(left, right, p) {
                    Ok(hit) if hit != *negate => {}
                    Ok(_) => return Step::NoMatch,
                    Err(what) => return Step::Unknown(what),
                },
                Expr::Accept => return Step::Accept,
                Expr::Drop => return Step::Drop,
                Expr::Return => return Step::Return,
                Expr::Jump(target, goto) => return Step::Jump(target, *goto),
                Expr::Nop => {}
                Expr::Vmap(key, pairs) => {
                    let Some(value) = field(key, p) else {
                        return Step::NoMatch;
                    };
                    for (e, verdict) in pairs {
                        match element(e, &value) {
                            Ok(true) => {
                                return match verdict {
                                    Verdict::Accept => Step::Accept,
                                    Verdict::Drop => Step::Drop,
                                    Verdict::Return => Step::Return,
                                    Verdict::Continue => Step::Continue,
                                    Verdict::Jump(t, goto) => Step::Jump(t, *goto),
                                };
                            }
                            Ok(false) => {}
                            Err(what) => return Step::Unknown(what),
                        }
                    }
                    return Step::NoMatch;
                }
                Expr::Unknown(what) => return Step::Unknown(what.clone()),
            }
        }
        Step::Continue
    }

    /// One match: `Ok(false)` also when the packet has no such header (`tcp dport` of a UDP
    /// packet), which no comparison matches, `!=` included.
    fn matches(&self, left: &Left, right: &Right, p: &Packet) -> Result<bool, String> {
        let Some(value) = field(left, p) else {
            return Ok(false);
        };
        let elems: &[Elem] = match right {
            Right::Elems(e) => e,
            Right::Named(i) => self.sets.get(*i).map_or(&[], Vec::as_slice),
        };
        for e in elems {
            if element(e, &value)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

enum Flow {
    Verdict(Decision),
    Through,
}

enum Step<'r> {
    NoMatch,
    /// Matched, no verdict: the next rule.
    Continue,
    Accept,
    Drop,
    Return,
    /// Jump (false) or goto (true) to a chain.
    Jump(&'r str, bool),
    Unknown(String),
}

/// A value of the packet, as a match compares it.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    Addr(IpAddr),
    Port(u16),
    /// A protocol or family name (`tcp`, `ipv4`) and number.
    Name(&'static str, u8),
    /// `ct state` (`new`, `established`).
    State(&'static str),
    Concat(Vec<Val>),
    /// An interface, if the audit knows it (`lo` never matches a probe from another host).
    Interface(Option<String>),
}

fn family_applies(family: &str, p: &Packet) -> bool {
    match family {
        "inet" => true,
        "ip" => p.src.is_ipv4(),
        "ip6" => p.src.is_ipv6(),
        _ => false,
    }
}

/// The value `left` reads from `p`; `None` when `p` has no such header.
fn field(left: &Left, p: &Packet) -> Option<Val> {
    let v6 = p.src.is_ipv6();
    let l4 = match p.protocol {
        Protocol::Tcp => Val::Name("tcp", 6),
        Protocol::Udp => Val::Name("udp", 17),
    };
    let port = |want: &Option<Protocol>, port: u16| {
        want.is_none_or(|w| w == p.protocol)
            .then_some(Val::Port(port))
    };
    match left {
        Left::Saddr { v6: f } => (*f == v6).then_some(Val::Addr(p.src)),
        Left::Daddr { v6: f } => (*f == v6).then_some(Val::Addr(p.dst)),
        Left::L4 { v6: f } => f.is_none_or(|f| f == v6).then_some(l4),
        Left::Sport(want) => port(want, p.sport),
        Left::Dport(want) => port(want, p.dport),
        Left::Nfproto => Some(if v6 {
            Val::Name("ipv6", 10)
        } else {
            Val::Name("ipv4", 2)
        }),
        Left::Interface(input) => Some(Val::Interface(if *input {
            p.iif.clone()
        } else {
            p.oif.clone()
        })),
        Left::CtState => Some(Val::State(match p.state {
            State::New => "new",
            State::Established => "established",
        })),
        Left::Icmp => None,
        Left::Concat(parts) => parts
            .iter()
            .map(|l| field(l, p))
            .collect::<Option<Vec<_>>>()
            .map(Val::Concat),
    }
}

/// Whether one element holds `v`.
fn element(e: &Elem, v: &Val) -> Result<bool, String> {
    match (e, v) {
        (Elem::Unknown(what), _) => Err(what.clone()),
        (Elem::Concat(parts), Val::Concat(vals)) => {
            if parts.len() != vals.len() {
                return Ok(false);
            }
            for (part, val) in parts.iter().zip(vals) {
                if !element(part, val)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        (Elem::Addr(x), Val::Addr(a)) => Ok(x == a),
        (Elem::Net(n), Val::Addr(a)) => Ok(n.contains(a)),
        (Elem::AddrRange(lo, hi), Val::Addr(a)) => Ok(lo <= a && a <= hi),
        (Elem::Num(n), Val::Port(p)) => Ok(*n == u64::from(*p)),
        (Elem::NumRange(lo, hi), Val::Port(p)) => Ok(*lo <= u64::from(*p) && u64::from(*p) <= *hi),
        (Elem::Name(s), Val::Name(name, _)) => Ok(s == name),
        (Elem::Num(n), Val::Name(_, number)) => Ok(*n == u64::from(*number)),
        (Elem::Name(s), Val::State(st)) => Ok(s == st),
        // A probe comes from another host, never through the loopback interface.
        (Elem::Name(s), Val::Interface(Some(name))) => Ok(match s.strip_suffix(['+', '*']) {
            // iptables `eth+`, nft `eth*`: a prefix.
            Some(prefix) => name.starts_with(prefix),
            None => s == name,
        }),
        (Elem::Name(s), Val::Interface(None)) if s == "lo" => Ok(false),
        (e, Val::Interface(None)) => Err(format!(
            "interface {e:?} (name the interfaces with --interface and --ingress-interface)"
        )),
        // A service name nft printed for a port is not resolved here.
        (e, v) => Err(format!("{e:?} compared with {v:?}")),
    }
}
