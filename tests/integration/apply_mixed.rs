//! `fwgen apply` on a host where iptables and nftables both hold tables: iptables-nft (Docker,
//! fail2ban, a distribution's iptables service) beside nftables' own tables. The kernel runs
//! every table; the proof must read every table, and a rollback must not touch what fwgen
//! did not change.

use crate::apply::{apply, lab, listing, new_ruleset, reach, status_saying};

/// A table of nftables' own that drops the web interface, as `nft -f` loads it.
const DROPS_443: &str = "nft add table inet other; nft add chain inet other input '{ type filter \
                         hook input priority -10; policy accept; }'; nft add rule inet other \
                         input tcp dport 443 drop";

/// The iptables backend beside a table of nftables' own that drops 443: the live audit reads
/// that table too, so neither the dry run nor the apply calls the web interface admitted, and
/// the apply is rolled back. Before, only iptables-save was audited: "13 admitted, proven
/// live" while the kernel dropped the web interface.
#[test]
fn iptables_is_proven_with_the_tables_nftables_holds_beside_it() {
    let Some((lab, _server, state)) = lab("mx") else {
        return;
    };
    lab.sh(&lab.gw, DROPS_443);
    let other = lab.sh(&lab.gw, "nft list table inet other");
    let before = listing(&lab, "iptables");
    let (code, out, err) = new_ruleset(&lab, state.path(), "iptables", &["--dry-run"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("blocked   web-ui"), "{out}");
    assert!(out.contains("rule inet other input"), "{out}");
    let (code, out, err) = new_ruleset(&lab, state.path(), "iptables", &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("blocked   web-ui"), "{out}");
    assert!(err.contains("the live audit failed"), "{err}");
    assert_eq!(listing(&lab, "iptables"), before, "iptables restored");
    assert_eq!(lab.sh(&lab.gw, "nft list table inet other"), other);
}

/// The nftables backend on a host where iptables-nft holds rules nft lists only as `xt` and
/// cannot load back (fail2ban's `-m set`): the result is modelled with each table loaded by
/// its own tool, applied and proven with iptables' tables read from iptables-save; the guard's
/// rollback puts back fwgen's table alone, so iptables' rules stay as they were and a table
/// another tool adds meanwhile stays too. A ban of the admin client is then seen by the live
/// audit, and rolled back. Before, every apply on such a host failed ("syntax error,
/// unexpected set"), and a rollback flushed the whole ruleset.
#[test]
fn nftables_beside_iptables_rules_nft_cannot_load() {
    let Some((lab, _server, state)) = lab("my") else {
        return;
    };
    lab.sh(
        &lab.gw,
        "ipset create f2b hash:ip; ipset add f2b 203.0.113.7; iptables -A INPUT -p tcp -m \
         multiport --dports 22,443 -m set --match-set f2b src -j REJECT",
    );
    let nft_before = listing(&lab, "nftables");
    let ipt_before = listing(&lab, "iptables");
    assert!(nft_before.contains("xt match"), "{nft_before}");
    let (code, out, err) = new_ruleset(&lab, state.path(), "nftables", &["--confirm-within", "8"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("applied and proven live"), "{err}");
    assert!(out.contains("13 entries: 13 admitted"), "{out}");
    assert_eq!(reach(&lab), (true, false), "live: the admin only");
    // Another tool's table, made while the apply is unconfirmed.
    lab.sh(&lab.gw, "nft add table ip another-tool");
    status_saying(&lab, state.path(), "rolled back by the guard", 30);
    let tables = lab.sh(&lab.gw, "nft list tables");
    assert!(tables.contains("table ip another-tool"), "{tables}");
    assert!(!tables.contains("table inet fwgen"), "{tables}");
    assert_eq!(
        listing(&lab, "iptables"),
        ipt_before,
        "iptables' rules untouched"
    );
    assert_eq!(reach(&lab), (true, true), "restored: open again");
    lab.sh(&lab.gw, "nft delete table ip another-tool");
    assert_eq!(listing(&lab, "nftables"), nft_before);

    // The admin client banned: the web interface is not admitted for it.
    lab.sh(&lab.gw, "ipset add f2b 198.18.0.2");
    let before = listing(&lab, "nftables");
    let (code, out, err) = new_ruleset(&lab, state.path(), "nftables", &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(!out.contains("admitted  web-ui"), "{out}");
    assert!(err.contains("the live audit failed"), "{err}");
    assert!(err.contains("byte-equal"), "{err}");
    assert_eq!(listing(&lab, "nftables"), before);
    let (_, status, _) = apply(&lab, state.path(), &["--status"], None);
    assert!(status.starts_with("rolled back:"), "{status}");
}

/// A rollback re-creates fwgen's table; where the snapshot had another table after it (made
/// after an earlier apply) and nothing else changed, that table is re-created after it, so
/// the listing is byte-equal to the snapshot's again, order included.
#[test]
fn a_rollback_keeps_the_order_of_the_tables() {
    let Some((lab, _server, state)) = lab("mz") else {
        return;
    };
    let (code, out, err) = new_ruleset(&lab, state.path(), "nftables", &["--auto-confirm"]);
    assert_eq!(code, 0, "{out}{err}");
    lab.sh(
        &lab.gw,
        "nft add table inet later; nft add set inet later s '{ type ipv4_addr; }'",
    );
    let before = listing(&lab, "nftables");
    assert!(
        before.find("table inet fwgen") < before.find("table inet later"),
        "{before}"
    );
    let narrower = ["--no-default-features"];
    let (code, out, err) = new_ruleset(&lab, state.path(), "nftables", &narrower);
    assert_eq!(code, 0, "{out}{err}");
    assert_ne!(listing(&lab, "nftables"), before);
    let (code, _, err) = apply(&lab, state.path(), &["--rollback"], None);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("byte-equal to the snapshot"), "{err}");
    assert_eq!(listing(&lab, "nftables"), before);
}

/// iptables-restore replaces a table whole: on a host where another tool keeps chains in
/// iptables' filter table (Docker's `DOCKER-USER`, fail2ban's `f2b-sshd`), the iptables
/// backend refuses to remove them, naming them, and changes nothing; the dry run warns;
/// `--force` replaces them, and the rollback brings them back. Before, they went silently.
#[test]
fn iptables_does_not_remove_another_tools_chains_unasked() {
    let Some((lab, _server, state)) = lab("mw") else {
        return;
    };
    lab.sh(
        &lab.gw,
        "iptables -N DOCKER-USER; iptables -A FORWARD -j DOCKER-USER; iptables -N f2b-sshd; \
         iptables -A f2b-sshd -j RETURN; iptables -A INPUT -p tcp --dport 22 -j f2b-sshd",
    );
    let before = listing(&lab, "iptables");
    let (code, out, err) = new_ruleset(&lab, state.path(), "iptables", &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("DOCKER-USER (filter), f2b-sshd (filter)") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(listing(&lab, "iptables"), before, "nothing changed");
    let (code, out, err) = new_ruleset(&lab, state.path(), "iptables", &["--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("warning: iptables-restore replaces"), "{err}");
    let (code, out, err) = new_ruleset(&lab, state.path(), "iptables", &["--force"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!listing(&lab, "iptables").contains("DOCKER-USER"));
    let (code, _, err) = apply(&lab, state.path(), &["--rollback"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(listing(&lab, "iptables"), before, "restored");
}

/// Docker's iptables rules as Docker 24 writes them for one container that publishes no
/// port.
const DOCKER: &str = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
:POSTROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n\
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n\
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER\n\
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n\
-A DOCKER -i docker0 -j RETURN\n\
COMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
:DOCKER - [0:0]\n:DOCKER-ISOLATION-STAGE-1 - [0:0]\n:DOCKER-ISOLATION-STAGE-2 - [0:0]\n\
:DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-ISOLATION-STAGE-1\n\
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A FORWARD -o docker0 -j DOCKER\n-A FORWARD -i docker0 ! -o docker0 -j ACCEPT\n\
-A FORWARD -i docker0 -o docker0 -j ACCEPT\n\
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2\n\
-A DOCKER-ISOLATION-STAGE-1 -j RETURN\n-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP\n\
-A DOCKER-ISOLATION-STAGE-2 -j RETURN\n-A DOCKER-USER -j RETURN\nCOMMIT\n";

/// On a Docker host (its iptables-nft rules above, nat chains matching `-i docker0`), the
/// nftables backend is applied and proven: the interface the gateway's address is on is what
/// interface matches see, found by apply itself, so Docker's rules are decided, and they stay
/// as they were. Before, without `--interface`, three entries were unknown and the apply was
/// rolled back. A container that then publishes a port (Docker's DNAT) is a connection the
/// audit cannot decide: the live audit says so, naming Docker's rule, and rolls back.
#[test]
fn nftables_is_proven_on_a_docker_host() {
    let Some((lab, _server, state)) = lab("md") else {
        return;
    };
    lab.feed(&lab.gw, &["iptables-restore"], DOCKER);
    let docker = listing(&lab, "iptables");
    let before = listing(&lab, "nftables");
    // The dry run's difference adds fwgen's table and changes nothing of Docker's.
    let (code, out, err) = new_ruleset(&lab, state.path(), "nftables", &["--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    let changed: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .collect();
    assert!(
        changed.is_empty() && out.contains("+table inet fwgen {"),
        "{out}"
    );
    let (code, out, err) = new_ruleset(&lab, state.path(), "nftables", &["--auto-confirm"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("interface matches: the gateway's addresses"),
        "{err}"
    );
    assert!(out.contains("13 entries: 13 admitted"), "{out}");
    assert_eq!(reach(&lab), (true, false), "live: the admin only");
    assert_eq!(
        listing(&lab, "iptables"),
        docker,
        "Docker's rules as they were"
    );
    let (code, _, err) = apply(&lab, state.path(), &["--rollback"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(listing(&lab, "nftables"), before);

    lab.sh(
        &lab.gw,
        "iptables -t nat -A DOCKER ! -i docker0 -p tcp --dport 8080 -j DNAT --to-destination \
         172.17.0.2:80",
    );
    let before = listing(&lab, "nftables");
    let (code, out, err) = new_ruleset(&lab, state.path(), "nftables", &["--auto-confirm"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("over-broad: in tcp 8080 any IPv4 address -> 198.18.0.1 may be admitted")
            && out.contains("rule ip nat DOCKER"),
        "{out}"
    );
    assert!(err.contains("the live audit failed"), "{err}");
    assert_eq!(listing(&lab, "nftables"), before);
}

/// iptables-legacy's tables beside iptables-nft's: the kernel runs them, but neither nft nor
/// iptables-nft's save shows them (it warns on standard error only). apply refuses, naming
/// them, and changes nothing. Before, it applied and called the web interface admitted while
/// a legacy rule dropped it.
#[test]
fn iptables_legacy_tables_beside_are_refused() {
    if !crate::util::have_tools(&["iptables-legacy", "iptables-legacy-save"]) {
        return;
    }
    let Some((lab, _server, state)) = lab("ml") else {
        return;
    };
    lab.sh(
        &lab.gw,
        "iptables-legacy -A INPUT -p tcp --dport 443 -j DROP",
    );
    let before = listing(&lab, "nftables");
    for backend in ["nftables", "iptables"] {
        let (code, out, err) = new_ruleset(&lab, state.path(), backend, &[]);
        assert_eq!(code, 2, "{backend}: {out}{err}");
        assert!(
            err.contains("iptables-legacy tables (filter)") && err.contains("Nothing was changed"),
            "{err}"
        );
        assert_eq!(listing(&lab, "nftables"), before);
    }
}

/// A name in the live ruleset that nft lists as other statements (anyone with CAP_NET_ADMIN
/// can name a chain so, through nft's JSON): its listing `include`s a file, which loading it
/// would read, and nft's error would print. apply refuses before loading anything, naming
/// the chain, and prints nothing of the file. Before, the model's error showed its first line.
#[test]
fn a_name_that_lists_as_statements_is_refused_unread() {
    let Some((lab, _server, state)) = lab("mn") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s3cr3t-m4rk3r\n").unwrap();
    let hostile = serde_json::json!({"nftables": [
        {"add": {"table": {"family": "inet", "name": "t"}}},
        {"add": {"chain": {"family": "inet", "table": "t",
            "name": format!("x {{\ninclude \"{}\"\nchain y", secret.display())}}},
    ]});
    lab.feed(&lab.gw, &["nft", "-j", "-f", "-"], &hostile.to_string());
    let before = listing(&lab, "nftables");
    assert!(before.contains("\ninclude \""), "{before}");
    for backend in ["nftables", "iptables"] {
        for more in [&["--dry-run"][..], &[]] {
            let (code, out, err) = new_ruleset(&lab, state.path(), backend, more);
            assert_eq!(code, 2, "{backend} {more:?}: {out}{err}");
            assert!(
                !out.contains("s3cr3t") && !err.contains("s3cr3t"),
                "{out}{err}"
            );
            assert!(err.contains("a chain named `x {"), "{err}");
            assert_eq!(listing(&lab, "nftables"), before);
        }
    }
}

/// iptables: an apply over an earlier generation, rolled back. The apply destroys the earlier
/// generation's content-named sets once no rule uses them; the rollback must bring them back
/// before the rules that match them, and leave sets of other tools (fail2ban's, made while
/// the apply was unconfirmed and in use by its rule) and tables fwgen does not write (nat) as
/// they are.
#[test]
fn iptables_rolls_back_over_an_earlier_generation_and_leaves_others() {
    let Some((lab, _server, state)) = lab("mg") else {
        return;
    };
    let (code, out, err) = new_ruleset(&lab, state.path(), "iptables", &["--auto-confirm"]);
    assert_eq!(code, 0, "{out}{err}");
    let before = listing(&lab, "iptables");
    let narrower = ["--no-default-features"];
    let (code, out, err) = new_ruleset(&lab, state.path(), "iptables", &narrower);
    assert_eq!(code, 0, "{out}{err}");
    assert_ne!(listing(&lab, "iptables"), before);
    // Another tool, while the apply is unconfirmed: a set in use by its rule (in mangle),
    // and a nat rule.
    lab.sh(
        &lab.gw,
        "ipset create f2b-late hash:ip; iptables -t nat -A POSTROUTING -s 172.17.0.0/16 -j \
         MASQUERADE; iptables -t mangle -A PREROUTING -m set --match-set f2b-late src -j DROP",
    );
    let (code, _, err) = apply(&lab, state.path(), &["--rollback"], None);
    assert_eq!(code, 0, "{err}");
    let now = listing(&lab, "iptables");
    assert!(now.contains("create f2b-late"), "{now}");
    assert!(
        now.contains("-A POSTROUTING -s 172.17.0.0/16 -j MASQUERADE"),
        "{now}"
    );
    assert!(now.contains("--match-set f2b-late src -j DROP"), "{now}");
    // Without the other tool's, it is the earlier generation as it was.
    lab.sh(
        &lab.gw,
        "nft delete table ip nat; nft delete table ip mangle; ipset destroy f2b-late",
    );
    assert_eq!(listing(&lab, "iptables"), before);
}

/// Switching backends: fwgen's rules of the earlier apply stay live and filter too, so each
/// apply says so, naming how to remove them (both ways).
#[test]
fn switching_backends_says_the_earlier_rules_stay() {
    let Some((lab, _server, state)) = lab("ms") else {
        return;
    };
    for (first, then, says) in [
        (
            "iptables",
            "nftables",
            "fwgen's iptables rules (an earlier apply -b iptables)",
        ),
        (
            "nftables",
            "iptables",
            "fwgen's nftables table (an earlier apply -b nftables)",
        ),
    ] {
        lab.sh(
            &lab.gw,
            "nft flush ruleset; ipset destroy 2>/dev/null; true",
        );
        let (code, out, err) = new_ruleset(&lab, state.path(), first, &["--auto-confirm"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(!err.contains("warning: fwgen's"), "{err}");
        let (_, out, err) = new_ruleset(&lab, state.path(), then, &["--dry-run"]);
        assert!(err.contains(says), "{first} then {then}: {out}{err}");
    }
}
