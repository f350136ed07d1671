//! `fwgen audit`: the selection's entries against an existing ruleset.

use crate::audit;
use crate::cli::{AuditArgs, DiffFormat};
use crate::error::{Error, Exit};
use crate::model::Catalogue;
use crate::render::Placement;
use crate::select::Request;

use super::Report;

pub(super) fn run(cat: &Catalogue, args: AuditArgs) -> Result<Report, Error> {
    let (request, site) = args.selection.request();
    let job = crate::job::Job {
        request: Request {
            gateway: args.gateway.iter().map(|a| a.net()).collect(),
            allow_unbound: args.unbound.allow_unbound,
            ..request
        },
        site,
        ip_ranges: args.ip_ranges.clone(),
        lock: args.lock.clone(),
        backend: crate::render::Backend::Json,
        options: crate::render::RenderOptions::default(),
        destination: crate::job::Destination::Stdout,
        dnsmasq: None,
        create_parents: false,
        previous: None,
    };
    let mut runner = crate::job::Runner::new(cat);
    let index = runner.select(&job)?;
    let Some(rules) = runner.ruleset(index) else {
        return Ok(Report::default());
    };
    if rules.gateway.is_empty() {
        return Err(Error::Usage(
            "audit needs the gateway's addresses: `gateway:` in the site file or --gateway ADDR"
                .into(),
        ));
    }
    let cisco = crate::audit::Interfaces {
        gateway: args.interface.clone().unwrap_or_default(),
        ingress: args.ingress_interface.clone(),
    };
    let mut files = Vec::new();
    for p in &args.ruleset {
        let path = p.display().to_string();
        let text = crate::yaml::read_text_within(p, audit::MAX_RULESET_BYTES).map_err(|e| {
            audit::ReadError::File {
                path: path.clone(),
                why: e.to_string(),
            }
        })?;
        files.push((path, text));
    }
    let (fw, syntax) = audit::read(&files, &rules.gateway, &cisco)?;
    // The texts are read into the rules: not kept while the audit runs.
    drop(files);
    if let audit::Syntax::Cisco { .. } = syntax
        && args.placement != Placement::Perimeter
    {
        return Err(Error::Usage(
            "a Cisco configuration filters traffic through a router or ASA in front of the \
                 gateway: audit it with --placement perimeter"
                .into(),
        ));
    }
    let placement: Placement = args.placement;
    let a = audit::audit(rules, placement, &fw, &cisco);
    let stdout = match args.format {
        _ if args.fix => audit::fix(&a, rules, placement, syntax),
        DiffFormat::Text => audit::text(&a),
        DiffFormat::Json => {
            let mut s = serde_json::to_string_pretty(&a).unwrap_or_default();
            s.push('\n');
            s
        }
        DiffFormat::Markdown => audit::markdown(&a),
    };
    let fails = a.failures() > 0 || (args.strict && !a.over_broad.is_empty());
    Ok(Report {
        stdout,
        notes: vec![format!("fwgen audit: {}", audit::summary(&a))],
        exit_code: if fails {
            Exit::OutOfDate
        } else {
            Exit::Success
        },
        ..Report::default()
    })
}
