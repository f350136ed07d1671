//! The backend-neutral ruleset: sorted, de-duplicated rules that every renderer prints in the
//! order given.

use ipnet::IpNet;
use serde::Serialize;

use crate::model::{Direction, PortSet, Protocol, aggregate};

/// The other end of a rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Remote {
    /// Any address: the peer is `any`, or nothing tells its address (see the warnings).
    Any,
    /// These prefixes, aggregated and sorted; never empty.
    Addresses(Vec<IpNet>),
}

impl Remote {
    /// The v4 prefixes, or `None` for any.
    pub fn v4(&self) -> Option<Vec<IpNet>> {
        match self {
            Remote::Any => None,
            Remote::Addresses(a) => Some(
                a.iter()
                    .filter(|n| matches!(n, IpNet::V4(_)))
                    .copied()
                    .collect(),
            ),
        }
    }

    /// The v6 prefixes, or `None` for any.
    pub fn v6(&self) -> Option<Vec<IpNet>> {
        match self {
            Remote::Any => None,
            Remote::Addresses(a) => Some(
                a.iter()
                    .filter(|n| matches!(n, IpNet::V6(_)))
                    .copied()
                    .collect(),
            ),
        }
    }
}

impl Serialize for Remote {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Remote::Any => s.serialize_str("any"),
            Remote::Addresses(a) => a.serialize(s),
        }
    }
}

/// A connection-tracking helper a rule needs for related data connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Helper {
    /// Plain FTP (control channel on the rule's ports).
    Ftp,
}

/// A sorted set of names without repeats, kept in a vector: most rules carry one or two
/// names, and a `BTreeSet` spends a whole node (about 280 bytes) on each of those.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Names(Vec<String>);

impl Names {
    pub fn insert(&mut self, name: String) {
        if let Err(at) = self.0.binary_search(&name) {
            self.0.insert(at, name);
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.binary_search_by(|n| n.as_str().cmp(name)).is_ok()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Add many at once (sorted once, not per name).
    fn absorb(&mut self, more: impl IntoIterator<Item = String>) {
        self.0.extend(more);
        self.0.sort_unstable();
        self.0.dedup();
    }
}

impl Extend<String> for Names {
    fn extend<I: IntoIterator<Item = String>>(&mut self, iter: I) {
        self.absorb(iter);
    }
}

impl FromIterator<String> for Names {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        let mut n = Names::default();
        n.absorb(iter);
        n
    }
}

impl<const N: usize> From<[String; N]> for Names {
    fn from(names: [String; N]) -> Self {
        names.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a Names {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Who the remote side is, for comments: internal roles and external host names.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Peers {
    pub roles: Names,
    pub hosts: Names,
    /// Hosts with no known address, for which the rule allows any address.
    #[serde(skip_serializing_if = "Names::is_empty")]
    pub unresolved: Names,
}

/// One firewall rule: traffic in `direction` over `protocol` to `ports` with `remote`.
///
/// For `in` the ports are the local host's (gateway's) ports and the remote is the source;
/// for `out` the ports are the remote's ports and the remote is the destination.
/// Fields are in output order: rules sort by direction, protocol, ports, then remote.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Rule {
    pub direction: Direction,
    pub protocol: Protocol,
    pub ports: PortSet,
    pub remote: Remote,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helper: Option<Helper>,
    pub peers: Peers,
    /// Ids of the catalogue entries this rule came from.
    pub entries: Names,
}

/// What the ruleset was selected from; printed in every output's header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Meta {
    pub product: String,
    pub title: String,
    pub version: String,
    pub component: String,
    /// Enabled features, sorted.
    pub features: Vec<String>,
    /// Catalogue file the rules come from (catalogue-relative).
    pub catalogue_file: String,
    /// Vendor document of that file.
    pub document: String,
    /// SHA-256 of the whole catalogue.
    pub catalogue_digest: String,
    /// SHA-256 of the site file, if one was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_digest: Option<String>,
}

/// Everything a backend needs, and nothing it must look up elsewhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ruleset {
    #[serde(flatten)]
    pub meta: Meta,
    /// The local host's own addresses (from the site file and `--gateway`).
    pub gateway: Vec<IpNet>,
    pub rules: Vec<Rule>,
    pub warnings: Vec<String>,
    /// Every selected catalogue entry, bound to addresses, in catalogue order: what a review
    /// report lists (before rules are merged). Not part of the JSON output.
    #[serde(skip)]
    pub selected: Vec<Selected>,
}

/// One selected catalogue entry as bound to the site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    pub id: String,
    pub description: String,
    pub feature: Option<String>,
    pub directions: Vec<Direction>,
    pub protocols: Vec<Protocol>,
    pub ports: PortSet,
    /// `any`, `role NAME` or `group NAME`.
    pub peer: String,
    /// Internal (a role) or external (a host group, or any address).
    pub internal: bool,
    pub hosts: Vec<String>,
    pub remote: Remote,
    /// `document: section, row (line N)`.
    pub source: String,
}

impl Ruleset {
    /// The rules of one direction, in order.
    pub fn direction(&self, direction: Direction) -> Vec<&Rule> {
        self.rules
            .iter()
            .filter(|r| r.direction == direction)
            .collect()
    }

