//! The Windows Firewall script, checked with PowerShell's real grammar (`tree-sitter` with
//! `tree-sitter-powershell`; PowerShell itself cannot be installed here): the script parses
//! without an error or a missing node; holds `param([switch]$DryRun)`, the stop on errors,
//! one `Remove-NetFirewallRule` of this generation's leftovers, then only
//! `New-NetFirewallRule` commands, with only their allowed parameters, each given once, and
//! only single-quoted literal arguments (and `-WhatIf:$DryRun`), then the removal of the
//! earlier generations exactly as fwgen writes it: no other variable, sub-expression, script
//! block, expandable string, bareword or pipe can reach PowerShell, whatever text fwgen was
//! given.
//! Values are then checked (enums, ports, addresses) and returned for comparison with the
//! ruleset they came from.

use std::collections::BTreeMap;

use ipnet::IpNet;
use tree_sitter::{Node, Parser};

/// One `New-NetFirewallRule`, as PowerShell would receive it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WinRule {
    pub name: String,
    pub display_name: String,
    pub group: String,
    /// `in` or `out`.
    pub direction: String,
    /// `tcp`, `udp`, `icmp` or `icmpv6`.
    pub protocol: String,
    /// Port ranges, as (first, last); for ICMP, the messages as (type, code), code 256 for
    /// every code of the type.
    pub ports: Vec<(u16, u16)>,
    /// `None` for `Any`.
    pub remote: Option<Vec<IpNet>>,
    pub profiles: Vec<String>,
    pub description: String,
    pub policy_store: Option<String>,
}

/// What a script does.
#[derive(Debug)]
pub struct Script {
    /// The groups of the product and component whose earlier generations it removes last
    /// (`fwgen P C` and `fwgen P C *`).
    pub removes: String,
    /// This generation's group, where every rule goes (emptied first of an interrupted
    /// run's leftovers).
    pub current: String,
    pub policy_store: Option<String>,
    pub rules: Vec<WinRule>,
}

const NEW_PARAMS: &[&str] = &[
    "Name",
    "DisplayName",
    "Group",
    "Direction",
    "Protocol",
    "LocalPort",
    "RemotePort",
    "IcmpType",
    "RemoteAddress",
    "Action",
    "Profile",
    "Enabled",
    "Description",
    "PolicyStore",
    "ErrorAction",
    "WhatIf",
];
const REMOVE_PARAMS: &[&str] = &["Group", "PolicyStore", "ErrorAction", "WhatIf"];

/// A command: its name and each parameter's literal values (unquoted).
struct Command {
    name: String,
    params: BTreeMap<String, Vec<String>>,
}

/// Parse and check a generated script; `Err` says what is wrong and where.
pub fn check(text: &str) -> Result<Script, String> {
    if let Some((i, c)) = text.char_indices().find(|(_, c)| !c.is_ascii()) {
        return Err(format!("byte {i}: non-ASCII character {c:?}"));
    }
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .map_err(|e| e.to_string())?;
    let tree = parser.parse(text, None).ok_or("the parser gave up")?;
    let root = tree.root_node();
    if root.has_error() {
        return Err(format!("syntax error: {}", first_error(root, text)));
    }
    let mut statements = Vec::new();
    let mut param = false;
    for child in children(root) {
        match child.kind() {
            "comment" => {}
            // The one parameter: `-DryRun`, a switch.
            "param_block" if !param && &text[child.byte_range()] == PARAM => param = true,
            "statement_list" => statements.extend(
                children(child)
                    .into_iter()
                    .filter(|c| c.kind() != "comment"),
            ),
            other => return Err(at(child, text, &format!("unexpected {other}"))),
        }
    }
    if !param {
        return Err(format!("no `{PARAM}`"));
    }
    // `$ErrorActionPreference = 'Stop'` first, the removal of the earlier generations last,
    // each exactly as fwgen writes it (fwgen's own words: no text from its inputs); the
    // commands between, checked one by one.
    let (first, rest) = statements.split_first().ok_or("an empty script")?;
    if &text[first.byte_range()] != STOP {
        return Err(at(
            *first,
            text,
            "the first statement is not the stop on errors",
        ));
    }
    let (last, middle) = rest
        .split_last()
        .ok_or("no removal of earlier generations")?;
    let commands = middle
        .iter()
        .map(|st| command(*st, text))
        .collect::<Result<Vec<_>, _>>()?;
    let script = script(commands)?;
    let store = script
        .policy_store
        .as_ref()
        .map(|p| format!(" -PolicyStore '{}'", p.replace('\'', "''")))
        .unwrap_or_default();
    let q = |g: &str| g.replace('\'', "''");
    let want = format!(
        "Get-NetFirewallRule -Group '{p}','{p} *'{store} -ErrorAction 'SilentlyContinue' | \
         Where-Object {{ $_.Group -ne '{c}' }} | Remove-NetFirewallRule -WhatIf:$DryRun",
        p = q(&script.removes),
        c = q(&script.current)
    );
    if text[last.byte_range()].trim_end() != want {
        return Err(at(
            *last,
            text,
            &format!("the last statement is not `{want}`"),
        ));
    }
    Ok(script)
}

