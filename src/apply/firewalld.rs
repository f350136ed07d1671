//! firewalld's permanent configuration, as `apply` replaces it: the files fwgen writes
//! (`zones/`, `policies/`, `services/`, `ipsets/`, each `fwgen*.xml`) and `firewalld.conf`,
//! under the configuration directory (`/etc/firewalld`). Checked offline by
//! `firewall-offline-cmd --check-config` on a copy with the new files; made live by
//! `firewall-cmd --reload`; what firewalld made of it is read back from nftables.

use std::path::Path;

use super::ApplyError;
use super::live::{Files, run};

/// The directories fwgen writes into.
const DIRS: &[&str] = &["zones", "policies", "services", "ipsets"];

/// Every file of the configuration a new generation may replace or remove: `firewalld.conf`
/// and each `fwgen*.xml` (other zones, policies, services and sets are never touched).
pub(super) fn snapshot(config: &Path) -> Result<Files, ApplyError> {
    let mut files = Vec::new();
    let conf = config.join("firewalld.conf");
    if conf.is_file() {
        files.push((
            "firewalld.conf".to_string(),
            std::fs::read_to_string(&conf).map_err(|e| ApplyError::state(&conf, e))?,
        ));
    }
    for d in DIRS {
        let Ok(entries) = std::fs::read_dir(config.join(d)) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("fwgen") && n.ends_with(".xml"))
            .collect();
        names.sort();
        for n in names {
            let p = config.join(d).join(&n);
            let meta = std::fs::symlink_metadata(&p).map_err(|e| ApplyError::state(&p, e))?;
            if !meta.is_file() {
                return Err(ApplyError::state(&p, "is not a regular file: not replaced"));
            }
            let text = std::fs::read_to_string(&p).map_err(|e| ApplyError::state(&p, e))?;
            files.push((format!("{d}/{n}"), text));
        }
    }
    Ok(files)
}

/// The configuration as `rollback` makes it again: each file under its name.
pub(super) fn listing_of(files: &Files) -> String {
    files
        .iter()
        .map(|(n, t)| format!("==> {n} <==\n{t}"))
        .collect()
}

/// The files after `new` replaces the previous generation in `before`.
pub(super) fn after(before: &Files, new: &Files) -> Files {
    let mut out: Files = before
        .iter()
        .filter(|(n, _)| n == "firewalld.conf" && !new.iter().any(|f| &f.0 == n))
        .cloned()
        .collect();
    out.extend(new.iter().cloned());
    out.sort();
    out
}

/// Whether `name` is one of the files this module writes: `firewalld.conf`, or
/// `DIR/fwgen….xml` in one of [`DIRS`] (a snapshot's names come back from the state file).
fn ours(name: &str) -> bool {
    name == "firewalld.conf"
        || name.split_once('/').is_some_and(|(d, f)| {
            DIRS.contains(&d)
                && f.starts_with("fwgen")
                && f.ends_with(".xml")
                && !f.contains(['/', '\\'])
                && !f.contains("..")
        })
}

/// Write `files` into `config`, removing the `fwgen*.xml` files not among them.
pub(super) fn write(config: &Path, files: &Files) -> Result<(), ApplyError> {
    write_removing(config, files, |_| true).map(|_| ())
}

/// Make `files` firewalld's configuration, on disk and in the daemon. firewalld watches its
/// directories: five seconds after a service file goes, it drops the service from every zone
/// and policy it holds in memory and writes those out, over the files fwgen wrote, unless a
/// reload came first (on a loaded machine it may not). So the zones and policies go first
/// with the new files, a reload leaves no reference to the old services and sets in the
/// daemon, and only then are those removed (and read again).
pub(super) fn replace(config: &Path, files: &Files) -> Result<(), ApplyError> {
    let referenced = write_removing(config, files, |name| {
        name.starts_with("zones/") || name.starts_with("policies/")
    })?;
    reload()?;
    if !referenced.is_empty() {
        remove(config, &referenced)?;
        reload()?;
    }
    Ok(())
}

