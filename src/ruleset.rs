//! The backend-neutral ruleset: sorted, de-duplicated rules that every renderer prints in the
//! order given.

use ipnet::IpNet;
use serde::Serialize;

use crate::model::{Direction, PortSet, Service, Written, aggregate};

/// The other end of a rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Remote {
    /// Any address: the peer is `any`, or nothing tells its address (see the warnings).
    Any,
    /// These prefixes, aggregated and sorted; never empty.
    Addresses(Vec<IpNet>),
    /// Whatever the names of these host groups resolve to at run time (ids, sorted; see
    /// [`Ruleset::dns_groups`]): sets that DNS fills, or FQDN objects.
    Names(Names),
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
            Remote::Names(_) => Some(Vec::new()),
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
            Remote::Names(_) => Some(Vec::new()),
        }
    }
}

impl Serialize for Remote {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Remote::Any => s.serialize_str("any"),
            Remote::Addresses(a) => a.serialize(s),
            Remote::Names(groups) => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("resolved_at_run_time", groups)?;
                m.end()
            }
        }
    }
}

/// Why a rule admits any address. Every rule whose remote is `any` (or a whole address
/// family) carries at least one, so that no output admits the world without saying why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum AnyReason {
    /// The document's row itself says any address (SMTP from the Internet).
    Document { entry: String },
    /// A role that the site file does not bind.
    UnboundRole { role: String },
    /// A host group with no address from its document or the site file.
    #[serde(rename = "unbound-host-group")]
    UnboundGroup { group: String },
    /// The site file binds a peer to a whole address family (`0.0.0.0/0`, `::/0`).
    SiteBinding { peer: String, prefix: IpNet },
    /// A site file's own entry says `peer: any`.
    SiteEntry { entry: String },
}

impl AnyReason {
    /// A short label, for counts: `document`, `unbound role`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Document { .. } => "document",
            Self::UnboundRole { .. } => "unbound role",
            Self::UnboundGroup { .. } => "unbound host group",
            Self::SiteBinding { .. } => "site binding",
            Self::SiteEntry { .. } => "site entry",
        }
    }
}

impl std::fmt::Display for AnyReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Document { entry } => {
                write!(f, "the row names no server (entry `{entry}`)")
            }
            Self::UnboundRole { role } => write!(f, "role `{role}` is not bound in the site file"),
            Self::UnboundGroup { group } => write!(
                f,
                "host group `{group}` has no address (none in the document, none in the site file)"
            ),
            Self::SiteBinding { peer, prefix } => {
                write!(f, "the site file binds `{peer}` to {prefix}")
            }
            Self::SiteEntry { entry } => {
                write!(f, "the site file's own entry `{entry}` says `peer: any`")
            }
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
        self.tidy();
    }

    /// Sort and drop repeats after names were appended as they came.
    fn tidy(&mut self) {
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
    /// The host groups (ids) the hosts belong to, for names a reviewer can read (Cisco
    /// object groups). Not in the JSON, which lists the hosts.
    #[serde(skip)]
    pub groups: Names,
    /// Hosts with no known address, for which the rule allows any address.
    #[serde(skip_serializing_if = "Names::is_empty")]
    pub unresolved: Names,
}

/// One firewall rule: traffic in `direction` of `service` (TCP or UDP to ports, ICMP of
/// some types) with `remote`.
///
/// For `in` the ports are the local host's (gateway's) ports and the remote is the source;
/// for `out` the ports are the remote's ports and the remote is the destination; ICMP types
/// are those of the messages that open the exchange (`echo-request`), whose replies are
/// admitted as established traffic.
/// Fields are in output order: rules sort by direction, service, then remote.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Rule {
    pub direction: Direction,
    #[serde(flatten)]
    pub service: Service,
    pub remote: Remote,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helper: Option<Helper>,
    pub peers: Peers,
    /// Ids of the catalogue entries this rule came from.
    pub entries: Names,
    /// Why the rule admits any address; empty when it admits only bound addresses.
    #[serde(rename = "any_address", skip_serializing_if = "Vec::is_empty")]
    pub any: Vec<AnyReason>,
}

impl Rule {
    /// True for plain FTP: its data connections need the conntrack FTP helper (or the
    /// firewall's FTP inspection).
    pub fn is_ftp(&self) -> bool {
        self.helper == Some(Helper::Ftp)
    }

    /// True when the rule carries FTP control connections (port 21) that the helper must see.
    pub fn is_ftp_control(&self) -> bool {
        self.is_ftp() && self.service.ports().is_some_and(|p| p.contains(21))
    }

    /// True when the rule admits any address of at least one family.
    pub fn admits_any(&self) -> bool {
        !self.any.is_empty()
    }
}

