//! The site file: binds the catalogue to one deployment.
//!
//! ```yaml
//! product: email-gateway        # optional; --product overrides
//! version: "5.3"                # optional; --version overrides
//! gateway: [192.0.2.20, 2001:db8::20]
//! components:                   # the own addresses of the product's other hosts, by id
//!   exchange-server: [192.0.2.60]
//! features: [snmp, ldap]        # added to the defaults
//! default_features: true        # false = start from no feature (like --no-default-features)
//! roles:                        # addresses for internal roles
//!   dns-servers: [192.0.2.53]
//!   admin-clients: [192.0.2.0/28]
//! hosts:                        # addresses for host groups, by host name or group id
//!   cls.sophosxl.net: [198.51.100.7]
//!   kaspersky-ksn: [203.0.113.0/28]
//! ports:                        # new ports for entries whose port is configurable
//!   ldap: [3389]
//! ip_ranges: ip-ranges.json     # AWS's published ranges, downloaded (relative to this file)
//! lock: fwgen.lock              # what `fwgen resolve` found (relative to this file)
//! names:                        # how a host group without addresses is bound, by id or host
//!   service-availability: {ip_ranges: {service: EC2, region: eu-west-2}}
//!   kaspersky-ksn: lock         # or fqdn: the firewall follows the names
//! entries:                      # the site's own rules: catalogue entries without `source:`
//!   - id: dns-tcp
//!     description: DNS over TCP to the internal servers
//!     protocols: [tcp]
//!     ports: [53]
//!     directions: [out]
//!     peer: {role: dns-servers}
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;

use crate::diagnostic::{Diagnostic, Diagnostics, Problem};
use crate::model::{Address, Entry, PortRange, PortSet, ProductVersion, aggregate};
use crate::names::{Choice, IpRanges, Lock};
use crate::suggest::hint;
use crate::yaml::Positions;
use crate::yaml::{parse_yaml, read_text};

/// The site file's schema.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    /// Product id; `--product` overrides.
    #[serde(default)]
    product: Option<String>,
    /// Product version; `--version` overrides.
    #[serde(default)]
    version: Option<String>,
    /// Component; `--component` overrides.
    #[serde(default)]
    component: Option<String>,
    /// The gateway's own addresses (IPv4 and/or IPv6).
    #[serde(default)]
    gateway: Vec<Address>,
    /// Component id -> that host's own addresses, for components other than the gateway.
    #[serde(default)]
    components: BTreeMap<String, Vec<Address>>,
    /// Features to enable on top of the defaults.
    #[serde(default)]
    features: Vec<String>,
    /// Start from the vendor's default features (true) or from none (false).
    #[serde(default)]
    default_features: Option<bool>,
    /// Role id -> addresses.
    #[serde(default)]
    roles: BTreeMap<String, Vec<Address>>,
    /// Host name or host group id -> addresses.
    #[serde(default)]
    hosts: BTreeMap<String, Vec<Address>>,
    /// Entry id -> ports, for entries whose port is configurable.
    #[serde(default)]
    ports: BTreeMap<String, Vec<PortRange>>,
    /// An AWS `ip-ranges.json`, relative to the site file.
    #[serde(default)]
    ip_ranges: Option<PathBuf>,
    /// A lock file written by `fwgen resolve`, relative to the site file.
    #[serde(default)]
    lock: Option<PathBuf>,
    /// Host group id or host name -> how the group is bound.
    #[serde(default)]
    names: BTreeMap<String, Choice>,
    /// The site's own entries.
    #[serde(default)]
    entries: Vec<crate::catalogue::raw::Entry>,
}

