//! `user-service`: the binary. Parses the command line, loads the configuration, starts
//! logging and the runtime, then serves, migrates or prints the configuration.

use std::process::ExitCode;

use clap::Parser;
use user_service::cli::{AdminCommand, Cli, Command};
use user_service::{commands, startup};
use usvc_config::{Config, ConfigSources};

/// mimalloc instead of glibc's malloc (ADR 0023): glibc keeps what a thread freed in that
/// thread's arena, so a login flood that wakes dozens of blocking-pool threads (each
/// allocating a 19 MiB argon2 block) left the process at 550 MB for good; mimalloc gives
/// freed pages back to the system within milliseconds.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(&ConfigSources::from_process(cli.config.clone())) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("user-service: {e}");
            return ExitCode::from(2);
        }
    };
    if matches!(cli.command, Some(Command::Config)) {
        commands::print_config(&config);
        return ExitCode::SUCCESS;
    }
    let _logs = match usvc_logger::init(&startup::logger_config(&config)) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("user-service: {e}");
            return ExitCode::from(2);
        }
    };
    let result = startup::build(&config).and_then(|rt| {
        rt.block_on(async {
            match cli.command.clone().unwrap_or(Command::Serve) {
                Command::Serve => commands::serve(config).await,
                Command::Migrate => commands::migrate(&config).await,
                Command::Admin(AdminCommand::RotateKeys) => commands::rotate_keys(&config).await,
                Command::Admin(AdminCommand::Backup { to }) => commands::backup(&config, &to).await,
                Command::Admin(AdminCommand::CreateUser {
                    tenant,
                    email,
                    role,
                    password_stdin,
                }) => commands::create_user(&config, &tenant, &email, &role, password_stdin).await,
                Command::Admin(AdminCommand::GrantPlatform { tenant, email }) => {
                    commands::set_platform_grant(&config, &tenant, &email, true).await
                }
                Command::Admin(AdminCommand::RevokePlatform { tenant, email }) => {
                    commands::set_platform_grant(&config, &tenant, &email, false).await
                }
                Command::Config => Ok(()),
            }
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "user-service stopped with an error");
            eprintln!("user-service: {e:#}");
            ExitCode::FAILURE
        }
    }
}
