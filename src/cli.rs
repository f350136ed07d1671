//! Command-line definitions (clap derive). No logic: `command` does the work.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};

use crate::render::{Backend, Placement, Policy};

const EXAMPLES: &str = "\
Examples:
  fwgen products
  fwgen features --product email-gateway
  fwgen generate --product email-gateway --site examples/site.yaml --backend json -o rules.json
  fwgen generate --site examples/site.yaml --backend nftables -o ruleset.nft
  fwgen generate --site examples/site.yaml --placement host --backend iptables --output-dir .
  fwgen generate --site examples/site.yaml --backend html -o review.html
  fwgen build --check examples/fwgen.yaml
  fwgen diff --product email-gateway --from 4.9 --to 5.3 --format markdown
  fwgen generate --product icap-gateway --version 4.8 --features snmp,ldap --backend json
  fwgen validate data/

Exit codes (as diff uses them): 0 success, 1 --check found out-of-date files, 2 trouble: bad
input (catalogue, site file, selection), a failed write, or a usage error.";

/// Generate firewall rulesets from vendor ports-and-protocols catalogues.
#[derive(Debug, Parser)]
#[command(name = "fwgen", version, after_help = EXAMPLES, max_term_width = 100)]
pub(crate) struct Args {
    /// Add the product versions in PATH (a directory of *.yaml files, or one file) to the
    /// catalogue built into fwgen; repeat for more. A product version defined twice is an error
    #[arg(long, global = true, value_name = "PATH")]
    pub catalogue: Vec<PathBuf>,

    /// Leave the built-in catalogue out: only the files of --catalogue (or a manifest's
    /// `catalogue:`) are read
    #[arg(long, global = true)]
    pub no_builtin_catalogue: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List products, their versions, components and source documents
    Products(Deferred<ProductsArgs>),
    /// List a product version's features: id, default state, and the entries each enables
    Features(Deferred<FeaturesArgs>),
    /// Check a catalogue (and a site file) and report every problem
    Validate(Deferred<ValidateArgs>),
    /// Select a product's connections and render them as a ruleset
    Generate(Deferred<GenerateArgs>),
    /// Build every target of a manifest (fwgen.yaml) in one run
    Build(Deferred<BuildArgs>),
    /// Look up the addresses of the host names a selection needs and write a lock file
    Resolve(Deferred<ResolveArgs>),
    /// Connections added, removed and changed between two product versions or two catalogues
    Diff(Deferred<DiffArgs>),
    /// Check an existing firewall's ruleset (nftables, iptables, Cisco) against a selection: is
    /// every required connection admitted, and what is admitted beyond it
    Audit(Deferred<AuditArgs>),
    /// Load a ruleset into this host's firewall, prove it live with the exact audit, and roll
    /// it back by itself unless confirmed in time
    Apply(Deferred<ApplyArgs>),
    /// Site files: `fwgen site init` prints one to fill in
    #[command(subcommand)]
    Site(SiteCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): fwgen(1), or with a subcommand fwgen-SUBCOMMAND(1)
    Man {
        /// A subcommand, e.g. generate
        subcommand: Option<String>,
    },
}

/// A subcommand's arguments, defined only when that subcommand is parsed (or printed: help,
/// man pages, completions), not on every run: clap's `Command::defer`. Defining every
/// subcommand's arguments was a fifth of the instructions of `fwgen products`.
#[derive(Debug)]
pub(crate) struct Deferred<T>(pub T);

impl<T: clap::FromArgMatches> clap::FromArgMatches for Deferred<T> {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Self)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
}

impl<T: ClapArgs> ClapArgs for Deferred<T> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.defer(define::<T, false>)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        cmd.defer(define::<T, true>)
    }

    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }
}