/// A parsed site file (or the empty site when none is given).
#[derive(Clone, Debug, Default)]
pub struct Site {
    /// The file as named by the user; `None` for the empty site.
    pub path: Option<String>,
    pub product: Option<String>,
    pub version: Option<String>,
    pub component: Option<String>,
    pub gateway: Vec<IpNet>,
    /// The own addresses of components other than the gateway (`components:`).
    pub components: BTreeMap<String, Vec<IpNet>>,
    pub features: Vec<String>,
    pub default_features: Option<bool>,
    /// Roles with addresses. A role written with an empty list (`site init`'s placeholder)
    /// is not bound here: it is left out, and only named in `placeholder_roles`.
    pub roles: BTreeMap<String, Vec<IpNet>>,
    /// Roles written with an empty list: declared (an own role stays known), not bound.
    pub placeholder_roles: BTreeSet<String>,
    /// Host groups and host names with addresses; an empty list binds nothing, so the
    /// other ways (`names:`, the lock file, the ip-ranges file) stay open for them.
    pub hosts: BTreeMap<String, Vec<IpNet>>,
    pub ports: BTreeMap<String, PortSet>,
    /// Host group id or host name -> how the group is bound (`names:`).
    pub names: BTreeMap<String, Choice>,
    /// `ip_ranges:` and `lock:` as the file writes them (relative to the site file).
    pub ip_ranges_path: Option<PathBuf>,
    pub lock_path: Option<PathBuf>,
    /// The ip-ranges file in use: the site file's, or `--ip-ranges` (set by the caller).
    pub ip_ranges: Option<IpRanges>,
    /// The lock file in use: the site file's, or `--lock`.
    pub lock: Option<Lock>,
    /// SHA-256 of what the file says (see `meaning_digest`; empty for no site).
    pub digest: String,
    /// The site's own entries (`entries:`), checked against a product version by
    /// [`Site::local_entries`].
    entries: Vec<crate::catalogue::raw::Entry>,
    positions: Positions,
    text: String,
}

/// What a product version lets a site file bind: its roles (in the catalogue's order, for
/// messages) and the keys of `hosts:` and `names:`, which bind a host group by one of its host
/// names or by its id (a group the document describes without host names has only its id).
struct Known<'p> {
    roles: Vec<&'p str>,
    groups: BTreeSet<&'p str>,
}

impl<'p> Known<'p> {
    fn of(pv: &'p ProductVersion) -> Self {
        let mut groups = pv.host_names();
        groups.extend(pv.host_groups.iter().map(|g| g.id.as_str()));
        Known {
            roles: pv.roles.iter().map(|r| r.id.as_str()).collect(),
            groups,
        }
    }
}

/// Problems in the site file, with their positions.
pub type SiteError = Diagnostics;

impl Site {
    /// Read and parse a site file.
    pub fn load(path: &Path) -> Result<Site, SiteError> {
        Site::load_files(path, true)
    }

    /// Read a site file for `fwgen resolve`, which writes the lock file: the lock file it
    /// names may not exist yet, and its addresses must not hide the names to look up; groups
    /// bound with `names: {GROUP: lock}` are looked up like unbound ones.
    pub fn load_for_resolve(path: &Path) -> Result<Site, SiteError> {
        let mut site = Site::load_files(path, false)?;
        site.names.retain(|_, c| *c != Choice::Lock);
        Ok(site)
    }

    fn load_files(path: &Path, with_lock: bool) -> Result<Site, SiteError> {
        let display = path.display().to_string();
        let text = read_text(path).map_err(|kind| {
            Diagnostics(vec![Diagnostic {
                path: display.clone(),
                line: 0,
                column: None,
                kind,
            }])
        })?;
        let mut site = Site::parse(&display, &text)?;
        if !with_lock {
            site.lock_path = None;
        }
        site.load_references(path.parent().unwrap_or(Path::new("")))?;
        Ok(site)
    }

