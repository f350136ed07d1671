//! Product version labels that sort the way people read them.

use std::cmp::Ordering;
use std::fmt;

use serde::Serialize;

/// A version label such as `5.3`, `4.9` or `4.x`.
///
/// Dot-separated parts compare numerically when both are numbers; a non-numeric part
/// (`x`) sorts before any number, so `4.x` < `4.9` < `5.3`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Version(String);

impl Version {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let mut a = self.0.split('.');
        let mut b = other.0.split('.');
        loop {
            match (a.next(), b.next()) {
                (None, None) => return self.0.cmp(&other.0),
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(x), Some(y)) => {
                    let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
                        (Ok(m), Ok(n)) => m.cmp(&n),
                        (Ok(_), Err(_)) => Ordering::Greater,
                        (Err(_), Ok(_)) => Ordering::Less,
                        (Err(_), Err(_)) => x.cmp(y),
                    };
                    if ord != Ordering::Equal {
                        return ord;
                    }
                }
            }
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_numerically_with_wildcards_first() {
        let mut v: Vec<Version> = ["5.3", "4.x", "4.10", "4.9", "2018"]
            .into_iter()
            .map(Version::new)
            .collect();
        v.sort();
        let s: Vec<&str> = v.iter().map(Version::as_str).collect();
        assert_eq!(s, ["4.x", "4.9", "4.10", "5.3", "2018"]);
    }
}
