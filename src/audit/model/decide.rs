//! What a read ruleset decides about a space of packets: every base chain on the packets'
//! hooks, in hook and priority order, in every table that is not dormant (tables whose flags
//! could not be read are decided both ways); user chains through jumps and gotos, bounded.
//!
//! Each rule's matches divide the space exactly: the part a match holds goes on through the
//! rule, the rest to the next rule. What comes out is a partition of the space, each piece
//! with its decision and the rule or policy that made it.

use super::*;
use crate::audit::space::{self, Space};

/// A piece of a decided space.
#[derive(Clone, Debug)]
pub struct Piece {
    pub space: Space,
    pub decision: Decision,
    /// For a drop, the base chain it happened in (where a rule that admits it would go).
    pub chain: Option<ChainRef>,
}

/// The most rule visits (a piece of space through one rule) one decision may take: chains
/// that jump to each other many times over, or matches that cut a space into many pieces,
/// would otherwise take exponential time.
pub(super) const WORK: usize = 2_000_000;

/// The packets as a chain at `point` sees them. Before routing (ingress, prerouting) a packet
/// has no output interface yet: the kernel's empty name, also for one the firewall forwards.
/// IPv6 hands the postrouting hook the packets the host sends with an input interface, the
/// one they leave by (`ip6_output` passes the packet's device, already that one); IPv4 with
/// none (checked against the kernel:
/// `audit_exact::interfaces_a_packet_has_none_of_are_empty_names`, and
/// `audit_equals_the_kernel_on_generated_perimeter_rulesets` for forwarded packets).
fn seen_at<'c>(point: &Point, ctx: &'c Context) -> std::borrow::Cow<'c, Context> {
    if matches!(point, Point::Ingress | Point::Prerouting) && ctx.oif.as_deref() != Some("") {
        std::borrow::Cow::Owned(Context {
            oif: Some(String::new()),
            ..ctx.clone()
        })
    } else if *point == Point::Egress && ctx.iif.as_deref() != Some("") {
        // The egress hook is a device's: the kernel hands it no input interface.
        std::borrow::Cow::Owned(Context {
            iif: Some(String::new()),
            ..ctx.clone()
        })
    } else if *point == Point::Postrouting && ctx.local && ctx.v6 {
        std::borrow::Cow::Owned(Context {
            iif: ctx.oif.clone(),
            ..ctx.clone()
        })
    } else {
        std::borrow::Cow::Borrowed(ctx)
    }
}

