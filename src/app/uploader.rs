//! The upload worker as the kiosk and the upload commands start it: the async runtime, the
//! facts the device reports with its status, and the kiosk's uploader thread.

use std::sync::Arc;

use crate::core::problem::Problem;
use crate::core::survey::Survey;
use crate::files::config::UploadConfig;
use crate::seams::alarms::{AlarmKind, Alarms};
use crate::storage::QueueSink;
use crate::upload::{DeviceFacts, QueueSource, ScannerReport, UploadSettings, Uploader};

/// The single-threaded async runtime the upload commands run the client on.
pub fn runtime() -> Result<tokio::runtime::Runtime, Problem> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Problem::new(format!("cannot start the async runtime: {e}")))
}

/// The scanner state reported by the standalone upload commands, which do not read it.
pub fn not_configured() -> ScannerReport {
    Arc::new(|| "not_configured".to_string())
}

/// What the device reports about itself with its status.
pub fn facts(survey: &Survey, scanner: ScannerReport, hardware: &str) -> DeviceFacts {
    DeviceFacts {
        survey_id: survey.id.clone(),
        survey_version: survey.version.clone(),
        scanner,
        hardware: hardware.to_string(),
    }
}

/// Starts the kiosk's uploader when a collector is configured. Problems are logged and
/// alarmed; the kiosk runs on and keeps every response.
pub fn start(
    upload: &UploadConfig,
    survey: &Survey,
    sink: &Arc<QueueSink>,
    alarms: &Alarms,
    scanner: ScannerReport,
    hardware: &str,
) {
    let Some(settings) = UploadSettings::from_config(upload) else {
        tracing::info!("no collector configured; responses stay on the device");
        return;
    };
    let uploader = match Uploader::new(settings, facts(survey, scanner, hardware), alarms.clone()) {
        Ok(u) => u,
        Err(e) => {
            alarms.raise(
                AlarmKind::UploadFailing,
                format!("uploads cannot start: {e}"),
                "correct the [upload] settings (server, ca_file) and restart; responses are kept meanwhile",
            );
            return;
        }
    };
    let wake = Arc::new(tokio::sync::Notify::new());
    let notify = wake.clone();
    sink.on_stored(move || notify.notify_one());
    let source_sink = sink.clone();
    let source: QueueSource = Arc::new(move || source_sink.queue());
    if let Err(e) = crate::upload::spawn(uploader, source, wake) {
        tracing::error!(error = %e, "cannot start the upload thread; responses stay on the device");
    }
}
