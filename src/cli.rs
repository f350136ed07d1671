//! Command-line definitions (clap derive). No logic: `command` does the work.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};

use crate::render::{Backend, Placement};

const EXAMPLES: &str = "\
Examples:
  fwgen products
  fwgen features --product email-gateway
  fwgen generate --product email-gateway --site examples/site.yaml --backend json -o rules.json
  fwgen generate --site examples/site.yaml --backend nftables -o ruleset.nft
  fwgen generate --site examples/site.yaml --placement host --backend iptables --output-dir .
  fwgen generate --product icap-gateway --version 4.8 --features snmp,ldap --backend json
  fwgen validate data/

Exit codes: 0 success, 1 bad input (catalogue, site file, selection) or a failed write, 2 usage.";

/// Generate firewall rulesets from vendor ports-and-protocols catalogues.
#[derive(Debug, Parser)]
#[command(name = "fwgen", version, after_help = EXAMPLES, max_term_width = 100)]
pub struct Args {
    /// Load the catalogue from PATH (a directory of *.yaml files, or one file) instead of the
    /// catalogue built into fwgen
    #[arg(long, global = true, value_name = "PATH")]
    pub catalogue: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List products, their versions, components and source documents
    Products(ProductsArgs),
    /// List a product version's features: id, default state, and the entries each enables
    Features(FeaturesArgs),
    /// Check a catalogue (and a site file) and report every problem
    Validate(ValidateArgs),
    /// Select a product's connections and render them as a ruleset
    Generate(GenerateArgs),
}

/// Output format of the listing commands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Debug, ClapArgs)]
pub struct ProductsArgs {
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, ClapArgs)]
pub struct FeaturesArgs {
    /// Product id (see `fwgen products`)
    #[arg(long, short = 'p')]
    pub product: String,
    /// Product version [default: the newest]
    #[arg(long, short = 'V')]
    pub version: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, ClapArgs)]
pub struct ValidateArgs {
    /// Catalogue directory or file [default: the built-in catalogue, or --catalogue]
    pub path: Option<PathBuf>,
    /// Also check this site file (against its `product:`, or against every product)
    #[arg(long)]
    pub site: Option<PathBuf>,
}

#[derive(Debug, ClapArgs)]
pub struct GenerateArgs {
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
    /// Features to enable on top of the defaults (comma-separated or repeated)
    #[arg(long, short = 'F', value_delimiter = ',')]
    pub features: Vec<String>,
    /// Enable every feature of the product version
    #[arg(long)]
    pub all_features: bool,
    /// Do not enable the vendor's default features
    #[arg(long)]
    pub no_default_features: bool,
    /// The gateway's own address (repeatable; adds to the site file's)
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
    /// Write to FILE (atomically) instead of standard output; for iptables and firewalld, the
    /// directory to write into (created if missing)
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write into the directory DIR, created if missing (iptables: rules.v4 and rules.v6;
    /// firewalld: zones/, policies/, services/, ipsets/; nftables: ruleset.nft; json:
    /// ruleset.json)
    #[arg(long, value_name = "DIR", conflicts_with = "output")]
    pub output_dir: Option<PathBuf>,
    /// Fail instead of warning when a role or host has no address
    #[arg(long)]
    pub strict: bool,
}