/// The script's parameter block, and its first statement.
const PARAM: &str = "param([switch]$DryRun)";
const STOP: &str = "$ErrorActionPreference = 'Stop'";

/// [`check`] a generated file; panics with the problem and the file.
#[track_caller]
pub fn check_file(path: &std::path::Path) -> Script {
    let text = std::fs::read_to_string(path).unwrap();
    check(&text).unwrap_or_else(|e| panic!("{}: {e}\n--- file ---\n{text}", path.display()))
}

/// The first ERROR or MISSING node, for the message.
fn first_error(n: Node, text: &str) -> String {
    if n.is_error() || n.is_missing() {
        return at(n, text, n.kind());
    }
    children(n)
        .into_iter()
        .find(|c| c.has_error())
        .map_or_else(|| at(n, text, "error"), |c| first_error(c, text))
}

fn children(n: Node) -> Vec<Node> {
    let mut cursor = n.walk();
    n.children(&mut cursor).collect()
}

fn at(n: Node, text: &str, what: &str) -> String {
    let p = n.start_position();
    let snippet: String = text[n.byte_range()].chars().take(60).collect();
    format!("line {}: {what}: {snippet:?}", p.row + 1)
}

/// The only child of `n`, which must be of `kind`.
fn only<'a>(n: Node<'a>, kind: &str, text: &str) -> Result<Node<'a>, String> {
    match children(n).as_slice() {
        [c] if c.kind() == kind => Ok(*c),
        _ => Err(at(
            n,
            text,
            &format!("expected a lone {kind} in {}", n.kind()),
        )),
    }
}

/// One statement: a pipeline of one command (no pipe, no `&&`), its name one of the two
/// cmdlets, then parameters, each with one literal argument.
fn command(st: Node, text: &str) -> Result<Command, String> {
    if st.kind() != "pipeline" {
        return Err(at(st, text, &format!("a {} statement", st.kind())));
    }
    let cmd = only(only(st, "pipeline_chain", text)?, "command", text)?;
    let parts = children(cmd);
    let [name, elements] = parts.as_slice() else {
        return Err(at(cmd, text, "a command without parameters"));
    };
    if name.kind() != "command_name" || elements.kind() != "command_elements" {
        return Err(at(cmd, text, "not a plain command"));
    }
    let name = text[name.byte_range()].to_string();
    let allowed = match name.as_str() {
        "New-NetFirewallRule" => NEW_PARAMS,
        "Remove-NetFirewallRule" => REMOVE_PARAMS,
        _ => return Err(at(cmd, text, "a command other than the two cmdlets")),
    };
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut pending: Option<String> = None;
    for e in children(*elements) {
        let t = &text[e.byte_range()];
        match e.kind() {
            // Spaces, and a backtick right before a line break (a line continuation).
            // The colon of `-WhatIf:$DryRun`.
            "command_argument_sep" if t == ":" && pending.as_deref() == Some("WhatIf") => {}
            "command_argument_sep" => {
                let plain = t.chars().all(|c| matches!(c, ' ' | '`' | '\n'))
                    && t.match_indices('`')
                        .all(|(i, _)| t[i + 1..].starts_with('\n'));
                if !plain {
                    return Err(at(e, text, "a separator that is not spaces"));
                }
            }
            "command_parameter" => {
                if let Some(p) = pending {
                    return Err(at(e, text, &format!("-{p} has no argument")));
                }
                // `-WhatIf:$DryRun`: the one parameter bound with a colon, the one variable.
                let t = t.strip_suffix(':').filter(|p| *p == "-WhatIf").unwrap_or(t);
                let p = t.strip_prefix('-').unwrap_or(t).to_string();
                if !allowed.contains(&p.as_str()) {
                    return Err(at(e, text, "a parameter that is not allowed"));
                }
                if params.contains_key(&p) {
                    return Err(at(e, text, "a parameter given twice"));
                }
                pending = Some(p);
            }
            "array_literal_expression" => {
                let Some(p) = pending.take() else {
                    return Err(at(e, text, "an argument without a parameter"));
                };
                let values = if p == "WhatIf" {
                    if t != "$DryRun" {
                        return Err(at(e, text, "-WhatIf: takes $DryRun only"));
                    }
                    vec![t.to_string()]
                } else {
                    literals(e, text)?
                };
                params.insert(p, values);
            }
            other => return Err(at(e, text, &format!("a {other} argument"))),
        }
    }
    if let Some(p) = pending {
        return Err(format!("{name}: -{p} has no argument"));
    }
    Ok(Command { name, params })
}

