//! `earshot upload --once` and `earshot provision`: uploading and enrolment by hand, for
//! facilities staff.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use earshot_protocol::EnrollRequest;

use crate::alarms::Alarms;
use crate::config::{Config, SYSTEM_CONFIG_PATH};
use crate::core::survey::Survey;
use crate::storage::open_store;
use crate::upload::client::{check_server_url, Client, ClientSettings, SendError};
use crate::upload::{token, DeviceFacts, Pass, UploadSettings, Uploader};

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Uploads everything waiting now, batch by batch, saying what happened to each. Stops at
/// the first failure (nothing is lost: what was not delivered stays queued).
pub fn upload_once(config: &Config, survey: &Survey, alarms: &Alarms) -> Result<ExitCode, String> {
    let settings = UploadSettings::from_config(config)?.ok_or_else(|| {
        "no collector is configured ([upload] server); enrol the device with `earshot provision --server URL --code CODE`".to_string()
    })?;
    let queue = open_store(config, alarms).map_err(|e| e.to_string())?;
    let mut uploader = Uploader::new(
        settings,
        facts(survey, not_configured(), "not watched by this process"),
        alarms.clone(),
    )?;
    let server = uploader.settings().client.server.clone();
    runtime()?.block_on(async {
        let mut total = Totals::default();
        let code = loop {
            match uploader.pass(&queue).await {
                Pass::Delivered(d) => {
                    println!(
                        "sent {} responses ({} bytes): {} accepted, {} already there, {} rejected",
                        d.responses, d.bytes_sent, d.accepted, d.duplicate, d.rejected
                    );
                    total.add(&d);
                }
                Pass::Empty => {
                    if let Err(e) = uploader.heartbeat(&queue).await {
                        println!("status not sent: {}", e.message());
                    }
                    break ExitCode::SUCCESS;
                }
                Pass::Failed { wait, error } if wait.is_zero() => {
                    println!("{error}; trying smaller batches");
                }
                Pass::Failed { error, .. } => {
                    println!("stopped: {error}");
                    break ExitCode::FAILURE;
                }
                Pass::Unauthorized { error } => {
                    println!("stopped: device not authorised: {error}");
                    println!(
                        "provision it again with `earshot provision --server {server} --code CODE`"
                    );
                    break ExitCode::FAILURE;
                }
            }
        };
        // Put back a batch left claimed by a failure, so the kiosk can send it.
        drop(uploader);
        let _ = queue.release_all_claimed();
        let stats = queue.stats().map_err(|e| e.to_string())?;
        println!(
            "{} delivered ({} new, {} already there), {} rejected; {} waiting, {} set aside",
            total.accepted + total.duplicate,
            total.accepted,
            total.duplicate,
            total.rejected,
            stats.pending + stats.claimed,
            stats.dead
        );
        Ok(code)
    })
}

/// The scanner state reported by the standalone upload commands, which do not read it.
fn not_configured() -> crate::upload::ScannerReport {
    Arc::new(|| "not_configured".to_string())
}

/// Runs the kiosk's upload loop alone, without the screen, until the process is stopped.
pub fn upload_until_stopped(
    config: &Config,
    survey: &Survey,
    alarms: &Alarms,
) -> Result<ExitCode, String> {
    let settings = UploadSettings::from_config(config)?.ok_or_else(|| {
        "no collector is configured ([upload] server); enrol the device with `earshot provision --server URL --code CODE`".to_string()
    })?;
    let queue = open_store(config, alarms).map_err(|e| e.to_string())?;
    let mut uploader = Uploader::new(
        settings,
        facts(survey, not_configured(), "not watched by this process"),
        alarms.clone(),
    )?;
    let source: crate::upload::QueueSource = Arc::new(move || Some(queue.clone()));
    let wake = Arc::new(tokio::sync::Notify::new());
    runtime()?.block_on(crate::upload::run(&mut uploader, source, wake));
    Ok(ExitCode::SUCCESS)
}

fn facts(survey: &Survey, scanner: crate::upload::ScannerReport, hardware: &str) -> DeviceFacts {
    DeviceFacts {
        survey_id: survey.id.clone(),
        survey_version: survey.version.clone(),
        scanner,
        hardware: hardware.to_string(),
    }
}

/// What `upload --once` delivered in all.
#[derive(Default)]
struct Totals {
    accepted: usize,
    duplicate: usize,
    rejected: usize,
}

impl Totals {
    fn add(&mut self, d: &crate::upload::Delivery) {
        self.accepted += d.accepted;
        self.duplicate += d.duplicate;
        self.rejected += d.rejected;
    }
}

/// This machine's name, a sensible device id for a first configuration.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "earshot-kiosk".into())
}