/// Write `files` into `config`, removing the `fwgen*.xml` files not among them that `now`
/// selects (by name, `DIR/FILE`); the names of the others.
fn write_removing(
    config: &Path,
    files: &Files,
    now: impl Fn(&str) -> bool,
) -> Result<Vec<String>, ApplyError> {
    if let Some((name, _)) = files.iter().find(|(n, _)| !ours(n)) {
        return Err(ApplyError::state(
            &config.join(name),
            "is not a file fwgen writes in firewalld's configuration: not written",
        ));
    }
    let stale: Vec<String> = snapshot(config)?
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name != "firewalld.conf" && !files.iter().any(|f| &f.0 == name))
        .collect();
    let (gone, left): (Vec<String>, Vec<String>) = stale.into_iter().partition(|n| now(n));
    remove(config, &gone)?;
    for (name, text) in files {
        let p = config.join(name);
        let dir = p.parent().unwrap_or(config);
        std::fs::create_dir_all(dir).map_err(|e| ApplyError::state(dir, e))?;
        let file = p.file_name().and_then(|f| f.to_str()).unwrap_or_default();
        super::state::write_in(dir, file, text)?;
    }
    Ok(left)
}

/// Remove these files of the configuration (names from [`snapshot`]).
fn remove(config: &Path, names: &[String]) -> Result<(), ApplyError> {
    for name in names {
        let p = config.join(name);
        std::fs::remove_file(&p).map_err(|e| ApplyError::state(&p, e))?;
    }
    Ok(())
}

/// `firewall-offline-cmd --check-config` on a copy of the configuration with the new files
/// (any ERROR or WARNING it prints fails too: some mistakes exit 0).
pub(super) fn check(config: &Path, new: &Files, scratch: &Path) -> Result<(), ApplyError> {
    let copy = scratch.join("firewalld");
    std::fs::create_dir_all(&copy).map_err(|e| ApplyError::state(&copy, e))?;
    let before = snapshot(config)?;
    write(&copy, &after(&before, new))?;
    let out = std::process::Command::new("firewall-offline-cmd")
        .arg("--system-config")
        .arg(&copy)
        .arg("--check-config")
        .output()
        .map_err(|e| ApplyError::Tool {
            command: "firewall-offline-cmd --check-config".into(),
            why: format!("cannot run it: {e}"),
        })?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() || said.contains("ERROR") || said.contains("WARNING") {
        return Err(ApplyError::Tool {
            command: "firewall-offline-cmd --check-config".into(),
            why: crate::text::flatten(said.trim(), 2000, &[]),
        });
    }
    Ok(())
}

/// Make the files live: the daemon reads its configuration again. D-Bus stops waiting for
/// the reply after 25 s, and on a loaded machine a reload can take longer: firewall-cmd then
/// fails ("Did not receive a reply") while firewalld goes on. So that failure waits, up to
/// [`RELOAD_WAIT`], until the daemon answers again and says it runs; whether it runs what
/// fwgen wrote, the live audit that follows proves (else the snapshot is restored).
fn reload() -> Result<(), ApplyError> {
    let Err(e) = run("firewall-cmd", &["--reload"], None) else {
        return Ok(());
    };
    if !e.to_string().contains("Did not receive a reply") {
        return Err(e);
    }
    let end = std::time::Instant::now() + RELOAD_WAIT;
    while std::time::Instant::now() < end {
        // `running`, `failed` (with exit status 251), `not running`, or nothing when this
        // reply is lost too.
        let state = std::process::Command::new("firewall-cmd")
            .arg("--state")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        match state.as_str() {
            "running" => return Ok(()),
            "failed" => {
                return Err(ApplyError::Tool {
                    command: "firewall-cmd --reload".into(),
                    why: format!("{e}; afterwards firewalld says its state is `failed`"),
                });
            }
            _ => std::thread::sleep(std::time::Duration::from_secs(1)),
        }
    }
    Err(e)
}

/// How long a reload whose reply D-Bus gave up on may go on.
const RELOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(180);

#[cfg(test)]
mod tests {
    use super::*;

    /// Names read back from the state file never leave the configuration's fwgen files.
    #[test]
    fn only_fwgen_s_own_files_are_written() {
        for good in [
            "firewalld.conf",
            "zones/fwgen.xml",
            "ipsets/fwgen-in-1-v4.xml",
        ] {
            assert!(ours(good), "{good}");
        }
        for bad in [
            "../passwd",
            "zones/../../etc/passwd",
            "zones/public.xml",
            "zones/fwgen/../x.xml",
            "helpers/fwgen.xml",
            "/etc/firewalld/zones/fwgen.xml",
            "zones/fwgen..xml",
        ] {
            assert!(!ours(bad), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        let files = vec![("zones/../../x.xml".to_string(), String::new())];
        assert!(write(dir.path(), &files).is_err());
    }
}