    /// Use these files instead of the ones the site file names (`--ip-ranges`, `--lock`).
    pub fn use_files(
        &mut self,
        ip_ranges: Option<&Path>,
        lock: Option<&Path>,
    ) -> Result<(), SiteError> {
        if let Some(p) = ip_ranges {
            self.ip_ranges = Some(crate::names::load_ip_ranges(p)?);
        }
        if let Some(p) = lock {
            self.lock = Some(crate::names::load_lock(p)?);
        }
        Ok(())
    }

    /// Read the files the site file names (`ip_ranges:`, `lock:`), relative to `dir`, its
    /// directory. They must stay inside it: a site file from a pull request must not make
    /// fwgen read files elsewhere (name them with `--ip-ranges`/`--lock` instead).
    fn load_references(&mut self, dir: &Path) -> Result<(), SiteError> {
        let mut errors = Vec::new();
        if let Some(p) = self.referenced(
            dir,
            "ip_ranges",
            self.ip_ranges_path.as_deref(),
            &mut errors,
        ) {
            match crate::names::load_ip_ranges(&p) {
                Ok(r) => self.ip_ranges = Some(r),
                Err(e) => errors.extend(e.0),
            }
        }
        if let Some(p) = self.referenced(dir, "lock", self.lock_path.as_deref(), &mut errors) {
            match crate::names::load_lock(&p) {
                Ok(l) => self.lock = Some(l),
                Err(e) => errors.extend(e.0),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Diagnostics(errors))
        }
    }

