//! The audit equals the kernel on rulesets written by hand in the styles administrators use:
//! the distributions' examples (Debian's and Arch's, with `ct state` verdict maps and
//! per-protocol chains), firewalld-like zones (`iifname` and jumps), routers (zones by
//! verdict map, masquerade, reverse-path filters), stateless rulesets that admit replies by
//! their source port, neighbour discovery by hop limit, tables of one family, bitwise
//! address masks, gotos, and iptables in its classic, fail2ban-like and Docker-like shapes.
//! Each is loaded into a lab, audited from what nft (or iptables-save) lists, and every
//! connection of every part is made with real packets: the audit's answer must be the
//! kernel's, and never unknown. (These were each compared by hand first; they guard what the
//! generated tests draw seldom or never.)

use super::audit_exact::{written_rulesets, written_saves};

/// On the gateway itself (host placement); `IFACE` is its interface.
const HOST: &[&str] = &[
    // Debian's and Arch's examples: a verdict map on the state, loopback, ICMP, services.
    "table inet filter {
  chain input { type filter hook input priority filter; policy drop;
    ct state vmap { invalid : drop, established : accept, related : accept }
    iif lo accept
    ip protocol icmp icmp type { echo-request, destination-unreachable, time-exceeded } accept
    meta l4proto ipv6-icmp accept
    tcp dport { 22, 1344, 80, 443 } ct state new accept
    udp dport 161 ip saddr 198.18.0.9 accept
    udp dport 161 ip6 saddr 2001:db8:f::9 accept
    counter reject with icmpx type admin-prohibited
  }
  chain forward { type filter hook forward priority filter; policy drop; }
  chain output { type filter hook output priority filter; policy accept; }
}",
    // Reverse-path filter, new connections that do not start with SYN, broadcasts.
    "table inet filter {
  chain pre { type filter hook prerouting priority raw; policy accept;
    fib saddr . iif oif missing drop
  }
  chain input { type filter hook input priority 0; policy accept;
    tcp flags & (fin|syn|rst|ack) != syn ct state new drop
    ct state new tcp flags != syn drop
    meta pkttype { broadcast, multicast } drop
  }
}",
    // Stateless: replies admitted by their source port (and TCP flags).
    "table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    udp sport 53 accept
    tcp sport 25 tcp flags & (syn|ack) == syn|ack accept
    tcp sport 25 tcp flags ack accept
    tcp dport 1344 accept
  }
  chain output { type filter hook output priority 0; policy drop;
    udp dport 53 accept
    tcp dport 25 accept
    tcp sport 1344 accept
  }
}",
    // Neighbour discovery by hop limit, link-local sources.
    "table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    ct state established,related accept
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } ip6 hoplimit 255 accept
    ip6 saddr fe80::/10 accept
    tcp dport 1344 accept
  }
}",
    // Two tables on one hook: an accept in the first does not pass the second.
    "table inet a {
  chain input { type filter hook input priority -10; policy accept;
    tcp dport 1344 accept
  }
}
table inet b {
  chain input { type filter hook input priority 10; policy drop;
    ct state established accept
    udp dport 161 accept
  }
}",
    // A table per family.
    "table ip f4 {
  chain input { type filter hook input priority 0; policy drop;
    ct state established,related accept
    tcp dport 1344 accept
  }
}
table ip6 f6 {
  chain output { type filter hook output priority 0; policy drop;
    ct state established,related accept
    udp dport 53 accept
  }
}",
    // A named set of address, protocol and port.
    "table inet filter {
  set svc4 { type ipv4_addr . inet_proto . inet_service; elements = { 198.18.0.9 . udp . 161, 198.18.0.3 . tcp . 1344 } }
  chain input { type filter hook input priority 0; policy drop;
    ct state established,related accept
    ip saddr . meta l4proto . th dport @svc4 accept
    ip6 saddr 2001:db8:f::0/120 accept
  }
}",
    // A route chain that drops.
    "table inet mangle {
  chain out { type route hook output priority mangle; policy accept;
    tcp dport 25 drop
  }
}",
    // Contradictions and double negations.
    "table inet filter {
  chain input { type filter hook input priority 0; policy accept;
    ip saddr 198.18.0.2 ip saddr 198.18.0.3 drop
    ip saddr != 198.18.0.2 ip saddr != 198.18.0.9 tcp dport 1344 drop
    ip6 saddr != 2001:db8:f::2 ip6 saddr != 2001:db8:f::9 tcp dport 1344 drop
  }
}",
    // firewalld's shape: zones by interface, pre/allow/post chains, gotos.
    "table inet fw {
  chain filter_INPUT { type filter hook input priority filter + 10; policy accept;
    ct state { established, related } accept
    ct status dnat accept
    iifname \"lo\" accept
    ct state invalid drop
    jump filter_INPUT_ZONES
    reject with icmpx admin-prohibited
  }
  chain filter_INPUT_ZONES {
    iifname \"IFACE\" goto filter_IN_public
    goto filter_IN_public
  }
  chain filter_IN_public {
    jump filter_IN_public_pre
    jump filter_IN_public_allow
    jump filter_IN_public_post
    meta l4proto { icmp, ipv6-icmp } accept
  }
  chain filter_IN_public_pre { }
  chain filter_IN_public_post { }
  chain filter_IN_public_allow {
    tcp dport 22 accept
    ip6 daddr fe80::/64 udp dport 546 accept
    tcp dport 1344 accept
    ip saddr 198.18.0.9 udp dport 161 accept
  }
  chain filter_OUTPUT { type filter hook output priority filter + 10; policy accept;
    ct state { established, related } accept
    oifname \"lo\" accept
    ip6 daddr { ::/96, ::ffff:0.0.0.0/96, 2002::/24, 2002:a00::/24 } reject with icmpv6 addr-unreachable
  }
}",
    // Bitwise masks on addresses.
    "table inet filter {
  chain input { type filter hook input priority 0; policy accept;
    ip saddr & 255.255.255.248 == 198.18.0.8 drop
    ip6 saddr & ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe == 2001:db8:f::2 tcp dport 443 drop
  }
}",
    // A verdict map on address and port; a negated port set.
    "table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    ct state established,related accept
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    ip saddr . tcp dport vmap { 198.18.0.2 . 443 : accept, 198.18.0.3 . 1344 : accept, 198.18.0.9 . 1344 : drop }
    tcp dport != { 22, 1344 } accept
  }
}",
    // Negated protocol sets, `nexthdr`, `ip protocol !=`.
    "table inet filter {
  chain input { type filter hook input priority 0; policy accept;
    meta l4proto != { tcp, udp, icmp, ipv6-icmp } drop
    ip6 nexthdr udp udp dport 161 drop
    ip protocol != tcp ip saddr 198.18.0.3 drop
  }
}",
    // Address ranges, and a source port below a bound.
    "table inet filter {
  chain output { type filter hook output priority 0; policy accept;
    ip daddr 198.18.0.1-198.18.0.2 udp dport 53 drop
    ip daddr 198.18.0.3 udp sport < 40000 drop
  }
}",
    // A goto two chains deep, `return` back.
    "table inet filter {
  chain a {
    ip saddr 198.18.0.2 goto b
    ip6 saddr 2001:db8:f::2 goto b
    return
  }
  chain b {
    tcp dport 443 drop
    accept
  }
  chain input { type filter hook input priority 0; policy accept;
    jump a
    tcp dport 443 drop
  }
}",
    // New connections admitted inbound only; established ones both ways.
    "table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    ct state new tcp dport 1344 accept
    ct state established accept
  }
  chain output { type filter hook output priority 0; policy drop;
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    ct state established accept
  }
}",
];

