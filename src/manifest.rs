//! The build manifest (`fwgen.yaml`): many targets, built in one run by `fwgen build`.
//!
//! ```yaml
//! catalogue: [my-appliance.yaml]   # optional: added to the built-in catalogue (a path or a list)
//! builtin_catalogue: true          # false: only the files of `catalogue:`
//! targets:
//!   - name: mail-dmz               # unique
//!     site: sites/mail.yaml        # optional
//!     product: email-gateway       # optional when the site names it
//!     version: "5.3"
//!     component: gateway
//!     features: [snmp]
//!     all_features: false
//!     no_default_features: false
//!     gateway: [192.0.2.25]
//!     backend: nftables
//!     placement: perimeter
//!     log_drops: false
//!     policy: drop                 # or accept, for a staged roll-out
//!     strict: false
//!     allow_unbound: false         # true: unbound roles and host groups admit any address (a warning)
//!     output: out/mail-dmz.nft     # a file, or a directory for iptables and firewalld
//!     names: addresses             # or fqdn: the firewall follows host names
//!     ip_ranges: ip-ranges.json    # optional; instead of the site file's
//!     lock: fwgen.lock             # optional; instead of the site file's
//!     dnsmasq: out/mail-dmz.dnsmasq.conf   # optional: the DNS forwarder's configuration
//!     windows_profile: [domain]    # backend windows: the profiles (default: any)
//!     policy_store: 'corp.example\Servers'  # backend windows: a GPO instead of the local store
//!     interface: dmz               # Cisco: bind the lists there and remove the previous generation
//!     ingress_interfaces: [outside, inside]  # cisco-asa: where traffic to the gateway arrives
//!     previous: applied/acl.txt    # Cisco: the file applied last (default: the output file)
//!     aerleon_targets: [paloalto, srx]  # aerleon: the targets (default: every one that fits)
//!     zone_inside: dmz             # aerleon: the gateway's zone (default: inside)
//!     zone_outside: untrust        # aerleon: its peers' zone (default: outside)
//! ```
//!
//! Paths are relative to the manifest's directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use serde::Deserialize;

use crate::diagnostic::{Diagnostic, Diagnostics, Problem};
use crate::model::Address;
use crate::render::{Backend, Placement, Policy};
use crate::suggest::hint;
use crate::yaml::{parse_yaml, read_text};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    catalogue: Paths,
    #[serde(default = "yes")]
    builtin_catalogue: bool,
    targets: Vec<RawTarget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    name: String,
    #[serde(default)]
    site: Option<PathBuf>,
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    component: Option<String>,
    #[serde(default)]
    features: Vec<String>,
    #[serde(default)]
    all_features: bool,
    #[serde(default)]
    no_default_features: bool,
    #[serde(default)]
    gateway: Vec<Address>,
    backend: String,
    #[serde(default)]
    placement: Option<String>,
    #[serde(default)]
    log_drops: bool,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    strict: bool,
    #[serde(default)]
    allow_unbound: bool,
    output: PathBuf,
    #[serde(default)]
    names: Option<String>,
    #[serde(default)]
    ip_ranges: Option<PathBuf>,
    #[serde(default)]
    lock: Option<PathBuf>,
    #[serde(default)]
    dnsmasq: Option<PathBuf>,
    #[serde(default)]
    windows_profile: Vec<String>,
    #[serde(default)]
    policy_store: Option<String>,
    #[serde(default)]
    interface: Option<String>,
    #[serde(default)]
    ingress_interfaces: Vec<String>,
    #[serde(default)]
    previous: Option<PathBuf>,
    #[serde(default)]
    aerleon_targets: Vec<String>,
    #[serde(default)]
    zone_inside: Option<String>,
    #[serde(default)]
    zone_outside: Option<String>,
}

/// One target, with paths resolved against the manifest's directory.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Line of the target's `- name:` in the manifest.
    pub line: usize,
    pub name: String,
    pub site: Option<PathBuf>,
    pub product: Option<String>,
    pub version: Option<String>,
    pub component: Option<String>,
    pub features: Vec<String>,
    pub all_features: bool,
    pub no_default_features: bool,
    pub gateway: Vec<Address>,
    pub backend: Backend,
    pub placement: Placement,
    pub log_drops: bool,
    pub policy: Policy,
    pub strict: bool,
    /// Unbound peers' rules admit any address (a warning) instead of failing the target.
    pub allow_unbound: bool,
    pub output: PathBuf,
    pub names: crate::names::NameMode,
    pub ip_ranges: Option<PathBuf>,
    pub lock: Option<PathBuf>,
    pub dnsmasq: Option<PathBuf>,
    /// Profiles and policy store of a Windows Firewall script.
    pub windows: crate::render::WindowsOptions,
    /// Interfaces of Cisco access lists (the previous generation is read later).
    pub cisco: crate::render::CiscoOptions,
    /// The file a Cisco target's previous generation is read from, instead of its output.
    pub previous: Option<PathBuf>,
    /// Targets and zones of an Aerleon policy.
    pub aerleon: crate::render::AerleonOptions,
}

