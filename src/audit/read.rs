//! What `--ruleset` gave, recognised from its content and read into the audit's model:
//! nftables JSON (`nft -j list ruleset`), iptables-save / ip6tables-save with `ipset save`,
//! or a Cisco IOS/ASA configuration. The command reads the files (bounded by
//! [`MAX_RULESET_BYTES`]); what cannot be read is a [`ReadError`], not a usage error.

use ipnet::IpNet;

use super::model::Ruleset;
use super::{Interfaces, Syntax, cisco, iptables, nft};

/// The largest ruleset file read: `nft -j list ruleset` of a 100,000-rule ruleset is about
/// 32 MB.
pub const MAX_RULESET_BYTES: u64 = 64 * 1024 * 1024;

/// Why the rulesets given could not be audited.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not readable, not text, or larger than [`MAX_RULESET_BYTES`].
    #[error("--ruleset {path}: {why}")]
    File { path: String, why: String },
    #[error(
        "--ruleset {path}: not `nft -j list ruleset`, `nft --debug=netlink list ruleset`, \
         iptables-save, ipset save (or list) or Cisco configuration output"
    )]
    Unrecognised { path: String },
    #[error("a Cisco configuration is audited on its own: give one --ruleset")]
    CiscoNotAlone,
    #[error(
        "--ruleset {path}: a Cisco configuration needs --interface (IOS: the interface that \
         faces the gateway; ASA: the gateway's interface, with --ingress-interface for the \
         others)"
    )]
    CiscoNeedsInterface { path: String },
    #[error("ipset save output without iptables-save output: give that too")]
    IpsetAlone,
    #[error(
        "`nft --debug=netlink list ruleset` or `nft list ruleset` output alone: the audit \
         reads `nft -j list ruleset` output (the bytecode listing only checks it): give \
         that too"
    )]
    NetlinkAlone,
    /// Recognised, but malformed: where and why.
    #[error("--ruleset {paths}: {why}")]
    Malformed { paths: String, why: String },
}

/// Read the rulesets given, as (the path as given, its text), recognising each format from
/// its content: nftables' listing (with its bytecode), iptables-save texts (with `ipset
/// save`), both (iptables-nft beside native tables), or one Cisco configuration.
pub fn read(
    files: &[(String, String)],
    gateway: &[IpNet],
    interfaces: &Interfaces,
) -> Result<(Ruleset, Syntax), ReadError> {
    let mut json = Vec::new();
    let mut netlink = Vec::new();
    let mut saves = Vec::new();
    let mut ipsets = Vec::new();
    for (path, text) in files {
        if cisco::is_cisco(text) {
            if files.len() > 1 {
                return Err(ReadError::CiscoNotAlone);
            }
            if interfaces.gateway.is_empty() {
                return Err(ReadError::CiscoNeedsInterface { path: path.clone() });
            }
            let asa = cisco::is_asa(text);
            return cisco::parse(text, gateway, interfaces)
                .map(|r| (r, Syntax::Cisco { asa }))
                .map_err(|why| ReadError::Malformed {
                    paths: path.clone(),
                    why,
                });
        }
        if text.trim_start().starts_with('{') {
            json.push(text.as_str());
        } else if nft::netlink::is_netlink(text) {
            netlink.push(text.as_str());
        } else if iptables::is_save(text) {
            saves.push(text.as_str());
        } else if iptables::is_ipset(text) {
            ipsets.push(text.as_str());
        } else if text.trim().is_empty() {
            // `ipset save` with no set prints nothing, and so does `nft --debug=netlink list
            // ruleset` of an empty ruleset: read with what else is given.
        } else {
            return Err(ReadError::Unrecognised { path: path.clone() });
        }
    }
    if json.is_empty() && !netlink.is_empty() {
        return Err(ReadError::NetlinkAlone);
    }
    // No bytecode listing, no check of the JSON listing's ranges (its notes say so).
    let bytecode = (!netlink.is_empty()).then(|| {
        let mut all = nft::netlink::Bytecode::default();
        for t in &netlink {
            all.append(nft::netlink::read(t));
        }
        all
    });
    let parsed = match (json.is_empty(), saves.is_empty()) {
        (false, true) if ipsets.is_empty() => {
            nft::parse_checked(&json, bytecode).map(|r| (r, Syntax::Nft { iptables: false }))
        }
        // iptables-nft keeps iptables' rules in nftables tables, where the listing shows its
        // own matches only as `xt`: iptables' tables are read from its save output instead,
        // the rest of the listing as it is.
        (false, false) => iptables::beside((&json, bytecode), &saves, &ipsets)
            .map(|r| (r, Syntax::Nft { iptables: true })),
        (true, false) => iptables::parse(&saves, &ipsets).map(|r| (r, Syntax::Iptables)),
        _ => return Err(ReadError::IpsetAlone),
    };
    parsed.map_err(|why| ReadError::Malformed {
        paths: files
            .iter()
            .map(|f| f.0.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        why,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(texts: &[&str]) -> Vec<(String, String)> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("f{i}"), (*t).to_string()))
            .collect()
    }

    fn read_texts(texts: &[&str]) -> Result<Syntax, ReadError> {
        read(&files(texts), &[], &Interfaces::default()).map(|r| r.1)
    }

    #[test]
    fn each_format_is_recognised_and_each_failure_typed() {
        let nft = r#"{"nftables": [{"table": {"family": "inet", "name": "t", "handle": 1}}]}"#;
        let save = "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
        assert!(matches!(
            read_texts(&[nft]),
            Ok(Syntax::Nft { iptables: false })
        ));
        assert!(matches!(read_texts(&[save]), Ok(Syntax::Iptables)));
        assert!(matches!(
            read_texts(&["hello"]),
            Err(ReadError::Unrecognised { path }) if path == "f0"
        ));
        // Both: iptables-nft's tables from iptables-save, the rest from the listing.
        assert!(matches!(
            read_texts(&[nft, save]),
            Ok(Syntax::Nft { iptables: true })
        ));
        let ipset = "create s hash:ip family inet\n";
        assert!(matches!(
            read_texts(&[nft, ipset]),
            Err(ReadError::IpsetAlone)
        ));
        // The bytecode listing checks the JSON; alone it is not a ruleset to audit. Empty (an
        // empty ruleset's), it is read with the JSON.
        let netlink = "inet t u 2\n  [ immediate reg 0 drop ]\n";
        assert!(matches!(
            read_texts(&[nft, netlink]),
            Ok(Syntax::Nft { iptables: false })
        ));
        assert!(matches!(
            read_texts(&[nft, ""]),
            Ok(Syntax::Nft { iptables: false })
        ));
        // Of a ruleset with chains and no rules, it is only the plain listing.
        let bare = "table inet t {\n\tchain c {\n\t}\n}\n";
        assert!(matches!(
            read_texts(&[nft, bare]),
            Ok(Syntax::Nft { iptables: false })
        ));
        assert!(matches!(read_texts(&[bare]), Err(ReadError::NetlinkAlone)));
        assert!(matches!(
            read_texts(&[netlink]),
            Err(ReadError::NetlinkAlone)
        ));
        assert!(matches!(
            read_texts(&["create s hash:ip family inet\n"]),
            Err(ReadError::IpsetAlone)
        ));
        assert!(matches!(
            read_texts(&["{\"nftables\": 3}"]),
            Err(ReadError::Malformed { paths, .. }) if paths == "f0"
        ));
        assert!(matches!(
            read_texts(&["*filter\n-A INPUT -j ACCEPT\nCOMMIT\n"]),
            Err(ReadError::Malformed { .. })
        ));
    }
}
