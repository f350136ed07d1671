//! Cisco configurations applied over the one before: a model of the running configuration
//! (access lists, object groups, objects, interface bindings) takes each pasted line as IOS
//! or the ASA would, refuses what they refuse (removing an object group a list still uses,
//! an entry naming a missing group) and flags what would open the interface (a binding to a
//! list that does not exist: IOS then permits everything; a bound list removed). Pasting
//! generation 1 and then generation 2 must give exactly the configuration of generation 2
//! alone, with every interface bound at every step.

use std::collections::{BTreeMap, BTreeSet};

use crate::util::fwgen_in;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dialect {
    Ios,
    Asa,
}

/// Where pasted lines go.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Mode {
    Global,
    /// An access list (IOS), by name.
    List(String),
    /// An object group or object, by `kind name`.
    Group(String),
    Interface(String),
}

/// The running configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Running {
    /// Access list name -> its entries (remarks included), in order.
    lists: BTreeMap<String, Vec<String>>,
    /// `object-group network N`, `object-group service N`, `object network N` -> members.
    groups: BTreeMap<String, BTreeSet<String>>,
    /// (interface, `ip in`, `ipv6 out`, or the ASA's `in`) -> list name.
    bindings: BTreeMap<(String, String), String>,
}

impl Running {
    /// Paste `text` line by line; after every line, every binding names an existing list and
    /// no binding that existed before the paste is gone unless a line unbound it.
    fn paste(&mut self, text: &str, dialect: Dialect) -> Result<(), String> {
        let mut mode = Mode::Global;
        let bound_before: BTreeSet<(String, String)> = self.bindings.keys().cloned().collect();
        let mut unbound: BTreeSet<(String, String)> = BTreeSet::new();
        for (i, line) in text.lines().enumerate() {
            let at = |e: String| format!("line {}: {e}: {line}", i + 1);
            if line.starts_with('!') || line.trim().is_empty() {
                continue;
            }
            self.line(line, dialect, &mut mode, &mut unbound)
                .map_err(at)?;
            for ((interface, slot), list) in &self.bindings {
                if !self.lists.contains_key(list) {
                    return Err(at(format!(
                        "{interface} {slot} is bound to {list}, which does not exist"
                    )));
                }
            }
            for key in bound_before.difference(&unbound) {
                if !self.bindings.contains_key(key) {
                    return Err(at(format!("{key:?} lost its list")));
                }
            }
        }
        Ok(())
    }

