//! `fwgen apply`: put a ruleset on this host's running firewall safely. In order: the lock;
//! a snapshot of what is live; the real tool's check; the lock-out check of the SSH session
//! this runs in (decided by the exact audit on the ruleset as it would be live, loaded first
//! in a network namespace of its own); a guard, in its own session, that restores the
//! snapshot at the deadline unless confirmed; the load; the exact audit of the live ruleset,
//! which rolls back at once when an entry is not admitted or more is admitted than the
//! selection needs. `--confirm` keeps it, `--rollback` restores the snapshot, `--status` says
//! where it stands.

mod firewalld;
pub(crate) mod live;
mod loadable;
mod netfilter;
mod state;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::audit::{self, Interfaces};
use crate::render::Placement;
use crate::ruleset::Ruleset;

pub(crate) use live::{Backend, Files};
use state::{Dir, State, Status};

/// Why `apply` stopped. Before a change nothing was changed; after one, what was live
/// before is restored (and the message says so).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApplyError {
    #[error("{command}: {why}")]
    Tool { command: String, why: String },
    #[error("state directory {path}: {why}")]
    State { path: String, why: String },
    #[error("another fwgen apply holds the state directory's lock ({holder}); nothing was changed")]
    Busy { holder: String },
    #[error(
        "an apply of {what} at {since} is unconfirmed until {until}: `fwgen apply --confirm` \
         keeps it, `fwgen apply --rollback` restores what was before; nothing was changed"
    )]
    Pending {
        what: String,
        since: String,
        until: String,
    },
    #[error(
        "the new ruleset would lock out this SSH session: a new connection from {client} to \
         {server} port {port} is not admitted ({why}); nothing was changed (--force applies it \
         anyway)"
    )]
    LockOut {
        client: IpAddr,
        server: IpAddr,
        port: u16,
        why: String,
    },
    #[error(
        "iptables-restore replaces the tables fwgen writes whole, and they hold chains fwgen did \
         not write, which would go with the rules that jump to them: {chains}. Another tool's \
         (Docker, fail2ban, libvirt) stop working until it adds them again. Nothing was \
         changed: apply --backend nftables, whose table sits beside theirs, or --force to \
         replace them"
    )]
    Replaces { chains: String },
    #[error("the ruleset as it would be live cannot be audited: {0}")]
    Read(#[from] audit::ReadError),
    #[error("{0}")]
    Nothing(String),
    /// What is live cannot all be read, so no audit of it would be a proof.
    #[error("{0}")]
    Unprovable(String),
    #[error("{why}; restored what was live before ({restored})")]
    Restored { why: String, restored: String },
}

impl ApplyError {
    /// A file or directory of the state, the configuration or the scratch space: which, and
    /// what went wrong.
    pub(crate) fn state(path: &Path, why: impl std::fmt::Display) -> ApplyError {
        ApplyError::State {
            path: path.display().to_string(),
            why: why.to_string(),
        }
    }
}

/// The SSH session this runs in: `SSH_CONNECTION` (`CLIENT PORT SERVER PORT`), else
/// `SSH_CLIENT` (`CLIENT PORT SERVERPORT`, no server address: the gateway's own address of
/// the client's family stands for it).
pub(crate) fn ssh_session(
    (connection, client): (Option<&str>, Option<&str>),
    gateway: &[ipnet::IpNet],
) -> Option<(IpAddr, IpAddr, u16)> {
    if let Some(w) = connection.map(|v| v.split_whitespace().collect::<Vec<_>>())
        && let [client, _, server, port] = w.as_slice()
    {
        return Some((
            client.parse().ok()?,
            server.parse().ok()?,
            port.parse().ok()?,
        ));
    }
    let w: Vec<&str> = client?.split_whitespace().collect();
    let [client, _, port] = w.as_slice() else {
        return None;
    };
    let client: IpAddr = client.parse().ok()?;
    let server = gateway
        .iter()
        .map(ipnet::IpNet::addr)
        .find(|a| a.is_ipv6() == client.is_ipv6())?;
    Some((client, server, port.parse().ok()?))
}