/// One path or a list of them.
#[derive(Debug, Default, Deserialize)]
#[serde(untagged, expecting = "a path or a list of paths")]
enum Paths {
    #[default]
    None,
    One(PathBuf),
    Many(Vec<PathBuf>),
}

impl Paths {
    fn into_vec(self) -> Vec<PathBuf> {
        match self {
            Paths::None => Vec::new(),
            Paths::One(p) => vec![p],
            Paths::Many(v) => v,
        }
    }
}

fn yes() -> bool {
    true
}

/// A checked manifest.
#[derive(Debug)]
pub(crate) struct Manifest {
    /// Catalogue paths added to the built-in catalogue (relative paths joined to the
    /// manifest's directory).
    pub catalogue: Vec<PathBuf>,
    /// `builtin_catalogue:` (true unless the manifest says false).
    pub builtin_catalogue: bool,
    pub targets: Vec<Target>,
}

fn enum_value<T: ValueEnum>(
    text: &str,
    what: &'static str,
    target: &str,
    at: &str,
    line: usize,
    errors: &mut Vec<Diagnostic>,
) -> Option<T> {
    match T::from_str(text, false) {
        Ok(v) => Some(v),
        Err(_) => {
            let names: Vec<String> = T::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value())
                .map(|p| p.get_name().to_string())
                .collect();
            errors.push(Diagnostic {
                path: at.to_string(),
                line,
                column: None,
                kind: Problem::Unknown {
                    referrer: format!("target `{target}`"),
                    what,
                    id: text.to_string(),
                    hint: hint(text, names.iter().map(String::as_str)),
                },
            });
            None
        }
    }
}

impl Manifest {
    /// Read and check a manifest; every problem is reported. Unless `allow_outside`, every
    /// path it names must stay inside its directory.
    pub(crate) fn load(path: &Path, allow_outside: bool) -> Result<Manifest, Diagnostics> {
        let display = path.display().to_string();
        let one = |line, kind| {
            Diagnostics(vec![Diagnostic {
                path: display.clone(),
                line,
                column: None,
                kind,
            }])
        };
        let text = read_text(path).map_err(|k| one(0, k))?;
        let mut raw: RawManifest = parse_yaml(&display, &text)?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut errors = Vec::new();
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        let mut targets = Vec::new();
        // Target names are the items of `targets:`, keyed by `- name:` lines.
        let name_lines = name_lines(&text);
        for (i, t) in raw.targets.into_iter().enumerate() {
            let line = name_lines.get(i).copied().unwrap_or(1);
            if let Some(first) = names.insert(t.name.clone(), line) {
                errors.push(Diagnostic {
                    path: display.clone(),
                    line,
                    column: None,
                    kind: Problem::Duplicate {
                        what: "target",
                        id: t.name.clone(),
                        first_line: first,
                    },
                });
            }
            if let Some(target) = target(t, line, &base, &display, allow_outside, &mut errors) {
                targets.push(target);
            }
        }
        let catalogue = std::mem::take(&mut raw.catalogue).into_vec();
        for c in catalogue.iter().filter(|_| !allow_outside) {
            if let Err(why) = crate::paths::inside(&base, c) {
                errors.push(Diagnostic {
                    path: display.clone(),
                    line: crate::yaml::Positions::top(&text, "catalogue"),
                    column: None,
                    kind: Problem::Invalid(format!(
                        "catalogue `{}` {why}; paths stay inside the manifest's directory unless `fwgen build --allow-outside`",
                        c.display()
                    )),
                });
            }
        }
        // Two targets must not write the same place.
        let mut outputs: BTreeMap<&Path, &str> = BTreeMap::new();
        for (t, out) in targets.iter().flat_map(|t| {
            std::iter::once((t, &t.output)).chain(t.dnsmasq.iter().map(move |d| (t, d)))
        }) {
            if let Some(other) = outputs.insert(out, &t.name) {
                errors.push(Diagnostic {
                    path: display.clone(),
                    line: names.get(&t.name).copied().unwrap_or(1),
                    column: None,
                    kind: Problem::Invalid(format!(
                        "targets `{other}` and `{}` both write `{}`",
                        t.name,
                        out.display()
                    )),
                });
            }
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.line);
            return Err(Diagnostics(errors));
        }
        Ok(Manifest {
            catalogue: catalogue.iter().map(|c| base.join(c)).collect(),
            builtin_catalogue: raw.builtin_catalogue,
            targets,
        })
    }
}