    fn line(
        &mut self,
        line: &str,
        dialect: Dialect,
        mode: &mut Mode,
        unbound: &mut BTreeSet<(String, String)>,
    ) -> Result<(), String> {
        let t: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with(' ') {
            return match mode.clone() {
                Mode::List(name) => {
                    self.check_references(&t)?;
                    self.lists
                        .get_mut(&name)
                        .unwrap()
                        .push(line.trim().to_string());
                    Ok(())
                }
                Mode::Group(key) => {
                    if let ["network-object", "object", o] = t.as_slice()
                        && !self.groups.contains_key(&format!("object network {o}"))
                    {
                        return Err(format!("object {o} does not exist"));
                    }
                    self.groups
                        .get_mut(&key)
                        .unwrap()
                        .insert(line.trim().to_string());
                    Ok(())
                }
                Mode::Interface(interface) => self.interface_line(&interface, &t, unbound),
                Mode::Global => Err("a sub-command outside any mode".into()),
            };
        }
        *mode = Mode::Global;
        match (dialect, t.as_slice()) {
            (Dialect::Ios, ["ip", "access-list", "extended", n])
            | (Dialect::Ios, ["ipv6", "access-list", n]) => {
                self.lists.entry(n.to_string()).or_default();
                *mode = Mode::List(n.to_string());
            }
            (_, ["object-group", "network", n]) | (Dialect::Asa, ["object", "network", n]) => {
                let key = format!("{} {} {n}", t[0], t[1]);
                self.groups.entry(key.clone()).or_default();
                *mode = Mode::Group(key);
            }
            (Dialect::Asa, ["object-group", "service", n, _proto]) => {
                let key = format!("object-group service {n}");
                self.groups.entry(key.clone()).or_default();
                *mode = Mode::Group(key);
            }
            (Dialect::Ios, ["interface", i]) => *mode = Mode::Interface(i.to_string()),
            (Dialect::Ios, ["no", "ip", "access-list", "extended", n])
            | (Dialect::Ios, ["no", "ipv6", "access-list", n]) => {
                if self.bindings.values().any(|l| l == n) {
                    return Err(format!("{n} is removed while bound"));
                }
                self.lists.remove(*n).ok_or(format!("no list {n}"))?;
            }
            (
                Dialect::Asa,
                ["access-list", n, "remark", ..] | ["access-list", n, "extended", ..],
            ) => {
                self.check_references(&t[2..])?;
                let entry = t[2..].join(" ");
                self.lists.entry(n.to_string()).or_default().push(entry);
            }
            (Dialect::Asa, ["access-group", n, "in", "interface", i]) => {
                if !self.lists.contains_key(*n) {
                    return Err(format!("access-group of a missing list {n}"));
                }
                self.bindings
                    .insert((i.to_string(), "in".to_string()), n.to_string());
            }
            (Dialect::Asa, ["clear", "configure", "access-list", n]) => {
                // The ASA removes the list and every access-group that binds it.
                self.lists.remove(*n).ok_or(format!("no list {n}"))?;
                self.bindings.retain(|_, l| l != n);
            }
            (_, ["no", "object-group" | "object", kind, n]) => {
                let object = t[1] == "object";
                if object && (dialect == Dialect::Ios || *kind != "network") {
                    return Err("a command this model does not know".into());
                }
                let key = format!(
                    "{} {kind} {n}",
                    if object { "object" } else { "object-group" }
                );
                if self.uses(n, object) {
                    return Err(format!("{key} is in use"));
                }
                self.groups.remove(&key).ok_or(format!("no {key}"))?;
            }
            _ => return Err("a command this model does not know".into()),
        }
        Ok(())
    }

    /// IOS interface mode: bind or unbind a list.
    fn interface_line(
        &mut self,
        interface: &str,
        t: &[&str],
        unbound: &mut BTreeSet<(String, String)>,
    ) -> Result<(), String> {
        let key = |family: &str, dir: &str| (interface.to_string(), format!("{family} {dir}"));
        match t {
            ["ip", "access-group", n, dir] => {
                self.bindings.insert(key("ip", dir), n.to_string());
            }
            ["ipv6", "traffic-filter", n, dir] => {
                self.bindings.insert(key("ipv6", dir), n.to_string());
            }
            ["no", "ip", "access-group", n, dir] | ["no", "ipv6", "traffic-filter", n, dir] => {
                let k = key(if t[1] == "ip" { "ip" } else { "ipv6" }, dir);
                if self.bindings.get(&k).map(String::as_str) != Some(*n) {
                    return Err(format!("{n} is not bound there"));
                }
                self.bindings.remove(&k);
                unbound.insert(k);
            }
            ["exit"] => {}
            _ => return Err("an interface command this model does not know".into()),
        }
        Ok(())
    }

    /// An entry may only name object groups and objects that exist (both devices refuse).
    fn check_references(&self, t: &[&str]) -> Result<(), String> {
        for w in t.windows(2) {
            if w[0] == "object-group" {
                let exists = ["network", "service"].iter().any(|k| {
                    self.groups
                        .contains_key(&format!("object-group {k} {}", w[1]))
                });
                if !exists {
                    return Err(format!("object group {} does not exist", w[1]));
                }
            }
        }
        Ok(())
    }

    /// Whether a list entry (or, for an object, a group) names `name`.
    fn uses(&self, name: &str, object: bool) -> bool {
        if object {
            let member = format!("network-object object {name}");
            return self.groups.values().any(|m| m.contains(&member));
        }
        self.lists.values().flatten().any(|e| {
            e.split(' ')
                .collect::<Vec<_>>()
                .windows(2)
                .any(|w| w == ["object-group", name])
        })
    }