/// Enrols the device with the collector: exchanges the one-time code for a device token,
/// keeps the token in the state directory (mode 0600), and writes the server into the config
/// file, keeping its comments and everything else in it.
pub fn provision(
    config_path: Option<&Path>,
    server: &str,
    code: &str,
    site: Option<&str>,
) -> Result<ExitCode, String> {
    let server_url = check_server_url(server)?;
    let config_path: PathBuf = config_path
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(SYSTEM_CONFIG_PATH));
    let existing = match std::fs::read_to_string(&config_path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {}: {e}", config_path.display())),
    };
    let (config, mut doc) = match &existing {
        Some(text) => (
            Config::parse(text, &config_path).map_err(|e| e.to_string())?,
            text.parse::<toml_edit::DocumentMut>()
                .map_err(|e| format!("{}: {e}", config_path.display()))?,
        ),
        None => {
            let mut config = Config::demo();
            config.device.id = hostname();
            (config, toml_edit::DocumentMut::new())
        }
    };
    let client = Client::new(&ClientSettings {
        server: server_url.clone(),
        ca_file: config.upload.ca_file.clone(),
        connect_timeout: std::time::Duration::from_secs(config.upload.connect_timeout_s),
        request_timeout: std::time::Duration::from_secs(config.upload.request_timeout_s),
    })?;
    // A device id left empty (the package's config) becomes the machine's hostname: unique
    // in a fleet whose Pis were named, where a shared default would let kiosks take over
    // each other's enrolment.
    let device_id = match config.device.id.trim() {
        "" => hostname(),
        id => id.to_string(),
    };
    let request = EnrollRequest {
        code: code.trim().to_string(),
        device_id,
        site: site.map(str::to_string),
    };
    let reply = runtime()?
        .block_on(client.enroll(&request))
        .map_err(|e| match e {
            SendError::Unauthorized(m) | SendError::Refused(m) => format!("enrolment refused: {m}"),
            other => format!(
                "cannot reach the collector at {server_url}: {}",
                other.message()
            ),
        })?;
    let token_path = config.token_path();
    token::write(&token_path, &reply.token)?;
    crate::files::hand_to_service_user(&[&token_path])?;
    let secret_note = match &reply.receipt_secret {
        Some(secret) => {
            crate::receipt_secret::write(&config.receipt_secret_path(), secret)?;
            crate::files::hand_to_service_user(&[&config.receipt_secret_path()])?;
            format!(
                "; the deployment's receipt secret is in {}",
                config.receipt_secret_path().display()
            )
        }
        None => String::new(),
    };
    doc["device"]["id"] = toml_edit::value(reply.device_id.clone());
    doc["device"]["site"] = toml_edit::value(reply.site.clone());
    doc["upload"]["server"] = toml_edit::value(server_url.as_str().trim_end_matches('/'));
    let text = doc.to_string();
    // Refuse to write a file the kiosk would then not start with.
    Config::parse(&text, &config_path).map_err(|e| e.to_string())?;
    write_atomically(&config_path, text.as_bytes())?;
    println!(
        "enrolled device {} at site {} with {}",
        reply.device_id,
        reply.site,
        server_url.as_str().trim_end_matches('/')
    );
    println!(
        "device token kept in {} (readable by this user only){secret_note}",
        token_path.display()
    );
    println!("configuration written to {}", config_path.display());
    Ok(ExitCode::SUCCESS)
}

/// Replaces the config file in one step, keeping its permissions.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    crate::files::replace_atomically(path, bytes, None)
        .map_err(|e| format!("cannot {} {}: {}", e.step, path.display(), e.error))
}

/// Starts the kiosk's uploader when a collector is configured. Problems are logged and
/// alarmed; the kiosk runs on and keeps every response.
pub fn start_uploader(
    config: &Config,
    survey: &Survey,
    sink: &Arc<crate::storage::QueueSink>,
    alarms: &Alarms,
    scanner: crate::upload::ScannerReport,
    hardware: &str,
) {
    let settings = match UploadSettings::from_config(config) {
        Ok(Some(s)) => s,
        Ok(None) => {
            tracing::info!("no collector configured; responses stay on the device");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "uploads are off");
            return;
        }
    };
    let uploader = match Uploader::new(settings, facts(survey, scanner, hardware), alarms.clone()) {
        Ok(u) => u,
        Err(e) => {
            alarms.raise(
                crate::alarms::AlarmKind::UploadFailing,
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
    let source: crate::upload::QueueSource = Arc::new(move || source_sink.queue());
    if let Err(e) = crate::upload::spawn(uploader, source, wake) {
        tracing::error!(error = %e, "cannot start the upload thread; responses stay on the device");
    }
}