/// What the ruleset was selected from; printed in every output's header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Meta {
    pub product: String,
    pub title: String,
    pub version: String,
    pub component: String,
    /// What the component is (the catalogue's words), for headings.
    #[serde(skip)]
    pub component_description: String,
    /// The operating system of the component's host (which host firewalls fit it).
    pub platform: crate::model::Platform,
    /// True for the gateway appliance itself; false for another host of the product (the
    /// Exchange Server), whose wording must not speak of "the gateway".
    #[serde(skip)]
    pub gateway_component: bool,
    /// Enabled features, sorted.
    pub features: Vec<String>,
    /// Catalogue file the rules come from (catalogue-relative).
    pub catalogue_file: String,
    /// Vendor document of that file.
    pub document: String,
    /// The document's title, issue and date as printed (for reviews).
    #[serde(skip)]
    pub document_title: String,
    /// SHA-256 of the catalogue file the rules come from.
    pub catalogue_digest: String,
    /// SHA-256 of what the site file says (its meaning, not its bytes), if one was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_digest: Option<String>,
    /// Where addresses for host names came from: the ip-ranges and lock files (which
    /// snapshot), and each host group bound from them or left to DNS at run time.
    #[serde(rename = "address_sources", skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// The site file's own entries among the selected ones (`entries:` in the site file), by
    /// id with their line there: rules the vendor's document does not ask for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub site_entries: Vec<SiteEntryRef>,
}

/// A site file's own entry, named in the header of every output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SiteEntryRef {
    pub id: String,
    /// Its line in the site file.
    pub line: usize,
}

impl Meta {
    /// The host the ruleset is for, in prose: `the gateway`, or `the exchange-server`.
    pub fn host(&self) -> String {
        if self.gateway_component {
            "the gateway".to_string()
        } else {
            format!("the {}", self.component)
        }
    }

    /// The host's name in lists: `gateway` or the component id.
    pub fn host_id(&self) -> &str {
        if self.gateway_component {
            "gateway"
        } else {
            &self.component
        }
    }
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
    /// Host groups whose addresses the firewall learns at run time (`--names fqdn`), sorted
    /// by id; `Remote::Names` refers to them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_groups: Vec<crate::names::DnsGroup>,
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
    /// TCP and UDP to the entry's ports (the site's, where it changed them), or ICMP of its
    /// types.
    pub services: Vec<Service>,
    /// `any`, `role NAME` or `group NAME`.
    pub peer: String,
    /// Internal (a role) or external (a host group, or any address).
    pub internal: bool,
    pub hosts: Vec<String>,
    pub remote: Remote,
    /// `document: section, row (line N)`.
    pub source: String,
    /// The row's line in the document (for formats that cannot quote its words).
    pub line: usize,
    /// The document's direction cell.
    pub written: Written,
    /// For a both-direction row read as one connection: the direction of its replies.
    pub reply: Option<Direction>,
    /// A one-direction row read the other way (`opens:` against the cell): the row's own
    /// words that say so (`reading:`). Every output that shows the cell shows this beside it.
    pub read_other_way: Option<String>,
    /// Why the entry's rules admit any address, if they do.
    pub any: Option<AnyReason>,
    /// The site file's own entry, not the vendor's.
    pub site_addition: bool,
    /// The vendor's ports, where the site file changed them (`ports:`), with the line.
    pub vendor_ports: Option<(PortSet, usize)>,
}

impl Selected {
    /// A one-direction row read the other way: the direction admitted, as a cell reads
    /// (`In`, `Out`), and the row's words that say so.
    pub fn read_as(&self) -> Option<(&'static str, &str)> {
        let reading = self.read_other_way.as_deref()?;
        let d = if self.directions.contains(&Direction::In) {
            Written::In
        } else {
            Written::Out
        };
        Some((d.as_str(), reading))
    }
}