    /// The file that `key:` names, below `dir`; an error (with the key's line) for one that
    /// leaves it.
    fn referenced(
        &self,
        dir: &Path,
        key: &str,
        rel: Option<&Path>,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<PathBuf> {
        let rel = rel?;
        match crate::paths::inside(dir, rel) {
            Ok(()) => Some(dir.join(rel)),
            Err(why) => {
                errors.push(self.error(
                    self.top_line(key),
                    Problem::Invalid(format!(
                        "`{key}: {}` {why}; a site file names files in its own directory \
                         (give another with --ip-ranges or --lock)",
                        rel.display()
                    )),
                ));
                None
            }
        }
    }

    /// Parse site-file text; `display` names it in errors.
    pub fn parse(display: &str, text: &str) -> Result<Site, SiteError> {
        let raw: RawSite = if text.trim().is_empty() {
            RawSite::default()
        } else {
            parse_yaml(display, text)?
        };
        let nets = |v: Vec<Address>| aggregate(v.into_iter().map(Address::net));
        let mut site = Site {
            path: Some(display.to_string()),
            product: raw.product,
            version: raw.version,
            component: raw.component,
            gateway: nets(raw.gateway),
            components: raw
                .components
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k, nets(v)))
                .collect(),
            features: raw.features,
            default_features: raw.default_features,
            placeholder_roles: raw
                .roles
                .iter()
                .filter(|(_, v)| v.is_empty())
                .map(|(k, _)| k.clone())
                .collect(),
            // An empty list is a placeholder left unfilled: not bound here.
            roles: raw
                .roles
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k, nets(v)))
                .collect(),
            hosts: raw
                .hosts
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k, nets(v)))
                .collect(),
            ports: raw
                .ports
                .into_iter()
                .map(|(k, v)| (k, PortSet::new(v)))
                .collect(),
            names: raw.names,
            ip_ranges_path: raw.ip_ranges,
            lock_path: raw.lock,
            ip_ranges: None,
            lock: None,
            digest: String::new(),
            entries: raw.entries,
            positions: Positions::scan(text),
            text: text.to_string(),
        };
        site.digest = site.meaning_digest();
        Ok(site)
    }

    /// SHA-256 of what the file says, not of its bytes: comments, key order, spacing and
    /// the way an address is written do not change it, so they do not make a committed
    /// ruleset look stale.
    fn meaning_digest(&self) -> String {
        use sha2::Digest;
        use std::fmt::Write;
        let mut m = String::new();
        let list = |v: &[IpNet]| {
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut features = self.features.clone();
        features.sort();
        features.dedup();
        let _ = writeln!(m, "product={:?}", self.product);
        let _ = writeln!(m, "version={:?}", self.version);
        let _ = writeln!(m, "component={:?}", self.component);
        let _ = writeln!(m, "gateway={}", list(&self.gateway));
        for (k, v) in &self.components {
            let _ = writeln!(m, "component {k}={}", list(v));
        }
        let _ = writeln!(m, "features={}", features.join(","));
        let _ = writeln!(m, "default_features={:?}", self.default_features);
        for (k, v) in &self.roles {
            let _ = writeln!(m, "role {k}={}", list(v));
        }
        for (k, v) in &self.hosts {
            let _ = writeln!(m, "host {k}={}", list(v));
        }
        for (k, v) in &self.ports {
            let _ = writeln!(m, "ports {k}={v}");
        }
        for (k, v) in &self.names {
            let _ = writeln!(m, "names {k}={v:?}");
        }
        for e in &self.entries {
            let _ = writeln!(m, "entry {e:?}");
        }
        crate::text::hex(&sha2::Sha256::digest(m.as_bytes()))
    }

    /// The file as the user named it, for messages (`<site>` for the empty site).
    pub fn name(&self) -> &str {
        self.path.as_deref().unwrap_or("<site>")
    }

    fn error(&self, line: usize, kind: Problem) -> Diagnostic {
        Diagnostic {
            path: self.name().to_string(),
            line,
            column: None,
            kind,
        }
    }

    /// Where the site file says `key` under top-level `section` (1 when unknown).
    pub fn line(&self, section: &str, key: &str) -> usize {
        self.positions.line(section, key)
    }

    /// Line of a top-level key.
    pub fn top_line(&self, key: &str) -> usize {
        Positions::top(&self.text, key)
    }

    /// This site without the bindings `pv` has no use for (roles, hosts, names, port
    /// overrides, features and components it does not know, and its own entries that refer
    /// to what `pv` lacks), and a note for each: for comparing two versions with one site file
    /// (`fwgen diff --site`), which is written for one of them.
    pub fn known_to(&self, pv: &ProductVersion) -> (Site, Vec<String>) {
        let mut site = self.clone();
        let mut notes = Vec::new();
        let Known { roles, groups } = Known::of(pv);
        // Sets, looked up once: a site may name many entries (see `check_ports`).
        let configurable: BTreeSet<&str> = pv
            .entries
            .iter()
            .filter(|e| e.configurable)
            .map(|e| e.id.as_str())
            .collect();
        let features: BTreeSet<&str> = pv.features.iter().map(|f| f.id.as_str()).collect();
        let components: BTreeSet<&str> = pv.components.iter().map(|c| c.id.as_str()).collect();
        let mut drop = |what: &str, key: &str, known: bool| {
            if !known {
                notes.push(format!(
                    "{} {}: the site names {what} `{key}`, which it does not have; left out",
                    pv.product, pv.version
                ));
            }
            known
        };
        let own = self.own_roles(pv);
        site.roles.retain(|k, _| {
            drop(
                "role",
                k,
                roles.contains(&k.as_str()) || own.contains(&k.as_str()),
            )
        });
        site.hosts
            .retain(|k, _| drop("host", k, groups.contains(k.as_str())));
        site.names
            .retain(|k, _| drop("host group", k, groups.contains(k.as_str())));
        site.ports
            .retain(|k, _| drop("a port for entry", k, configurable.contains(k.as_str())));
        site.features
            .retain(|f| drop("feature", f, features.contains(f.as_str())));
        site.components
            .retain(|c, _| drop("component", c, components.contains(c.as_str())));
        // Its own entries, each checked alone: one that refers to what `pv` lacks is left out.
        site.entries.retain(|e| {
            let alone = std::slice::from_ref(e);
            let own = self.own_roles(pv);
            match crate::catalogue::site_entries(self.name(), &self.text, pv, alone, &own) {
                Ok(_) => true,
                Err(errors) => {
                    for d in errors {
                        notes.push(format!(
                            "{} {}: the site's own entry `{}` is left out: {d}",
                            pv.product, pv.version, e.id.0
                        ));
                    }
                    false
                }
            }
        });
        (site, notes)
    }

    /// Whether the site file has entries of its own.
    pub fn has_entries(&self) -> bool {
        !self.entries.is_empty()
    }

    /// The site's own entries for `pv`, checked as catalogue entries are (see
    /// `catalogue::site_entries`); every problem, with the site file's lines.
    pub fn local_entries(&self, pv: &ProductVersion) -> Result<Vec<Entry>, Vec<Diagnostic>> {
        if self.entries.is_empty() {
            return Ok(Vec::new());
        }
        let own = self.own_roles(pv);
        crate::catalogue::site_entries(self.name(), &self.text, pv, &self.entries, &own)
    }

    /// The roles of `roles:` that `pv`'s catalogue lacks and one of the site's own entries
    /// names as its peer: the site's own roles.
    fn own_roles(&self, pv: &ProductVersion) -> Vec<&str> {
        self.roles
            .keys()
            .chain(&self.placeholder_roles)
            .map(String::as_str)
            .filter(|r| !pv.roles.iter().any(|c| c.id == *r))
            .filter(|r| self.entries.iter().any(|e| e.peer_role() == Some(*r)))
            .collect()
    }

    /// The site's own entries for `pv` (see [`Site::local_entries`]), or everything the site
    /// file says that `pv` does not know: every problem, not the first.
    pub fn check(&self, pv: &ProductVersion) -> Result<Vec<Entry>, Vec<Diagnostic>> {
        let (entries, mut errors) = match self.local_entries(pv) {
            Ok(entries) => (entries, Vec::new()),
            Err(errors) => (Vec::new(), errors),
        };
        let Known { roles, groups } = Known::of(pv);
        let own = self.own_roles(pv);
        for role in self.roles.keys() {
            if !roles.contains(&role.as_str()) && !own.contains(&role.as_str()) {
                errors.push(
                    self.error(
                        self.line("roles", role),
                        Problem::Unknown {
                            referrer: "site roles".into(),
                            what: "role",
                            id: role.clone(),
                            // A typo of a role an own entry names is the likelier one.
                            hint: hint(
                                role,
                                self.entries
                                    .iter()
                                    .filter_map(|e| e.peer_role())
                                    .chain(roles.iter().copied()),
                            ),
                        },
                    ),
                );
            }
        }
        for (section, what, keys, verb) in [
            (
                "hosts",
                "host",
                self.hosts.keys().collect::<Vec<_>>(),
                "names",
            ),
            ("names", "host group", self.names.keys().collect(), "has"),
        ] {
            for key in keys.into_iter().filter(|k| !groups.contains(k.as_str())) {
                let hint = crate::suggest::did_you_mean(key, groups.iter().copied())
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_else(|| {
                        format!(
                            " (no host group of {} {} {verb} it)",
                            pv.product, pv.version
                        )
                    });
                errors.push(self.error(
                    self.line(section, key),
                    Problem::Unknown {
                        referrer: format!("site {section}"),
                        what,
                        id: key.clone(),
                        hint,
                    },
                ));
            }
        }
        errors.extend(self.check_components(pv));
        errors.extend(self.check_ports(pv));
        if errors.is_empty() {
            Ok(entries)
        } else {
            Err(errors)
        }
    }

    /// `components:` names components of `pv` other than its gateway (whose addresses are
    /// `gateway:`).
    fn check_components(&self, pv: &ProductVersion) -> Vec<Diagnostic> {
        let others: Vec<&str> = pv
            .components
            .iter()
            .map(|c| c.id.as_str())
            .filter(|c| *c != pv.default_component())
            .collect();
        let mut errors = Vec::new();
        for id in self.components.keys() {
            let line = self.line("components", id);
            if id == pv.default_component() {
                errors.push(self.error(
                    line,
                    Problem::Invalid(format!(
                        "site components: `{id}` is the gateway itself: give its addresses under `gateway:`"
                    )),
                ));
            } else if !others.contains(&id.as_str()) {
                errors.push(self.error(
                    line,
                    Problem::Unknown {
                        referrer: "site components".into(),
                        what: "component",
                        id: id.clone(),
                        hint: if others.is_empty() {
                            format!(
                                " ({} {} has no component but the gateway)",
                                pv.product, pv.version
                            )
                        } else {
                            hint(id, others.iter().copied())
                        },
                    },
                ));
            }
        }
        errors
    }

    /// Port overrides: each for an entry that exists and whose port the document calls
    /// configurable, with at least one port.
    fn check_ports(&self, pv: &ProductVersion) -> Vec<Diagnostic> {
        let mut errors = Vec::new();
        let site = |what: &str| format!("site {what}");
        // Looked up once: a site may override many entries of a big catalogue (one scan per
        // override was quadratic: 80,000 overrides took 33 s).
        let by_id: BTreeMap<&str, &crate::model::Entry> =
            pv.entries.iter().map(|e| (e.id.as_str(), e)).collect();
        let configurable: Vec<&str> = pv
            .entries
            .iter()
            .filter(|e| e.configurable)
            .map(|e| e.id.as_str())
            .collect();
        let listed = {
            let mut l: Vec<String> = configurable
                .iter()
                .take(10)
                .map(|id| format!("`{id}`"))
                .collect();
            if configurable.len() > 10 {
                l.push(format!("and {} more", configurable.len() - 10));
            }
            l.join(", ")
        };
        for (id, ports) in &self.ports {
            let line = self.line("ports", id);
            if ports.ranges().is_empty() {
                errors.push(self.error(
                    line,
                    Problem::Invalid(format!(
                        "site ports: entry `{id}` has no port; give at least one, or remove the line to keep the document's"
                    )),
                ));
                continue;
            }
            match by_id.get(id.as_str()) {
                None => {
                    // Did-you-mean for the first hundred: each compares with every candidate.
                    let hint = if errors.len() < 100 {
                        hint(id, configurable.iter().copied())
                    } else {
                        String::new()
                    };
                    errors.push(self.error(
                        line,
                        Problem::Unknown {
                            referrer: site("ports"),
                            what: "entry",
                            id: id.clone(),
                            hint,
                        },
                    ))
                }
                Some(e) if !e.configurable => errors.push(self.error(
                    line,
                    Problem::Invalid(format!(
                        "site ports: entry `{id}` ({}) has a fixed port in {} {}; configurable entries: {listed}",
                        e.description, pv.product, pv.version
                    )),
                )),
                Some(_) => {}
            }
        }
        errors
    }

    /// Where the file says a top-level key, for messages about its value.
    pub fn origin(&self, key: &str) -> crate::diagnostic::Origin {
        crate::diagnostic::Origin::Line {
            path: self.name().to_string(),
            line: self.top_line(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_is_the_empty_site() {
        let s = Site::parse("s.yaml", "\n# nothing\n").unwrap();
        assert!(s.roles.is_empty() && s.gateway.is_empty());
    }

    #[test]
    fn parses_and_aggregates() {
        let s = Site::parse("s.yaml", "gateway: [192.0.2.20]\nroles:\n  dns-servers: [192.0.2.53, 192.0.2.52/31]\nports:\n  ldap: [3389]\n").unwrap();
        assert_eq!(
            s.roles["dns-servers"],
            vec!["192.0.2.52/31".parse::<IpNet>().unwrap()]
        );
        assert_eq!(s.ports["ldap"].to_string(), "3389");
        assert_eq!(s.line("roles", "dns-servers"), 3);
    }
}