/// The items of `'a','b'`: each a verbatim (single-quoted) string, nothing else.
fn literals(list: Node, text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for item in children(list) {
        match item.kind() {
            "," => {}
            "unary_expression" => {
                let s = only(item, "string_literal", text)?;
                let v = only(s, "verbatim_string_characters", text)?;
                let t = &text[v.byte_range()];
                let inner = t
                    .strip_prefix('\'')
                    .and_then(|t| t.strip_suffix('\''))
                    .ok_or_else(|| at(v, text, "not a single-quoted string"))?;
                out.push(inner.replace("''", "'"));
            }
            other => return Err(at(item, text, &format!("a {other} in a list"))),
        }
    }
    Ok(out)
}

/// The commands in order: one `Remove-NetFirewallRule` for the group, then the rules.
fn script(commands: Vec<Command>) -> Result<Script, String> {
    let mut it = commands.into_iter();
    let remove = it.next().ok_or("an empty script")?;
    if remove.name != "Remove-NetFirewallRule" {
        return Err("the script does not start by removing its group".into());
    }
    let one = |c: &Command, p: &str| -> Result<String, String> {
        match c.params.get(p).map(Vec::as_slice) {
            Some([v]) => Ok(v.clone()),
            other => Err(format!("{}: -{p} is {other:?}", c.name)),
        }
    };
    let current = one(&remove, "Group")?;
    let policy_store = remove.params.get("PolicyStore").map(|v| v.join(","));
    if one(&remove, "ErrorAction")? != "SilentlyContinue" {
        return Err("Remove-NetFirewallRule stops when the group is empty".into());
    }
    // `fwgen P C GENERATION`: the generation is 8 hex digits.
    let removes = match current.rsplit_once(' ') {
        Some((p, g)) if g.len() == 8 && g.chars().all(|c| c.is_ascii_hexdigit()) => p.to_string(),
        _ => return Err(format!("group {current} is not named after a generation")),
    };
    let mut rules = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for c in it {
        if c.name != "New-NetFirewallRule" {
            return Err(format!("{} after the first command", c.name));
        }
        if c.params.get("WhatIf").map(Vec::as_slice) != Some(&["$DryRun".to_string()][..]) {
            return Err(format!("{}: no -WhatIf:$DryRun", c.name));
        }
        let rule = new_rule(&c, &one)?;
        if rule.group != current {
            return Err(format!("rule {} is not in group {current}", rule.name));
        }
        if rule.policy_store != policy_store {
            return Err(format!("rule {} goes to another store", rule.name));
        }
        if !names.insert(rule.name.clone()) {
            return Err(format!("rule name {} twice", rule.name));
        }
        rules.push(rule);
    }
    if remove.params.get("WhatIf").map(Vec::as_slice) != Some(&["$DryRun".to_string()][..]) {
        return Err("Remove-NetFirewallRule: no -WhatIf:$DryRun".into());
    }
    Ok(Script {
        removes,
        current,
        policy_store,
        rules,
    })
}

type One<'a> = dyn Fn(&Command, &str) -> Result<String, String> + 'a;