/// The interface interface matches (`iifname`, `-i`) see in an apply's audits, when
/// `--interface` names none: the one interface of this host that holds the gateway's
/// addresses (`ip -j addr show`), and a note saying so; where none or several hold them, none
/// (such matches stay unknown), and a note saying why.
pub(crate) fn gateway_interface(gateway: &[ipnet::IpNet]) -> (Option<String>, String) {
    let names = live::run("ip", &["-j", "addr", "show"], None)
        .map_err(|e| e.to_string())
        .and_then(|json| holding(&json, gateway));
    let shown = gateway
        .iter()
        .map(|g| g.addr().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    match names.as_deref() {
        Ok([one]) => (
            Some(one.clone()),
            format!(
                "interface matches: the gateway's addresses ({shown}) are on {one} \
                 (--interface names another)"
            ),
        ),
        Ok([]) => (
            None,
            format!(
                "interface matches stay unknown: no interface of this host holds the gateway's \
                 addresses ({shown}); --interface names the one they see"
            ),
        ),
        Ok(several) => (
            None,
            format!(
                "interface matches stay unknown: the gateway's addresses ({shown}) are on {}; \
                 --interface names the one they see",
                several.join(", ")
            ),
        ),
        Err(why) => (
            None,
            format!(
                "interface matches stay unknown: this host's interfaces could not be read \
                 ({why}); --interface names the one they see"
            ),
        ),
    }
}

/// The interfaces of `ip -j addr show` output that hold one of the gateway's addresses.
fn holding(json: &str, gateway: &[ipnet::IpNet]) -> Result<Vec<String>, String> {
    let links: Vec<serde_json::Value> =
        serde_json::from_str(json).map_err(|e| format!("ip -j addr show: {e}"))?;
    let mut out: Vec<String> = links
        .iter()
        .filter(|link| {
            link["addr_info"].as_array().is_some_and(|infos| {
                infos.iter().any(|i| {
                    i["local"]
                        .as_str()
                        .and_then(|a| a.parse::<IpAddr>().ok())
                        .is_some_and(|a| gateway.iter().any(|g| g.contains(&a)))
                })
            })
        })
        .filter_map(|link| link["ifname"].as_str().map(String::from))
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// One apply.
pub(crate) struct Request<'a> {
    pub backend: Backend,
    pub rules: &'a Ruleset,
    /// The rendered ruleset's files.
    pub new: Files,
    /// The same selection as nftables, for firewalld: what the lock-out check and the dry
    /// run decide before firewalld has made its rules (the live audit after loading reads
    /// firewalld's own).
    pub model: Option<String>,
    pub interfaces: Interfaces,
    pub confirm_within: u64,
    pub dry_run: bool,
    pub force: bool,
    pub auto_confirm: bool,
    pub ssh: Option<(IpAddr, IpAddr, u16)>,
    /// The program to start as the guard.
    pub program: PathBuf,
}

/// What a step printed, and whether it failed (exit 1).
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub stdout: String,
    pub notes: Vec<String>,
    pub failed: bool,
    /// Whether an apply now waits for `--confirm` (on a terminal, the command asks).
    pub unconfirmed: bool,
}

/// Where the state is kept: `--state-dir`, else `FWGEN_STATE_DIR`, else `/run/fwgen`.
pub(crate) fn state_dir(given: Option<PathBuf>) -> PathBuf {
    given
        .or_else(|| std::env::var_os("FWGEN_STATE_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/run/fwgen"))
}

fn what(rules: &Ruleset) -> String {
    format!(
        "{} {} component {}",
        rules.meta.product, rules.meta.version, rules.meta.component
    )
}

/// Whether an audit proves the ruleset: every entry admitted, nothing admitted beyond.
fn proven(a: &audit::Audit) -> bool {
    a.failures() == 0 && a.over_broad.is_empty()
}

