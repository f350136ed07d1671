//! Where a host group that its document gives no address for gets one: the site's `names:`
//! choice, `--names fqdn`, the ip-ranges file (CloudFront groups) or the lock file. Decided
//! once per group, before the entries are bound.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;

use crate::diagnostic::{Diagnostic, Diagnostics, Problem};
use crate::model::{AddressSource, Entry, HostGroup, Peer, ProductVersion, aggregate};
use crate::names::{Choice, DnsGroup, Filter, IpRanges, Lock, NameMode};
use crate::site::Site;

use super::{Request, SelectError};

/// Where a host group without addresses in its document or the site's `hosts:` gets them.
pub(super) enum Source {
    /// Fixed prefixes from the ip-ranges file or the lock file.
    Nets(Vec<IpNet>),
    /// Whatever its names resolve to when the firewall runs.
    Dns(DnsGroup),
}

/// The sources of every selected host group that needs one.
pub(super) struct Sources {
    pub(super) by_group: BTreeMap<String, Source>,
    /// Header lines: the files used and what each group took from them.
    pub(super) notes: Vec<String>,
    pub(super) warnings: Vec<String>,
}

impl Sources {
    pub(super) fn new(
        pv: &ProductVersion,
        site: &Site,
        req: &Request,
        chosen: &[&Entry],
    ) -> Result<Sources, SelectError> {
        let mut b = Builder {
            pv,
            site,
            req,
            by_group: BTreeMap::new(),
            notes: Vec::new(),
            warnings: Vec::new(),
            errors: Vec::new(),
            used_ranges: false,
            used_lock: false,
        };
        let groups: BTreeSet<&str> = chosen
            .iter()
            .filter_map(|e| match &e.peer {
                Peer::Group(g) => Some(g.as_str()),
                _ => None,
            })
            .collect();
        for group in groups.into_iter().filter_map(|g| pv.host_group(g)) {
            b.group(group);
        }
        b.unused_choices();
        b.finish()
    }
}

/// The state of [`Sources::new`]: what is decided so far, and every problem found.
struct Builder<'a> {
    pv: &'a ProductVersion,
    site: &'a Site,
    req: &'a Request,
    by_group: BTreeMap<String, Source>,
    notes: Vec<String>,
    warnings: Vec<String>,
    errors: Vec<Diagnostic>,
    used_ranges: bool,
    used_lock: bool,
}