fn new_rule(c: &Command, one: &One) -> Result<WinRule, String> {
    let name = one(c, "Name")?;
    let fail = |what: String| Err(format!("rule {name}: {what}"));
    let direction = match one(c, "Direction")?.as_str() {
        "Inbound" => "in",
        "Outbound" => "out",
        d => return fail(format!("direction {d}")),
    };
    let (port_param, other) = if direction == "in" {
        ("LocalPort", "RemotePort")
    } else {
        ("RemotePort", "LocalPort")
    };
    if c.params.contains_key(other) {
        return fail(format!("-{other} on an {direction} rule"));
    }
    let protocol = match one(c, "Protocol")?.as_str() {
        "TCP" => "tcp",
        "UDP" => "udp",
        "ICMPv4" => "icmp",
        "ICMPv6" => "icmpv6",
        p => return fail(format!("protocol {p}")),
    };
    // ICMP has types (`-IcmpType`), no ports; TCP and UDP the other way round.
    let (port_param, other) = if protocol.starts_with("icmp") {
        if c.params.contains_key(port_param) {
            return fail(format!("-{port_param} on an ICMP rule"));
        }
        ("IcmpType", port_param)
    } else {
        (port_param, "IcmpType")
    };
    if c.params.contains_key(other) {
        return fail(format!("-{other} on a {protocol} rule"));
    }
    for (p, want) in [
        ("Action", "Allow"),
        ("Enabled", "True"),
        ("ErrorAction", "Stop"),
    ] {
        if one(c, p)? != want {
            return fail(format!("-{p} is not {want}"));
        }
    }
    let mut ports = Vec::new();
    for p in c.params.get(port_param).into_iter().flatten() {
        if port_param == "IcmpType" {
            // `TYPE` or `TYPE:CODE`.
            let (t, code) = p
                .split_once(':')
                .map_or((p.as_str(), None), |(t, c)| (t, Some(c)));
            let code = match code.map(str::parse::<u8>) {
                None => 256,
                Some(Ok(c)) => u16::from(c),
                Some(Err(_)) => return fail(format!("ICMP code in {p}")),
            };
            match t.parse::<u8>() {
                Ok(t) => ports.push((u16::from(t), code)),
                Err(_) => return fail(format!("ICMP type {p}")),
            }
            continue;
        }
        let (lo, hi) = p.split_once('-').unwrap_or((p, p));
        match (lo.parse::<u16>(), hi.parse::<u16>()) {
            (Ok(lo), Ok(hi)) if lo >= 1 && lo <= hi => ports.push((lo, hi)),
            _ => return fail(format!("port {p}")),
        }
    }
    if ports.is_empty() {
        return fail(format!("no -{port_param}"));
    }
    let addresses = c.params.get("RemoteAddress").cloned().unwrap_or_default();
    let remote = match addresses.as_slice() {
        [] => return fail("no -RemoteAddress".into()),
        [a] if a == "Any" => None,
        list => {
            let mut nets = Vec::new();
            for a in list {
                let net = a
                    .parse::<IpNet>()
                    .ok()
                    .filter(|n| n.trunc() == *n)
                    .or_else(|| a.parse::<std::net::IpAddr>().ok().map(IpNet::from));
                match net {
                    Some(n) => nets.push(n),
                    None => return fail(format!("address {a}")),
                }
            }
            Some(nets)
        }
    };
    let profiles = c.params.get("Profile").cloned().unwrap_or_default();
    let valid = match profiles.as_slice() {
        [p] if p == "Any" => true,
        ps => {
            !ps.is_empty()
                && ps
                    .iter()
                    .all(|p| matches!(p.as_str(), "Domain" | "Private" | "Public"))
        }
    };
    if !valid {
        return fail(format!("profiles {profiles:?}"));
    }
    Ok(WinRule {
        display_name: one(c, "DisplayName")?,
        group: one(c, "Group")?,
        direction: direction.to_string(),
        protocol: protocol.to_string(),
        ports,
        remote,
        profiles,
        description: one(c, "Description")?,
        policy_store: c.params.get("PolicyStore").map(|v| v.join(",")),
        name,
    })
}

/// What a rule admits: direction, protocol, port ranges, addresses (`None`: any).
pub type RuleShape = (String, String, Vec<(u16, u16)>, Option<Vec<IpNet>>);

/// The rules of a JSON ruleset (`-b json`) in the same terms, for comparison.
pub fn json_rules(json: &str) -> Vec<RuleShape> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut out = Vec::new();
    for r in v["rules"].as_array().unwrap() {
        let ports = r["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| match p {
                serde_json::Value::Number(n) => {
                    let n = n.as_u64().unwrap() as u16;
                    (n, n)
                }
                serde_json::Value::String(s) => {
                    let (lo, hi) = s.split_once('-').unwrap();
                    (lo.parse().unwrap(), hi.parse().unwrap())
                }
                other => panic!("port {other}"),
            })
            .collect();
        let remote = match &r["remote"] {
            serde_json::Value::String(s) if s == "any" => None,
            serde_json::Value::Array(a) => Some(
                a.iter()
                    .map(|n| n.as_str().unwrap().parse().unwrap())
                    .collect(),
            ),
            other => panic!("remote {other}"),
        };
        out.push((
            r["direction"].as_str().unwrap().to_string(),
            r["protocol"].as_str().unwrap().to_string(),
            ports,
            remote,
        ));
    }
    out
}

