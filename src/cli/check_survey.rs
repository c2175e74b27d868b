//! `earshot check-survey`: what is wrong with a survey file, for whoever writes one.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::core::survey;
use crate::files::survey::read_survey_text;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The survey file
    pub path: PathBuf,
}

pub fn run(args: &Args) -> ExitCode {
    let path = &args.path;
    let name = path.display().to_string();
    let text = match read_survey_text(path) {
        Ok(t) => t,
        Err(e) => {
            errln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    match survey::parse(&text, &name) {
        Ok(s) => {
            outln!(
                "{name}: OK — survey \"{}\" version {}, {} steps, languages {}",
                s.id,
                s.version,
                s.steps.len(),
                s.languages.join(", ")
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            errln!("{errors}");
            errln!(
                "{name}: {} problem(s); the kiosk will not use this file until they are fixed",
                errors.0.len()
            );
            ExitCode::FAILURE
        }
    }
}
