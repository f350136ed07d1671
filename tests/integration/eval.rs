//! Small evaluators for what fwgen writes, so tests can ask "is this packet admitted?" of
//! the rulesets themselves rather than match strings.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

#[derive(Clone, Debug, PartialEq)]
pub enum Addr {
    Any,
    Nets(Vec<IpNet>),
}

impl Addr {
    pub fn matches(&self, ip: IpAddr) -> bool {
        match self {
            Addr::Any => true,
            Addr::Nets(n) => n.iter().any(|n| n.contains(&ip)),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Packet {
    pub proto: &'static str,
    pub src: IpAddr,
    pub sport: u16,
    pub dst: IpAddr,
    pub dport: u16,
    pub ack: bool,
}

// ---------------------------------------------------------------------------------------
// The same packets through fwgen's iptables output (perimeter placement).

#[derive(Debug)]
pub struct IptRule {
    chain: String,
    pub src: Addr,
    pub dst: Addr,
    pub proto: Option<String>,
    dports: Vec<(u16, u16)>,
    target: String,
}

/// The sets an `ipsets` file leaves behind: `add` fills a set, `swap` trades two sets'
/// contents, `destroy` removes one.
pub fn parse_ipsets(text: &str) -> BTreeMap<String, Vec<IpNet>> {
    let mut sets: BTreeMap<String, Vec<IpNet>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let t: Vec<&str> = line.split_whitespace().collect();
        match t.as_slice() {
            ["create", name, ..] => {
                sets.entry(name.to_string()).or_default();
            }
            ["flush", name] => sets.insert(name.to_string(), vec![]).map_or((), |_| ()),
            ["add", name, net] => sets
                .get_mut(*name)
                .expect("add to a created set")
                .push(net.parse().unwrap()),
            ["swap", a, b] => {
                let (x, y) = (sets.remove(*a).unwrap(), sets.remove(*b).unwrap());
                sets.insert(a.to_string(), y);
                sets.insert(b.to_string(), x);
            }
            ["destroy", name] => sets.remove(*name).map_or((), |_| ()),
            [] => {}
            other => panic!("unexpected ipset command {other:?}"),
        }
    }
    sets
}

/// An iptables-restore file, with the sets of the `ipsets` file beside it.
pub fn parse_iptables(text: &str, ipsets: &str) -> Vec<IptRule> {
    let sets = parse_ipsets(ipsets);
    let mut out = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("-A ")) {
        if line.contains("--ctstate") {
            continue; // only NEW packets are evaluated
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        let mut r = IptRule {
            chain: t[1].into(),
            src: Addr::Any,
            dst: Addr::Any,
            proto: None,
            dports: vec![],
            target: String::new(),
        };
        let mut i = 2;
        while i < t.len() {
            match t[i] {
                "-s" => r.src = Addr::Nets(vec![t[i + 1].parse().unwrap()]),
                "-d" => r.dst = Addr::Nets(vec![t[i + 1].parse().unwrap()]),
                "--match-set" => {
                    let nets = Addr::Nets(sets[t[i + 1]].clone());
                    match t[i + 2] {
                        "src" => r.src = nets,
                        "dst" => r.dst = nets,
                        other => panic!("match-set direction {other}"),
                    }
                }
                "-p" => r.proto = Some(t[i + 1].into()),
                "--dport" | "--dports" => {
                    r.dports = t[i + 1]
                        .split(',')
                        .map(|p| match p.split_once(':') {
                            Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
                            None => (p.parse().unwrap(), p.parse().unwrap()),
                        })
                        .collect()
                }
                "-j" => r.target = t[i + 1].into(),
                "--comment" => {
                    // skip the quoted comment
                    while !t[i + 1].ends_with('"') {
                        i += 1;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        out.push(r);
    }
    out
}

pub fn eval_iptables(rules: &[IptRule], chain: &str, p: &Packet) -> Option<bool> {
    for r in rules.iter().filter(|r| r.chain == chain) {
        let m = r.src.matches(p.src)
            && r.dst.matches(p.dst)
            && r.proto.as_deref().is_none_or(|pr| pr == p.proto)
            && (r.dports.is_empty()
                || r.dports.iter().any(|(a, b)| *a <= p.dport && p.dport <= *b));
        if !m {
            continue;
        }
        match r.target.as_str() {
            "ACCEPT" => return Some(true),
            "DROP" => return Some(false),
            other => return eval_iptables(rules, other, p).or(Some(false)),
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// fwgen's nftables output (perimeter placement): named sets, the forward chain's jumps, and
// the gateway_in / gateway_out chains.

/// One rule of a chain: optional family/address match, optional protocol and ports, verdict.
#[derive(Debug)]
struct NftRule {
    family: Option<&'static str>,
    saddr: Option<String>,
    daddr: Option<String>,
    proto: Option<String>,
    dports: Option<Vec<(u16, u16)>>,
    /// `accept`, `drop`, or `jump CHAIN`.
    verdict: String,
}

#[derive(Debug, Default)]
pub struct Nft {
    sets: BTreeMap<String, Vec<String>>,
    chains: BTreeMap<String, Vec<NftRule>>,
}

fn ports(spec: &str) -> Vec<(u16, u16)> {
    spec.split(',')
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('-') {
            Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
            None => (p.parse().unwrap(), p.parse().unwrap()),
        })
        .collect()
}

pub fn parse_nft(text: &str) -> Nft {
    let mut nft = Nft::default();
    let mut set: Option<(String, String)> = None; // (name, elements so far)
    let mut chain: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if let Some(rest) = line.strip_prefix("set ") {
            set = Some((rest.trim_end_matches(" {").to_string(), String::new()));
            continue;
        }
        if let Some((name, elems)) = &mut set {
            if let Some(e) = line.strip_prefix("elements = {") {
                elems.push_str(e);
            } else if !elems.is_empty()
                && !line.starts_with('}')
                && !line.starts_with("type")
                && !line.starts_with("flags")
            {
                elems.push_str(line);
            }
            if line == "}" {
                let items = elems
                    .trim_end_matches('}')
                    .split(',')
                    .map(|s| s.trim().trim_end_matches('}').trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                nft.sets.insert(name.clone(), items);
                set = None;
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("chain ") {
            chain = Some(rest.trim_end_matches(" {").to_string());
            nft.chains.entry(chain.clone().unwrap()).or_default();
            continue;
        }
        let Some(c) = &chain else { continue };
        if line == "}" {
            chain = None;
            continue;
        }
        // Helper assignments (`… ct helper set "ftp-standard"`) decide nothing.
        if line.starts_with("type ")
            || line.starts_with("ct ")
            || line.starts_with("limit ")
            || line.contains(" ct helper set ")
            || line.is_empty()
        {
            continue;
        }
        let line = line.split(" comment \"").next().unwrap();
        let t: Vec<&str> = line.split_whitespace().collect();
        let mut r = NftRule {
            family: None,
            saddr: None,
            daddr: None,
            proto: None,
            dports: None,
            verdict: String::new(),
        };
        let mut i = 0;
        while i < t.len() {
            match t[i] {
                "ip" | "ip6" => {
                    r.family = Some(if t[i] == "ip" { "ip" } else { "ip6" });
                    let v = t[i + 2].trim_start_matches('@').to_string();
                    if t[i + 1] == "saddr" {
                        r.saddr = Some(v);
                    } else {
                        r.daddr = Some(v);
                    }
                    i += 3;
                }
                "tcp" | "udp" => {
                    r.proto = Some(t[i].to_string());
                    let spec = t[i + 2];
                    r.dports = Some(match spec.strip_prefix('@') {
                        Some(set) => nft.sets[set].iter().flat_map(|p| ports(p)).collect(),
                        None => ports(spec),
                    });
                    i += 3;
                }
                "jump" => {
                    r.verdict = format!("jump {}", t[i + 1]);
                    i += 2;
                }
                v @ ("accept" | "drop") => {
                    r.verdict = v.to_string();
                    i += 1;
                }
                other => panic!("unexpected `{other}` in `{line}`"),
            }
        }
        nft.chains.get_mut(c).unwrap().push(r);
    }
    nft
}

impl Nft {
    fn in_set(&self, set: &str, ip: IpAddr) -> bool {
        self.sets[set].iter().any(|e| {
            e.parse::<IpNet>()
                .map(|n| n.contains(&ip))
                .unwrap_or_else(|_| e.parse::<IpAddr>().map(|a| a == ip).unwrap_or(false))
        })
    }

    /// The verdict of `chain` for a new packet; `None` = fell off the end of a regular chain.
    pub fn eval(&self, chain: &str, p: &Packet) -> Option<bool> {
        for r in &self.chains[chain] {
            let fam_ok = match r.family {
                None => true,
                Some("ip") => p.src.is_ipv4(),
                Some(_) => p.src.is_ipv6(),
            };
            let m = fam_ok
                && r.saddr.as_deref().is_none_or(|s| self.in_set(s, p.src))
                && r.daddr.as_deref().is_none_or(|s| self.in_set(s, p.dst))
                && r.proto.as_deref().is_none_or(|pr| pr == p.proto)
                && r.dports
                    .as_ref()
                    .is_none_or(|d| d.iter().any(|(a, b)| *a <= p.dport && p.dport <= *b));
            if !m {
                continue;
            }
            match r.verdict.as_str() {
                "accept" => return Some(true),
                "drop" => return Some(false),
                j => {
                    if let Some(v) = self.eval(j.trim_start_matches("jump "), p) {
                        return Some(v);
                    }
                }
            }
        }
        None
    }
}
