//! `earshot run`: the kiosk on the screen.

use std::path::PathBuf;
use std::process::ExitCode;

use super::Loaded;
use crate::app;
use crate::core::problem::Problem;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Survey file to show instead of the configured one
    #[arg(long, value_name = "PATH")]
    pub survey: Option<PathBuf>,
}

pub fn run(args: Args, loaded: Loaded) -> Result<ExitCode, Problem> {
    let Loaded {
        config,
        source,
        alarms,
    } = loaded;
    let survey = app::survey::load(&config.survey, &source, args.survey.as_deref(), &alarms)?;
    app::Kiosk::new(config, survey, alarms).run()
}
