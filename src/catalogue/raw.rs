//! The catalogue's YAML schema: private serde structs, checked field by field.
//!
//! Leaf values validate themselves while parsing (ports, addresses, ids), so serde's error
//! already carries the YAML path, line and column. Checks that relate items to each other
//! (unknown references, duplicates) happen in `super::Ctx` (`catalogue/mod.rs`).

use serde::Deserialize;

use crate::model::{
    Address, AddressSource, Application, Direction, Icmp, Opens, PortRange, Protocol,
};

/// A lower-case id: `[a-z0-9][a-z0-9-]*`, at most 48 characters (ids end up in chain, set and
/// object-group names, so they stay within every backend's character set).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct Id(pub String);

impl TryFrom<String> for Id {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 48
            && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Id(s))
        } else {
            Err(format!(
                "id `{s}` must be 1 to 48 characters of a-z, 0-9 and `-`, starting with a letter or digit"
            ))
        }
    }
}

/// One catalogue file: one document's tables for one product version.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct File {
    /// Product id, e.g. `email-gateway`.
    pub product: Id,
    /// Product name as the vendor writes it.
    pub title: String,
    /// Version label, quoted (`"5.3"`, `"4.x"`).
    pub version: VersionLabel,
    pub document: Document,
    /// Transcription decisions and disagreements with other documents.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Separately firewalled hosts; the first, or `gateway`, is the default.
    pub components: Vec<Component>,
    /// Internal roles that entries name as their peer.
    #[serde(default)]
    pub roles: Vec<Role>,
    #[serde(default)]
    pub features: Vec<Feature>,
    #[serde(default)]
    pub host_groups: Vec<HostGroup>,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Document {
    /// File name under `shared/seeds/`.
    pub file: String,
    /// Title, issue and date.
    pub title: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Component {
    pub id: Id,
    pub description: String,
    /// The operating system whose own firewall a host ruleset is for; `linux` when absent.
    #[serde(default)]
    pub platform: crate::model::Platform,
    /// Where the document says which firewall the component's table is for (required with
    /// `platform: windows`, which no default could justify).
    #[serde(default)]
    pub source: Option<Source>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Role {
    pub id: Id,
    pub description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Feature {
    pub id: Id,
    pub description: String,
    /// On as the vendor ships it.
    pub default: bool,
    /// Features this one needs (turned on with it).
    #[serde(default)]
    pub implies: Vec<Id>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Source {
    pub section: String,
    pub row: String,
    /// 1-based line of the row in the document file.
    pub line: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HostGroup {
    pub id: Id,
    pub description: String,
    pub hosts: Vec<String>,
    #[serde(default)]
    pub addresses: Vec<Address>,
    pub address_source: AddressSource,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub retired: Vec<Retired>,
    pub source: Source,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Retired {
    pub addresses: Vec<Address>,
    pub date: String,
    pub source: Source,
}

/// `any`, `{role: ID}` or `{group: ID}`.
#[derive(Clone, Debug)]
pub(crate) enum Peer {
    Any,
    Role(Id),
    Group(Id),
}

impl<'de> Deserialize<'de> for Peer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, MapAccess, Visitor};
        const EXPECTED: &str = "`any`, `{role: ID}` or `{group: ID}`";
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Peer;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: Error>(self, s: &str) -> Result<Peer, E> {
                match s {
                    "any" => Ok(Peer::Any),
                    _ => Err(E::custom(format!("peer `{s}` must be {EXPECTED}"))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Peer, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(A::Error::custom(format!("empty peer: write {EXPECTED}")));
                };
                let peer = match key.as_str() {
                    "role" => Peer::Role(map.next_value()?),
                    "group" => Peer::Group(map.next_value()?),
                    other => return Err(A::Error::unknown_field(other, &["role", "group"])),
                };
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(A::Error::custom(format!(
                        "peer has `{key}` and `{extra}`: give one of {EXPECTED}"
                    )));
                }
                Ok(peer)
            }
        }
        d.deserialize_any(V)
    }
}

/// A catalogue entry, and a site file's own entry (which has no `source:`: its provenance is
/// its line in the site file).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Entry {
    pub id: Id,
    /// Defaults to the product's default component.
    #[serde(default)]
    pub component: Option<Id>,
    pub description: String,
    pub protocols: Vec<Protocol>,
    /// Ports (`25`) and ranges (`"8000-8010"`), for TCP and UDP.
    #[serde(default)]
    pub ports: Vec<PortRange>,
    /// ICMP message types (`echo-request`, `8`, `v6:128`; `TYPE/CODE` for one code), for
    /// ICMP.
    #[serde(default)]
    pub icmp_types: Vec<Icmp>,
    /// The document's direction cell, in its order: `[in]`, `[out]`, `[in, out]` (In/Out)
    /// or `[out, in]` (Out/In).
    pub directions: Vec<Direction>,
    /// With two directions: who opens the connection (`out`: the local host, the `in` half
    /// is its reply; `in`: the peer; `both`: each side opens its own).
    #[serde(default)]
    pub opens: Option<Opens>,
    /// With two directions: why the row is read that way, citing the document's words.
    #[serde(default)]
    pub reading: Option<String>,
    /// The other end of a connection that another component's row opens (the id of that
    /// row's entry): the same protocols and ports, the other direction, on this entry's
    /// component, citing the same row. For a connection one table lists from one host only.
    #[serde(default)]
    pub other_end_of: Option<Id>,
    #[serde(default)]
    pub application: Option<Application>,
    pub peer: Peer,
    /// The feature that needs this entry; absent = always required.
    #[serde(default)]
    pub feature: Option<Id>,
    /// The document says the port can be changed.
    #[serde(default)]
    pub configurable: bool,
    #[serde(default)]
    pub notes: Option<String>,
    /// Required in a catalogue, refused in a site file.
    #[serde(default)]
    pub source: Option<Source>,
}

impl Entry {
    /// The role its peer names, if it names one.
    pub(crate) fn peer_role(&self) -> Option<&str> {
        match &self.peer {
            Peer::Role(r) => Some(r.0.as_str()),
            Peer::Any | Peer::Group(_) => None,
        }
    }
}

/// A version label written as a string. A bare `5.10` is refused: YAML reads it as the
/// number 5.1, and the label would silently change.
#[derive(Debug)]
pub(crate) struct VersionLabel(pub String);

impl<'de> Deserialize<'de> for VersionLabel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, Unexpected, Visitor};
        struct V;
        impl Visitor<'_> for V {
            type Value = VersionLabel;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a quoted version label such as \"5.3\"")
            }
            fn visit_str<E: Error>(self, s: &str) -> Result<VersionLabel, E> {
                Ok(VersionLabel(s.to_string()))
            }
            fn visit_f64<E: Error>(self, n: f64) -> Result<VersionLabel, E> {
                Err(E::invalid_type(Unexpected::Float(n), &self))
            }
            fn visit_u64<E: Error>(self, n: u64) -> Result<VersionLabel, E> {
                Err(E::invalid_type(Unexpected::Unsigned(n), &self))
            }
            fn visit_i64<E: Error>(self, n: i64) -> Result<VersionLabel, E> {
                Err(E::invalid_type(Unexpected::Signed(n), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// Some of a [`File`]'s top-level keys: what one piece of a file split by `super::split`
/// holds. A key that is present is read exactly as [`File`] reads it (a `null` list is an
/// error there too, not an absent key).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Parts {
    #[serde(default, deserialize_with = "present")]
    product: Option<Id>,
    #[serde(default, deserialize_with = "present")]
    title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    version: Option<VersionLabel>,
    #[serde(default, deserialize_with = "present")]
    document: Option<Document>,
    #[serde(default, deserialize_with = "present")]
    notes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    components: Option<Vec<Component>>,
    #[serde(default, deserialize_with = "present")]
    roles: Option<Vec<Role>>,
    #[serde(default, deserialize_with = "present")]
    features: Option<Vec<Feature>>,
    #[serde(default, deserialize_with = "present")]
    host_groups: Option<Vec<HostGroup>>,
    #[serde(default, deserialize_with = "present")]
    entries: Option<Vec<Entry>>,
}

fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl Parts {
    /// The list field an entry of this piece lacks: `ports` for TCP and UDP, `icmp_types`
    /// for ICMP (both are optional in the schema, each needed by its protocols), so that a
    /// file with other schema problems reports it with them.
    pub(crate) fn entry_lacks(&self) -> Option<&'static str> {
        let e = self.entries.as_ref()?.first()?;
        let icmp = e.protocols.contains(&Protocol::Icmp);
        match (icmp, e.ports.is_empty(), e.icmp_types.is_empty()) {
            (false, true, true) if !e.protocols.is_empty() => Some("ports"),
            (true, true, true) => Some("icmp_types"),
            _ => None,
        }
    }

    /// Add a later piece: lists continue (pieces of one cut sequence), single values are set
    /// once (the splitter refuses a repeated key before this).
    pub(crate) fn append(&mut self, later: Parts) {
        fn one<T>(a: &mut Option<T>, b: Option<T>) {
            if b.is_some() {
                *a = b;
            }
        }
        fn list<T>(a: &mut Option<Vec<T>>, b: Option<Vec<T>>) {
            match (a.as_mut(), b) {
                (Some(v), Some(mut more)) => v.append(&mut more),
                (None, b) => *a = b,
                (Some(_), None) => {}
            }
        }
        one(&mut self.product, later.product);
        one(&mut self.title, later.title);
        one(&mut self.version, later.version);
        one(&mut self.document, later.document);
        list(&mut self.notes, later.notes);
        list(&mut self.components, later.components);
        list(&mut self.roles, later.roles);
        list(&mut self.features, later.features);
        list(&mut self.host_groups, later.host_groups);
        list(&mut self.entries, later.entries);
    }

    /// The required keys no piece had.
    pub(crate) fn missing(&self) -> Vec<&'static str> {
        [
            ("product", self.product.is_none()),
            ("title", self.title.is_none()),
            ("version", self.version.is_none()),
            ("document", self.document.is_none()),
            ("components", self.components.is_none()),
            ("entries", self.entries.is_none()),
        ]
        .into_iter()
        .filter_map(|(k, missing)| missing.then_some(k))
        .collect()
    }

    /// The whole file, or `None` when a required key is missing (the whole parse says which).
    pub(crate) fn finish(self) -> Option<File> {
        Some(File {
            product: self.product?,
            title: self.title?,
            version: self.version?,
            document: self.document?,
            notes: self.notes.unwrap_or_default(),
            components: self.components?,
            roles: self.roles.unwrap_or_default(),
            features: self.features.unwrap_or_default(),
            host_groups: self.host_groups.unwrap_or_default(),
            entries: self.entries?,
        })
    }
}