/// The audit of what is live now, read from every view the snapshot `before` took.
fn live_audit(req: &Request, before: &Files) -> Result<audit::Audit, ApplyError> {
    let live = req.backend.dump(before)?;
    let fw = audit::read(&live, &req.rules.gateway, &req.interfaces)?.0;
    Ok(audit::audit(
        req.rules,
        Placement::Host,
        &fw,
        &req.interfaces,
    ))
}

/// Apply `req` (or, with `dry_run`, say what it would change).
pub(crate) fn apply(dir: &Path, req: &Request) -> Result<Outcome, ApplyError> {
    let held = if req.dry_run {
        None
    } else {
        let held = Dir::lock(dir)?;
        if let Some(s) = state::load(dir)?
            && s.status == Status::Unconfirmed
        {
            return Err(ApplyError::Pending {
                what: s.what,
                since: state::clock(s.applied_at),
                until: state::clock(s.deadline),
            });
        }
        Some(held)
    };
    let before = req.backend.snapshot()?;
    let scratch = tempfile::tempdir().map_err(|e| ApplyError::state(&std::env::temp_dir(), e))?;
    req.backend.check(&req.new, scratch.path())?;
    let (listing, dump) =
        req.backend
            .would_be((&before, &req.new), req.model.as_deref(), scratch.path())?;
    let fw = audit::read(&dump, &req.rules.gateway, &req.interfaces)?.0;
    let mut notes: Vec<String> = req
        .backend
        .beside_other_backend(&before)
        .into_iter()
        .collect();
    let removed = req.backend.removes(&before, &req.new).join(", ");
    if !removed.is_empty() {
        if !req.force && !req.dry_run {
            return Err(ApplyError::Replaces { chains: removed });
        }
        notes.push(format!(
            "warning: iptables-restore replaces the tables fwgen writes whole: chains fwgen did \
             not write go with it: {removed}{}",
            if req.force {
                " (--force)"
            } else {
                "; an apply refuses this without --force"
            }
        ));
    }
    if let Some((client, server, port)) = req.ssh {
        match audit::refuses(&fw, &req.interfaces, (client, server, port)) {
            Some(why) if !req.force => {
                return Err(ApplyError::LockOut {
                    client,
                    server,
                    port,
                    why,
                });
            }
            Some(why) => notes.push(format!(
                "warning: --force: this SSH session ({client} to {server} port {port}) is not \
                 admitted by the new ruleset ({why})"
            )),
            None => notes.push(format!(
                "lock-out check: this SSH session ({client} to {server} port {port}) stays \
                 admitted"
            )),
        }
    }
    let Some(held) = held else {
        return Ok(dry_run(req, &before, &listing, &fw, notes));
    };
    if req.backend.listing_of(&before) == listing {
        return unchanged(req, &before, notes);
    }
    go_live(&held, req, &before, notes)
}

/// An apply whose ruleset is live already (a timer's run, a second run): nothing is loaded,
/// no guard started, the state left as it was; what is live is audited, as after a load.
fn unchanged(req: &Request, before: &Files, mut notes: Vec<String>) -> Result<Outcome, ApplyError> {
    let a = live_audit(req, before)?;
    let failed = !proven(&a);
    notes.push(format!(
        "fwgen apply: no change: the live {} ruleset is already this one, nothing was loaded; \
         {}: {}",
        req.backend.name(),
        if failed {
            "the live audit fails"
        } else {
            "proven live"
        },
        audit::summary(&a)
    ));
    Ok(Outcome {
        stdout: audit::text(&a),
        notes,
        failed,
        unconfirmed: false,
    })
}

