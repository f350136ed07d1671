//! Runs of plain rules (matches, then accept or drop) decided together: a space is divided
//! by all their cubes in one sweep ([`space::first_match`]), each part by the first rule that
//! holds it, which is what the rules one after the other do. Only the rules whose cubes
//! reach the space are swept (an index on source or destination address), and the cubes are
//! computed once per chain, rule and kind of packet, so a chain of 100,000 rules costs about
//! its length per decision, not its length times the pieces of space.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::*;
use crate::audit::space::{self, Bounds, Cube, Space};

/// The most cubes one rule's matches may make (a product of sets of concatenations); a rule
/// with more is decided alone.
const MAX_CUBES: usize = 64;

/// The batches computed so far: by (chain, first rule), then by kind of packet.
pub(super) type Cache = RefCell<HashMap<(usize, usize), Vec<(Context, Rc<Option<Batch>>)>>>;

#[derive(Debug)]
pub(super) struct Batch {
    /// The index of the rule after the run.
    pub end: usize,
    /// Each rule's cubes with the rule's index, in order; with its verdict (accept: true).
    cubes: Vec<(usize, Bounds)>,
    accepts: Vec<bool>,
    /// The address field the index is on (0: source, 1: destination).
    field: usize,
    /// Positions of the cubes that allow any value of that field.
    any: Vec<usize>,
    /// The others as (least value, greatest value, position), by least value; with the
    /// greatest value so far.
    by_lo: Vec<(u128, u128, usize)>,
    max_hi: Vec<u128>,
}

type Plain<'r> = (Vec<(&'r Left, &'r Right)>, Option<bool>);

/// Parts decided (the rule's index, and whether it accepts), and the rest.
pub(super) type Decided = (Vec<(Space, usize, bool)>, Vec<Space>);

/// What a plain rule needs: its matches and its verdict (`None`: no verdict, the rule does
/// nothing). `None` for other rules.
fn plain(r: &Rule) -> Option<Plain<'_>> {
    let mut matches = Vec::new();
    for e in &r.expr {
        match e {
            Expr::Match {
                negate: false,
                left,
                right,
            } => matches.push((left, right)),
            Expr::Nop => {}
            Expr::Accept | Expr::Snat => return Some((matches, Some(true))),
            Expr::Drop => return Some((matches, Some(false))),
            _ => return None,
        }
    }
    Some((matches, None))
}

impl Ruleset {
    /// The run of plain rules of `chain` that begins at rule `start`, for packets of `ctx`
    /// (`None` when that rule is not plain for them).
    pub(super) fn batch(&self, chain: usize, start: usize, ctx: &Context) -> Rc<Option<Batch>> {
        if let Some(found) = self
            .batches
            .borrow()
            .get(&(chain, start))
            .and_then(|v| v.iter().find(|(c, _)| c == ctx).map(|(_, b)| Rc::clone(b)))
        {
            return found;
        }
        let made = self.make_batch(chain, start, ctx);
        // Packets of other kinds often meet the same cubes (a TCP SYN and its ACKs): one
        // copy.
        let same = self.batches.borrow().get(&(chain, start)).and_then(|v| {
            v.iter()
                .find(|(_, b)| {
                    b.as_ref().as_ref().map(|b| (&b.cubes, b.end))
                        == made.as_ref().map(|m| (&m.cubes, m.end))
                })
                .map(|(_, b)| Rc::clone(b))
        });
        let made = same.unwrap_or_else(|| Rc::new(made));
        self.batches
            .borrow_mut()
            .entry((chain, start))
            .or_default()
            .push((ctx.clone(), Rc::clone(&made)));
        made
    }