impl Builder<'_> {
    fn path(&self) -> &str {
        self.site.name()
    }

    /// A problem with the site's `names: KEY` line.
    fn error(&mut self, key: &str, what: String) {
        self.errors.push(Diagnostic {
            path: self.path().to_string(),
            line: self.site.line("names", key),
            column: None,
            kind: Problem::Invalid(format!("names: `{key}`: {what}")),
        });
    }

    /// Decide one group: nothing to do when its document or `hosts:` gives addresses.
    fn group(&mut self, group: &HostGroup) {
        let keys = || std::iter::once(&group.id).chain(&group.hosts);
        if !group.addresses.is_empty() || keys().any(|k| self.site.hosts.contains_key(k)) {
            return;
        }
        let chosen = keys().find_map(|k| self.site.names.get(k).map(|c| (k, c)));
        let source = match chosen {
            Some((key, choice)) => self.chosen(group, key, choice),
            None => self.default(group),
        };
        if let Some(s) = source {
            self.by_group.insert(group.id.clone(), s);
        }
    }

    /// The site's `names:` line for the group decides.
    fn chosen(&mut self, group: &HostGroup, key: &str, choice: &Choice) -> Option<Source> {
        match choice {
            Choice::IpRanges(filter) => {
                let Some(ranges) = &self.site.ip_ranges else {
                    self.error(key, "`ip_ranges` needs an ip-ranges file: `ip_ranges:` in the site file or --ip-ranges FILE".into());
                    return None;
                };
                match ranges_for(ranges, filter) {
                    Ok(nets) => Some(self.ranges(group, ranges, filter, nets, "")),
                    Err(why) => {
                        self.error(key, why);
                        None
                    }
                }
            }
            Choice::Lock => self.chosen_lock(group, key),
            Choice::Fqdn if group.hosts.is_empty() => {
                self.error(key, format!("host group `{}` has no host name for the firewall to follow; bind it under `hosts:`", group.id));
                None
            }
            Choice::Fqdn => self.dns(group),
        }
    }

    /// `names: {GROUP: lock}`: every host name of the group must be in the lock file.
    fn chosen_lock(&mut self, group: &HostGroup, key: &str) -> Option<Source> {
        let Some(lock) = &self.site.lock else {
            self.error(key, "`lock` needs a lock file: `lock:` in the site file or --lock FILE (written by `fwgen resolve`)".into());
            return None;
        };
        if group.hosts.is_empty() {
            self.error(
                key,
                format!(
                    "host group `{}` has no host name to look up; bind it under `hosts:`",
                    group.id
                ),
            );
            return None;
        }
        let missing: Vec<&str> = group
            .hosts
            .iter()
            .filter(|h| lock.get(h).is_none())
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            let what = format!(
                "{} not in the lock file {}: run `fwgen resolve` for this selection",
                missing.join(", "),
                lock.path
            );
            self.error(key, what);
            return None;
        }
        let hosts: Vec<&String> = group.hosts.iter().collect();
        Some(self.locked(group, lock, &hosts))
    }

    /// No `names:` line: `--names fqdn`, then CloudFront ranges, then the lock file.
    fn default(&mut self, group: &HostGroup) -> Option<Source> {
        if self.req.names == NameMode::Fqdn && !group.hosts.is_empty() {
            return self.dns(group);
        }
        if group.address_source == AddressSource::Cloudfront
            && let Some(ranges) = &self.site.ip_ranges
        {
            let filter = Filter::cloudfront();
            return match ranges_for(ranges, &filter) {
                Ok(nets) => {
                    Some(self.ranges(group, ranges, &filter, nets, " (served by CloudFront)"))
                }
                Err(why) => {
                    self.errors.push(Diagnostic {
                        path: ranges.path.clone(),
                        line: 0,
                        column: None,
                        kind: Problem::Invalid(format!(
                            "host group `{}` is served by CloudFront, but {why}",
                            group.id
                        )),
                    });
                    None
                }
            };
        }
        let lock = self.site.lock.as_ref()?;
        let (found, missing): (Vec<&String>, Vec<&String>) =
            group.hosts.iter().partition(|h| lock.get(h).is_some());
        if found.is_empty() {
            return None;
        }
        if !missing.is_empty() {
            let list = |v: &[&String]| {
                v.iter()
                    .map(|h| format!("`{h}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            self.warnings.push(format!(
                "host group `{}`: the lock file {} has {} but not {}, which the rules therefore do not admit; run `fwgen resolve` for this selection",
                group.id,
                lock.path,
                list(&found),
                list(&missing)
            ));
        }
        Some(self.locked(group, lock, &found))
    }

    fn ranges(
        &mut self,
        group: &HostGroup,
        ranges: &IpRanges,
        filter: &Filter,
        nets: Vec<IpNet>,
        why: &str,
    ) -> Source {
        self.used_ranges = true;
        self.notes.push(format!(
            "addresses: host group `{}`{why}: {} prefixes of {} ({filter})",
            group.id,
            nets.len(),
            ranges.path
        ));
        Source::Nets(nets)
    }

    fn locked(&mut self, group: &HostGroup, lock: &Lock, hosts: &[&String]) -> Source {
        self.used_lock = true;
        let none = hosts
            .iter()
            .all(|h| lock.get(h).is_none_or(<[_]>::is_empty));
        for h in hosts {
            let addrs = lock.get(h).unwrap_or_default();
            if addrs.is_empty() {
                let so = if none {
                    "the group has no other address, so its rules admit any address"
                } else {
                    "the rules do not admit it"
                };
                self.warnings.push(format!(
                    "host group `{}`: the lock file {} gives `{}` no address (`[]`): {so}; run \
                     `fwgen resolve` again, or bind the group under `hosts:` in the site file",
                    group.id,
                    lock.path,
                    crate::text::sanitize(h, 100)
                ));
            }
            for &ip in addrs {
                if let Some(what) = crate::names::special_purpose(ip) {
                    self.warnings.push(format!(
                        "host group `{}`: the lock file {} gives `{}` the address {ip}, which is \
                         {what}: no server a gateway talks to has it; check the DNS answer \
                         (a sinkhole, a split-horizon view) before you admit it",
                        group.id,
                        lock.path,
                        crate::text::sanitize(h, 100)
                    ));
                }
            }
        }
        let all: BTreeSet<IpNet> = hosts
            .iter()
            .filter_map(|h| lock.nets(h))
            .flatten()
            .collect();
        let nets = aggregate(all.iter().copied());
        let names: Vec<&str> = hosts.iter().map(|h| h.as_str()).collect();
        // Addresses as the lock file lists them; prefixes as the rules match them.
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        self.notes.push(format!(
            "addresses: host group `{}`: {} in {} of {} from the lock file {}",
            group.id,
            plural(all.len(), "address", "addresses"),
            plural(nets.len(), "prefix", "prefixes"),
            names.join(", "),
            lock.path
        ));
        Source::Nets(nets)
    }

    /// A group left to DNS at run time. Its names go into a forwarder's configuration and
    /// ASA objects, so each must be a plain host name.
    fn dns(&mut self, group: &HostGroup) -> Option<Source> {
        if let Some(bad) = group
            .hosts
            .iter()
            .find(|h| !crate::names::resolve::is_host_name(h))
        {
            self.errors.push(Diagnostic {
                path: self.pv.path.clone(),
                line: 0,
                column: None,
                kind: Problem::Invalid(format!(
                    "host group `{}`: `{}` is not a host name the firewall can follow",
                    group.id,
                    crate::text::sanitize(bad, 80)
                )),
            });
            return None;
        }
        self.notes.push(format!(
            "addresses: host group `{}`: resolved at run time ({})",
            group.id,
            group.hosts.join(", ")
        ));
        Some(Source::Dns(DnsGroup {
            group: group.id.clone(),
            hosts: group.hosts.clone(),
        }))
    }

    /// A `names:` line for a group that has addresses anyway is said, not silently unused.
    fn unused_choices(&mut self) {
        for (key, choice) in &self.site.names {
            for group in self.pv.host_group_named(key) {
                let bound_by_site = std::iter::once(&group.id)
                    .chain(&group.hosts)
                    .find(|k| self.site.hosts.contains_key(*k));
                let why = match bound_by_site {
                    _ if !group.addresses.is_empty() => {
                        "the document gives its addresses".to_string()
                    }
                    Some(k) => format!("`hosts: {k}` in the site file binds it"),
                    None => continue,
                };
                self.warnings.push(format!(
                    "{}: names: `{key}` ({}) is not used: {why} (host group `{}`)",
                    crate::diagnostic::position(self.path(), self.site.line("names", key), None),
                    choice.name(),
                    group.id
                ));
            }
        }
    }

    fn finish(self) -> Result<Sources, SelectError> {
        if !self.errors.is_empty() {
            return Err(SelectError::Site(Diagnostics(self.errors)));
        }
        let mut notes = Vec::new();
        if self.used_ranges
            && let Some(r) = &self.site.ip_ranges
        {
            notes.push(r.describe());
        }
        if self.used_lock
            && let Some(l) = &self.site.lock
        {
            notes.push(l.describe());
        }
        notes.extend(self.notes);
        Ok(Sources {
            by_group: self.by_group,
            notes,
            warnings: self.warnings,
        })
    }
}

/// The prefixes `filter` selects, or why it selects none (with the values the file has).
fn ranges_for(ranges: &IpRanges, filter: &Filter) -> Result<Vec<IpNet>, String> {
    if filter.is_empty() {
        return Err(
            "`ip_ranges` needs a filter: `service`, `region` and/or `network_border_group` (as in the file: CLOUDFRONT, eu-west-2)"
                .into(),
        );
    }
    for (field, value) in [
        ("service", &filter.service),
        ("region", &filter.region),
        ("network_border_group", &filter.network_border_group),
    ] {
        let Some(v) = value else { continue };
        let known = ranges.values(field);
        if !known.contains(v.as_str()) {
            let hint = crate::suggest::did_you_mean(v, known.iter().copied())
                .map(|c| format!("; did you mean `{}`?", crate::text::sanitize(c, 80)))
                .unwrap_or_default();
            return Err(format!(
                "no prefix of {} has {field} `{}`{hint}",
                ranges.path,
                crate::text::sanitize(v, 80)
            ));
        }
    }
    let nets = ranges.select(filter);
    if nets.is_empty() {
        return Err(format!("no prefix of {} matches {filter}", ranges.path));
    }
    Ok(nets)
}
