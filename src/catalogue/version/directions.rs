//! The directions an entry opens connections in, from its document cell, `opens:` and
//! `reading:`.

use super::*;

impl Ctx<'_> {
    /// The directions an entry opens connections in, from its document cell and `opens`.
    /// A row written with both directions must say who opens and why: reading it as two
    /// services would make the reply half of a connection an inbound service.
    pub(super) fn directions(
        &mut self,
        at: At<'_>,
        referrer: &str,
        written: Option<Written>,
        opens: Option<Opens>,
        reading: &Option<String>,
    ) -> BTreeSet<Direction> {
        let Some(written) = written else {
            // An empty list is reported with the other empty lists.
            return BTreeSet::new();
        };
        match (written.is_both(), opens) {
            (false, None) => written.single().into_iter().collect(),
            (false, Some(o)) => self.one_way_reading(at, referrer, written, o, reading),
            (true, None) => {
                self.err(
                    at,
                    Problem::Invalid(format!(
                        "{referrer}: the row is written `{written}`: say who opens the connection with \
                         `opens: out` (the local host; the In half is its reply), `opens: in` (the peer) \
                         or `opens: both` (two connections), and why with `reading:`"
                    )),
                );
                BTreeSet::new()
            }
            (true, Some(o)) => {
                if reading.as_deref().is_none_or(|r| r.trim().is_empty()) {
                    self.err(
                        at,
                        Problem::Invalid(format!(
                            "{referrer}: `opens: {}` needs `reading:`, the document's words that decide it \
                             (or why the narrower reading was taken)",
                            o.as_str()
                        )),
                    );
                }
                o.directions()
            }
        }
    }
    /// A row written with one direction whose own words describe the other: `opens:` the
    /// other direction, with `reading:` quoting the words, overrides the cell (which every
    /// output still shows). Repeating the cell, or `both`, is refused.
    fn one_way_reading(
        &mut self,
        at: At<'_>,
        referrer: &str,
        written: Written,
        o: Opens,
        reading: &Option<String>,
    ) -> BTreeSet<Direction> {
        let read = match o {
            Opens::Both => {
                self.err(
                    at,
                    Problem::Invalid(format!(
                        "{referrer}: `opens: both` is only for rows written with both directions; \
                         this one is `{written}` (to read a one-direction row the other way, give \
                         `opens:` that direction and `reading:`)"
                    )),
                );
                return BTreeSet::new();
            }
            one => one.directions(),
        };
        if read.iter().eq(written.single().iter()) {
            self.err(
                at,
                Problem::Invalid(format!(
                    "{referrer}: `opens: {}` repeats the cell `{written}`: leave it out (on a \
                     one-direction row, `opens:` reads the row the other way)",
                    o.as_str()
                )),
            );
            return BTreeSet::new();
        }
        if reading.as_deref().is_none_or(|r| r.trim().is_empty()) {
            self.err(
                at,
                Problem::Invalid(format!(
                    "{referrer}: `opens: {}` reads a row written `{written}` the other way: it \
                     needs `reading:`, the row's own words that say so",
                    o.as_str()
                )),
            );
        }
        read
    }
}
