//! `earshot screenshot`: a picture of the attract screen, drawn without a display.

use std::path::PathBuf;
use std::process::ExitCode;

use super::Loaded;
use crate::app::{self, headless::ScreenSize};
use crate::core::problem::Problem;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The PNG file to write
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Picture size, e.g. 1280x800 [default: the configured window size]
    #[arg(long, value_name = "WxH")]
    pub size: Option<ScreenSize>,
    /// Survey file to show instead of the configured one
    #[arg(long, value_name = "PATH")]
    pub survey: Option<PathBuf>,
    /// Also print start-up and rendering times
    #[arg(long)]
    pub timings: bool,
}

pub fn run(args: Args, loaded: Loaded) -> Result<ExitCode, Problem> {
    let Loaded {
        config,
        source,
        alarms,
    } = loaded;
    // A picture of a draft survey must not make the draft the kiosk's fallback survey.
    let survey = match &args.survey {
        Some(path) => app::survey::load_draft(path)?,
        None => app::survey::load(&config.survey, &source, None, &alarms)?,
    };
    let [width, height] = config.kiosk.window_size;
    let size = args.size.unwrap_or(ScreenSize { width, height });
    app::headless::screenshot(
        survey,
        app::device_ids(&config.device),
        alarms,
        &args.out,
        size,
        args.timings,
    )
}