    /// The names without their generation, for comparing configurations of one content.
    fn names(&self) -> BTreeSet<String> {
        self.lists
            .keys()
            .cloned()
            .chain(self.groups.keys().cloned())
            .collect()
    }
}

/// Generate into `dir/file` (so that a file already there is the previous generation).
fn generate_to(dir: &std::path::Path, file: &str, args: &[String]) -> String {
    let mut all = vec!["generate"];
    all.extend(args.iter().map(String::as_str));
    all.extend(["-o", file]);
    let r = fwgen_in(dir, &all);
    assert_eq!(r.code, 0, "{all:?}: {}", r.stderr);
    std::fs::read_to_string(dir.join(file)).unwrap()
}

/// A site file in `dir` with the example site's addresses and `gateway`.
fn site(dir: &std::path::Path, name: &str, gateway: &str) -> String {
    let text = std::fs::read_to_string("examples/site.yaml")
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with("gateway:") {
                format!("gateway: {gateway}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.join(name), text).unwrap();
    name.to_string()
}

/// For IOS and the ASA: generation 1, then generation 2 (other features, and for IOS a
/// gateway that lost its IPv6 address, so an IPv6 slot is unbound), pasted in turn, give
/// the configuration of generation 2 pasted alone; every interface keeps a list at every
/// step; regenerating over the file gives the same bytes.
#[test]
fn pasting_generation_2_over_generation_1_leaves_exactly_generation_2() {
    for (backend, dialect, interfaces) in [
        (
            "cisco-ios",
            Dialect::Ios,
            &["--interface", "GigabitEthernet0/1"][..],
        ),
        (
            "cisco-asa",
            Dialect::Asa,
            &[
                "--interface",
                "dmz",
                "--ingress-interface",
                "outside,inside",
            ][..],
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let dual = site(d, "dual.yaml", "[192.0.2.25, 2001:db8:25::25]");
        let v4 = site(d, "v4.yaml", "[192.0.2.25]");
        let second = if dialect == Dialect::Ios { &v4 } else { &dual };
        let args = |site: &str, extra: &[&str]| -> Vec<String> {
            let mut a: Vec<String> = ["--site", site, "-b", backend].map(String::from).to_vec();
            a.extend(interfaces.iter().map(|s| s.to_string()));
            a.extend(extra.iter().map(|s| s.to_string()));
            a
        };

        let a1 = args(&dual, &[]);
        let a2 = args(second, &["-F", "pmm-full-mode,ssh-console"]);
        let gen1 = generate_to(d, "acl.txt", &a1);
        let gen2 = generate_to(d, "acl.txt", &a2);
        assert_ne!(gen1, gen2);
        assert!(gen2.contains("! fwgen replaces generation "), "{gen2}");

        let mut running = Running::default();
        running
            .paste(&gen1, dialect)
            .unwrap_or_else(|e| panic!("{backend} gen 1: {e}"));
        assert!(!running.bindings.is_empty());
        let first = running.clone();
        running
            .paste(&gen2, dialect)
            .unwrap_or_else(|e| panic!("{backend} gen 2: {e}\n{gen2}"));

        // Generation 2 alone, on a device with nothing of fwgen's.
        let mut alone_args = vec!["generate"];
        alone_args.extend(a2.iter().map(String::as_str));
        let r = fwgen_in(d, &alone_args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let alone_text = r.stdout;
        assert!(!alone_text.contains("replaces generation"));
        let mut alone = Running::default();
        alone.paste(&alone_text, dialect).unwrap();
        assert_eq!(running, alone, "{backend}: gen 1 + gen 2 is not gen 2");
        assert!(
            running.names().is_disjoint(&first.names()),
            "{backend}: a name survived"
        );
        for n in running.names() {
            let name = n.rsplit(' ').next().unwrap();
            assert!(
                name.len() <= 64,
                "{backend}: {name} is longer than the ASA takes"
            );
        }
        if dialect == Dialect::Ios {
            // The gateway lost IPv6: its slots were unbound, not left on a removed list.
            assert!(first.bindings.keys().any(|(_, s)| s.starts_with("ipv6")));
            assert!(!running.bindings.keys().any(|(_, s)| s.starts_with("ipv6")));
        }

        // The same inputs over the file just written: the same bytes.
        assert_eq!(generate_to(d, "acl.txt", &a2), gen2);
        // `--previous` names the applied file when the output goes elsewhere.
        let mut via = a2.clone();
        via.extend(["--previous".to_string(), "applied.txt".to_string()]);
        std::fs::write(d.join("applied.txt"), &gen1).unwrap();
        assert_eq!(generate_to(d, "other.txt", &via), gen2);
    }
}

/// The model refuses what the devices refuse, and what would leave an interface open.
#[test]
fn the_model_catches_unsafe_orders() {
    let ok_text = "object-group network FWGEN-GW-1\n host 192.0.2.1\n\
        ip access-list extended FWGEN-TO-GW-1\n permit tcp any object-group FWGEN-GW-1 eq 25\n\
        interface Gi0/1\n ip access-group FWGEN-TO-GW-1 out\n exit\n";
    let mut r = Running::default();
    r.paste(ok_text, Dialect::Ios).unwrap();
    for bad in [
        "no ip access-list extended FWGEN-TO-GW-1\n",
        "no object-group network FWGEN-GW-1\n",
        "interface Gi0/1\n ip access-group FWGEN-TO-GW-2 out\n",
        "ip access-list extended X\n permit ip any object-group NONE\n",
    ] {
        assert!(r.clone().paste(bad, Dialect::Ios).is_err(), "{bad}");
    }
    let mut a = Running::default();
    a.paste(
        "access-list L1 extended permit ip any any\naccess-group L1 in interface outside\n",
        Dialect::Asa,
    )
    .unwrap();
    // Removing the bound list leaves the interface without one.
    assert!(
        a.clone()
            .paste("clear configure access-list L1\n", Dialect::Asa)
            .is_err()
    );
}

/// `--previous` reads only a regular file that fwgen wrote, and never prints what another
/// file holds; options of the Cisco backends are refused by the others.
#[test]
fn previous_files_and_interfaces_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "enable secret 5 $1$SECRET\n").unwrap();
    let ios = [
        "generate",
        "--site",
        "examples/site.yaml",
        "-b",
        "cisco-ios",
    ];
    for (extra, want) in [
        (
            &["--previous", secret.to_str().unwrap()][..],
            "cannot read the previous generation: it is not a configuration fwgen wrote",
        ),
        (
            &["--previous", "/dev/zero"],
            "--previous /dev/zero: not a regular file",
        ),
        (
            &["--interface", "Gi0/1;reload"],
            "interface `Gi0/1;reload`: an interface name",
        ),
        (
            &["--ingress-interface", "outside"],
            "--ingress-interface is for -b cisco-asa",
        ),
    ] {
        let mut args = ios.to_vec();
        args.extend(extra);
        let r = crate::util::fwgen(&args);
        assert_eq!(r.code, 2, "{args:?}");
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("SECRET"), "{}", r.stderr);
    }
    let r = crate::util::fwgen(&[
        "generate",
        "--site",
        "examples/site.yaml",
        "-b",
        "nftables",
        "--interface",
        "eth0",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--interface, --previous are for Cisco"),
        "{}",
        r.stderr
    );
    // An IOS file is not the previous generation of an ASA one.
    let ios_file = dir.path().join("ios.txt");
    std::fs::write(&ios_file, crate::util::ok(&ios)).unwrap();
    let r = crate::util::fwgen(&[
        "generate",
        "--site",
        "examples/site.yaml",
        "-b",
        "cisco-asa",
        "--previous",
        ios_file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("belongs to the other Cisco dialect"),
        "{}",
        r.stderr
    );
}