/// The script's rules in the same terms as [`json_rules`] (addresses as prefixes).
pub fn script_rules(s: &Script) -> Vec<RuleShape> {
    s.rules
        .iter()
        .map(|r| {
            (
                r.direction.clone(),
                r.protocol.clone(),
                r.ports.clone(),
                r.remote.clone(),
            )
        })
        .collect()
}

#[test]
fn the_checker_refuses_what_powershell_would_run_as_code() {
    let good = "param([switch]$DryRun)\n$ErrorActionPreference = 'Stop'\n\
        Remove-NetFirewallRule -Group 'g 0123abcd' -ErrorAction 'SilentlyContinue' -WhatIf:$DryRun\n\
        New-NetFirewallRule -Name 'n' -DisplayName 'd' -Group 'g 0123abcd' -Direction 'Inbound' `\n    \
        -Protocol 'TCP' -LocalPort '1-2','3' -RemoteAddress '192.0.2.0/24','2001:db8::1' \
        -Action 'Allow' -Profile 'Domain','Private' -Enabled 'True' -Description 'it''s $x' \
        -ErrorAction 'Stop' -WhatIf:$DryRun\n\
        Get-NetFirewallRule -Group 'g','g *' -ErrorAction 'SilentlyContinue' | \
        Where-Object { $_.Group -ne 'g 0123abcd' } | Remove-NetFirewallRule -WhatIf:$DryRun\n";
    let s = check(good).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.rules[0].ports, [(1, 2), (3, 3)]);
    assert_eq!(s.rules[0].description, "it's $x");
    // Each of these changes one thing that a safe script must never hold.
    for (bad, why) in [
        ("-Description 'it''s $x'", "-Description \"it's $x\""),
        ("-Description 'it''s $x'", "-Description $x"),
        ("-Description 'it''s $x'", "-Description $(Get-Date)"),
        ("-Description 'it''s $x'", "-Description {x}"),
        ("-Description 'it''s $x'", "-Description x"),
        ("-Description 'it''s $x'", "-Description 'a' | Out-Null"),
        (
            "-Description 'it''s $x'",
            "-Description 'a'; Remove-Item 'c:'",
        ),
        (
            "-Description 'it''s $x'",
            "-Description 'a' -Description 'b'",
        ),
        (
            "-Description 'it''s $x'",
            "-Description 'a'\n-Enabled 'False'",
        ),
        ("-Description 'it''s $x'", "-Description 'it's'"),
        ("-Description 'it''s $x'", "-Description 'caf\u{e9}'"),
        ("-Profile 'Domain','Private'", "-Profile Domain,Private"),
        ("-Profile 'Domain','Private'", "-Profile 'Any','Domain'"),
        ("-LocalPort '1-2','3'", "-LocalPort '0'"),
        ("-LocalPort '1-2','3'", "-LocalPort '2-1'"),
        ("-LocalPort '1-2','3'", "-RemotePort '3'"),
        ("'192.0.2.0/24'", "'192.0.2.1/24'"),
        ("'192.0.2.0/24'", "'example.com'"),
        ("-Action 'Allow'", "-Action 'Block'"),
        ("-Direction 'Inbound'", "-Direction 'Both'"),
        ("-Enabled 'True'", "-Enabled 'False'"),
        // The dry run is a switch, and every command honours it.
        ("-ErrorAction 'Stop' -WhatIf:$DryRun", "-ErrorAction 'Stop'"),
        (
            "-ErrorAction 'Stop' -WhatIf:$DryRun",
            "-ErrorAction 'Stop' -WhatIf:$x",
        ),
        ("param([switch]$DryRun)", "param([switch]$DryRun, $Extra)"),
        // The earlier generations go last, and never this one.
        ("-ne 'g 0123abcd'", "-ne 'g 01234567'"),
        ("Where-Object { $_.Group", "Where-Object { & $_.Group"),
        (
            "$ErrorActionPreference = 'Stop'",
            "$ErrorActionPreference = 'Continue'",
        ),
        ("-Group 'g 0123abcd' -Direction", "-Group 'g' -Direction"),
    ] {
        let text = good.replacen(bad, why, 1);
        assert_ne!(text, good, "{why}: the case changes nothing");
        assert!(check(&text).is_err(), "{why}: accepted:\n{text}");
    }
    let swapped = good.replacen("Remove-NetFirewallRule", "New-NetFirewallRule", 1);
    assert!(check(&swapped).is_err());
}