/// One target, checked: its backend, placement, policy and names values, and (unless
/// `allow_outside`) that its paths stay inside the manifest's directory.
fn target(
    t: RawTarget,
    line: usize,
    base: &Path,
    display: &str,
    allow_outside: bool,
    errors: &mut Vec<Diagnostic>,
) -> Option<Target> {
    let backend = enum_value::<Backend>(&t.backend, "backend", &t.name, display, line, errors);
    let placement = match &t.placement {
        None => Some(Placement::Perimeter),
        Some(p) => enum_value::<Placement>(p, "placement", &t.name, display, line, errors),
    };
    let policy = match &t.policy {
        None => Some(Policy::Drop),
        Some(p) => enum_value::<Policy>(p, "policy", &t.name, display, line, errors),
    };
    let names = match &t.names {
        None => Some(crate::names::NameMode::Addresses),
        Some(n) => enum_value::<crate::names::NameMode>(n, "names", &t.name, display, line, errors),
    };
    let profiles: Vec<Option<crate::render::Profile>> = t
        .windows_profile
        .iter()
        .map(|p| enum_value(p, "windows_profile", &t.name, display, line, errors))
        .collect();
    let aerleon = aerleon_options(&t, display, line, errors);
    if !allow_outside {
        check_inside(&t, base, display, line, errors);
    }
    if let (Some(backend), Some(placement), Some(policy), Some(names)) =
        (backend, placement, policy, names)
    {
        return Some(Target {
            line,
            name: t.name,
            site: t.site.map(|s| base.join(s)),
            product: t.product,
            version: t.version,
            component: t.component,
            features: t.features,
            all_features: t.all_features,
            no_default_features: t.no_default_features,
            gateway: t.gateway,
            backend,
            placement,
            log_drops: t.log_drops,
            policy,
            strict: t.strict,
            allow_unbound: t.allow_unbound,
            output: base.join(t.output),
            names,
            ip_ranges: t.ip_ranges.map(|p| base.join(p)),
            lock: t.lock.map(|p| base.join(p)),
            dnsmasq: t.dnsmasq.map(|p| base.join(p)),
            windows: crate::render::WindowsOptions {
                profiles: profiles.into_iter().flatten().collect(),
                policy_store: t.policy_store,
            },
            cisco: crate::render::CiscoOptions {
                interface: t.interface,
                ingress: t.ingress_interfaces,
                previous: None,
            },
            previous: t.previous.map(|p| base.join(p)),
            aerleon,
        });
    }
    None
}

/// Errors for a target's paths that leave the manifest's directory.
fn check_inside(
    t: &RawTarget,
    base: &Path,
    display: &str,
    line: usize,
    errors: &mut Vec<Diagnostic>,
) {
    let paths = t
        .site
        .iter()
        .map(|p| ("site", p))
        .chain(t.ip_ranges.iter().map(|p| ("ip_ranges", p)))
        .chain(t.lock.iter().map(|p| ("lock", p)))
        .chain(t.dnsmasq.iter().map(|p| ("dnsmasq", p)))
        .chain(t.previous.iter().map(|p| ("previous", p)))
        .chain([("output", &t.output)]);
    for (key, p) in paths {
        if let Err(why) = crate::paths::inside(base, p) {
            errors.push(Diagnostic {
                path: display.to_string(),
                line,
                column: None,
                kind: Problem::Invalid(format!(
                    "target `{}`: {key} `{}` {why}; paths stay inside the manifest's directory unless `fwgen build --allow-outside`",
                    t.name,
                    p.display()
                )),
            });
        }
    }
}

/// A target's Aerleon targets and zones; unknown targets are errors.
fn aerleon_options(
    t: &RawTarget,
    display: &str,
    line: usize,
    errors: &mut Vec<Diagnostic>,
) -> crate::render::AerleonOptions {
    crate::render::AerleonOptions {
        targets: t
            .aerleon_targets
            .iter()
            .filter_map(|a| enum_value(a, "aerleon_targets", &t.name, display, line, errors))
            .collect(),
        zone_inside: t.zone_inside.clone(),
        zone_outside: t.zone_outside.clone(),
    }
}

/// Lines of `- name:` items, in order.
fn name_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            l.trim_start()
                .strip_prefix("- ")
                .is_some_and(|r| r.trim_start().starts_with("name:"))
        })
        .map(|(i, _)| i + 1)
        .collect()
}
