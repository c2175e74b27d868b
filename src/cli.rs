//! The command line: the top-level parser and the dispatch to each command, one file per
//! command with its own arguments and `run`. Every subcommand reads the same configuration
//! (`--config`, `EARSHOT_CONFIG`, the system file or the built-in demo), except
//! `check-survey`, which needs none, and `provision`, which writes it.

// First: the printing macros every command uses.
#[macro_use]
pub mod output;

pub mod check_survey;
pub mod provision;
pub mod queue;
pub mod run;
pub mod scanner;
pub mod screenshot;
pub mod simulate;
pub mod touch_rotation;
pub mod upload;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::core::problem::Problem;
use crate::files::config::{Config, ConfigSource};
use crate::seams::alarms::Alarms;

#[derive(Debug, Parser)]
#[command(name = "earshot", version, about = "Self-service feedback kiosk")]
pub struct Cli {
    /// Configuration file [default: /etc/earshot/earshot.toml if it exists, else a built-in demo]
    #[arg(long, global = true, env = "EARSHOT_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the kiosk on the screen
    Run(run::Args),
    /// Check a survey file and say what is wrong with it
    CheckSurvey(check_survey::Args),
    /// Drive randomised visits through the kiosk's logic and response storage, with no display
    Simulate(simulate::Args),
    /// Look after the stored responses: counts, export (e.g. to a USB stick), retry
    Queue(queue::Args),
    /// Upload waiting responses to the collector (the kiosk does this by itself while it runs)
    Upload(upload::Args),
    /// Enrol this device with a collector using a one-time code from `earshot-collector enroll-code`
    Provision(provision::Args),
    /// Turn touch input to match display.rotation: writes a udev rule (run as root) and
    /// reloads udev
    TouchRotation(touch_rotation::Args),
    /// Test the receipt scanner
    Scanner(scanner::Args),
    /// Write a picture of the attract screen, drawn without a display
    Screenshot(screenshot::Args),
}

/// What every command but `check-survey` and `provision` starts from: the configuration, where
/// it came from, and the alarms raised while the command runs.
pub struct Loaded {
    pub config: Config,
    pub source: ConfigSource,
    pub alarms: Alarms,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The journal under systemd, else plain text (colour on a terminal): earshot-logging.
    let log = earshot_logging::init("earshot");
    match run_command(cli) {
        Ok(code) => code,
        Err(message) => {
            // On the journal's stream, with the error priority (`journalctl -p err`).
            let priority = if log == earshot_logging::Destination::Journal {
                "<3>"
            } else {
                ""
            };
            errln!("{priority}earshot: {message}");
            ExitCode::from(2)
        }
    }
}

fn run_command(cli: Cli) -> Result<ExitCode, Problem> {
    let command = match cli.command {
        Command::CheckSurvey(args) => return Ok(check_survey::run(&args)),
        // The config file may not exist yet: provisioning writes it.
        Command::Provision(args) => return provision::run(&args, cli.config.as_deref()),
        other => other,
    };
    let (config, source) = Config::load(cli.config.as_deref())?;
    tracing::info!(config = %source, device = %config.device.id, site = %config.device.site, "configuration");
    let loaded = Loaded {
        config,
        source,
        alarms: Alarms::default(),
    };
    match command {
        Command::CheckSurvey(_) | Command::Provision(_) => unreachable!("handled above"),
        Command::Run(args) => run::run(args, loaded),
        Command::Simulate(args) => simulate::run(args, &loaded),
        Command::Queue(args) => queue::run(args, &loaded.config.storage),
        Command::Upload(args) => upload::run(&args, &loaded),
        Command::TouchRotation(args) => touch_rotation::run(&args, &loaded.config.display),
        Command::Scanner(args) => scanner::run(args, &loaded),
        Command::Screenshot(args) => screenshot::run(args, loaded),
    }
}
