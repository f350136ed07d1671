use std::io::Write;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use clap::Parser;

const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();

fn main() -> ExitCode {
    // SIGINT, SIGTERM and SIGHUP: remove this run's temporary files, then exit as a shell
    // reports a signal (128 + 2). Without it an interrupt could leave `.fwgen-*` files.
    let _ = ctrlc::set_handler(|| {
        fwgen::output::remove_temporary_files();
        fwgen::output::remove_created_dirs();
        std::process::exit(130);
    });
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
            // A closed pipe (`fwgen … | head`) is not an error worth reporting; any other
            // write error (a full disk behind `> file`) is: the output is incomplete.
            let mut out = std::io::stdout().lock();
            match out
                .write_all(report.stdout.as_bytes())
                .and_then(|()| out.flush())
            {
                Ok(()) => ExitCode::from(u8::from(report.exit_code)),
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    ExitCode::from(u8::from(report.exit_code))
                }
                Err(e) => {
                    anstream::eprintln!(
                        "{ERROR}error:{ERROR:#} cannot write to standard output: {e}"
                    );
                    ExitCode::from(u8::from(fwgen::error::Exit::Trouble))
                }
            }
        }
        Err(e) => {
            fwgen::output::remove_created_dirs();
            // Every problem on a line of its own, each with its own (coloured) `error:`.
            for m in e.messages() {
                anstream::eprintln!("{ERROR}error:{ERROR:#} {m}");
            }
            ExitCode::from(u8::from(e.exit_code()))
        }
    }
}
