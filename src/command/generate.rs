//! `fwgen generate`: the command line as one [`Job`].

use crate::cli::GenerateArgs;
use crate::error::Error;
use crate::job::{Destination, Job, Runner};
use crate::output::{Mode, apply};
use crate::render::RenderOptions;
use crate::select::Request;
use crate::site::Site;

use super::{CatalogueSource, Report};

/// The job the flags describe.
fn job(args: GenerateArgs) -> Job {
    // `-o -` is standard output, as for most tools.
    let destination = match (args.output, args.output_dir) {
        (_, Some(dir)) => Destination::Directory(dir),
        (Some(p), None) if p.as_os_str() != "-" => Destination::Output(p),
        _ => Destination::Stdout,
    };
    let (request, site) = args.selection.request();
    Job {
        request: Request {
            gateway: args.gateway.iter().map(|a| a.net()).collect(),
            strict: args.strict,
            allow_unbound: args.unbound.allow_unbound,
            names: args.names.unwrap_or_default(),
            ..request
        },
        site,
        ip_ranges: args.ip_ranges,
        lock: args.lock,
        backend: args.backend,
        options: RenderOptions {
            placement: args.placement,
            log_drops: args.log_drops,
            policy: args.policy,
            windows: crate::render::WindowsOptions {
                profiles: args.windows_profile,
                policy_store: args.policy_store,
            },
            cisco: crate::render::CiscoOptions {
                interface: args.interface,
                ingress: args.ingress_interface,
                previous: None,
            },
            aerleon: crate::render::AerleonOptions {
                targets: args.aerleon_target,
                zone_inside: args.zone_inside,
                zone_outside: args.zone_outside,
            },
            // Set from the destination when rendering.
            output_name: None,
        },
        previous: args.previous,
        destination,
        dnsmasq: args.dnsmasq,
        create_parents: false,
    }
}

/// Read the site first: it names the product version, and only that part of the catalogue is
/// read.
pub(crate) fn run(source: &CatalogueSource, args: GenerateArgs) -> Result<Report, Error> {
    let mode = if args.check { Mode::Check } else { Mode::Write };
    let job = job(args);
    let site = job.site.as_deref().map(Site::load).transpose()?;
    let product = job
        .request
        .product
        .as_deref()
        .or_else(|| site.as_ref().and_then(|s| s.product.as_deref()));
    let version = job
        .request
        .version
        .as_deref()
        .or_else(|| site.as_ref().and_then(|s| s.version.as_deref()));
    let cat = source.load_for(product, version)?;
    let mut runner = Runner::new(&cat);
    if let (Some(path), Some(site)) = (&job.site, site) {
        runner.add_site(path, site);
    }
    let index = runner.select(&job)?;
    // The ruleset owns what it needs: the catalogue goes before rendering.
    let Some(rules) = runner.into_rulesets().into_iter().nth(index).flatten() else {
        return Ok(Report::default());
    };
    drop(cat);
    let done = crate::job::render(&job, &rules)?;
    let mut report = Report {
        warnings: done.warnings.clone(),
        ..Report::default()
    };
    let plan = crate::job::plan(&job, done, mode)?;
    let applied = apply(&plan.files, &plan.obsolete, mode)?;
    let n = rules.rules.len();
    for p in &applied.written {
        let owned_list = p
            .file_name()
            .is_some_and(|f| f == crate::output::OWNED_LIST);
        report.notes.push(if owned_list {
            format!(
                "wrote {} (the list of files fwgen wrote there)",
                p.display()
            )
        } else if job.dnsmasq.as_ref() == Some(p) {
            format!("wrote {}", p.display())
        } else {
            format!("wrote {} ({n} rules)", p.display())
        });
    }
    for p in &applied.unchanged {
        report.notes.push(format!("{} is up to date", p.display()));
    }
    for p in &applied.removed {
        report
            .notes
            .push(format!("removed {} (no longer generated)", p.display()));
    }
    report.stale(&applied, "");
    report.stdout = plan.stdout.unwrap_or_default();
    // Last on standard error: how much of the ruleset is open to any address.
    report.notes.push(format!("fwgen: {}", rules.any_summary()));
    Ok(report)
}
