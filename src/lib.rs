//! atende: the binary's library half. It reads the command line, the environment and
//! files (nothing below it does), sets up logging, and wires the crates together in
//! [`startup::Application`].

pub mod backup;
pub mod bench;
pub mod config;
pub mod simulate;
pub mod startup;
pub mod telemetry;
pub mod users;

use config::{Cli, Command, Settings};

/// Runs what the command line asks for.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => serve(Settings::from_args_logged(cli.serve)?),
        Some(Command::Serve(args)) => serve(Settings::from_args_logged(*args)?),
        Some(Command::User(command)) => users::run(command),
        Some(Command::Backup(args)) => backup::backup(args),
        Some(Command::Restore { file, data }) => backup::restore(&file, &data.dir),
        Some(Command::Simulate(args)) => actix_web::rt::System::new().block_on(simulate::run(args)),
        Some(Command::Bench(args)) => bench::run(args),
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let app = startup::Application::build(settings).await?;
        let url = app.public_url();
        println!("Atende is running at {url} (API reference at {url}/docs)");
        match app.sandbox() {
            Some(_) => {
                println!("Sandbox mode: replies go to a simulated Cloud API; try `atende simulate`")
            }
            None => println!(
                "WhatsApp webhook: {url}/api/v1/webhooks/whatsapp (verify token: {})",
                app.verify_token()
            ),
        }
        app.run_until_stopped().await
    })
}

impl Settings {
    /// Installs logging as the arguments ask, then checks them.
    fn from_args_logged(args: config::ServeArgs) -> anyhow::Result<Settings> {
        telemetry::init(&args.log, args.log_format)?;
        Settings::from_args(args)
    }
}