/// On a firewall between the peers and the gateway (perimeter placement): `IFACE` faces the
/// gateway, `INGRESS` the peers.
const PERIMETER: &[&str] = &[
    // Zones by a verdict map on the input interface.
    "table inet filter {
  chain from_peers {
    ip daddr 198.18.2.2 tcp dport { 1344, 443 } accept
    ip6 daddr 2001:db8:2::2 tcp dport { 1344, 443 } accept
    ip saddr 198.18.0.9 udp dport 161 accept
  }
  chain from_gw {
    udp dport 53 accept
    tcp dport 25 accept
  }
  chain forward { type filter hook forward priority filter; policy drop;
    ct state vmap { established : accept, related : accept, invalid : drop }
    iifname vmap { \"INGRESS\" : jump from_peers, \"IFACE\" : jump from_gw }
  }
}",
    // A router that masquerades toward the peers.
    "table inet filter {
  chain forward { type filter hook forward priority 0; policy drop;
    ct state established,related accept
    oifname \"IFACE\" tcp dport 1344 accept
    iifname \"IFACE\" oifname \"INGRESS\" accept
  }
}
table ip nat {
  chain post { type nat hook postrouting priority srcnat; policy accept;
    oifname \"INGRESS\" masquerade
  }
}",
    // Address types and the reverse path before routing; unicast only forward.
    "table inet filter {
  chain pre { type filter hook prerouting priority -150; policy accept;
    fib daddr type { broadcast, multicast, anycast } drop
    fib saddr . iif oif missing drop
  }
  chain forward { type filter hook forward priority 0; policy accept;
    meta pkttype host ip saddr 203.0.113.0/24 drop
    ip6 saddr 2001:db8:ffff::/48 drop
  }
}",
    // Stateless both ways, by interface and port.
    "table inet filter {
  chain forward { type filter hook forward priority 0; policy drop;
    oifname \"IFACE\" tcp dport 1344 accept
    iifname \"IFACE\" tcp sport 1344 accept
    oifname \"INGRESS\" udp dport 53 accept
    iifname \"INGRESS\" udp sport 53 accept
  }
}",
];