/// What `--dry-run` prints: the difference from what is live, and the audit of the ruleset
/// as it would be live.
fn dry_run(
    req: &Request,
    before: &Files,
    listing: &str,
    fw: &dyn audit::Firewall,
    mut notes: Vec<String>,
) -> Outcome {
    let now = req.backend.listing_of(before);
    let a = audit::audit(req.rules, Placement::Host, fw, &req.interfaces);
    let diff = if now == listing {
        "no change: the live ruleset is already this one\n".to_string()
    } else {
        similar::TextDiff::from_lines(now.as_str(), listing)
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("{} (live now)", req.backend.name()),
                &format!("{} (after apply)", req.backend.name()),
            )
            .to_string()
    };
    notes.push(format!(
        "fwgen apply --dry-run: nothing changed; as it would be live: {}",
        audit::summary(&a)
    ));
    Outcome {
        // The listings are the live system's text: lines, no escape sequences.
        stdout: format!(
            "{}\n{}",
            crate::text::terminal_lines(&diff),
            audit::text(&a)
        ),
        notes,
        failed: !proven(&a),
        unconfirmed: false,
    }
}

/// Snapshot kept, guard started, ruleset loaded and proven live (or restored).
fn go_live(
    dir: &Dir,
    req: &Request,
    before: &Files,
    mut notes: Vec<String>,
) -> Result<Outcome, ApplyError> {
    let now = state::now();
    let mut st = State {
        id: format!("{}-{now}", std::process::id()),
        backend: req.backend.clone(),
        status: Status::Unconfirmed,
        what: what(req.rules),
        applied_at: now,
        deadline: now + req.confirm_within,
        digest: digest(&req.new),
        snapshot: dir.keep(&req.backend.kept(before, &req.new))?,
        note: None,
    };
    dir.save(&st)?;
    start_guard(&req.program, dir)?;
    if let Err(e) = req.backend.load(&req.new, before) {
        let restored = restore(dir, &mut st, &format!("loading failed: {e}"))?;
        return Err(ApplyError::Restored {
            why: format!("loading failed: {e}"),
            restored,
        });
    }
    let a = live_audit(req, before)?;
    if !proven(&a) {
        let restored = restore(dir, &mut st, "the live audit failed")?;
        notes.push(format!(
            "fwgen apply: the live audit failed ({}); rolled back: {restored}",
            audit::summary(&a)
        ));
        return Ok(Outcome {
            stdout: audit::text(&a),
            notes,
            failed: true,
            unconfirmed: false,
        });
    }
    notes.push(format!(
        "fwgen apply: {} applied and proven live: {}",
        req.backend.name(),
        audit::summary(&a)
    ));
    if req.auto_confirm {
        st.status = Status::Confirmed;
        st.note = Some("confirmed by --auto-confirm after the live audit passed".into());
        dir.save(&st)?;
        notes.push("confirmed (--auto-confirm)".into());
    } else {
        // The window to confirm counts from now, when the ruleset is proven live (as a
        // router's commit-confirmed does), not from the start of an apply that may have
        // been slow; the guard reads the deadline again before it acts.
        st.deadline = state::now() + req.confirm_within;
        dir.save(&st)?;
        notes.push(format!(
            "not confirmed yet: `fwgen apply --confirm --state-dir {}` keeps it; unconfirmed, \
             what was live before is restored at {}",
            dir.path.display(),
            state::clock(st.deadline)
        ));
    }
    Ok(Outcome {
        stdout: audit::text(&a),
        notes,
        failed: false,
        unconfirmed: !req.auto_confirm,
    })
}

fn digest(files: &Files) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (name, text) in files {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(text.as_bytes());
        h.update([0]);
    }
    crate::text::hex(&h.finalize())
}

