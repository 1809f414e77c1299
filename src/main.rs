//! `atende`: parse the command line, run, print the error chain.

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    if let Err(error) = dotenvy::dotenv() {
        if !error.not_found() {
            eprintln!("atende: cannot read .env: {error}");
            return ExitCode::FAILURE;
        }
    }
    let cli = atende::config::Cli::parse();
    match atende::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("atende: {error:#}");
            ExitCode::FAILURE
        }
    }
}
