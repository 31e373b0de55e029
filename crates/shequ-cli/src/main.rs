//! `shequ`: the platform's command line; the work happens in the `shequ_cli` library. Errors go
//! to stderr and end the process with the exit code `shequ --help` lists.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match shequ_cli::run(shequ_cli::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            let code = shequ_cli::client::exit_code_of(&error) as u8;
            std::process::ExitCode::from(code)
        }
    }
}
