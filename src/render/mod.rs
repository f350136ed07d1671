//! Backends: turn a [`Ruleset`] into text for one firewall syntax.
//!
//! A closed enum, matched exhaustively: adding a backend makes the compiler list every place
//! that must learn about it. Each backend module exposes a pure `render` that does no I/O.
//! What they share is here and in [`comment`]: placement, address families, the header and
//! comment sanitising, so that every backend behaves the same way.

mod aerleon;
mod baseline;
mod cisco_acl;
pub(crate) use cisco_acl::icmp_keyword_type;
pub mod comment;
pub mod dnsmasq;
mod firewalld;
mod intern;
mod iptables;
mod json;
pub(crate) mod nftables;
mod perimeter;
mod report;
mod windows;

pub use aerleon::{AerleonOptions, AerleonTarget};
pub use cisco_acl::{CiscoOptions, Previous};
pub use windows::{Profile, WindowsOptions};

use ipnet::IpNet;

use crate::model::Platform;
use crate::ruleset::{Remote, Rule, Ruleset};

/// Output syntaxes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Backend {
    /// The selected ruleset as JSON (for review, diffing and other tools)
    Json,
    /// iptables-restore files: rules.v4 (iptables) and rules.v6 (ip6tables)
    Iptables,
    /// One nft script with a `table inet fwgen` for IPv4 and IPv6
    Nftables,
    /// A directory like /etc/firewalld: zones/, policies/, services/, ipsets/
    Firewalld,
    /// Cisco IOS extended named ACLs (stateless, with return traffic; perimeter only)
    CiscoIos,
    /// Cisco ASA access lists with object groups (stateful; perimeter only)
    CiscoAsa,
    /// A review report in Markdown: the connections by direction and feature
    Markdown,
    /// A self-contained HTML review report with a flow diagram
    Html,
    /// A PowerShell script for the Windows Firewall of a Windows host (the Exchange Server;
    /// host placement only)
    Windows,
    /// An Aerleon policy and definitions (a directory): PAN-OS, SRX, FortiGate, Junos, ASA,
    /// Arista, NX-OS in front of the gateway; nftables, iptables, Windows Firewall on it
    Aerleon,
}

/// Where the firewall that loads the ruleset sits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Placement {
    /// A firewall in front of the gateway (the vendor tables are written for it): rules in the
    /// forward path, matching the gateway's own addresses
    #[default]
    Perimeter,
    /// The gateway's own firewall: `in` in the input path, `out` in the output path
    Host,
}

impl Placement {
    pub fn name(self) -> &'static str {
        match self {
            Self::Perimeter => "perimeter",
            Self::Host => "host",
        }
    }
}

/// What happens to traffic no rule admits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Policy {
    /// Drop it: the ruleset enforces the catalogue
    #[default]
    Drop,
    /// Accept it (a staged roll-out: the rules are in place, nothing is dropped yet; with
    /// --log-drops, what would be dropped is logged)
    Accept,
}

impl Policy {
    /// `drop`/`accept`, as nft writes verdicts.
    pub fn nft(self) -> &'static str {
        match self {
            Policy::Drop => "drop",
            Policy::Accept => "accept",
        }
    }

    /// `DROP`/`ACCEPT`, as iptables and firewalld write them.
    pub fn upper(self) -> &'static str {
        match self {
            Policy::Drop => "DROP",
            Policy::Accept => "ACCEPT",
        }
    }
}

/// How to render, beyond the ruleset itself.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    pub placement: Placement,
    /// Add a rate-limited log rule before the final drop.
    pub log_drops: bool,
    /// The final verdict; `Accept` is for staged roll-outs and says so in the header.
    pub policy: Policy,
    /// Profiles and policy store of the Windows Firewall script (`-b windows` only).
    pub windows: WindowsOptions,
    /// Interfaces and the previous generation of the Cisco access lists.
    pub cisco: CiscoOptions,
    /// Targets and zones of the Aerleon policy.
    pub aerleon: AerleonOptions,
    /// The name of the file the output goes to, for outputs that name themselves (the
    /// Windows script's run line); `None` for standard output.
    pub output_name: Option<String>,
}