/// `T`'s arguments defined on the subcommand `cmd`, which keeps its description: the
/// variant's doc comment, which clap sets after the arguments when they are not deferred, and
/// which so wins over a description the arguments' struct brings.
fn define<T: ClapArgs, const UPDATE: bool>(cmd: clap::Command) -> clap::Command {
    let (about, long_about) = (cmd.get_about().cloned(), cmd.get_long_about().cloned());
    let cmd = if UPDATE {
        T::augment_args_for_update(cmd)
    } else {
        T::augment_args(cmd)
    };
    let cmd = match about {
        Some(about) => cmd.about(about),
        None => cmd,
    };
    match long_about {
        Some(long_about) => cmd.long_about(long_about),
        None => cmd,
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum SiteCommand {
    /// Print a commented site file for a selection: every role and host group it needs, what
    /// each is for and which entries need it, the ports a site may change, ready to fill in
    Init(SiteInitArgs),
}

#[derive(Debug, ClapArgs)]
pub(crate) struct SiteInitArgs {
    /// Product id (see `fwgen products`)
    #[arg(long, short = 'p')]
    pub product: String,
    /// Product version [default: the newest]
    #[arg(long, short = 'V')]
    pub version: Option<String>,
    /// The host whose firewall this is [default: the product's default component]
    #[arg(long, short = 'c')]
    pub component: Option<String>,
    #[command(flatten)]
    pub features: FeatureFlags,
}

/// The feature flags, as cargo's: `generate`, `resolve`, `audit` and `site init` share them.
#[derive(Clone, Debug, ClapArgs)]
pub(crate) struct FeatureFlags {
    /// Features to enable on top of the defaults (comma-separated or repeated)
    #[arg(long, short = 'F', value_delimiter = ',')]
    pub features: Vec<String>,
    /// Enable every feature of the product version
    #[arg(long)]
    pub all_features: bool,
    /// Do not enable the vendor's default features
    #[arg(long)]
    pub no_default_features: bool,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct ResolveArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// An AWS ip-ranges.json: host groups it binds need no lookup [default: the site file's]
    #[arg(long, value_name = "FILE")]
    pub ip_ranges: Option<PathBuf>,
    /// The recursive DNS server to ask, ADDR or ADDR:PORT ([ADDR]:PORT for IPv6) [default:
    /// the first nameserver of /etc/resolv.conf]. Use the resolver the gateway uses: CDNs
    /// answer by resolver and location
    #[arg(long, value_name = "ADDR[:PORT]")]
    pub dns_server: Option<String>,
    /// Write the lock file to FILE (atomically) instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write nothing: exit 0 when FILE holds the current answers, 1 with the difference when
    /// they have moved, 2 when a name does not resolve
    #[arg(long, requires = "output")]
    pub check: bool,
}

/// Output format of `fwgen diff`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum DiffFormat {
    #[default]
    Text,
    Json,
    Markdown,
}

#[derive(Debug, ClapArgs)]
#[command(group = clap::ArgGroup::new("mode").args(["old", "product", "site"]).multiple(true).required(true))]
pub(crate) struct DiffArgs {
    /// The catalogue under review: old directory or file (with NEW)
    #[arg(requires = "new")]
    pub old: Option<PathBuf>,
    /// The catalogue under review: new directory or file
    pub new: Option<PathBuf>,
    /// Compare two versions of this product (with --from and --to)
    #[arg(long, short = 'p', requires_all = ["from", "to"])]
    pub product: Option<String>,
    /// The older version
    #[arg(long)]
    pub from: Option<String>,
    /// The newer version
    #[arg(long)]
    pub to: Option<String>,
    /// Compare the rulesets bound to this site file (its product, features, addresses,
    /// ports and own entries), as `generate --site` selects them
    #[arg(long, short = 's', requires_all = ["from", "to"], conflicts_with = "old")]
    pub site: Option<PathBuf>,
    /// Component [default: gateway]
    #[arg(long, short = 'c')]
    pub component: Option<String>,
    /// Compare only the entries these features (and the defaults) select, as in generate
    #[arg(long, short = 'F', value_delimiter = ',')]
    pub features: Vec<String>,
    /// With --features: do not add the default features
    #[arg(long)]
    pub no_default_features: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: DiffFormat,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct AuditArgs {
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub unbound: Unbound,
    /// The gateway's own address (repeatable; adds to the site file's)
    #[arg(long, value_name = "ADDR")]
    pub gateway: Vec<crate::model::Address>,
    /// Where the audited firewall sits: in front of the gateway, or on it
    #[arg(long, value_enum, default_value_t)]
    pub placement: Placement,
    /// An AWS ip-ranges.json: host groups served by CloudFront take its prefixes, as in
    /// generate [default: `ip_ranges:` in the site file]
    #[arg(long, value_name = "FILE")]
    pub ip_ranges: Option<PathBuf>,
    /// A lock file written by `fwgen resolve`: addresses for host names, as in generate
    /// [default: `lock:` in the site file]
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// The ruleset to audit: `nft -j list ruleset` output (with `nft --debug=netlink list
    /// ruleset` beside it), or `iptables-save`, `ip6tables-save` and `ipset save` output, or
    /// both (iptables-nft beside native tables), one file each (repeatable; the format is
    /// recognised from the content)
    #[arg(long, value_name = "FILE", required = true)]
    pub ruleset: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: DiffFormat,
    /// Also fail (exit 1) when the ruleset admits more than the selection needs
    #[arg(long)]
    pub strict: bool,
    /// The gateway's interface (host placement), or the firewall's interface that faces the
    /// gateway (perimeter; the ASA's for the gateway): what `iifname`/`-i` matches, and for a
    /// Cisco configuration which bindings decide
    #[arg(long, value_name = "IF")]
    pub interface: Option<String>,
    /// Perimeter: an interface traffic to the gateway arrives on (repeatable; the first is
    /// the one interface matches see; on the ASA every one's list decides)
    #[arg(long, value_name = "IF", value_delimiter = ',')]
    pub ingress_interface: Vec<String>,
    /// Print, instead of the report, the commands (nft or iptables, as the ruleset read) that
    /// would add what is missing, for review
    #[arg(long, conflicts_with = "format")]
    pub fix: bool,
}

/// The firewalls `fwgen apply` loads into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ApplyBackend {
    /// nftables: fwgen's own table replaced in one `nft -f` transaction
    Nftables,
    /// iptables + ipset: content-named sets, then iptables-restore and ip6tables-restore
    Iptables,
    /// firewalld: fwgen's zone, policy, service and ipset files in its configuration
    /// directory, then `firewall-cmd --reload`
    Firewalld,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct ApplyArgs {
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub unbound: Unbound,
    /// The gateway's own address (repeatable; adds to the site file's `gateway:`)
    #[arg(long, value_name = "ADDR")]
    pub gateway: Vec<crate::model::Address>,
    /// The firewall to load the ruleset into
    #[arg(
        long,
        short = 'b',
        value_enum,
        required_unless_present_any = ["confirm", "rollback", "status", "guard"]
    )]
    pub backend: Option<ApplyBackend>,
    /// Where the firewall sits (apply runs on the host whose firewall it loads)
    #[arg(long, value_enum, default_value = "host")]
    pub placement: Placement,
    /// Log dropped packets (rate-limited) before dropping them
    #[arg(long)]
    pub log_drops: bool,
    /// An AWS ip-ranges.json, as in generate [default: `ip_ranges:` in the site file]
    #[arg(long, value_name = "FILE")]
    pub ip_ranges: Option<PathBuf>,
    /// A lock file written by `fwgen resolve`, as in generate [default: `lock:` in the site
    /// file]
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Refuse a selection with entries that admit any address (as generate --strict)
    #[arg(long)]
    pub strict: bool,
    /// The gateway's interface: what interface matches see in the audits [default: the one
    /// interface of this host that holds the gateway's addresses]
    #[arg(long, value_name = "IF")]
    pub interface: Option<String>,
    /// firewalld's configuration directory (-b firewalld)
    #[arg(long, value_name = "DIR", default_value = "/etc/firewalld")]
    pub firewalld_config: PathBuf,
    /// Restore the previous ruleset unless `fwgen apply --confirm` comes within this many
    /// seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub confirm_within: u64,
    /// Where the snapshot, the deadline and the lock are kept [default: $FWGEN_STATE_DIR, else
    /// /run/fwgen]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Change nothing: print the difference from the live ruleset, the lock-out check and the
    /// audit of the ruleset as it would be live
    #[arg(long)]
    pub dry_run: bool,
    /// Apply even when the SSH session this runs in would be locked out
    #[arg(long)]
    pub force: bool,
    /// Confirm as soon as the live audit passes (unattended runs)
    #[arg(long)]
    pub auto_confirm: bool,
    /// Keep what was applied (stops the rollback)
    #[arg(long, conflicts_with_all = ["rollback", "status", "dry_run", "backend"])]
    pub confirm: bool,
    /// Restore the snapshot taken before the last apply now
    #[arg(long, conflicts_with_all = ["confirm", "status", "dry_run", "backend"])]
    pub rollback: bool,
    /// What is applied, since when, and until when it is unconfirmed
    #[arg(long, conflicts_with_all = ["confirm", "rollback", "dry_run", "backend"])]
    pub status: bool,
    /// The guard that rolls back at the deadline (started by apply itself)
    #[arg(long, hide = true)]
    pub guard: bool,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct BuildArgs {
    /// The manifest
    #[arg(default_value = "fwgen.yaml")]
    pub manifest: PathBuf,
    /// Write nothing: exit 0 when every output is up to date, 1 with unified diffs on
    /// standard error otherwise, 2 on broken input
    #[arg(long)]
    pub check: bool,
    /// Let the manifest name sites, catalogues and outputs outside its own directory
    /// (absolute paths, `..`, symlinks that lead out). Without it they are errors: a manifest
    /// from a pull request must not read or write elsewhere on the CI machine
    #[arg(long)]
    pub allow_outside: bool,
    /// Every target as if it said `allow_unbound: true`: unbound roles and host groups make
    /// their rules admit any address (a warning) instead of failing the target
    #[arg(long)]
    pub allow_unbound: bool,
}

/// Output format of the listing commands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct ProductsArgs {
    /// Only the product versions with this component (a host of the product, such as
    /// `exchange-server`), with their entries of it
    #[arg(long, short = 'c')]
    pub component: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct FeaturesArgs {
    /// Product id (see `fwgen products`)
    #[arg(long, short = 'p')]
    pub product: String,
    /// Product version [default: the newest]
    #[arg(long, short = 'V')]
    pub version: Option<String>,
    /// Only the features that concern this component, with its entries [default: every
    /// feature, every entry]
    #[arg(long, short = 'c')]
    pub component: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct ValidateArgs {
    /// Catalogue directory or file to check on its own (without the built-in catalogue)
    /// [default: the built-in catalogue and every --catalogue, together]
    pub path: Option<PathBuf>,
    /// Also check this site file (against its `product:`, or against every product)
    #[arg(long)]
    pub site: Option<PathBuf>,
}

/// `--allow-unbound`: the flag of every command that makes a ruleset (generate, audit, apply).
#[derive(Clone, Copy, Debug, Default, ClapArgs)]
pub(crate) struct Unbound {
    /// Let a role or host group that the site leaves unbound make its rules admit any address
    /// (a warning); without it, such a selection is an error naming each peer and how to
    /// bind it. Rules the document itself opens to any address (SMTP) need no flag
    #[arg(long)]
    pub allow_unbound: bool,
}

/// What to select: the flags `generate` and `resolve` share, each named, documented and
/// checked once.
#[derive(Clone, Debug, ClapArgs)]
pub(crate) struct Selection {
    /// Product id [default: `product:` in the site file]
    #[arg(long, short = 'p')]
    pub product: Option<String>,
    /// Product version [default: the site file's, else the newest]
    #[arg(long, short = 'V')]
    pub version: Option<String>,
    /// Component: the host whose firewall this is [default: gateway]
    #[arg(long, short = 'c')]
    pub component: Option<String>,
    /// Site file: addresses of the gateway, roles and hosts; features; port overrides
    #[arg(long, short = 's', value_name = "FILE")]
    pub site: Option<PathBuf>,
    #[command(flatten)]
    pub features: FeatureFlags,
}

impl Selection {
    /// The request these flags make (the rest of it at its defaults), and the site file.
    pub(crate) fn request(self) -> (crate::select::Request, Option<PathBuf>) {
        (
            crate::select::Request {
                product: self.product,
                version: self.version,
                component: self.component,
                features: self.features.features,
                all_features: self.features.all_features,
                no_default_features: self.features.no_default_features,
                ..crate::select::Request::default()
            },
            self.site,
        )
    }
}

#[derive(Debug, ClapArgs)]
#[command(group = clap::ArgGroup::new("destination").args(["output", "output_dir"]))]
pub(crate) struct GenerateArgs {
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub unbound: Unbound,
    /// The own address of the host whose firewall this is: the gateway's, or with --component
    /// that component's (repeatable; adds to the site file's `gateway:` or `components:`)
    #[arg(long, value_name = "ADDR")]
    pub gateway: Vec<crate::model::Address>,
    /// Output syntax
    #[arg(long, short = 'b', value_enum)]
    pub backend: Backend,
    /// Where the firewall sits: in front of the gateway, or on it
    #[arg(long, value_enum, default_value_t)]
    pub placement: Placement,
    /// Log dropped packets (rate-limited) before dropping them
    #[arg(long)]
    pub log_drops: bool,
    /// What happens to traffic no rule admits: drop it, or accept it for a staged roll-out
    /// (the output says so loudly in its header)
    #[arg(long, value_enum, default_value_t)]
    pub policy: Policy,
    /// Windows Firewall profiles the rules apply in (-b windows; comma-separated)
    #[arg(long, value_enum, value_delimiter = ',', value_name = "PROFILE")]
    pub windows_profile: Vec<crate::render::Profile>,
    /// Windows Firewall policy store (-b windows): a GPO as `domain\GPO name`, instead of the
    /// computer's own store
    #[arg(long, value_name = "STORE")]
    pub policy_store: Option<String>,
    /// Cisco: the interface that faces the gateway (IOS), or the gateway's interface (ASA).
    /// With it, the file binds the new lists and removes the previous generation
    #[arg(long, value_name = "IF")]
    pub interface: Option<String>,
    /// cisco-asa: an interface traffic to the gateway arrives on (repeatable; needed with
    /// --interface)
    #[arg(long, value_name = "IF", value_delimiter = ',')]
    pub ingress_interface: Vec<String>,
    /// Cisco: the file applied last, whose lists and groups the new file removes [default:
    /// the file at -o, if fwgen wrote it]
    #[arg(long, value_name = "FILE")]
    pub previous: Option<PathBuf>,
    /// aerleon: a target in the policy's headers (repeatable or comma-separated) [default:
    /// every target that fits the placement and can express the ruleset]
    #[arg(long, value_enum, value_delimiter = ',', value_name = "TARGET")]
    pub aerleon_target: Vec<crate::render::AerleonTarget>,
    /// aerleon: the zone-based firewalls' (PAN-OS, SRX, FortiGate) zone of the gateway
    /// [default: inside]
    #[arg(long, value_name = "ZONE")]
    pub zone_inside: Option<String>,
    /// aerleon: the zone-based firewalls' zone the gateway's peers are in [default: outside]
    #[arg(long, value_name = "ZONE")]
    pub zone_outside: Option<String>,
    /// Write to FILE (atomically) instead of standard output; for iptables and firewalld, the
    /// directory to write into (created if missing)
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write into the directory DIR, created if missing (iptables: rules.v4 and rules.v6;
    /// firewalld: zones/, policies/, services/, ipsets/; aerleon: policies/pol/ and def/;
    /// nftables: ruleset.nft; json: ruleset.json)
    #[arg(long, value_name = "DIR", conflicts_with = "output")]
    pub output_dir: Option<PathBuf>,
    /// How host groups whose document gives no address are reached: fixed addresses only
    /// (from the site file, --ip-ranges or --lock), or names the firewall follows (ASA FQDN
    /// objects; sets that the gateway's DNS forwarder fills, see --dnsmasq)
    #[arg(long, value_enum, value_name = "HOW")]
    pub names: Option<crate::names::NameMode>,
    /// An AWS ip-ranges.json that you downloaded: host groups served by CloudFront take its
    /// CLOUDFRONT prefixes; others name a filter under `names:` in the site file [default:
    /// `ip_ranges:` in the site file]
    #[arg(long, value_name = "FILE")]
    pub ip_ranges: Option<PathBuf>,
    /// A lock file written by `fwgen resolve`: addresses for host names [default: `lock:` in
    /// the site file]
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Also write the configuration of the gateway's DNS forwarder (dnsmasq) that fills the
    /// sets of host groups resolved at run time (`--names fqdn`) with what the gateway looks up
    #[arg(long, value_name = "FILE")]
    pub dnsmasq: Option<PathBuf>,
    /// Fail instead of warning: on a rule that would admit any address for a reason other than
    /// the document's own words (an unbound role or host group, a site binding to 0.0.0.0/0 or
    /// ::/0), and on every other warning
    #[arg(long)]
    pub strict: bool,
    /// Write nothing: exit 0 when the output files are up to date, 1 with a unified diff on
    /// standard error when regenerating would change them, 2 on broken input
    #[arg(long, requires = "destination")]
    pub check: bool,
}