/// Start the guard in a session of its own (it outlives this process, its terminal and a
/// dropped SSH session), deaf to SIGHUP (`nohup`), with nothing of ours open; what it says
/// (an error it stops at, a panic) goes to the state directory's `guard.log`.
fn start_guard(program: &Path, dir: &Dir) -> Result<(), ApplyError> {
    use std::process::{Command, Stdio};
    Command::new("setsid")
        .arg("nohup")
        .arg(program)
        .args(["apply", "--guard", "--state-dir"])
        .arg(&dir.path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(dir.guard_log()?)
        .spawn()
        .map(|_| ())
        .map_err(|e| ApplyError::Tool {
            command: "setsid fwgen apply --guard".into(),
            why: format!("cannot start the guard: {e}; nothing was changed"),
        })
}

/// Put the snapshot back and record why; what the listing says afterwards.
fn restore(dir: &Dir, st: &mut State, why: &str) -> Result<String, ApplyError> {
    let snapshot = dir.snapshot(st)?;
    st.backend.restore(&snapshot)?;
    let (now, was) = (st.backend.listing()?, st.backend.listing_of(&snapshot));
    st.status = Status::RolledBack;
    st.note = Some(why.to_string());
    dir.save(st)?;
    Ok(st.backend.restored(&was, &now))
}

/// `--confirm`: keep what was applied.
pub(crate) fn confirm(path: &Path) -> Result<Outcome, ApplyError> {
    let dir = Dir::lock(path)?;
    let mut st = unconfirmed(path)?;
    st.status = Status::Confirmed;
    st.note = Some(format!("confirmed at {}", state::clock(state::now())));
    dir.save(&st)?;
    Ok(Outcome {
        notes: vec![format!("fwgen apply: {} confirmed: it stays", st.what)],
        ..Outcome::default()
    })
}

fn unconfirmed(path: &Path) -> Result<State, ApplyError> {
    match state::load(path)? {
        Some(s) if s.status == Status::Unconfirmed => Ok(s),
        Some(s) => Err(ApplyError::Nothing(format!(
            "nothing to confirm: the last apply ({}) is {}",
            s.what,
            status_word(s.status)
        ))),
        None => Err(ApplyError::Nothing(format!(
            "nothing to confirm: no apply recorded in {}",
            path.display()
        ))),
    }
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Unconfirmed => "unconfirmed",
        Status::Confirmed => "confirmed",
        Status::RolledBack => "rolled back",
    }
}

/// `--rollback`: restore the snapshot taken before the last apply.
pub(crate) fn rollback(path: &Path) -> Result<Outcome, ApplyError> {
    let dir = Dir::lock(path)?;
    let mut st = match state::load(path)? {
        Some(s) if s.status != Status::RolledBack => s,
        Some(s) => {
            return Err(ApplyError::Nothing(format!(
                "nothing to roll back: the last apply ({}) is already rolled back",
                s.what
            )));
        }
        None => {
            return Err(ApplyError::Nothing(format!(
                "nothing to roll back: no apply recorded in {}",
                path.display()
            )));
        }
    };
    let said = restore(&dir, &mut st, "rolled back by fwgen apply --rollback")?;
    Ok(Outcome {
        notes: vec![format!("fwgen apply: {} rolled back: {said}", st.what)],
        ..Outcome::default()
    })
}

/// `--status`.
pub(crate) fn status(path: &Path) -> Result<Outcome, ApplyError> {
    let stdout = match state::load(path)? {
        None => format!("nothing applied (no state in {})\n", path.display()),
        Some(s) => {
            let mut out = format!(
                "{}: {} with {}, applied at {}",
                status_word(s.status),
                s.what,
                s.backend.name(),
                state::clock(s.applied_at)
            );
            if s.status == Status::Unconfirmed {
                let left = s.deadline.saturating_sub(state::now());
                out.push_str(&format!(
                    "; restored at {} ({left} s) unless confirmed",
                    state::clock(s.deadline)
                ));
                if left == 0 {
                    out.push_str(" (the deadline has passed)");
                }
            }
            if let Some(n) = &s.note {
                out.push_str(&format!("; {n}"));
            }
            // While the guard should still act: once confirmed or rolled back, what it said
            // no longer describes the system.
            if s.status == Status::Unconfirmed
                && let Some(said) = state::guard_said(path)
            {
                out.push_str(&format!("; the guard said: {said}"));
            }
            format!("{out}\nsha256 of what was applied: {}\n", s.digest)
        }
    };
    Ok(Outcome {
        stdout,
        ..Outcome::default()
    })
}