/// What a backend produced: one text, or several named files (`rules.v4`, `rules.v6`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Single(String),
    /// `(path relative to the output directory, contents)`, sorted by path.
    Files(Vec<(String, String)>),
}

/// A backend's output and what it has to warn about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub output: Output,
    /// Things the syntax cannot do exactly, said out loud (never silently dropped).
    pub warnings: Vec<String>,
}

/// Why a ruleset cannot be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{backend} cannot express {what}")]
    Unsupported { backend: &'static str, what: String },
    #[error("{backend}: perimeter placement needs {}", own_address_hint(.component.as_deref()))]
    NoGateway {
        backend: &'static str,
        /// The component, when it is not the gateway.
        component: Option<String>,
    },
    #[error("{0}")]
    Invalid(String),
}

/// How a backend writes ICMP messages.
#[derive(Clone, Copy, Debug)]
pub enum IcmpSyntax {
    /// By type and code number (names where it has them): every message.
    Numbers,
    /// By type only: a message of one code is refused (the ASA's access lists).
    TypesOnly,
    /// By name only (firewalld's `icmptypes/`): the name of (type, code, IPv6), if any.
    Names(fn(u8, Option<u8>, bool) -> Option<&'static str>),
}

/// The first ICMP message of the ruleset a backend of `syntax` cannot write, said.
fn unwritable_icmp(rules: &Ruleset, syntax: IcmpSyntax) -> Option<String> {
    rules.rules.iter().find_map(|r| {
        let crate::model::Service::Icmp(types) = &r.service else {
            return None;
        };
        [false, true].into_iter().find_map(|v6| {
            let family = if v6 { "ICMPv6" } else { "ICMP" };
            types.messages(v6).into_iter().find_map(|(t, code)| match syntax {
                IcmpSyntax::Numbers => None,
                IcmpSyntax::TypesOnly => code.map(|c| {
                    format!("{family} type {t} code {c}: it matches ICMP types, not codes (entries {})", entries(r))
                }),
                IcmpSyntax::Names(name) => name(t, code, v6).is_none().then(|| {
                    let code = code.map(|c| format!(" code {c}")).unwrap_or_default();
                    format!(
                        "{family} type {t}{code}, which it has no name for (it names ICMP messages; use one it knows) (entries {})",
                        entries(r)
                    )
                }),
            })
        })
    })
}

/// A rule's entries, for messages.
fn entries(r: &crate::ruleset::Rule) -> String {
    r.entries
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How to give the own address of the host whose perimeter firewall this is.
fn own_address_hint(component: Option<&str>) -> String {
    match component {
        None => "the gateway's address: add `gateway: [ADDR]` to the site file or pass \
                 `--gateway ADDR` (or use `--placement host` for the gateway's own firewall)"
            .to_string(),
        Some(c) => format!(
            "the address of `{c}` (not the gateway's): add `components: {{{c}: [ADDR]}}` to the \
             site file or pass `--gateway ADDR` (or use `--placement host` for its own firewall)"
        ),
    }
}

/// What a backend's output is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A ruleset a firewall loads.
    Firewall,
    /// A description of the selection for people and tools (JSON, reviews).
    Review,
}

/// How a backend's output comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One file.
    File,
    /// Several files, written into a directory.
    Directory,
}

/// Everything the rest of fwgen needs to know about a backend, declared in the backend's own
/// module: dispatch, capability checks, file names and the tests all read it from here.
#[derive(Debug)]
pub struct Description {
    /// The name on the command line (`-b NAME`).
    pub name: &'static str,
    pub kind: Kind,
    pub shape: Shape,
    /// The file (or directory) name with `--output-dir`, for one-file backends.
    pub file_name: &'static str,
    /// The placements it can express; for the others, `placement_note` says why not.
    pub placements: &'static [Placement],
    pub placement_note: &'static str,
    /// Whether a perimeter ruleset needs the gateway's own address.
    pub needs_gateway: bool,
    /// The operating systems whose own firewall it writes (host placement).
    pub host_platforms: &'static [Platform],
    /// Whether a host ruleset replaces the host's default policy (drops what it does not
    /// admit), so that one without administrative access can lock the administrator out.
    pub replaces_policy: bool,
    /// The longest comment (or remark) the syntax takes, in bytes, if it has comments.
    pub comment_max: Option<usize>,
    /// Characters that text from a catalogue or site file must never put into a comment.
    pub never_emits: &'static [char],
    /// `None` when it can follow host names at run time (`--names fqdn`); else why not.
    pub names_note: Option<&'static str>,
    /// How it writes ICMP messages; what it cannot write is refused before rendering.
    pub icmp: IcmpSyntax,
    /// For rulesets with sets that DNS fills: what `--dnsmasq` writes.
    pub forwarder: Option<dnsmasq::Forwarder>,
    /// Turn a ruleset into text; capabilities are checked before.
    pub render: fn(&Ruleset, &RenderOptions) -> Rendered,
    /// For configurations applied over the one before (Cisco): read what an earlier file
    /// defined, so that the new one removes it.
    pub previous: Option<ReadPrevious>,
    /// What else it cannot express of this ruleset with these options (the Aerleon targets
    /// asked for), checked before rendering with the generic checks.
    pub check: Option<Check>,
}

