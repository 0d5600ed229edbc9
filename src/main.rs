use std::process::ExitCode;

use clap::Parser;
use cleave::cli::{Cli, Command};

#[tokio::main]
async fn main() -> ExitCode {
    platform::telemetry::init();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => cleave::run(args).await,
        Command::Migrate(args) => cleave::compose::migrate(args.role, &args.data_dir)
            .await
            .map(
                |modules| tracing::info!(?modules, data_dir = %args.data_dir.display(), "migrated"),
            ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}
