//! `outreach-hub`: the sync hub of Outreach, and the commands that administer it.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // The hub starts its validator processes from this program (see `validate/`).
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == outreach_hub::VALIDATOR_ARG)
    {
        return outreach_hub::validator_main();
    }
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // One readable line: clap's first line says what is wrong; `--help` says the rest.
            let text = e.render().to_string();
            let line = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("outreach-hub: {}", line.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("outreach-hub: {e}");
            ExitCode::FAILURE
        }
    }
}