impl Ruleset {
    /// What the base chains on `hook`'s path do with the packets of `space`: every one must
    /// accept (in order; a drop in any ends it).
    ///
    /// Dormant tables are left out. What the dump leaves in doubt (tables whose flags are
    /// unreadable: dormant or not; ingress chains whose device it does not name: met or not)
    /// is decided every way: where all agree that is the answer, else unknown, naming why.
    pub fn decide(&self, hook: Hook, ctx: &Context, space: Space) -> Vec<Piece> {
        let mut doubts: Vec<(Doubt, String)> = self
            .unreadable
            .iter()
            .map(|(f, t)| {
                (
                    Doubt::Table((f.clone(), t.clone())),
                    format!("table {f} {t} is dormant (nft printed its flags wrongly)"),
                )
            })
            .collect();
        // A device's chains (ingress, egress) on the path, whose device the dump leaves out.
        doubts.extend(self.chains.iter().enumerate().filter_map(|(i, c)| {
            let b = c.base.as_ref()?;
            let edge = matches!(b.hook, Point::Ingress | Point::Egress);
            (edge && hook.path().contains(&b.hook) && c.device.is_none() && !c.passes()).then(
                || {
                    (
                        Doubt::Chains(vec![i]),
                        format!(
                            "{} chain {} {} {} sees these packets (nft's JSON does not name its \
                         device; the listing `nft --debug=netlink list ruleset` ends with \
                         does: give it as another --ruleset)",
                            b.hook, c.family, c.table, c.name
                        ),
                    )
                },
            )
        }));
        doubts.extend(self.untracked_nat(hook, ctx));
        let mut work = WORK;
        let base = Absent {
            tables: self.dormant.clone(),
            chains: std::collections::BTreeSet::new(),
        };
        if doubts.is_empty() {
            return self.decide_without(hook, ctx, space, &base, &mut work);
        }
        if doubts.len() > MAX_UNREADABLE {
            return vec![unknown(
                space,
                format!(
                    "{} tables whose flags nft printed wrongly or ingress chains whose device \
                     it left out: whether each filters these packets is not known",
                    doubts.len()
                ),
            )];
        }
        let mut result = self.decide_without(hook, ctx, space.clone(), &base, &mut work);
        let why = format!(
            "whether {} decides it",
            doubts
                .iter()
                .map(|d| d.1.as_str())
                .collect::<Vec<_>>()
                .join(" or whether ")
        );
        for mask in 1..(1u32 << doubts.len()) {
            let mut absent = base.clone();
            for (i, (d, _)) in doubts.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    match d {
                        Doubt::Table(t) => {
                            absent.tables.insert(t.clone());
                        }
                        Doubt::Chains(c) => absent.chains.extend(c),
                    }
                }
            }
            let other = self.decide_without(hook, ctx, space.clone(), &absent, &mut work);
            result = agree(result, &other, &why);
        }
        result
    }

    /// The nat chains on the path that may change a verdict, when no rule of the ruleset
    /// starts connection tracking for the packets' family: the kernel passes packets through
    /// nat chains only while it tracks connections, which it does in a namespace only while
    /// something there asks for it (a `ct` match, a nat statement; or iptables rules, another
    /// program, `nf_conntrack.enable_hooks`, none of which the dump shows). So those chains
    /// may see the packets or not, together.
    fn untracked_nat(&self, hook: Hook, ctx: &Context) -> Option<(Doubt, String)> {
        if self.tracked(ctx.v6) {
            return None;
        }
        let nat: Vec<(usize, &Chain)> = self
            .chains
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.base.as_ref().is_some_and(|b| {
                    b.kind == Kind::Nat
                        && hook.path().contains(&b.hook)
                        && !c.passes()
                        && family_applies(&c.family, ctx.v6, &c.base)
                })
            })
            .collect();
        if nat.is_empty() {
            return None;
        }
        let named = |c: &Chain| format!("{} {} {}", c.family, c.table, c.name);
        let names: Vec<String> = nat.iter().map(|(_, c)| named(c)).collect();
        let why = format!(
            "nat chain {} sees these packets (the kernel passes packets through nat chains only \
             while it tracks connections, and no rule here makes it track {}: a `ct` match or a \
             nat statement would, as may iptables rules, another program or \
             nf_conntrack.enable_hooks)",
            names.join(", "),
            if ctx.v6 { "IPv6" } else { "IPv4" }
        );
        Some((Doubt::Chains(nat.iter().map(|(i, _)| *i).collect()), why))
    }

    /// A base chain of an `arp` table (IPv4's address resolution, which every IPv4
    /// connection needs) or of a `bridge` table (frames crossing a bridge, before IP sees
    /// them) that may drop: the audit models neither, so what it would decide is not known.
    /// Also [`Ruleset::family_missing`]: why none of these packets is audited, if so.
    fn not_audited(&self, ctx: &Context, absent: &Absent) -> Option<String> {
        if let Some(missing) = self.family_missing(ctx) {
            return Some(missing);
        }
        self.chains.iter().find_map(|c| {
            c.base.as_ref()?;
            let what = match &c.family {
                Family::Other(f) if f == "arp" && !ctx.v6 => {
                    "address resolution (ARP), which every IPv4 connection needs"
                }
                Family::Other(f) if f == "bridge" => "the frames crossing a bridge",
                _ => return None,
            };
            let dormant = absent.tables.contains(&(c.family.clone(), c.table.clone()));
            (!c.passes() && !dormant).then(|| {
                format!(
                    "chain {} {} {} filters {what}: not audited",
                    c.family, c.table, c.name
                )
            })
        })
    }

    /// For rulesets of one family per file: the packets' family was not given, or its text
    /// says it cannot show a table whole.
    fn family_missing(&self, ctx: &Context) -> Option<String> {
        let family = if ctx.v6 { Family::Ip6 } else { Family::Ip };
        let save = if ctx.v6 {
            "ip6tables-save"
        } else {
            "iptables-save"
        };
        if let Some((_, _, why)) = self.hidden.iter().find(|(f, _, _)| *f == family) {
            return Some(why.clone());
        }
        let given = self.families.as_ref()?;
        (!given.contains(&family)).then(|| {
            format!(
                "no {save} given: {} is not audited",
                if ctx.v6 { "IPv6" } else { "IPv4" }
            )
        })
    }

    /// Why a base chain cannot be decided for these packets, if it cannot; `Ok(false)` when
    /// it does not see them.
    fn undecidable(&self, c: &Chain, hook: Hook, ctx: &Context) -> Result<bool, String> {
        let Some(base) = &c.base else {
            return Ok(false);
        };
        let at = format!("{} {} {}", c.family, c.table, c.name);
        let passes = c.passes();
        let device = match base.hook {
            Point::Ingress => Some((&ctx.iif, "arrive on")),
            Point::Egress => Some((&ctx.oif, "leave by")),
            _ => None,
        };
        if let Some((iface, way)) = device {
            if passes {
                return Ok(false);
            }
            match (&c.device, iface) {
                (Some(dev), Some(iface)) if dev != iface => return Ok(false),
                (Some(dev), None) => {
                    return Err(format!(
                        "{} chain {at} on device {dev}: name the interface the packets {way} \
                         with --interface",
                        base.hook
                    ));
                }
                // Its device named and met, or not named: [`Ruleset::decide`] also decides
                // the packets without it.
                _ => {}
            }
        }
        let sees = match &base.kind {
            // A nat chain sees only the first packet of a connection; what it does to that
            // one (a drop, or a rewrite named as unknown) is decided.
            Kind::Nat => ctx.state == State::New,
            Kind::Filter | Kind::Route => true,
            Kind::Other(_) if passes => false,
            Kind::Other(kind) => {
                return Err(format!(
                    "chain {at}: type {kind} on the {} hook",
                    hook.name()
                ));
            }
        };
        match &c.worst {
            _ if !sees => Ok(false),
            Err(why) => Err(format!("chain {at}: {why}")),
            Ok(n) if *n > WORK => Err(format!(
                "chain {at}: up to {n} rules to visit for one packet (chains that jump to each \
                 other over and over); at most {WORK} are followed"
            )),
            Ok(_) => Ok(true),
        }
    }

    /// [`Ruleset::decide`] with the tables and chains in `absent` left out.
    fn decide_without(
        &self,
        hook: Hook,
        ctx: &Context,
        space: Space,
        absent: &Absent,
        work: &mut usize,
    ) -> Vec<Piece> {
        if let Some(why) = self.not_audited(ctx, absent) {
            return vec![unknown(space, why)];
        }
        let path = hook.path();
        let on_path = |c: &Chain| {
            c.base
                .as_ref()
                .and_then(|b| path.iter().position(|h| *h == b.hook))
        };
        let mut chains: Vec<(usize, &Chain)> = self
            .chains
            .iter()
            .enumerate()
            .filter(|(_, c)| on_path(c).is_some())
            .filter(|(_, c)| family_applies(&c.family, ctx.v6, &c.base))
            .filter(|(i, c)| {
                !absent.chains.contains(i)
                    && !absent.tables.contains(&(c.family.clone(), c.table.clone()))
            })
            .collect();
        chains.sort_by_key(|(_, c)| (on_path(c), c.base.as_ref().map_or(0, |b| b.priority)));
        let none = format!("no base chain on the {} hook: accepted", hook.name());
        // Pieces still going: (space, the first rule that accepted them, the last policy).
        let mut live: Vec<(Space, Option<String>, String)> = vec![(space, None, none)];
        let mut done = Vec::new();
        for (ci, c) in chains {
            if live.is_empty() {
                break;
            }
            let Some(base) = &c.base else {
                continue;
            };
            let (prio, policy) = (base.priority, base.policy);
            let at = format!("{} {} {}", c.family, c.table, c.name);
            match self.undecidable(c, hook, ctx) {
                Ok(false) => continue,
                Ok(true) => {}
                Err(why) => {
                    done.extend(live.drain(..).map(|(s, _, _)| unknown(s, why.clone())));
                    break;
                }
            }
            let here = || Some((c.family.to_string(), c.table.clone(), c.name.clone()));
            let mut next = Vec::new();
            for (s, accepted_by, last) in live {
                for (sub, flow) in self.run(ci, &seen_at(&base.hook, ctx), s, 0, work) {
                    match flow {
                        // The first rule that accepts says most (later chains may only let it
                        // pass).
                        Flow::Verdict(Decision::Accept(why)) => {
                            next.push((sub, accepted_by.clone().or(Some(why)), last.clone()));
                        }
                        Flow::Verdict(d @ Decision::Drop(_)) => done.push(Piece {
                            space: sub,
                            decision: d,
                            chain: here(),
                        }),
                        Flow::Verdict(d) => done.push(Piece {
                            space: sub,
                            decision: d,
                            chain: None,
                        }),
                        Flow::Through if policy == Policy::Accept => next.push((
                            sub,
                            accepted_by.clone(),
                            format!("policy accept of chain {at} (priority {prio})"),
                        )),
                        Flow::Through => done.push(Piece {
                            space: sub,
                            decision: Decision::Drop(format!("policy {policy} of chain {at}")),
                            chain: here(),
                        }),
                    }
                }
            }
            live = next;
        }
        done.extend(live.into_iter().map(|(s, accepted_by, last)| Piece {
            space: s,
            decision: Decision::Accept(accepted_by.unwrap_or(last)),
            chain: None,
        }));
        done
    }

    /// Run one chain over a space: its pieces and what became of each (`Through` when no rule
    /// decides: the caller goes on, or the base chain's policy applies).
    fn run(
        &self,
        ci: usize,
        ctx: &Context,
        space: Space,
        depth: usize,
        work: &mut usize,
    ) -> Vec<(Space, Flow)> {
        let Some(c) = self.chains.get(ci) else {
            return vec![(space, Flow::Through)];
        };
        let at_chain = format!("{} {} {}", c.family, c.table, c.name);
        if depth > DEPTH {
            return vec![(
                space,
                Flow::Verdict(Decision::Unknown(format!(
                    "more than {DEPTH} nested chains (a loop?) at {at_chain}"
                ))),
            )];
        }
        let mut live = vec![space];
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(r) = c.rules.get(i) {
            if live.is_empty() {
                break;
            }
            if *work < live.len() || live.len() > space::MAX_PIECES {
                let why = format!(
                    "at {at_chain}: more than {WORK} rule visits or {} pieces of address and port \
                     space to follow (chains that jump to each other over and over, or rules \
                     that cut the space very finely)",
                    space::MAX_PIECES
                );
                out.extend(
                    live.drain(..)
                        .map(|s| (s, Flow::Verdict(Decision::Unknown(why.clone())))),
                );
                break;
            }
            *work -= live.len();
            if let Some(b) = self.batch(ci, i, ctx).as_ref() {
                live = run_batch(b, (c, &at_chain), live, work, &mut out);
                i = b.end;
                continue;
            }
            i += 1;
            let at = || named(&at_chain, r);
            let mut next = Vec::new();
            for s in live {
                for (sub, step) in self.rule_step(r, ctx, s) {
                    let verdict = |d| (sub.clone(), Flow::Verdict(d));
                    match step {
                        Step::NoMatch | Step::Continue => next.push(sub),
                        Step::Unknown(what) => {
                            out.push(verdict(Decision::Unknown(format!("{}: {what}", at()))));
                        }
                        Step::Accept => out.push(verdict(Decision::Accept(at()))),
                        Step::Drop => out.push(verdict(Decision::Drop(at()))),
                        Step::Return => out.push((sub, Flow::Through)),
                        Step::Jump(target, goto) => {
                            let key = (c.family.clone(), c.table.clone(), target.to_string());
                            let Some(&called) = self.by_name.get(&key) else {
                                out.push(verdict(Decision::Unknown(format!(
                                    "{}: jump to a missing chain {target}",
                                    at()
                                ))));
                                continue;
                            };
                            for (s2, flow) in self.run(called, ctx, sub, depth + 1, work) {
                                match flow {
                                    Flow::Verdict(d) => out.push((s2, Flow::Verdict(d))),
                                    // After a goto, the chain that called this one goes on.
                                    Flow::Through if goto => out.push((s2, Flow::Through)),
                                    Flow::Through => next.push(s2),
                                }
                            }
                        }
                    }
                }
            }
            live = next;
        }
        out.extend(live.into_iter().map(|s| (s, Flow::Through)));
        out
    }

    /// One rule over a space: its matches in order divide it; then what its statements do
    /// to the part that matched.
    fn rule_step<'r>(&self, r: &'r Rule, ctx: &Context, space: Space) -> Vec<(Space, Step<'r>)> {
        let whole = space.clone();
        let mut cur = vec![space];
        let mut out = Vec::new();
        let all = |cur: Vec<Space>, out: &mut Vec<(Space, Step<'r>)>, step: Step<'r>| {
            out.extend(cur.into_iter().map(|s| (s, step.clone())));
        };
        for e in &r.expr {
            match e {
                Expr::Match {
                    negate,
                    left,
                    right,
                } => match self.match_step((*negate, left, right), ctx, cur, &mut out) {
                    Some(held) => cur = held,
                    None => return settle(whole, out),
                },
                Expr::Accept | Expr::Snat => {
                    all(cur, &mut out, Step::Accept);
                    return out;
                }
                Expr::Drop => {
                    all(cur, &mut out, Step::Drop);
                    return out;
                }
                Expr::Return => {
                    all(cur, &mut out, Step::Return);
                    return out;
                }
                Expr::Jump(target, goto) => {
                    all(cur, &mut out, Step::Jump(target, *goto));
                    return out;
                }
                Expr::Nop => {}
                Expr::Never => {
                    out.extend(cur.into_iter().map(|s| (s, Step::NoMatch)));
                    return settle(whole, out);
                }
                Expr::Vmap(key, pairs) => {
                    self.vmap_step(key, pairs, ctx, cur, &mut out);
                    return out;
                }
                Expr::Unknown(what) => {
                    all(cur, &mut out, Step::Unknown(what.clone()));
                    return out;
                }
            }
            if cur.is_empty() {
                return settle(whole, out);
            }
        }
        all(cur, &mut out, Step::Continue);
        out
    }

    /// One match over the pieces still matching: the parts it holds go on (`None`: the rule
    /// ends here; what was left is in `out`).
    fn match_step<'r>(
        &self,
        (negate, left, right): (bool, &Left, &Right),
        ctx: &Context,
        cur: Vec<Space>,
        out: &mut Vec<(Space, Step<'r>)>,
    ) -> Option<Vec<Space>> {
        let elems: &[Elem] = match right {
            Right::Elems(e) => e,
            Right::Named(i) => self.sets.get(*i).map_or(&[], Vec::as_slice),
        };
        let cubes = match cubes::cubes(left, elems, ctx) {
            Err(what) => {
                out.extend(cur.into_iter().map(|s| (s, Step::Unknown(what.clone()))));
                return None;
            }
            // The packets have no such header: nothing matches, `!=` included.
            Ok(None) => {
                out.extend(cur.into_iter().map(|s| (s, Step::NoMatch)));
                return None;
            }
            Ok(Some(cubes)) => cubes,
        };
        let mut held = Vec::new();
        for s in cur {
            let Some((inside, outside)) = space::partition(s.clone(), &cubes) else {
                out.push((s, Step::Unknown(too_fine())));
                continue;
            };
            let (yes, no) = if negate {
                (outside, inside)
            } else {
                (inside, outside)
            };
            held.extend(yes);
            out.extend(no.into_iter().map(|n| (n, Step::NoMatch)));
        }
        Some(held)
    }

    /// A verdict map: each element in turn takes what it holds; the rest does not match.
    fn vmap_step<'r>(
        &self,
        key: &Left,
        pairs: &'r [(Elem, Verdict)],
        ctx: &Context,
        mut cur: Vec<Space>,
        out: &mut Vec<(Space, Step<'r>)>,
    ) {
        for (e, verdict) in pairs {
            let step = match verdict {
                Verdict::Accept => Step::Accept,
                Verdict::Drop => Step::Drop,
                Verdict::Return => Step::Return,
                Verdict::Continue => Step::Continue,
                Verdict::Jump(t, goto) => Step::Jump(t, *goto),
            };
            match cubes::cubes(key, std::slice::from_ref(e), ctx) {
                Err(what) => {
                    out.extend(cur.drain(..).map(|s| (s, Step::Unknown(what.clone()))));
                    return;
                }
                Ok(None) => break,
                Ok(Some(cubes)) => {
                    let mut rest = Vec::new();
                    for s in cur {
                        match space::partition(s.clone(), &cubes) {
                            Some((inside, outside)) => {
                                out.extend(inside.into_iter().map(|i| (i, step.clone())));
                                rest.extend(outside);
                            }
                            None => out.push((s, Step::Unknown(too_fine()))),
                        }
                    }
                    cur = rest;
                }
            }
        }
        out.extend(cur.into_iter().map(|s| (s, Step::NoMatch)));
    }
}

