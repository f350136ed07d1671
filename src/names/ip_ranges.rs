//! AWS's published address ranges (`ip-ranges.json`), read from a file the user downloaded.
//! fwgen never fetches it: the file's `syncToken`, `createDate` and SHA-256 go into every
//! header, so a new download shows as a change and the same file gives the same bytes.

use std::collections::BTreeSet;
use std::fmt;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

use crate::model::aggregate;

/// One prefix and the three labels a filter can select it by.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Prefix {
    net: IpNet,
    region: String,
    service: String,
    network_border_group: String,
}

/// A parsed `ip-ranges.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpRanges {
    /// The path as the user gave it.
    pub path: String,
    pub sync_token: String,
    pub create_date: String,
    /// SHA-256 of the file's bytes.
    pub digest: String,
    prefixes: Vec<Prefix>,
}

/// Which prefixes a host group takes: every field given must match (case-sensitive, as AWS
/// writes them: `CLOUDFRONT`, `eu-west-2`).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub network_border_group: Option<String>,
}

impl Filter {
    /// What a client downloading from CloudFront talks to: its edge addresses.
    /// (`CLOUDFRONT_ORIGIN_FACING` is CloudFront reaching an origin: the other direction.)
    pub fn cloudfront() -> Filter {
        Filter {
            service: Some("CLOUDFRONT".into()),
            ..Filter::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.service.is_none() && self.region.is_none() && self.network_border_group.is_none()
    }

    fn matches(&self, p: &Prefix) -> bool {
        self.service.as_ref().is_none_or(|s| *s == p.service)
            && self.region.as_ref().is_none_or(|r| *r == p.region)
            && self
                .network_border_group
                .as_ref()
                .is_none_or(|g| *g == p.network_border_group)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(s) = &self.service {
            parts.push(format!("service {s}"));
        }
        if let Some(r) = &self.region {
            parts.push(format!("region {r}"));
        }
        if let Some(g) = &self.network_border_group {
            parts.push(format!("network_border_group {g}"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// The file's schema. Fields AWS may add later are ignored; the ones fwgen needs are required.
#[derive(Deserialize)]
struct RawFile {
    #[serde(rename = "syncToken")]
    sync_token: String,
    #[serde(rename = "createDate")]
    create_date: String,
    prefixes: Vec<RawPrefix<V4>>,
    ipv6_prefixes: Vec<RawPrefix<V6>>,
}

#[derive(Deserialize)]
struct RawPrefix<P> {
    #[serde(alias = "ipv6_prefix")]
    ip_prefix: P,
    region: String,
    service: String,
    network_border_group: String,
}

/// An IPv4 prefix without host bits; refused while parsing, so that serde_json's error
/// carries the line.
struct V4(IpNet);
/// The same for IPv6.
struct V6(IpNet);

fn strict_prefix<'de, D: Deserializer<'de>>(d: D, v4: bool) -> Result<IpNet, D::Error> {
    use serde::de::Error;
    let text = String::deserialize(d)?;
    let shown: String = text.chars().take(60).collect();
    let family = if v4 { "IPv4" } else { "IPv6" };
    let net: IpNet = text
        .parse()
        .map_err(|_| D::Error::custom(format!("`{shown}` is not an {family} prefix")))?;
    if net.addr().is_ipv4() != v4 {
        return Err(D::Error::custom(format!(
            "`{shown}` is not an {family} prefix"
        )));
    }
    if net.trunc() != net {
        return Err(D::Error::custom(format!(
            "`{shown}` has host bits set (the prefix is {})",
            net.trunc()
        )));
    }
    Ok(net)
}

impl<'de> Deserialize<'de> for V4 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        strict_prefix(d, true).map(V4)
    }
}

impl<'de> Deserialize<'de> for V6 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        strict_prefix(d, false).map(V6)
    }
}

/// Why a file cannot be used: `line` is 0 when the problem is the file as a whole.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl IpRanges {
    /// Parse the text of an `ip-ranges.json`; `path` is kept for headers and messages.
    pub fn parse(path: &str, text: &str) -> Result<IpRanges, ParseError> {
        let raw: RawFile = serde_json::from_str(text).map_err(|e| ParseError {
            line: e.line(),
            column: e.column(),
            // serde_json appends " at line L column C"; the caller prints the position.
            message: {
                let m = e.to_string();
                match m.rfind(" at line ") {
                    Some(i) => m[..i].to_string(),
                    None => m,
                }
            },
        })?;
        if raw.prefixes.is_empty() && raw.ipv6_prefixes.is_empty() {
            return Err(ParseError {
                line: 0,
                column: 0,
                message: "lists no prefix (`prefixes` and `ipv6_prefixes` are empty)".into(),
            });
        }
        let prefixes = raw
            .prefixes
            .into_iter()
            .map(|p| Prefix {
                net: p.ip_prefix.0,
                region: p.region,
                service: p.service,
                network_border_group: p.network_border_group,
            })
            .chain(raw.ipv6_prefixes.into_iter().map(|p| Prefix {
                net: p.ip_prefix.0,
                region: p.region,
                service: p.service,
                network_border_group: p.network_border_group,
            }))
            .collect();
        use sha2::Digest;
        Ok(IpRanges {
            path: path.to_string(),
            sync_token: raw.sync_token,
            create_date: raw.create_date,
            digest: crate::text::hex(&sha2::Sha256::digest(text.as_bytes())),
            prefixes,
        })
    }

    /// The prefixes `filter` selects, aggregated: `AMAZON` lists every prefix of the narrower
    /// services again, and those twins collapse into one.
    pub fn select(&self, filter: &Filter) -> Vec<IpNet> {
        aggregate(
            self.prefixes
                .iter()
                .filter(|p| filter.matches(p))
                .map(|p| p.net),
        )
    }

    /// How many prefixes the file lists (IPv4 and IPv6).
    pub fn len(&self) -> usize {
        self.prefixes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// The values the file uses for one field of a filter, for did-you-mean hints.
    pub fn values(&self, field: &str) -> BTreeSet<&str> {
        self.prefixes
            .iter()
            .map(|p| match field {
                "service" => p.service.as_str(),
                "region" => p.region.as_str(),
                _ => p.network_border_group.as_str(),
            })
            .collect()
    }

    /// One line for headers: what file, which snapshot of it.
    pub fn describe(&self) -> String {
        format!(
            "ip-ranges: {} (syncToken {}, createDate {}, sha256 {})",
            self.path, self.sync_token, self.create_date, self.digest
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"{
  "syncToken": "1700000000",
  "createDate": "2023-11-14-22-13-20",
  "prefixes": [
    {"ip_prefix": "13.32.0.0/15", "region": "GLOBAL", "service": "AMAZON", "network_border_group": "GLOBAL"},
    {"ip_prefix": "13.32.0.0/15", "region": "GLOBAL", "service": "CLOUDFRONT", "network_border_group": "GLOBAL"},
    {"ip_prefix": "18.130.91.160/27", "region": "eu-west-2", "service": "CLOUDFRONT_ORIGIN_FACING", "network_border_group": "eu-west-2"},
    {"ip_prefix": "3.8.0.0/14", "region": "eu-west-2", "service": "EC2", "network_border_group": "eu-west-2"},
    {"ip_prefix": "3.8.0.0/14", "region": "eu-west-2", "service": "AMAZON", "network_border_group": "eu-west-2"}
  ],
  "ipv6_prefixes": [
    {"ipv6_prefix": "2600:9000:3000::/36", "region": "GLOBAL", "service": "CLOUDFRONT", "network_border_group": "GLOBAL"}
  ]
}"#;

    #[test]
    fn cloudfront_is_the_edge_list_only() {
        let r = IpRanges::parse("ip-ranges.json", FILE).unwrap();
        let got: Vec<String> = r
            .select(&Filter::cloudfront())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(got, ["13.32.0.0/15", "2600:9000:3000::/36"]);
    }

    #[test]
    fn amazon_twins_collapse() {
        let r = IpRanges::parse("ip-ranges.json", FILE).unwrap();
        let f = Filter {
            region: Some("eu-west-2".into()),
            ..Filter::default()
        };
        // EC2 and its AMAZON twin are one prefix; the origin-facing one is another.
        assert_eq!(r.select(&f).len(), 2);
    }

    #[test]
    fn errors_carry_the_line() {
        let bad = FILE.replace(
            "3.8.0.0/14\", \"region\": \"eu-west-2\", \"service\": \"EC2\"",
            "3.8.0.1/14\", \"region\": \"eu-west-2\", \"service\": \"EC2\"",
        );
        let e = IpRanges::parse("f", &bad).unwrap_err();
        assert_eq!(e.line, 8, "{e:?}");
        assert!(e.message.contains("host bits"), "{e:?}");
        let v6_in_v4 = FILE.replace(
            "13.32.0.0/15\", \"region\": \"GLOBAL\", \"service\": \"AMAZON\"",
            "2600::/16\", \"region\": \"GLOBAL\", \"service\": \"AMAZON\"",
        );
        let e = IpRanges::parse("f", &v6_in_v4).unwrap_err();
        assert_eq!(e.line, 5, "{e:?}");
        assert!(e.message.contains("not an IPv4 prefix"), "{e:?}");
        let e = IpRanges::parse("f", "{\"syncToken\": \"1\"}").unwrap_err();
        assert!(e.message.contains("missing field"), "{e:?}");
    }
}
