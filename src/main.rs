use std::process::ExitCode;

fn main() -> ExitCode {
    fwgen::run()
}