/// What a rule did to a space: where it matched none of it, the space whole (its matches,
/// taken one by one, would have cut it into pieces that all go on alike).
fn settle<'r>(whole: Space, out: Vec<(Space, Step<'r>)>) -> Vec<(Space, Step<'r>)> {
    if out.iter().all(|(_, s)| matches!(s, Step::NoMatch)) {
        vec![(whole, Step::NoMatch)]
    } else {
        out
    }
}

/// A run of plain rules over the pieces still going: what they decide goes to `out`; the
/// rest goes on.
fn run_batch(
    b: &super::batch::Batch,
    (c, at_chain): (&Chain, &str),
    live: Vec<Space>,
    work: &mut usize,
    out: &mut Vec<(Space, Flow)>,
) -> Vec<Space> {
    let mut next = Vec::new();
    for s in live {
        let Some((decided, rest)) = b.divide(s.clone(), work) else {
            out.push((s, Flow::Verdict(Decision::Unknown(too_fine()))));
            continue;
        };
        for (sub, k, accept) in decided {
            let at = c
                .rules
                .get(k)
                .map_or_else(String::new, |r| named(at_chain, r));
            let d = if accept {
                Decision::Accept(at)
            } else {
                Decision::Drop(at)
            };
            out.push((sub, Flow::Verdict(d)));
        }
        next.extend(rest);
    }
    next
}

