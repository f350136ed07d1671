//! ICMP as Aerleon names it: its type names and the codes it takes, and the host baseline's
//! messages in those names.

/// Aerleon's ICMP type names (its `policy.Term.ICMP_TYPE`), per family.
const ICMP_V4: &[(&str, u8)] = &[
    ("echo-reply", 0),
    ("unreachable", 3),
    ("source-quench", 4),
    ("redirect", 5),
    ("alternate-address", 6),
    ("echo-request", 8),
    ("router-advertisement", 9),
    ("router-solicitation", 10),
    ("time-exceeded", 11),
    ("parameter-problem", 12),
    ("timestamp-request", 13),
    ("timestamp-reply", 14),
    ("information-request", 15),
    ("information-reply", 16),
    ("mask-request", 17),
    ("mask-reply", 18),
    ("conversion-error", 31),
    ("mobile-redirect", 32),
];
const ICMP_V6: &[(&str, u8)] = &[
    ("destination-unreachable", 1),
    ("packet-too-big", 2),
    ("time-exceeded", 3),
    ("parameter-problem", 4),
    ("echo-request", 128),
    ("echo-reply", 129),
    ("multicast-listener-query", 130),
    ("multicast-listener-report", 131),
    ("multicast-listener-done", 132),
    ("router-solicit", 133),
    ("router-advertisement", 134),
    ("neighbor-solicit", 135),
    ("neighbor-advertisement", 136),
    ("redirect-message", 137),
    ("router-renumbering", 138),
];
/// The codes Aerleon takes per type (its `ICMP_CODE`); other types take none.
const ICMP_CODES: &[(&str, &[u8])] = &[
    (
        "unreachable",
        &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    ),
    ("redirect", &[0, 1, 2, 3]),
    ("router-advertisement", &[0, 16]),
    ("time-exceeded", &[0, 1]),
    ("destination-unreachable", &[0, 1, 2, 3, 4, 5, 6, 7]),
    ("parameter-problem", &[0, 1, 2, 3]),
    ("router-renumbering", &[0, 1, 255]),
];

/// Aerleon's name of ICMP type `t` (with one code, only where Aerleon takes that code).
pub(super) fn icmp_name(t: u8, code: Option<u8>, v6: bool) -> Option<&'static str> {
    let table = if v6 { ICMP_V6 } else { ICMP_V4 };
    let name = table.iter().find(|(_, n)| *n == t).map(|(name, _)| *name)?;
    match code {
        None => Some(name),
        Some(c) => ICMP_CODES
            .iter()
            .any(|(n, codes)| *n == name && codes.contains(&c))
            .then_some(name),
    }
}

/// The host baseline's ICMP, in Aerleon's names (as fwgen's Linux host rulesets admit it).
pub(super) const BASELINE_V4: &[&str] = &["unreachable", "time-exceeded", "parameter-problem"];
pub(super) const BASELINE_V6: &[&str] = &[
    "destination-unreachable",
    "packet-too-big",
    "time-exceeded",
    "parameter-problem",
    "router-solicit",
    "router-advertisement",
    "neighbor-solicit",
    "neighbor-advertisement",
];
