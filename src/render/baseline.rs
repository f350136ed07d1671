//! The host baseline every Linux host ruleset (nftables, iptables, firewalld) puts before the
//! catalogue's rules, as rows a review shows: a reviewer approves what the host admits, not
//! only what the rules list.

use crate::model::Platform;
use crate::ruleset::Ruleset;

use super::{ICMP_V4_TYPES, ICMP_V6_TYPES, Placement, Policy, RenderOptions};

/// (traffic, inbound, outbound) rows, in the order the rulesets decide them; none for a
/// perimeter ruleset or a Windows host (whose firewall keeps its own defaults).
pub(super) fn rows(rules: &Ruleset, opts: &RenderOptions) -> Vec<[String; 3]> {
    if opts.placement != Placement::Host || rules.meta.platform != Platform::Linux {
        return Vec::new();
    }
    let both = |what: String, verdict: &str| [what, verdict.to_string(), verdict.to_string()];
    let rest = match opts.policy {
        Policy::Drop => "dropped",
        Policy::Accept => "accepted (--policy accept: nothing is dropped yet)",
    };
    let rest = if opts.log_drops {
        format!("{rest}, logged (at most 10 a minute)")
    } else {
        rest.to_string()
    };
    vec![
        both(
            "replies and related traffic of admitted connections (connection tracking: established, related)".into(),
            "admitted",
        ),
        both("the loopback interface (lo)".into(), "admitted"),
        [
            format!("ICMP (IPv4): {}", ICMP_V4_TYPES.join(", ")),
            "admitted (firewalld: as related traffic only)".into(),
            "admitted".into(),
        ],
        [
            format!(
                "ICMPv6: {} (errors, path MTU discovery, neighbour discovery)",
                ICMP_V6_TYPES.join(", ")
            ),
            "admitted (firewalld: errors as related traffic only; neighbour discovery by its \
             built-in allow-host-ipv6 policy)"
                .into(),
            "admitted".into(),
        ],
        both(
            "packets connection tracking finds invalid".into(),
            "dropped",
        ),
        both(
            "the entries above (ICMP echo only where an entry asks for it)".into(),
            "admitted",
        ),
        [
            "everything else".to_string(),
            rest.clone(),
            rest,
        ],
    ]
}
