//! The validated catalogue model.
//!
//! Everything here has been checked by [`crate::catalogue::load`]: ids are unique, every
//! reference (feature, role, host group, component) resolves, ports are in range. Code
//! downstream never re-checks these facts.

mod address;
mod port;
mod service;
mod version;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

pub use address::{Address, Shown, aggregate};
pub use port::{Port, PortRange, PortSet};
pub use service::{
    Icmp, IcmpType, IcmpTypes, Protocol, Service, icmp_name, icmp_number, icmp_of_word, icmp_reply,
    icmp_word,
};
pub use version::Version;

/// Direction of a connection from the local host's point of view (the gateway, or for the
/// `exchange-server` component the Exchange Server): `in` = the peer connects to us.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    /// The other direction.
    pub fn reversed(self) -> Direction {
        match self {
            Self::In => Self::Out,
            Self::Out => Self::In,
        }
    }

    /// `in` or `out`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A direction cell as the document writes it (`In`, `Out`, `In/Out`, `Out/In`; the Japanese
/// table's 受信, 送信 and 受信/送信 read as In, Out and In/Out). Kept so that no output loses
/// what the document said, even where fwgen admits only one of the two directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Written {
    #[serde(rename = "in")]
    In,
    #[serde(rename = "out")]
    Out,
    #[serde(rename = "in/out")]
    InOut,
    #[serde(rename = "out/in")]
    OutIn,
}

impl Written {
    /// The cell from the catalogue's `directions:` list, in the document's order.
    pub fn from_list(list: &[Direction]) -> Option<Written> {
        match list {
            [Direction::In] => Some(Self::In),
            [Direction::Out] => Some(Self::Out),
            [Direction::In, Direction::Out] => Some(Self::InOut),
            [Direction::Out, Direction::In] => Some(Self::OutIn),
            _ => None,
        }
    }

    /// `In`, `Out`, `In/Out` or `Out/In`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "In",
            Self::Out => "Out",
            Self::InOut => "In/Out",
            Self::OutIn => "Out/In",
        }
    }

    /// Both directions.
    pub fn is_both(self) -> bool {
        matches!(self, Self::InOut | Self::OutIn)
    }

    /// A one-direction cell's direction; `None` for both.
    pub fn single(self) -> Option<Direction> {
        match self {
            Self::In => Some(Direction::In),
            Self::Out => Some(Direction::Out),
            Self::InOut | Self::OutIn => None,
        }
    }
}

impl fmt::Display for Written {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How fwgen reads a row written with both directions: who opens the connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Opens {
    /// The local host opens the connection; the `In` half is its reply (admitted as
    /// established traffic, never as a service of the local host).
    Out,
    /// The peer opens the connection; the `Out` half is the local host's reply.
    In,
    /// Each side opens connections of its own: two services.
    Both,
}

impl Opens {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Out => "out",
            Self::In => "in",
            Self::Both => "both",
        }
    }

    /// The directions in which connections are opened.
    pub fn directions(self) -> BTreeSet<Direction> {
        match self {
            Self::Out => [Direction::Out].into(),
            Self::In => [Direction::In].into(),
            Self::Both => [Direction::In, Direction::Out].into(),
        }
    }

    /// The direction that carries only replies, if any.
    pub fn reply(self) -> Option<Direction> {
        match self {
            Self::Out => Some(Direction::In),
            Self::In => Some(Direction::Out),
            Self::Both => None,
        }
    }
}

/// Application protocol named by the document where it matters to a firewall (FTP needs a
/// conntrack helper for its data connections).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Application {
    /// Plain FTP: control on 21, data connections negotiated (a conntrack helper applies).
    Ftp,
    /// FTP over TLS (explicit or implicit): the helper cannot read the encrypted control channel.
    Ftps,
    /// SSH file transfer.
    Sftp,
}

/// Why a host group has, or lacks, addresses. A typed field so that "serviced by CloudFront"
/// and friends are machine-readable and not only prose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddressSource {
    /// The document lists the current addresses.
    Document,
    /// "Serviced by AWS CloudFront": see the CloudFront IP list.
    Cloudfront,
    /// "See ip-ranges.json": addresses are AWS's published ranges.
    AwsIpRanges,
    /// "Multiple servers exist and are subject to change".
    SubjectToChange,
    /// "Forms part of the NTP Pool project".
    NtpPool,
    /// The document gives no addresses and no reason; it may name hosts, or only describe the
    /// server ("the Clearswift Update Server"), in which case the group has no host names and
    /// a site file binds it by its id.
    NotGiven,
}

impl AddressSource {
    /// Kebab-case name, as in the catalogue.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Document => "document",
            Self::Cloudfront => "cloudfront",
            Self::AwsIpRanges => "aws-ip-ranges",
            Self::SubjectToChange => "subject-to-change",
            Self::NtpPool => "ntp-pool",
            Self::NotGiven => "not-given",
        }
    }
}

