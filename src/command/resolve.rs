//! `fwgen resolve`: the A and AAAA records of the host names a selection needs, as a lock
//! file that `generate --lock` binds.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use crate::cli::ResolveArgs;
use crate::error::Error;
use crate::model::Catalogue;
use crate::names::Lock;
use crate::names::resolve::{parse_server, resolve, system_server};
use crate::output::{Mode, Planned, apply};
use crate::select::select;
use crate::site::Site;

use super::Report;

pub(super) fn run(cat: &Catalogue, args: ResolveArgs) -> Result<Report, Error> {
    // What the lock file is for: the names nothing else binds. An earlier lock file must
    // not hide them (and the one the site file names may not exist yet).
    let (req, site_path) = args.selection.request();
    let mut site = match &site_path {
        Some(p) => Site::load_for_resolve(p)?,
        None => Site::default(),
    };
    site.use_files(args.ip_ranges.as_deref(), None)?;
    // The unbound host groups are what it looks up.
    let req = crate::select::Request {
        allow_unbound: true,
        ..req
    };
    let rules = select(cat, &site, &req)?;
    let mut hosts: Vec<&String> = rules
        .rules
        .iter()
        .flat_map(|r| r.peers.unresolved.iter())
        .collect();
    hosts.sort();
    hosts.dedup();

    let server = dns_server(args.dns_server.as_deref())?;

    let mut found: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    let mut failed = Vec::new();
    for h in &hosts {
        match resolve(server, h) {
            Ok(addrs) => {
                found.insert(crate::names::host_key(h), addrs);
            }
            Err(e) => failed.push(e.to_string()),
        }
    }
    if !failed.is_empty() {
        return Err(Error::Usage(format!(
            "fwgen resolve: {} of {} host names have no address (no lock file written):\n  {}",
            failed.len(),
            hosts.len(),
            failed.join("\n  ")
        )));
    }
    let text = Lock::render(&found, &server.to_string());
    let mut report = Report::default();
    if let Some(w) = groups_without_names(&rules) {
        report.warnings.push(w);
    }
    // Written as answered (the lock file records DNS), but said now, with the name.
    for (host, addrs) in &found {
        for &ip in addrs {
            if let Some(what) = crate::names::special_purpose(ip) {
                report.warnings.push(format!(
                    "`{host}` answered {ip}, which is {what}: written to the lock file as \
                     answered; `generate` warns when it binds it and `--strict` refuses it"
                ));
            }
        }
    }
    let summary = format!(
        "fwgen: {} host names resolved through {server}: {} addresses",
        found.len(),
        found.values().map(Vec::len).sum::<usize>()
    );
    write(args.output.as_deref(), args.check, text, &mut report)?;
    report.notes.push(summary);
    Ok(report)
}

/// `--dns-server ADDR[:PORT]`, or the first nameserver of /etc/resolv.conf.
fn dns_server(arg: Option<&str>) -> Result<std::net::SocketAddr, Error> {
    match arg {
        Some(s) => parse_server(s).map_err(Error::Usage),
        None => {
            let conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
            system_server(&conf).ok_or_else(|| {
                Error::Usage("no --dns-server given and no nameserver in /etc/resolv.conf".into())
            })
        }
    }
}

/// The warning for groups left without an address that have no host name to look up.
fn groups_without_names(rules: &crate::ruleset::Ruleset) -> Option<String> {
    let groups_left: Vec<String> = rules
        .rules
        .iter()
        .flat_map(|r| r.any.iter())
        .filter_map(|a| match a {
            crate::ruleset::AnyReason::UnboundGroup { group } => Some(group.clone()),
            _ => None,
        })
        .filter(|g| {
            rules
                .selected
                .iter()
                .any(|s| s.peer == format!("group {g}") && s.hosts.is_empty())
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    (!groups_left.is_empty()).then(|| {
        format!(
            "host groups {} have no host name to look up: bind them under `hosts:` in the site file",
            groups_left.join(", ")
        )
    })
}

/// A lock file's answers: its text from the `hosts:` line on (the header before it names the
/// resolver and the version of fwgen that wrote it).
fn answers(text: &str) -> Option<&str> {
    let at = text
        .match_indices("hosts:")
        .find(|(i, _)| *i == 0 || text.as_bytes().get(i - 1) == Some(&b'\n'))?
        .0;
    text.get(at..)
}

/// The lock file to standard output, or to `output` (compared, with `check`).
fn write(
    output: Option<&Path>,
    check: bool,
    text: String,
    report: &mut Report,
) -> Result<(), Error> {
    match output {
        None => {
            report.stdout = text;
        }
        Some(p) if p == Path::new("-") => report.stdout = text,
        Some(path) => {
            let mode = if check { Mode::Check } else { Mode::Write };
            // `--check` compares the answers: a lock file written through another resolver
            // (the administrator's, then CI's) with the same answers is up to date.
            let mut text = text;
            if check
                && let Some(old) = crate::output::existing_text(path)
                && answers(&old).is_some()
                && answers(&old) == answers(&text)
            {
                text = old;
            }
            let applied = apply(
                &[Planned {
                    path: path.to_path_buf(),
                    contents: text,
                }],
                &[],
                mode,
            )?;
            for p in &applied.written {
                report.notes.push(format!("wrote {}", p.display()));
            }
            for p in &applied.unchanged {
                report.notes.push(format!("{} is up to date", p.display()));
            }
            report.stale(&applied, ": the answers have moved");
        }
    }
    Ok(())
}