impl Description {
    /// Whether it writes a ruleset for `placement` on a host of `platform` (perimeter
    /// rulesets are for a firewall in front of the host, whatever it runs).
    pub fn fits(&self, placement: Placement, platform: Platform) -> bool {
        self.placements.contains(&placement)
            && (placement == Placement::Perimeter || self.host_platforms.contains(&platform))
    }
}

/// A backend's own check of a ruleset and options: why it cannot render them, if it cannot.
pub type Check = fn(&Ruleset, &RenderOptions) -> Result<(), String>;

/// Reads what an earlier file of a backend defined (its previous generation).
pub type ReadPrevious = fn(&str) -> Result<Previous, String>;

/// Every platform (reviews describe any host).
pub const ALL_PLATFORMS: &[Platform] = &[Platform::Linux, Platform::Windows];

/// Both placements.
pub const ANY_PLACEMENT: &[Placement] = &[Placement::Perimeter, Placement::Host];

impl Backend {
    /// This backend's facts: the one place that maps the enum to a module.
    pub fn description(self) -> &'static Description {
        match self {
            Self::Json => &json::DESCRIPTION,
            Self::Iptables => &iptables::DESCRIPTION,
            Self::Nftables => &nftables::DESCRIPTION,
            Self::Firewalld => &firewalld::DESCRIPTION,
            Self::CiscoIos => &cisco_acl::IOS,
            Self::CiscoAsa => &cisco_acl::ASA,
            Self::Markdown => &report::MARKDOWN,
            Self::Html => &report::HTML,
            Self::Windows => &windows::DESCRIPTION,
            Self::Aerleon => &aerleon::DESCRIPTION,
        }
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        self.description().name
    }

    /// File name used with `--output-dir` for single-file backends.
    pub fn file_name(self) -> &'static str {
        self.description().file_name
    }

    /// Render `rules` in this backend's syntax, after checking that it can express them.
    pub fn render(self, rules: &Ruleset, opts: &RenderOptions) -> Result<Rendered, RenderError> {
        let d = self.description();
        if !d.placements.contains(&opts.placement) {
            return Err(RenderError::Unsupported {
                backend: d.name,
                what: format!("{} placement: {}", opts.placement.name(), d.placement_note),
            });
        }
        if let Some(why) = d.names_note
            && !rules.dns_groups.is_empty()
        {
            let groups: Vec<&str> = rules.dns_groups.iter().map(|g| g.group.as_str()).collect();
            return Err(RenderError::Unsupported {
                backend: d.name,
                what: format!(
                    "host names that the firewall resolves (host groups {}): {why}",
                    groups.join(", ")
                ),
            });
        }
        self.check_options(opts)?;
        if let Some(what) = unwritable_icmp(rules, d.icmp) {
            return Err(RenderError::Unsupported {
                backend: d.name,
                what,
            });
        }
        let m = &rules.meta;
        if d.needs_gateway && opts.placement == Placement::Perimeter && rules.gateway.is_empty() {
            return Err(RenderError::NoGateway {
                backend: d.name,
                component: (!m.gateway_component).then(|| m.component.clone()),
            });
        }
        if opts.placement == Placement::Host && !d.host_platforms.contains(&m.platform) {
            return Err(wrong_platform(d, rules));
        }
        if let Some(check) = d.check {
            check(rules, opts).map_err(RenderError::Invalid)?;
        }
        // A host ruleset that admits no administration can lock the administrator out.
        let lockout = d.kind == Kind::Firewall
            && d.replaces_policy
            && opts.placement == Placement::Host
            && opts.policy == Policy::Drop
            && !admits_administration(rules);
        if !lockout {
            return Ok((d.render)(rules, opts));
        }
        let warning = lockout_warning(m);
        let mut r = rules.clone();
        r.warnings.push(warning.clone());
        let rendered = (d.render)(&r, opts);
        Ok(Rendered {
            warnings: [vec![warning], rendered.warnings].concat(),
            ..rendered
        })
    }

    /// Options that belong to one backend are refused by the others, and checked.
    fn check_options(self, opts: &RenderOptions) -> Result<(), RenderError> {
        let d = self.description();
        let refuse = |what: &str| {
            Err(RenderError::Unsupported {
                backend: d.name,
                what: what.to_string(),
            })
        };
        if opts.windows != WindowsOptions::default() && self != Self::Windows {
            return refuse(
                "Windows Firewall profiles or a policy store (--windows-profile, --policy-store \
                 are for -b windows)",
            );
        }
        if let Some(store) = &opts.windows.policy_store {
            windows::check_policy_store(store).map_err(RenderError::Invalid)?;
        }
        let c = &opts.cisco;
        if (c.interface.is_some() || c.previous.is_some()) && d.previous.is_none() {
            return refuse(
                "interfaces or a previous generation (--interface, --previous are for Cisco)",
            );
        }
        if !c.ingress.is_empty() && self != Self::CiscoAsa {
            return refuse("ingress interfaces (--ingress-interface is for -b cisco-asa)");
        }
        if self == Self::CiscoAsa && c.interface.is_some() && c.ingress.is_empty() {
            return Err(RenderError::Invalid(
                "cisco-asa: --interface (the gateway's interface) needs --ingress-interface too: \
                 the interfaces traffic to the gateway arrives on, which bind the list to it"
                    .to_string(),
            ));
        }
        for i in c.interface.iter().chain(&c.ingress) {
            cisco_acl::check_interface(i).map_err(RenderError::Invalid)?;
        }
        if opts.aerleon != AerleonOptions::default() && self != Self::Aerleon {
            return refuse(
                "Aerleon targets or zones (--aerleon-target, --zone-inside, --zone-outside are for -b aerleon)",
            );
        }
        aerleon::check_options(&opts.aerleon).map_err(RenderError::Invalid)?;
        Ok(())
    }

    /// Every backend, in `--help` order.
    pub fn all() -> &'static [Backend] {
        <Backend as clap::ValueEnum>::value_variants()
    }
}

