use std::io::Write;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use clap::Parser;

const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();

fn main() -> ExitCode {
    let args = match fwgen::cli::Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    // anstream writes colour only to a terminal, and never with NO_COLOR set.
    match fwgen::command::execute(args) {
        Ok(report) => {
            for w in &report.warnings {
                anstream::eprintln!("{WARNING}warning:{WARNING:#} {w}");
            }
            for n in &report.notes {
                anstream::eprintln!("{n}");
            }
            // A closed pipe (`fwgen … | head`) is not an error worth reporting.
            let _ = std::io::stdout().write_all(report.stdout.as_bytes());
            ExitCode::from(report.exit_code)
        }
        Err(e) => {
            anstream::eprintln!("{ERROR}error:{ERROR:#} {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
