//! `fwgen apply`: the selection rendered for this host's firewall and handed to
//! [`crate::apply`]; `--confirm`, `--rollback`, `--status` and the guard need no selection.

use std::io::IsTerminal;

use crate::apply::{self, Backend, Outcome, Request};
use crate::cli::{ApplyArgs, ApplyBackend};
use crate::error::{Error, Exit};
use crate::render::{Output, RenderOptions};
use crate::select::Request as Selection;

use super::{CatalogueSource, Report};

fn report(o: Outcome) -> Report {
    Report {
        stdout: o.stdout,
        notes: o.notes,
        exit_code: if o.failed {
            Exit::OutOfDate
        } else {
            Exit::Success
        },
        ..Report::default()
    }
}

/// The job of rendering the selection for `render_as`.
fn job(args: &ApplyArgs, render_as: crate::render::Backend) -> crate::job::Job {
    let (request, site) = args.selection.clone().request();
    crate::job::Job {
        request: Selection {
            gateway: args.gateway.iter().map(|a| a.net()).collect(),
            strict: args.strict,
            allow_unbound: args.unbound.allow_unbound,
            ..request
        },
        site,
        ip_ranges: args.ip_ranges.clone(),
        lock: args.lock.clone(),
        backend: render_as,
        options: RenderOptions {
            placement: args.placement,
            log_drops: args.log_drops,
            ..RenderOptions::default()
        },
        destination: crate::job::Destination::Stdout,
        dnsmasq: None,
        create_parents: false,
        previous: None,
    }
}

/// firewalld: the same selection as nftables, for what is decided before firewalld has made
/// its rules.
fn model(
    args: &ApplyArgs,
    backend: &Backend,
    rules: &crate::ruleset::Ruleset,
) -> Result<Option<String>, Error> {
    let Backend::Firewalld(_) = backend else {
        return Ok(None);
    };
    let nft = job(args, crate::render::Backend::Nftables);
    Ok(match crate::job::render(&nft, rules)?.rendered.output {
        Output::Single(text) => Some(text),
        Output::Files(_) => None,
    })
}

pub(super) fn run(source: &CatalogueSource, args: ApplyArgs) -> Result<Report, Error> {
    let dir = apply::state_dir(args.state_dir.clone());
    if args.guard {
        apply::guard(&dir)?;
        return Ok(Report::default());
    }
    if args.confirm {
        return Ok(report(apply::confirm(&dir)?));
    }
    if args.rollback {
        return Ok(report(apply::rollback(&dir)?));
    }
    if args.status {
        return Ok(report(apply::status(&dir)?));
    }
    let cat = source.load()?;
    let (backend, render_as) = match args.backend {
        Some(ApplyBackend::Iptables) => (Backend::Iptables, crate::render::Backend::Iptables),
        Some(ApplyBackend::Firewalld) => (
            Backend::Firewalld(args.firewalld_config.clone()),
            crate::render::Backend::Firewalld,
        ),
        _ => (Backend::Nftables, crate::render::Backend::Nftables),
    };
    let job = job(&args, render_as);
    let mut runner = crate::job::Runner::new(&cat);
    let index = runner.select(&job)?;
    let Some(rules) = runner.ruleset(index) else {
        return Ok(Report::default());
    };
    if args.placement != crate::render::Placement::Host {
        return Err(Error::Usage(
            "fwgen apply loads the firewall of the host it runs on: --placement host".into(),
        ));
    }
    let done = crate::job::render(&job, rules)?;
    let new = match done.rendered.output {
        Output::Single(text) => vec![("ruleset.nft".to_string(), text)],
        Output::Files(files) => files,
    };
    let model = model(&args, &backend, rules)?;
    let (interfaces, said) = interfaces(&args, rules);
    let program = std::env::current_exe()
        .map_err(|e| Error::Usage(format!("fwgen apply: cannot find its own program: {e}")))?;
    let req = Request {
        backend,
        rules,
        new,
        model,
        interfaces,
        confirm_within: args.confirm_within,
        dry_run: args.dry_run,
        force: args.force,
        auto_confirm: args.auto_confirm,
        ssh: apply::ssh_session(
            (
                std::env::var("SSH_CONNECTION").ok().as_deref(),
                std::env::var("SSH_CLIENT").ok().as_deref(),
            ),
            &rules.gateway,
        ),
        program,
    };
    let outcome = apply::apply(&dir, &req)?;
    let asks =
        outcome.unconfirmed && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let mut r = report(outcome);
    r.warnings.extend(done.warnings);
    r.notes.splice(0..0, said);
    if asks {
        r = ask(&dir, r)?;
    }
    Ok(r)
}

/// What interface matches see in the audits: `--interface`, else the interface of this host
/// that holds the gateway's addresses (and a note saying which, or why none).
fn interfaces(
    args: &ApplyArgs,
    rules: &crate::ruleset::Ruleset,
) -> (crate::audit::Interfaces, Option<String>) {
    let (gateway, said) = match &args.interface {
        Some(given) => (given.clone(), None),
        None => {
            let (found, said) = apply::gateway_interface(&rules.gateway);
            (found.unwrap_or_default(), Some(said))
        }
    };
    let ingress = Vec::new();
    (crate::audit::Interfaces { gateway, ingress }, said)
}

/// On a terminal: the audit's summary, then keep it or restore what was before.
fn ask(dir: &std::path::Path, mut r: Report) -> Result<Report, Error> {
    use std::io::Write;
    let mut err = std::io::stderr();
    for n in r.notes.drain(..) {
        let _ = writeln!(err, "{n}");
    }
    let _ = write!(err, "Keep this ruleset? [y/N] ");
    let _ = err.flush();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    let o = if line.trim().eq_ignore_ascii_case("y") || line.trim().eq_ignore_ascii_case("yes") {
        apply::confirm(dir)?
    } else {
        apply::rollback(dir)?
    };
    r.notes = o.notes;
    Ok(r)
}
