//! Which survey the kiosk shows, and the last-good-survey rule: a survey that loads cleanly is
//! kept as the last good one; a configured file that cannot be used leaves the last good
//! survey in force with an alarm for staff, and only a device that never had a good survey
//! refuses to start.

use std::path::Path;
use std::sync::Arc;

use crate::core::problem::Problem;
use crate::core::survey::{self, Survey};
use crate::files::config::{ConfigSource, SurveyConfig};
use crate::files::survey::{read_last_good, read_survey_text, remember_good};
use crate::seams::alarms::{AlarmKind, Alarms};

/// Loads the survey to show: `--survey`, else the configured file, else the built-in demo.
/// If the file is invalid, the last good survey stays in force and staff are alarmed; only a
/// device that never had a good survey refuses to start.
pub fn load(
    configured: &SurveyConfig,
    source: &ConfigSource,
    override_path: Option<&Path>,
    alarms: &Alarms,
) -> Result<Arc<Survey>, Problem> {
    let path: &Path = match (override_path, configured) {
        (Some(path), _) => path,
        (None, SurveyConfig::File(path)) => path,
        (None, SurveyConfig::Demo { name, text }) => {
            return survey::parse(text, &format!("built-in {name} survey"))
                .map(Arc::new)
                .map_err(|e| Problem::new(e.to_string()));
        }
    };
    let name = path.display().to_string();
    let problem = match read_survey_text(path) {
        Ok(text) => match survey::parse(&text, &name) {
            Ok(s) => {
                remember_good(&text);
                alarms.clear(AlarmKind::SurveyInvalid);
                return Ok(Arc::new(s));
            }
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    };
    let fallback = read_last_good().and_then(|text| survey::parse(&text, "last good survey").ok());
    match fallback {
        Some(s) => {
            alarms.raise(
                AlarmKind::SurveyInvalid,
                format!("the survey file cannot be used, so the last good survey (\"{}\" version {}) is shown: {problem}", s.id, s.version),
                format!("correct {name} (check it with `earshot check-survey {name}`) and restart the kiosk"),
            );
            Ok(Arc::new(s))
        }
        None => Err(Problem::new(format!(
            "{problem}\nThe kiosk has no earlier good survey to fall back on (configuration: {source}). \
             Fix the file (check it with `earshot check-survey {name}`) and start again."
        ))),
    }
}

/// A survey file read and parsed for a look only (a picture of a draft): it never becomes the
/// kiosk's last good survey.
pub fn load_draft(path: &Path) -> Result<Arc<Survey>, Problem> {
    let text = read_survey_text(path)?;
    survey::parse(&text, &path.display().to_string())
        .map(Arc::new)
        .map_err(|e| Problem::new(e.to_string()))
}
