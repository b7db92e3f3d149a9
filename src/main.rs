//! Binary entry point: wiring only (clap subcommands → run / crds / offline commands).

use clap::Parser;
use sg_tightener::cli::{self, Cli, Command};
use sg_tightener::controller;

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run(args),
        Command::Crds => print_crds(),
        offline => {
            if let Err(error) = cli::run_offline(offline) {
                if error.is_closed_pipe() {
                    return; // `sg-tightener analyse … | head` is not an error
                }
                eprintln!("sg-tightener: {error}");
                std::process::exit(error.exit_code());
            }
        }
    }
}

/// `sg-tightener run`: the controller on a multi-threaded tokio runtime.
fn run(args: cli::RunArgs) {
    sg_tightener::telemetry::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("sg-tightener: failed to start the async runtime: {error}");
            std::process::exit(1);
        }
    };
    if let Err(error) = runtime.block_on(controller::run(args)) {
        let message = sg_tightener::error::chain(&error);
        tracing::error!(error = %message, "controller stopped");
        eprintln!("sg-tightener: {message}");
        std::process::exit(error.exit_code());
    }
}

/// `sg-tightener crds`: every CRD as one multi-document YAML stream on stdout. A closed pipe
/// (`sg-tightener crds | head`) is not an error.
fn print_crds() {
    use std::io::Write;
    let yaml = sg_tightener::crd::all_to_yaml();
    if let Err(error) = std::io::stdout().lock().write_all(yaml.as_bytes()) {
        if error.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("sg-tightener: failed to write the CRDs: {error}");
            std::process::exit(1);
        }
    }
}