/// Where in a vendor document a catalogue item comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Source {
    /// Section or table heading, as the document words it.
    pub section: String,
    /// The row, by its description cell (or port cell where there is no description).
    pub row: String,
    /// 1-based line of the row in the document file under `shared/seeds/`.
    pub line: usize,
}

impl Source {
    /// `document: section, row (line N)`: where the row is, for reviews and diffs.
    pub fn cite(&self, document: &str) -> String {
        format!(
            "{document}: {}, {} (line {})",
            self.section, self.row, self.line
        )
    }
}

/// The document a product version is transcribed from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Document {
    /// File name under `shared/seeds/`.
    pub file: String,
    /// Title, issue and date as printed.
    pub title: String,
}

/// Who is on the other end of a connection.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Peer {
    /// Any address, because the row names no server (inbound SMTP from the Internet, DNS to
    /// Internet servers; only 5.3's SMTP row writes "Any"). A specific server that the document names without an address is a
    /// role or a host group, never `Any`.
    Any,
    /// An internal role such as `backup-server`, bound to addresses by the site file.
    Role(String),
    /// A named group of external hosts declared in the same catalogue file.
    Group(String),
}

/// An internal role ("the backup server", "SNMP management servers").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Role {
    pub id: String,
    pub description: String,
}

/// A group of external hosts with the addresses the document gives for them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostGroup {
    pub id: String,
    pub description: String,
    /// Host names exactly as the document spells them.
    pub hosts: Vec<String>,
    /// Current addresses, aggregated.
    pub addresses: Vec<IpNet>,
    /// Whether the document lists addresses and, if not, why.
    pub address_source: AddressSource,
    /// A reference the document gives for the addresses (a URL), if any.
    pub reference: Option<String>,
    /// Addresses the document's change history says were retired; never rendered.
    pub retired: Vec<Retired>,
    pub source: Source,
}

/// Addresses a change-history table retires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Retired {
    pub addresses: Vec<IpNet>,
    /// As the document writes it.
    pub date: String,
    pub source: Source,
}

/// An optional capability that needs connections (PMM, NTLM, Kaspersky, SNMP, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Feature {
    pub id: String,
    pub description: String,
    /// On as the vendor ships it.
    pub default: bool,
    /// Features this one turns on too.
    pub implies: Vec<String>,
}

/// A separately firewalled host of a product (the gateway; the Exchange Server).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    pub id: String,
    pub description: String,
    /// The operating system whose own firewall a host ruleset for this component is for.
    pub platform: Platform,
    /// Where the document says so (components that are not Linux hosts cite their row).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// The operating system of a component's host, which decides the backends of its own
/// (host placement) firewall: nftables, iptables and firewalld for Linux (the gateway
/// appliances, and the default), the Windows Firewall for Windows (the Exchange Server).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    #[default]
    Linux,
    Windows,
}

impl Platform {
    pub fn name(self) -> &'static str {
        match self {
            Self::Linux => "Linux",
            Self::Windows => "Windows",
        }
    }
}

/// One row (or one part of a multi-value row) of a vendor table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Unique within its product version.
    pub id: String,
    pub component: String,
    pub description: String,
    /// One service per protocol of the row: TCP and UDP to the row's ports, ICMP of its
    /// types.
    pub services: Vec<Service>,
    /// The document's direction cell.
    pub written: Written,
    /// The directions in which connections are opened: what a firewall admits as new
    /// connections. For a both-direction row read as a reply, one direction only.
    pub directions: BTreeSet<Direction>,
    /// For a both-direction row: who opens (see [`Opens`]).
    pub opens: Option<Opens>,
    /// For a both-direction row: why it is read that way, citing the document's words.
    pub reading: Option<String>,
    /// The entry (of another component) whose connection this entry is the other end of.
    pub other_end_of: Option<String>,
    pub application: Option<Application>,
    pub peer: Peer,
    /// The feature that needs this entry; `None` = always required.
    pub feature: Option<String>,
    /// The document says the port can be changed; the site file may override it.
    pub configurable: bool,
    pub notes: Option<String>,
    /// Where the row is: in the document, or for a site addition, in the site file (section
    /// `site file`).
    pub source: Source,
    /// A site file's own entry (`entries:` in the site file), not the vendor's.
    pub site_addition: bool,
}

impl Entry {
    /// The row's ports (TCP and UDP share them); `None` for an ICMP-only entry.
    pub fn ports(&self) -> Option<&PortSet> {
        self.services.iter().find_map(Service::ports)
    }

    /// The protocols, in order.
    pub fn protocols(&self) -> Vec<Protocol> {
        Service::protocols(&self.services)
    }

    /// For a both-direction row read as one connection: the direction of its replies.
    pub fn reply(&self) -> Option<Direction> {
        self.opens
            .filter(|_| self.written.is_both())
            .and_then(Opens::reply)
    }

