//! armvm: a full-system ARM emulator.

mod board;
mod cli;
mod console;
mod firmware;
mod gdb;
mod image;
mod machine;
mod monitor;
mod trace;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse_in_order();
    match args.command {
        cli::Command::Run(run) => match machine::run(&run) {
            Ok(status) => ExitCode::from(status),
            Err(e) => {
                eprintln!("armvm: {e}");
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    eprintln!("  caused by: {s}");
                    source = s.source();
                }
                ExitCode::from(2)
            }
        },
        cli::Command::Image(image) => match image::run(&image) {
            Ok(status) => ExitCode::from(status),
            Err(e) => {
                // The message already carries its cause.
                eprintln!("armvm: {e}");
                ExitCode::from(2)
            }
        },
    }
}