/// The error for a host ruleset on a host that runs another operating system, naming the
/// backends that fit it.
fn wrong_platform(d: &Description, rules: &Ruleset) -> RenderError {
    let m = &rules.meta;
    let fits: Vec<String> = Backend::all()
        .iter()
        .map(|b| b.description())
        .filter(|o| o.kind == Kind::Firewall && o.placements.contains(&Placement::Host))
        .filter(|o| o.host_platforms.contains(&m.platform))
        .map(|o| format!("-b {}", o.name))
        .collect();
    let wants: Vec<&str> = d.host_platforms.iter().map(|p| p.name()).collect();
    RenderError::Invalid(format!(
        "{} writes a {} host firewall, but component `{}` ({}) runs {}: for its own firewall \
         use {}, or --placement perimeter for a firewall in front of it",
        d.name,
        wants.join(" or "),
        m.component,
        m.component_description,
        m.platform.name(),
        if fits.is_empty() {
            "a firewall fwgen does not write yet".to_string()
        } else {
            fits.join(" or ")
        }
    ))
}

impl Rendered {
    /// One file and nothing to warn about.
    pub fn file(text: String) -> Rendered {
        Rendered {
            output: Output::Single(text),
            warnings: Vec::new(),
        }
    }
}

/// The warning for a host ruleset that admits no administrative access, in the words of the
/// host it is for: the gateway's web interface and SSH console, or another component.
pub fn lockout_warning(m: &crate::ruleset::Meta) -> String {
    if m.gateway_component {
        "host placement: no rule admits administrative access to the gateway (its web interface \
         or SSH console, role `admin-clients`); loading this ruleset on the gateway can lock you \
         out. Enable the entries of the web interface or the SSH console, or roll out with \
         --policy accept first"
            .to_string()
    } else {
        format!(
            "host placement: this ruleset drops what it does not admit on `{}` ({}), and no rule \
             admits administrative access to it; loading it there can lock you out and stop \
             its other services. Roll out with --policy accept first",
            m.component, m.component_description
        )
    }
}