    /// Merge candidate rules into the smallest equivalent sorted set:
    /// rules that differ only in ports become one rule with a port set, and rules that
    /// differ only in remote addresses become one rule with the union (`any` absorbs).
    pub fn merge(candidates: Vec<Rule>) -> Vec<Rule> {
        let mut rules = candidates;
        loop {
            let before = rules.len();
            rules = merge_by(
                rules,
                |r| (r.direction, r.protocol, r.helper, r.remote.clone()),
                |group| PortSet::new(group.iter().flat_map(|r| r.ports.ranges().iter().copied())),
                |rule, ports| rule.ports = ports,
            );
            rules = merge_by(
                rules,
                |r| (r.direction, r.protocol, r.helper, r.ports.clone()),
                union_remotes,
                |rule, remote| rule.remote = remote,
            );
            if rules.len() == before {
                break;
            }
        }
        rules.sort();
        rules.dedup();
        rules
    }
}

/// The union of the remotes of `rules`: `any` absorbs, addresses are aggregated once.
fn union_remotes(rules: &[Rule]) -> Remote {
    let mut nets = Vec::new();
    for r in rules {
        match &r.remote {
            Remote::Any => return Remote::Any,
            Remote::Addresses(a) => nets.extend(a.iter().copied()),
        }
    }
    Remote::Addresses(aggregate(nets))
}

/// Group rules by `key`; each group of more than one becomes its first rule with the merged
/// field (`merged` over the whole group, computed once) and the union of entries and peers.
/// Groups come out in key order. The rules are sorted by key in place (no second copy of
/// them is held: big rulesets merge in little more memory than they take).
fn merge_by<K: Ord, T>(
    rules: Vec<Rule>,
    key: impl Fn(&Rule) -> K,
    merged: impl Fn(&[Rule]) -> T,
    set: impl Fn(&mut Rule, T),
) -> Vec<Rule> {
    let mut keyed: Vec<(K, Rule)> = rules.into_iter().map(|r| (key(&r), r)).collect();
    // Stable: a group's rules keep their order, so its first rule is the same as before.
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<Rule> = Vec::new();
    let mut group: Vec<Rule> = Vec::new();
    let mut iter = keyed.into_iter().peekable();
    while let Some((k, r)) = iter.next() {
        group.push(r);
        if iter.peek().is_some_and(|(next, _)| *next == k) {
            continue;
        }
        out.extend(merge_group(&mut group, &merged, &set));
    }
    out
}

/// One group of [`merge_by`], emptied into one rule.
fn merge_group<T>(
    group: &mut Vec<Rule>,
    merged: impl Fn(&[Rule]) -> T,
    set: impl Fn(&mut Rule, T),
) -> Option<Rule> {
    if group.len() == 1 {
        return group.pop();
    }
    let value = merged(group);
    let mut iter = group.drain(..);
    let mut first = iter.next()?;
    let (mut entries, mut roles, mut hosts, mut unresolved) = (vec![], vec![], vec![], vec![]);
    for r in iter {
        entries.extend(r.entries.0);
        roles.extend(r.peers.roles.0);
        hosts.extend(r.peers.hosts.0);
        unresolved.extend(r.peers.unresolved.0);
    }
    first.entries.absorb(entries);
    first.peers.roles.absorb(roles);
    first.peers.hosts.absorb(hosts);
    first.peers.unresolved.absorb(unresolved);
    set(&mut first, value);
    Some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PortRange;

    fn rule(dir: Direction, port: &str, remote: &[&str], entry: &str) -> Rule {
        Rule {
            direction: dir,
            protocol: Protocol::Tcp,
            ports: PortSet::new([port.parse::<PortRange>().unwrap()]),
            remote: if remote.is_empty() {
                Remote::Any
            } else {
                Remote::Addresses(remote.iter().map(|a| a.parse().unwrap()).collect())
            },
            helper: None,
            peers: Peers::default(),
            entries: [entry.to_string()].into_iter().collect(),
        }
    }

    #[test]
    fn merges_ports_then_addresses() {
        use Direction::*;
        let merged = Ruleset::merge(vec![
            rule(Out, "80", &["192.0.2.1/32"], "a"),
            rule(Out, "443", &["192.0.2.1/32"], "b"),
            rule(Out, "80", &["192.0.2.0/32"], "c"),
            rule(Out, "443", &["192.0.2.0/32"], "d"),
            rule(In, "80", &[], "e"),
            rule(In, "80", &["198.51.100.1/32"], "f"),
        ]);
        assert_eq!(merged.len(), 2, "{merged:#?}");
        assert_eq!(merged[0].direction, In);
        assert_eq!(
            merged[0].remote,
            Remote::Any,
            "any absorbs the address rule on the same port"
        );
        assert_eq!(merged[0].entries.len(), 2);
        assert_eq!(merged[1].ports.to_string(), "80,443");
        assert_eq!(
            merged[1].remote,
            Remote::Addresses(vec!["192.0.2.0/31".parse().unwrap()])
        );
        assert_eq!(
            merged[1].entries.iter().cloned().collect::<Vec<_>>(),
            ["a", "b", "c", "d"]
        );
    }

    #[test]
    fn merge_is_order_independent() {
        use Direction::*;
        let mut v = vec![
            rule(Out, "80", &["192.0.2.1/32"], "a"),
            rule(Out, "443", &["192.0.2.9/32"], "b"),
            rule(Out, "25", &[], "c"),
            rule(In, "22", &["10.0.0.0/8"], "d"),
        ];
        let a = Ruleset::merge(v.clone());
        v.reverse();
        assert_eq!(a, Ruleset::merge(v));
    }
}