    fn make_batch(&self, chain: usize, start: usize, ctx: &Context) -> Option<Batch> {
        let rules = &self.chains.get(chain)?.rules;
        let mut cubes = Vec::new();
        let mut accepts = Vec::new();
        let mut end = start;
        for (i, r) in rules.iter().enumerate().skip(start) {
            let Some(made) = self.rule_cubes(r, ctx) else {
                break;
            };
            end = i + 1;
            let Some((accept, made)) = made else {
                continue;
            };
            let all = made.iter().any(|c| *c == Cube::default());
            for c in made {
                cubes.push((i, Bounds::of(&c)));
                accepts.push(accept);
            }
            // A rule that holds every packet: the rules after it see none.
            if all {
                break;
            }
        }
        if end == start {
            return None;
        }
        cubes.shrink_to_fit();
        accepts.shrink_to_fit();
        let field = usize::from(
            cubes.iter().filter(|c| c.1.hull(1).is_some()).count()
                > cubes.iter().filter(|c| c.1.hull(0).is_some()).count(),
        );
        let mut any = Vec::new();
        let mut by_lo = Vec::new();
        for (k, (_, c)) in cubes.iter().enumerate() {
            match c.hull(field) {
                None => any.push(k),
                Some((lo, hi)) => by_lo.push((lo, hi, k)),
            }
        }
        by_lo.sort_unstable();
        by_lo.shrink_to_fit();
        let max_hi = by_lo
            .iter()
            .scan(0u128, |m, e| {
                *m = (*m).max(e.1);
                Some(*m)
            })
            .collect();
        Some(Batch {
            end,
            cubes,
            accepts,
            field,
            any,
            by_lo,
            max_hi,
        })
    }

    /// A plain rule's cubes for packets of `ctx` and its verdict (`Some(None)`: it matches
    /// none of them or decides nothing); `None` when it is not plain for them.
    fn rule_cubes(&self, r: &Rule, ctx: &Context) -> Option<Option<(bool, Vec<Cube>)>> {
        let (matches, verdict) = plain(r)?;
        let mut held = vec![Cube::default()];
        for (left, right) in matches {
            let elems: &[Elem] = match right {
                Right::Elems(e) => e,
                Right::Named(i) => self.sets.get(*i).map_or(&[], Vec::as_slice),
            };
            let Some(these) = cubes::cubes(left, elems, ctx).ok()? else {
                return Some(None);
            };
            let mut next = Vec::new();
            for a in &held {
                next.extend(these.iter().filter_map(|b| a.and(b)));
            }
            if next.len() > MAX_CUBES {
                return None;
            }
            held = next;
        }
        Some(verdict.map(|v| (v, held)))
    }
}

impl Batch {
    /// `space` divided by the run: parts decided (with the index of the rule that decides
    /// each and whether it accepts) and the rest, which goes on to the rule after the run.
    /// `None` when the parts would be too many.
    pub(super) fn divide(&self, s: Space, work: &mut usize) -> Option<Decided> {
        let on = if self.field == 0 { &s.src } else { &s.dst };
        let (lo, hi) = (on.first().unwrap_or(0), on.last().unwrap_or(0));
        let upto = self.by_lo.partition_point(|e| e.0 <= hi);
        let mut near: Vec<usize> = self.any.clone();
        for i in (0..upto).rev() {
            if self.max_hi.get(i).is_none_or(|m| *m < lo) {
                break;
            }
            if let Some(e) = self.by_lo.get(i)
                && e.1 >= lo
            {
                near.push(e.2);
            }
        }
        *work = work.checked_sub(near.len())?;
        if near.is_empty() {
            return Some((Vec::new(), vec![s]));
        }
        near.sort_unstable();
        let cubes: Vec<(usize, &Bounds)> = near
            .iter()
            .filter_map(|&k| self.cubes.get(k).map(|(_, c)| (k, c)))
            .filter(|(_, c)| c.meets(&s))
            .collect();
        if cubes.is_empty() {
            return Some((Vec::new(), vec![s]));
        }
        let whole = s.clone();
        let (inside, rest) = space::first_match(s, &cubes, work)?;
        if inside.is_empty() {
            // Matched by none: whole, as it came (not in the pieces the sweep cut).
            return Some((Vec::new(), vec![whole]));
        }
        Some((
            inside
                .into_iter()
                .filter_map(|(p, k)| {
                    let rule = self.cubes.get(k)?.0;
                    Some((p, rule, *self.accepts.get(k)?))
                })
                .collect(),
            rest,
        ))
    }
}