/// True when an inbound rule admits the administrators (role `admin-clients`).
fn admits_administration(rules: &Ruleset) -> bool {
    rules.rules.iter().any(|r| {
        r.direction == crate::model::Direction::In && r.peers.roles.contains("admin-clients")
    })
}

/// An IP address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub const BOTH: [Family; 2] = [Family::V4, Family::V6];

    pub fn holds(self, net: &IpNet) -> bool {
        matches!(
            (self, net),
            (Family::V4, IpNet::V4(_)) | (Family::V6, IpNet::V6(_))
        )
    }

    /// The prefixes of `nets` in this family.
    pub fn filter(self, nets: &[IpNet]) -> Vec<IpNet> {
        nets.iter().filter(|n| self.holds(n)).copied().collect()
    }
}

/// The remote side of a rule in one family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteMatch {
    /// No address match: any address.
    Any,
    /// These prefixes (never empty).
    Nets(Vec<IpNet>),
    /// The addresses the names of these host groups resolve to at run time (group ids).
    Names(Vec<String>),
}

/// How `rule` applies in `family`; `None` when it has addresses, but none of this family.
pub fn remote_in(rule: &Rule, family: Family) -> Option<RemoteMatch> {
    remote_match(rule, Some(family))
}

/// How `rule` applies in one family, or (`None`) in both at once, for syntaxes whose rules
/// take both; `None` when it has addresses, but none of the family.
pub(crate) fn remote_match(rule: &Rule, family: Option<Family>) -> Option<RemoteMatch> {
    match &rule.remote {
        Remote::Any => Some(RemoteMatch::Any),
        Remote::Addresses(a) => {
            let nets = family.map_or_else(|| a.clone(), |f| f.filter(a));
            (!nets.is_empty()).then_some(RemoteMatch::Nets(nets))
        }
        Remote::Names(groups) => Some(RemoteMatch::Names(groups.iter().cloned().collect())),
    }
}

/// How long an address that DNS put into a set stays there, in seconds: longer than the
/// TTLs these names are served with (CDNs: 60 s to a few minutes), so that a connection the
/// gateway opens soon after its lookup finds the address; established connections do not
/// need it (connection tracking admits them). Every new answer puts the address in again.
pub const DNS_SET_TIMEOUT: u32 = 3600;

/// The kernel set (ipset, or firewalld's) that DNS fills for `group` in `family`:
/// `fwgen-dns-` and 10 hex digits of the group id's SHA-256 (ipset names stop at 31
/// characters; ids may be 48), `-v4`/`-v6`.
pub fn dns_ipset_name(group: &str, family: Family) -> String {
    use sha2::Digest;
    let hex = crate::text::hex(&sha2::Sha256::digest(group.as_bytes()));
    format!(
        "fwgen-dns-{}-{}",
        hex.get(..10).unwrap_or_default(),
        family.suffix()
    )
}

impl Family {
    /// `v4`/`v6`, as set names end.
    pub fn suffix(self) -> &'static str {
        match self {
            Family::V4 => "v4",
            Family::V6 => "v6",
        }
    }
}

/// ICMP types a host needs to work (errors, PMTU discovery) and ICMPv6 neighbour discovery,
/// named as nft spells them; iptables names differ and are mapped in its module.
pub const ICMP_V4_TYPES: &[&str] = &[
    "destination-unreachable",
    "time-exceeded",
    "parameter-problem",
];
pub const ICMP_V6_TYPES: &[&str] = &[
    "destination-unreachable",
    "packet-too-big",
    "time-exceeded",
    "parameter-problem",
    "nd-router-solicit",
    "nd-router-advert",
    "nd-neighbor-solicit",
    "nd-neighbor-advert",
];
