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
        Command::Crds => print!("{}", sg_tightener::crd::all_to_yaml()),
        offline => {
            if let Err(error) = cli::run_offline(offline) {
                eprintln!("sg-tightener: {error}");
                std::process::exit(error.exit_code());
            }
        }
    }
}