    /// A one-direction row read the other way by its own words (`opens:` against the cell).
    pub fn reads_other_way(&self) -> bool {
        !self.written.is_both() && self.opens.is_some()
    }
}

/// Everything one document says about one version of one product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductVersion {
    pub product: String,
    pub title: String,
    pub version: Version,
    /// Catalogue-relative path of the file this came from.
    pub path: String,
    /// SHA-256 of that file's bytes: what a ruleset of this version depends on (another
    /// product's file changing does not change it).
    pub digest: String,
    pub document: Document,
    /// Disagreements with other documents and transcription decisions.
    pub notes: Vec<String>,
    pub components: Vec<Component>,
    pub roles: Vec<Role>,
    pub features: Vec<Feature>,
    pub host_groups: Vec<HostGroup>,
    pub entries: Vec<Entry>,
    /// Host group id -> index in `host_groups` (lookups stay O(log n) for big catalogues).
    pub group_index: BTreeMap<String, usize>,
}

impl ProductVersion {
    /// The component used when none is asked for: `gateway`, else the first.
    pub fn default_component(&self) -> &str {
        self.components
            .iter()
            .find(|c| c.id == "gateway")
            .or_else(|| self.components.first())
            .map_or("gateway", |c| c.id.as_str())
    }

    pub fn feature(&self, id: &str) -> Option<&Feature> {
        self.features.iter().find(|f| f.id == id)
    }

    /// Features that enable at least one entry (of `component`, or of any), directly or
    /// through what they imply: one pass backwards over the `implies` edges from the features
    /// entries name, linear in the number of features and edges (checking each feature's
    /// closure was cubic).
    pub fn features_enabling_something(&self, component: Option<&str>) -> BTreeSet<&str> {
        let mut implied_by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for f in &self.features {
            for i in &f.implies {
                implied_by
                    .entry(i.as_str())
                    .or_default()
                    .push(f.id.as_str());
            }
        }
        let mut reached: BTreeSet<&str> = BTreeSet::new();
        let mut todo: Vec<&str> = self
            .entries
            .iter()
            .filter(|e| component.is_none_or(|c| e.component == c))
            .filter_map(|e| e.feature.as_deref())
            .collect();
        while let Some(f) = todo.pop() {
            if reached.insert(f) {
                todo.extend(implied_by.get(f).into_iter().flatten().copied());
            }
        }
        reached
    }

    pub fn host_group(&self, id: &str) -> Option<&HostGroup> {
        self.group_index
            .get(id)
            .and_then(|&i| self.host_groups.get(i))
    }

    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// `feature` and every feature it implies, transitively.
    pub fn feature_closure<'a>(
        &'a self,
        start: impl IntoIterator<Item = &'a str>,
    ) -> BTreeSet<String> {
        let by_id: BTreeMap<&str, &Feature> =
            self.features.iter().map(|f| (f.id.as_str(), f)).collect();
        let mut out = BTreeSet::new();
        let mut todo: Vec<&str> = start.into_iter().collect();
        while let Some(f) = todo.pop() {
            if out.insert(f.to_string())
                && let Some(feat) = by_id.get(f)
            {
                todo.extend(feat.implies.iter().map(String::as_str));
            }
        }
        out
    }

    /// Entries a feature enables, directly or through the features it implies.
    pub fn entries_enabled_by(&self, feature: &str) -> Vec<&Entry> {
        let closure = self.feature_closure([feature]);
        self.entries
            .iter()
            .filter(|e| e.feature.as_ref().is_some_and(|f| closure.contains(f)))
            .collect()
    }

    /// Host groups by id or by one of their host names (a site file may name either).
    pub fn host_group_named(&self, name: &str) -> Vec<&HostGroup> {
        match self.host_group(name) {
            Some(g) => vec![g],
            None => self
                .host_groups
                .iter()
                .filter(|g| g.hosts.iter().any(|h| h == name))
                .collect(),
        }
    }

    /// Every host name this version knows (for site-file checks).
    pub fn host_names(&self) -> BTreeSet<&str> {
        self.host_groups
            .iter()
            .flat_map(|g| g.hosts.iter().map(String::as_str))
            .collect()
    }
}

/// A product and its transcribed versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    pub id: String,
    pub title: String,
    pub versions: BTreeMap<Version, ProductVersion>,
}

impl Product {
    /// The newest version (versions compare numerically: `4.x` < `4.9` < `5.3`).
    pub fn newest(&self) -> Option<&ProductVersion> {
        self.versions.values().next_back()
    }
}

/// The whole validated catalogue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalogue {
    pub products: BTreeMap<String, Product>,
    /// SHA-256 over every file's name and bytes, in name order: changes whenever the catalogue does.
    pub digest: String,
}

impl Catalogue {
    /// The version `version` of product `product`, if the catalogue has it.
    pub fn version(&self, product: &str, version: &str) -> Option<&ProductVersion> {
        self.products
            .get(product)?
            .versions
            .values()
            .find(|v| v.version.as_str() == version)
    }
}
