//! Integration tests, compiled as one binary. Where a test belongs:
//!
//! - `util` (running fwgen, finding tools, loud skips), `tools` (the real loaders: `nft -c`,
//!   `iptables-restore`, firewalld's offline check), `powershell` (the Windows Firewall script
//!   through PowerShell's grammar) and `eval` (rule evaluators): helpers.
//! - `backends`: one module per backend with its snapshots (in `snapshots/BACKEND/`).
//! - One file per concern, named after it: `aerleon` (the export through Aerleon's aclgen:
//!   every target, structural checks, the exact audit of its nftables and iptables), `generate` (selection, determinism, output), `cisco` (ACL parsing with cisco-acl and the evaluator comparison), `report`
//!   (reviews, Chromium), `live` (packets through namespaces), `names` (ip-ranges, lock files,
//!   DNS-filled sets with a real dnsmasq), `least_privilege`, `messages` (what a run says is true), `outputs` and `hardening`
//!   (files, devices, hostile sizes), `signals` (what an interrupted run leaves behind), `hostile` (hostile text), `errors`
//!   (diagnostics snapshots), `pipeline` (manifests and `build`), `properties` (proptest),
//!   `readme` and `examples` (documentation stays true), `cli`, `coverage`,
//!   `fuzz_regressions`, `icmp` (a site's pings in every backend, live), `audit` (fwgen audit against real packets), `audit_exact` (the audit equals the kernel on generated rulesets), `audit_hostile` (what an
//!   audited box chooses: names, comments, table flags), `cisco_updates` (Cisco generations
//!   pasted over each other), `layers` (ARCHITECTURE.md's table is the import graph), `unbound` (unbound peers are errors
//!   by default; the rest of the suite runs with `--allow-unbound`, see `util::fwgen_in`).
//! - A new backend: its module in `backends`, its real-tool check in `tools`, its
//!   capabilities read from `Backend::description()` (never from its name).
//! - `ansible`: the fleet lab (the Ansible collection rolling out to gateways over SSH). It is
//!   the longest test (two to three minutes, mostly waiting on Ansible and SSH), and libtest
//!   starts tests in name order: named `fleet`, it started a third of the way in and ended
//!   last, 30 s or more after every other test.
//! - Unit tests of one module's internals stay in that module (`#[cfg(test)]`).

mod aerleon;
mod ansible;
mod apply;
mod apply_mixed;
mod audit;
mod audit_exact;
mod audit_hostile;
mod audit_styles;
mod backends;
mod cisco;
mod cisco_updates;
mod cli;
mod coverage;
mod errors;
mod eval;
mod examples;
mod fuzz_regressions;
mod generate;
mod hardening;
mod hostile;
mod icmp;
mod layers;
mod least_privilege;
mod live;
mod messages;
mod names;
mod outputs;
mod own_products;
mod pipeline;
mod powershell;
mod properties;
mod readme;
mod report;
mod signals;
mod site_entries;
mod site_init;
mod tools;
mod unbound;
mod util;
