//! Binary entry point: wiring only (clap subcommands → run / crds / offline commands).

use clap::Parser;
use sg_tightener::cli::{self, Cli, Command};

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(_) => {
            eprintln!("sg-tightener: the operator commands are not built yet");
            std::process::exit(2);
        }
        Command::Crds => print_crds(),
        offline => {
            if let Err(error) = cli::run_offline(offline) {
                eprintln!("sg-tightener: {error}");
                std::process::exit(error.exit_code());
            }
        }
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