/// The guard: wait for the deadline of the apply recorded now (an apply that proves its
/// ruleset live moves it: the window counts from then); unless it was confirmed or rolled
/// back by then, restore its snapshot. What it prints goes to `guard.log` in the state
/// directory, which `--status` shows.
pub(crate) fn guard(path: &Path) -> Result<(), ApplyError> {
    let Some(mine) = state::load(path)? else {
        return Ok(());
    };
    loop {
        if !due(path, &mine.id)? {
            return Ok(());
        }
        // Wait for an apply, confirm or rollback in progress to finish.
        let dir = loop {
            match Dir::lock(path) {
                Ok(d) => break d,
                Err(ApplyError::Busy { .. }) => {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                Err(e) => return Err(e),
            }
        };
        let Some(mut st) = state::load(path)? else {
            return Ok(());
        };
        if st.id != mine.id || st.status != Status::Unconfirmed {
            return Ok(());
        }
        if state::now() < st.deadline {
            // The apply moved the deadline while this guard waited for its lock.
            continue;
        }
        return guard_restore(&dir, &mut st);
    }
}

/// Wait until the deadline of apply `id`; false when it is no longer the unconfirmed apply
/// of the state.
fn due(path: &Path, id: &str) -> Result<bool, ApplyError> {
    loop {
        let Some(now) = state::load(path)? else {
            return Ok(false);
        };
        if now.id != id || now.status != Status::Unconfirmed {
            return Ok(false);
        }
        if state::now() >= now.deadline {
            return Ok(true);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The guard's restore. A tool can fail for a moment on a loaded machine (a reload that
/// times out): three tries, and when none restores, the state says so (the guard has no
/// terminal), and what to run.
fn guard_restore(dir: &Dir, st: &mut State) -> Result<(), ApplyError> {
    let why = format!(
        "not confirmed by {}: rolled back by the guard",
        state::clock(st.deadline)
    );
    let mut tries = 1;
    while let Err(e) = restore(dir, st, &why) {
        if tries == GUARD_TRIES {
            st.note = Some(format!(
                "the guard could not roll back at {} ({GUARD_TRIES} tries): {}; what was \
                 applied is still live: run fwgen apply --rollback",
                state::clock(state::now()),
                crate::text::flatten(&e.to_string(), 1000, &[])
            ));
            dir.save(st)?;
            return Err(e);
        }
        tries += 1;
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
    Ok(())
}

/// How often the guard tries to restore the snapshot before it gives up and says so.
const GUARD_TRIES: usize = 3;

#[cfg(test)]
mod tests {
    #[test]
    fn the_interfaces_that_hold_the_gateways_addresses() {
        let json = r#"[{"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1"}]},
            {"ifname":"eth0","addr_info":[{"family":"inet","local":"192.0.2.10"},
                {"family":"inet6","local":"fe80::1"}]},
            {"ifname":"eth1","addr_info":[{"family":"inet6","local":"2001:db8::10"}]},
            {"ifname":"eth2"}]"#;
        let gw =
            |a: &[&str]| -> Vec<ipnet::IpNet> { a.iter().map(|a| a.parse().unwrap()).collect() };
        assert_eq!(
            super::holding(json, &gw(&["192.0.2.10/32"])).unwrap(),
            ["eth0"]
        );
        assert_eq!(
            super::holding(json, &gw(&["192.0.2.10/32", "2001:db8::10/128"])).unwrap(),
            ["eth0", "eth1"]
        );
        assert!(
            super::holding(json, &gw(&["198.51.100.1/32"]))
                .unwrap()
                .is_empty()
        );
        assert!(super::holding("not json", &gw(&["192.0.2.10/32"])).is_err());
    }
}
