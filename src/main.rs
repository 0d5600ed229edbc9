use std::process::ExitCode;

use cleave::cli::{self, Command};

fn main() -> ExitCode {
    let cli = cli::parse();
    let command = cli.command.unwrap_or(Command::Serve(cli.serve));
    let telemetry = match runtime::telemetry::init(&command.telemetry()) {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("cleave: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match command {
            Command::Serve(args) => cleave::run(args).await,
            Command::Migrate(args) => cleave::compose::migrate(&args).await.map(|modules| {
                tracing::info!(?modules, data_dir = %args.data_dir.display(), "migrated");
            }),
            Command::Up(args) => tools::up::run(args, cleave::modules::MODULES).await,
            Command::Compare(args) => tools::compare::run(args, cleave::modules::MODULES).await,
            Command::Probe(args) => cleave::probe::run(args).await,
            Command::Manifests(what) => tools::manifests::run(&what, cleave::modules::MODULES),
            Command::Openapi => {
                print!("{}", cleave::openapi::document_json());
                Ok(())
            }
            Command::Flags => {
                print!("{}", cli::reference::markdown(&cli::command()));
                Ok(())
            }
        }
    });
    // A thread blocked reading stdin (--exit-on-stdin-eof) cannot be interrupted: exit
    // without waiting for it, as everything that matters has been shut down by now.
    runtime.shutdown_background();
    // After the runtime: spans of the last requests are exported with a blocking client.
    telemetry.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}