/// A rule as the report names it.
fn named(chain: &str, r: &Rule) -> String {
    let comment = r
        .comment
        .as_ref()
        .map(|t| format!(" \"{t}\""))
        .unwrap_or_default();
    format!("rule {chain} handle {}{comment}", r.handle)
}

fn too_fine() -> String {
    format!(
        "a match that cuts the space into more than {} pieces",
        space::MAX_PIECES
    )
}

fn unknown(space: Space, why: String) -> Piece {
    Piece {
        space,
        decision: Decision::Unknown(why),
        chain: None,
    }
}

/// Two decisions of the same space (with some tables dormant or not): where they agree, the
/// first's pieces; where they differ, unknown.
fn agree(a: Vec<Piece>, b: &[Piece], why: &str) -> Vec<Piece> {
    let kind = |d: &Decision| std::mem::discriminant(d);
    let mut out = Vec::new();
    for p in a {
        for q in b {
            let Some(both) = p.space.intersect(&q.space) else {
                continue;
            };
            if kind(&p.decision) == kind(&q.decision) {
                out.push(Piece {
                    space: both,
                    ..p.clone()
                });
            } else {
                out.push(unknown(both, why.to_string()));
            }
        }
    }
    out
}

/// What the dump leaves in doubt: a table that may be dormant, an ingress chain that may
/// not see the packets, nat chains that see them only if connections are tracked.
enum Doubt {
    Table((Family, String)),
    /// Chains that see the packets or not, together.
    Chains(Vec<usize>),
}

/// Tables and chains left out of one decision.
#[derive(Clone)]
struct Absent {
    tables: std::collections::BTreeSet<(Family, String)>,
    chains: std::collections::BTreeSet<usize>,
}

enum Flow {
    Verdict(Decision),
    Through,
}

#[derive(Clone)]
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

fn family_applies(family: &Family, v6: bool, base: &Option<Base>) -> bool {
    match family {
        Family::Inet => true,
        Family::Ip => !v6,
        Family::Ip6 => v6,
        Family::Netdev => base
            .as_ref()
            .is_some_and(|b| matches!(b.hook, Point::Ingress | Point::Egress)),
        Family::Other(_) => false,
    }
}