impl Ruleset {
    /// The rules that admit any address.
    pub fn any_rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(|r| r.admits_any())
    }

    /// One line: how many rules admit any address, by reason
    /// (`2 of 24 rules admit any address (document: 1, unbound role: 1)`).
    pub fn any_summary(&self) -> String {
        let mut by_kind: std::collections::BTreeMap<&str, usize> = Default::default();
        let mut n = 0;
        for r in self.any_rules() {
            n += 1;
            // Each kind once a rule (a rule of two unbound roles is one rule of that kind).
            let kinds: std::collections::BTreeSet<&str> =
                r.any.iter().map(AnyReason::kind).collect();
            for k in kinds {
                *by_kind.entry(k).or_default() += 1;
            }
        }
        let total = self.rules.len();
        if n == 0 {
            return format!("no rule of {total} admits any address");
        }
        let kinds: Vec<String> = by_kind.iter().map(|(k, c)| format!("{k}: {c}")).collect();
        // Counts by reason add up to more than the rules when a rule has two kinds of reason.
        let overlap = if by_kind.values().sum::<usize>() > n {
            "; a rule can have more than one"
        } else {
            ""
        };
        format!(
            "{n} of {total} rules admit any address ({}{overlap})",
            kinds.join(", ")
        )
    }

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
    ///
    /// Works in place (sort, then fold neighbours with equal keys into the first): a big
    /// ruleset merges in no more memory than it takes. Folding is commutative, so the result
    /// does not depend on the order of the candidates.
    pub fn merge(candidates: Vec<Rule>) -> Vec<Rule> {
        let mut rules = candidates;
        loop {
            let before = rules.len();
            // Ranges are gathered as they come and normalised once per rule: rebuilding the
            // set at every fold was quadratic (40,000 entries on distinct ports: 38 s).
            fold(&mut rules, same_but_ports, |kept, later| {
                kept.service.absorb(&later.service);
            });
            for r in &mut rules {
                r.service.normalize();
            }
            fold(&mut rules, same_but_remote, |kept, later| {
                match (
                    &mut kept.remote,
                    std::mem::replace(&mut later.remote, Remote::Any),
                ) {
                    (Remote::Any, _) => {}
                    (kept_remote, Remote::Any) => *kept_remote = Remote::Any,
                    (Remote::Addresses(a), Remote::Addresses(more)) => a.extend(more),
                    (Remote::Names(a), Remote::Names(more)) => a.0.extend(more.0),
                    // Not reached: `same_but_remote` keeps names and addresses apart.
                    (_, other) => later.remote = other,
                }
            });
            // Unions were gathered as they came: aggregate and sort them once.
            for r in &mut rules {
                match &mut r.remote {
                    Remote::Addresses(a) => *a = aggregate(std::mem::take(a)),
                    Remote::Names(n) => n.tidy(),
                    Remote::Any => {}
                }
                r.entries.tidy();
                r.peers.roles.tidy();
                r.peers.hosts.tidy();
                r.peers.groups.tidy();
                r.peers.unresolved.tidy();
                r.any.sort_unstable();
                r.any.dedup();
            }
            if rules.len() == before {
                break;
            }
        }
        rules.sort();
        rules.dedup();
        rules
    }
}

/// Order by everything but the ports (or ICMP types): rules equal here differ only in
/// those.
fn same_but_ports(a: &Rule, b: &Rule) -> std::cmp::Ordering {
    (a.direction, a.service.protocol(), a.helper, &a.remote).cmp(&(
        b.direction,
        b.service.protocol(),
        b.helper,
        &b.remote,
    ))
}

/// Order by everything but the remote: rules equal here differ only in their remote.
/// Names that DNS resolves at run time stay apart from fixed addresses (they are matched
/// differently: a set that DNS fills, an FQDN object).
fn same_but_remote(a: &Rule, b: &Rule) -> std::cmp::Ordering {
    let names = |r: &Rule| matches!(r.remote, Remote::Names(_));
    (a.direction, &a.service, a.helper, names(a)).cmp(&(
        b.direction,
        &b.service,
        b.helper,
        names(b),
    ))
}

/// Sort by `order`, then fold each run of equal rules into its first: `merge` joins the field
/// `order` leaves out, entries and peers are appended (tidied by the caller).
fn fold(
    rules: &mut Vec<Rule>,
    order: fn(&Rule, &Rule) -> std::cmp::Ordering,
    merge: impl Fn(&mut Rule, &mut Rule),
) {
    rules.sort_unstable_by(order);
    rules.dedup_by(|later, kept| {
        let same = order(later, kept).is_eq();
        if same {
            merge(kept, later);
            absorb_names(kept, later);
        }
        same
    });
}

/// Move `later`'s entries and peers into `kept`, unsorted (see [`Names::tidy`]).
fn absorb_names(kept: &mut Rule, later: &mut Rule) {
    kept.entries.0.append(&mut later.entries.0);
    kept.peers.roles.0.append(&mut later.peers.roles.0);
    kept.peers.hosts.0.append(&mut later.peers.hosts.0);
    kept.peers.groups.0.append(&mut later.peers.groups.0);
    kept.peers
        .unresolved
        .0
        .append(&mut later.peers.unresolved.0);
    kept.any.append(&mut later.any);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PortRange;

    fn rule(dir: Direction, port: &str, remote: &[&str], entry: &str) -> Rule {
        Rule {
            direction: dir,
            service: Service::Tcp(PortSet::new([port.parse::<PortRange>().unwrap()])),
            remote: if remote.is_empty() {
                Remote::Any
            } else {
                Remote::Addresses(remote.iter().map(|a| a.parse().unwrap()).collect())
            },
            helper: None,
            peers: Peers::default(),
            entries: [entry.to_string()].into_iter().collect(),
            any: if remote.is_empty() {
                vec![AnyReason::Document {
                    entry: entry.to_string(),
                }]
            } else {
                vec![]
            },
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
        assert_eq!(merged[1].service.to_string(), "tcp 80,443");
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
