//! `--backend json`: the selected ruleset, for review and for other tools.
//!
//! ```json
//! {"product": "email-gateway", "version": "5.3", "component": "gateway", "features": ["snmp"],
//!  "rules": [{"direction": "in", "protocol": "udp", "ports": [161], "remote": ["192.0.2.9/32"],
//!             "peers": {"roles": ["snmp-managers"], "hosts": []}, "entries": ["snmp-monitoring"]}]}
//! ```
//! `ports` holds numbers and `"LO-HI"` strings; `remote` is `"any"` or a list of prefixes.

use serde::Serialize;

use crate::ruleset::Ruleset;

use super::{ANY_PLACEMENT, Description, Kind, Rendered, Shape};

pub(super) const DESCRIPTION: Description = Description {
    name: "json",
    kind: Kind::Review,
    shape: Shape::File,
    file_name: "ruleset.json",
    placements: ANY_PLACEMENT,
    placement_note: "",
    needs_gateway: false,
    host_platforms: super::ALL_PLATFORMS,
    replaces_policy: false,
    comment_max: None,
    never_emits: &[],
    names_note: None,
    icmp: super::IcmpSyntax::Numbers,
    forwarder: None,
    render: |rules, _| Rendered::file(render(rules)),
    previous: None,
    check: None,
};

#[derive(Serialize)]
struct Document<'a> {
    generator: String,
    #[serde(flatten)]
    ruleset: &'a Ruleset,
}

/// Pretty JSON with a trailing newline. Field order is fixed by the structs; sets are sorted.
pub(super) fn render(rules: &Ruleset) -> String {
    let doc = Document {
        generator: format!("fwgen {}", env!("CARGO_PKG_VERSION")),
        ruleset: rules,
    };
    // Serializing plain structs of strings, numbers and sequences cannot fail.
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