/// An ip6tables-save text that admits everything forwarded and received.
const V6_OPEN: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
";

/// iptables on the gateway: the classic host firewall, a fail2ban-like chain, raw and mangle
/// tables, and the usual TCP flag guards.
const HOST_SAVES: &[(&str, &str)] = &[
    (
        "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 22,443,1344 -m conntrack --ctstate NEW -j ACCEPT
-A INPUT -s 198.18.0.9/32 -p udp -m udp --dport 161 -j ACCEPT
-A INPUT -j LOG --log-prefix \"dropped: \"
-A INPUT -j REJECT --reject-with icmp-host-prohibited
COMMIT
",
        V6_OPEN,
    ),
    (
        "*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:f2b-guard - [0:0]
-A INPUT -p tcp -m multiport --dports 443,1344 -j f2b-guard
-A f2b-guard -s 198.18.0.3/32 -j REJECT --reject-with icmp-port-unreachable
-A f2b-guard -j RETURN
COMMIT
",
        V6_OPEN,
    ),
    (
        "*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp --dport 161 -j CT --notrack
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -m conntrack --ctstate INVALID -j DROP
-A PREROUTING -p tcp ! --syn -m conntrack --ctstate NEW -j DROP
-A PREROUTING -s 203.0.113.0/24 -j DROP
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp --dport 1344 -j ACCEPT
COMMIT
",
        V6_OPEN,
    ),
    (
        "*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp --tcp-flags ALL NONE -j DROP
-A INPUT -p tcp --tcp-flags SYN,FIN SYN,FIN -j DROP
-A INPUT -p tcp --tcp-flags SYN,RST SYN,RST -j DROP
-A INPUT -p tcp --tcp-flags ALL ALL -j DROP
-A INPUT -p tcp ! --syn -m state --state NEW -j DROP
-A INPUT -p tcp --dport 443 -j REJECT --reject-with tcp-reset
-A OUTPUT -p udp --dport 53 -d 198.18.0.3 -j DROP
COMMIT
",
        V6_OPEN,
    ),
];

/// iptables on a firewall: Docker-like chains (a user chain first, isolation, then the
/// state and the services), and a stateless forward with a mangle drop and masquerade.
const PERIMETER_SAVES: &[(&str, &str)] = &[
    (
        "*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:USER - [0:0]
:ISOLATE - [0:0]
-A FORWARD -j USER
-A FORWARD -j ISOLATE
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -i INGRESS -o IFACE -p tcp -m multiport --dports 1344,443 -j ACCEPT
-A FORWARD -i IFACE -o INGRESS -p udp --dport 53 -j ACCEPT
-A FORWARD -i IFACE -o INGRESS -p tcp --dport 25 -j ACCEPT
-A USER -s 203.0.113.0/24 -j DROP
-A USER -j RETURN
-A ISOLATE -i IFACE -o IFACE -j DROP
-A ISOLATE -j RETURN
COMMIT
",
        "*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -i INGRESS -o IFACE -p tcp --dport 1344 -j ACCEPT
-A FORWARD -p ipv6-icmp -j ACCEPT
COMMIT
",
    ),
    (
        "*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A FORWARD -p udp --dport 161 -j DROP
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -o IFACE -p tcp --sport 1024:65535 --dport 443 -j ACCEPT
-A FORWARD -o IFACE -p tcp --dport 443 -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o INGRESS -j MASQUERADE
COMMIT
",
        V6_OPEN,
    ),
];

/// Each ruleset compared with the kernel on more than 20 connections (`None`: the lab could
/// not start, and said why). One test function per lab: they run in parallel.
fn compared_each(compared: Option<usize>, rulesets: usize) {
    if let Some(compared) = compared {
        assert!(compared > 20 * rulesets, "{compared} compared");
    }
}

#[test]
fn hand_written_nftables_rulesets_on_the_gateway() {
    compared_each(written_rulesets(("sh", false), HOST), HOST.len());
}

#[test]
fn hand_written_nftables_rulesets_on_a_firewall() {
    compared_each(written_rulesets(("sp", true), PERIMETER), PERIMETER.len());
}

#[test]
fn hand_written_iptables_rulesets_on_the_gateway() {
    compared_each(written_saves(("si", false), HOST_SAVES), HOST_SAVES.len());
}

#[test]
fn hand_written_iptables_rulesets_on_a_firewall() {
    compared_each(
        written_saves(("sf", true), PERIMETER_SAVES),
        PERIMETER_SAVES.len(),
    );
}
