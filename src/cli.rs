//! The command line: `earshot run`, `earshot check-survey`, `earshot simulate`. Every
//! subcommand reads the same configuration (`--config`, `EARSHOT_CONFIG`, the system file or
//! the built-in demo).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::alarms::{AlarmKind, Alarms};
use crate::config::{self, Config, ConfigSource};
use crate::core::survey::{self, Survey};
use crate::core::visit::DeviceIds;
use crate::scan::NoScanner;
use crate::storage::{open_store, QueueSink};

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
    Run {
        /// Survey file to show instead of the configured one
        #[arg(long, value_name = "PATH")]
        survey: Option<PathBuf>,
    },
    /// Check a survey file and say what is wrong with it
    CheckSurvey {
        /// The survey file
        path: PathBuf,
    },
    /// Drive randomised visits through the kiosk's logic and response storage, with no display
    Simulate {
        /// How many visits
        #[arg(long)]
        visits: u64,
        /// Survey file to use instead of the configured one
        #[arg(long, value_name = "PATH")]
        survey: Option<PathBuf>,
        /// Seed for repeatable runs [default: random]
        #[arg(long)]
        seed: Option<u64>,
        /// Print "committed <id>" as each response is confirmed stored (for crash tests)
        #[arg(long)]
        print_committed: bool,
        /// Every N visits, claim and acknowledge a batch as an uploader would
        #[arg(long, value_name = "N")]
        drain_every: Option<u64>,
    },
    /// Look after the stored responses: counts, export (e.g. to a USB stick), retry
    Queue {
        #[command(subcommand)]
        action: crate::queue_cli::QueueAction,
    },
    /// Upload waiting responses to the collector (the kiosk does this by itself while it runs)
    Upload {
        /// Send everything waiting now, say what happened, and stop; without it, keep
        /// uploading until stopped, as the kiosk does
        #[arg(long)]
        once: bool,
    },
    /// Enrol this device with a collector using a one-time code from `earshot-collector enroll-code`
    Provision {
        /// The collector, e.g. https://feedback.example.org
        #[arg(long)]
        server: String,
        /// The one-time enrolment code
        #[arg(long)]
        code: String,
        /// The site this device stands in; refused if the code was made for another
        #[arg(long)]
        site: Option<String>,
        /// Move this device to the code's site when its id is enrolled at another site
        /// (without it, the collector refuses and nothing changes)
        #[arg(long)]
        reassign: bool,
    },
    /// Turn touch input to match display.rotation: writes a udev rule (run as root) and
    /// reloads udev
    TouchRotation {
        /// Where udev rules go
        #[arg(long, value_name = "DIR", default_value = "/etc/udev/rules.d")]
        rules_dir: PathBuf,
        /// Only write the rule; do not ask udev to reload
        #[arg(long)]
        no_reload: bool,
    },
    /// Test the receipt scanner
    Scanner {
        #[command(subcommand)]
        action: ScannerAction,
    },
    /// Write a picture of the attract screen, drawn without a display
    Screenshot {
        /// The PNG file to write
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
        /// Picture size, e.g. 1280x800 [default: the configured window size]
        #[arg(long, value_name = "WxH")]
        size: Option<crate::headless::ScreenSize>,
        /// Survey file to show instead of the configured one
        #[arg(long, value_name = "PATH")]
        survey: Option<PathBuf>,
        /// Also print start-up and rendering times
        #[arg(long)]
        timings: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScannerAction {
    /// Print each frame the scanner sends as it is decoded (non-printable bytes as <hex>)
    Listen {
        /// The port to read instead of the configured one
        #[arg(long)]
        port: Option<String>,
        /// Stop after this many frames [default: run until stopped]
        #[arg(long)]
        count: Option<u64>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("EARSHOT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // A log line that cannot be written is dropped, never reported on standard error
        // (which is the very writer that failed): see `crate::output`.
        .log_internal_errors(false)
        .init();
    match run_command(cli) {
        Ok(code) => code,
        Err(message) => {
            errln!("earshot: {message}");
            ExitCode::from(2)
        }
    }
}

fn run_command(cli: Cli) -> Result<ExitCode, String> {
    if let Command::CheckSurvey { path } = &cli.command {
        return Ok(check_survey(path));
    }
    // The config file may not exist yet: provisioning writes it.
    if let Command::Provision {
        server,
        code,
        site,
        reassign,
    } = &cli.command
    {
        return crate::upload_cli::provision(
            cli.config.as_deref(),
            server,
            code,
            site.as_deref(),
            *reassign,
        );
    }
    let (config, source) = Config::load(cli.config.as_deref()).map_err(|e| e.to_string())?;
    tracing::info!(config = %source, device = %config.device.id, site = %config.device.site, "configuration");
    let alarms = Alarms::default();
    match cli.command {
        Command::CheckSurvey { .. } | Command::Provision { .. } => unreachable!("handled above"),
        Command::Upload { once } => {
            let survey = load_survey(&config, &source, None, &alarms)?;
            if once {
                crate::upload_cli::upload_once(&config, &survey, &alarms)
            } else {
                crate::upload_cli::upload_until_stopped(&config, &survey, &alarms)
            }
        }
        Command::Run { survey } => {
            let survey = load_survey(&config, &source, survey.as_deref(), &alarms)?;
            run_kiosk(config, survey, alarms)
        }
        Command::Simulate {
            visits,
            survey,
            seed,
            print_committed,
            drain_every,
        } => {
            let survey = load_survey(&config, &source, survey.as_deref(), &alarms)?;
            let queue = open_store(&config, &alarms).map_err(|e| e.to_string())?;
            let sink = QueueSink::start(Arc::clone(&queue), alarms.clone(), max_db_bytes(&config));
            let seed = seed.unwrap_or_else(|| fastrand::u64(..));
            let options = crate::simulate::SimulateOptions {
                print_committed,
                drain: drain_every.map(|n| (queue, n)),
            };
            let summary = crate::simulate::run_and_report(
                survey,
                device_ids(&config),
                &sink,
                visits,
                seed,
                &options,
            );
            Ok(if summary.store_failures == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Queue { action } => crate::queue_cli::run(action, &config),
        Command::TouchRotation {
            rules_dir,
            no_reload,
        } => touch_rotation(&config, &rules_dir, no_reload),
        Command::Scanner {
            action: ScannerAction::Listen { port, count },
        } => scanner_listen(&config, port.as_deref(), count, &alarms),
        Command::Screenshot {
            out,
            size,
            survey: survey_path,
            timings,
        } => {
            // A picture of a draft survey must not make the draft the kiosk's fallback survey.
            let survey = match survey_path {
                Some(path) => {
                    let text = read_survey_text(&path)?;
                    Arc::new(
                        survey::parse(&text, &path.display().to_string())
                            .map_err(|e| e.to_string())?,
                    )
                }
                None => load_survey(&config, &source, None, &alarms)?,
            };
            let [width, height] = config.kiosk.window_size;
            let size = size.unwrap_or(crate::headless::ScreenSize { width, height });
            crate::headless::screenshot(survey, device_ids(&config), alarms, &out, size, timings)
        }
    }
}

/// `earshot touch-rotation`: touch turned like the picture, through a udev rule.
fn touch_rotation(config: &Config, rules_dir: &Path, no_reload: bool) -> Result<ExitCode, String> {
    let rotation = config.display.rotation;
    let path = crate::display::write_touch_rule(rules_dir, rotation)?;
    outln!(
        "touch turned for display.rotation = {rotation}: {}",
        path.display()
    );
    if !no_reload {
        for args in [
            &["control", "--reload"][..],
            &["trigger", "--subsystem-match=input", "--action=change"][..],
        ] {
            let status = std::process::Command::new("udevadm")
                .args(args)
                .status()
                .map_err(|e| format!("cannot run udevadm ({e}); reboot for the rule to apply"))?;
            if !status.success() {
                return Err(format!(
                    "`udevadm {}` failed ({status}); reboot for the rule to apply",
                    args.join(" ")
                ));
            }
        }
        outln!("udev reloaded; restart the kiosk (`sudo systemctl restart earshot`) to pick the touchscreen up again");
    }
    Ok(ExitCode::SUCCESS)
}

/// `earshot scanner listen`: what the scanner sends, frame by frame, for staff setting one up.
fn scanner_listen(
    config: &Config,
    port: Option<&str>,
    count: Option<u64>,
    alarms: &Alarms,
) -> Result<ExitCode, String> {
    let settings = config.scanner.settings(port)?.ok_or_else(|| {
        "no scanner is configured: pass --port /dev/ttyACM0 (or set [scanner] port)".to_string()
    })?;
    outln!(
        "listening on {} at {} baud; scan a code (Ctrl-C to stop)",
        settings.port,
        settings.baud
    );
    let status = std::sync::Arc::new(std::sync::Mutex::new(
        crate::scanner::serial::ScannerStatus {
            state: crate::scanner::serial::ScannerState::Missing,
            counts: Default::default(),
        },
    ));
    let seen = std::cell::Cell::new(0u64);
    crate::scanner::serial::read_forever(
        &settings,
        alarms,
        &status,
        |frame| {
            seen.set(seen.get() + 1);
            let verdict = if frame.text.is_some() {
                "code"
            } else {
                "not a code (NUL or not UTF-8)"
            };
            // A reader that went away (`| head -1`) ends the command here.
            outln!(
                "frame {}: {} ({} bytes, {verdict})",
                seen.get(),
                frame.shown(),
                frame.bytes.len()
            );
        },
        || count.is_some_and(|n| seen.get() >= n),
    );
    let counts = status.lock().map(|s| s.counts).unwrap_or_default();
    outln!(
        "{} codes, {} not codes, {} overlong frames discarded",
        counts.frames,
        counts.garbage,
        counts.overlong
    );
    Ok(ExitCode::SUCCESS)
}

fn check_survey(path: &Path) -> ExitCode {
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

/// Reads a survey file, refusing what is not text with a message that says so. Every survey
/// the kiosk reads (`check-survey`, `run --survey`, the configured file, the last good copy)
/// comes through here, so none is read past [`earshot_protocol::MAX_SURVEY_FILE_BYTES`]: the
/// length on disk is checked first, and the reading itself stops one byte past the limit,
/// because a pipe, a device or a file still being written tells no true length.
fn read_survey_text(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let limit = earshot_protocol::MAX_SURVEY_FILE_BYTES;
    let cannot_read = |e: std::io::Error| {
        format!("{}: cannot read the survey file: {e}. Fix: check the path and that the file may be read", path.display())
    };
    let file = std::fs::File::open(path).map_err(cannot_read)?;
    let on_disk = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    if let Some(len) = on_disk.filter(|&len| len > limit) {
        return Err(survey_too_large(path, Some(len)));
    }
    let mut bytes = Vec::with_capacity(on_disk.unwrap_or(0) as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    if bytes.len() as u64 > limit {
        return Err(survey_too_large(path, None));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{}: the file is not UTF-8 text (bad byte at position {}). Fix: save it as UTF-8 from your editor",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Why a survey file over the limit is refused; `len` when the file system knows it.
fn survey_too_large(path: &Path, len: Option<u64>) -> String {
    let limit_mib = earshot_protocol::MAX_SURVEY_FILE_BYTES / (1024 * 1024);
    let size = match len {
        Some(len) => format!("is {:.1} MB", len as f64 / 1_000_000.0),
        None => format!("goes on past {limit_mib} MiB"),
    };
    format!(
        "{}: the file {size}; a survey file may be at most {limit_mib} MiB, so this is almost certainly not the intended file (a survey in every language of a large council is well under 200 KB). Fix: check that the path names the survey file",
        path.display()
    )
}

/// The last survey that loaded cleanly is kept beside the data, so a broken update does not
/// take the kiosk out of service.
fn last_good_path() -> PathBuf {
    config::state_dir().join("last-good-survey.toml")
}

/// Loads the survey to show: `--survey`, else the configured file, else the built-in demo.
/// If the file is invalid, the last good survey stays in force and staff are alarmed; only a
/// device that never had a good survey refuses to start.
fn load_survey(
    config: &Config,
    source: &ConfigSource,
    override_path: Option<&Path>,
    alarms: &Alarms,
) -> Result<Arc<Survey>, String> {
    let path = override_path.or(config.survey.path.as_deref());
    let Some(path) = path else {
        let name = &config.survey.demo;
        let text =
            config::demo_survey(name).ok_or_else(|| format!("no built-in survey called {name}"))?;
        return survey::parse(text, &format!("built-in {name} survey"))
            .map(Arc::new)
            .map_err(|e| e.to_string());
    };
    let name = path.display().to_string();
    let problem = match read_survey_text(path) {
        Ok(text) => match survey::parse(&text, &name) {
            Ok(s) => {
                remember_good_survey(&text);
                alarms.clear(AlarmKind::SurveyInvalid);
                return Ok(Arc::new(s));
            }
            Err(e) => e.to_string(),
        },
        Err(e) => e,
    };
    let fallback = read_survey_text(&last_good_path())
        .ok()
        .and_then(|text| survey::parse(&text, "last good survey").ok());
    match fallback {
        Some(s) => {
            alarms.raise(
                AlarmKind::SurveyInvalid,
                format!("the survey file cannot be used, so the last good survey (\"{}\" version {}) is shown: {problem}", s.id, s.version),
                format!("correct {name} (check it with `earshot check-survey {name}`) and restart the kiosk"),
            );
            Ok(Arc::new(s))
        }
        None => Err(format!(
            "{problem}\nThe kiosk has no earlier good survey to fall back on (configuration: {source}). \
             Fix the file (check it with `earshot check-survey {name}`) and start again."
        )),
    }
}

fn remember_good_survey(text: &str) {
    let path = last_good_path();
    let result = (|| -> std::io::Result<()> {
        // The kiosk's state folder, where the responses are kept too.
        if let Some(dir) = path.parent() {
            crate::files::create_private_dir_all(dir)?;
        }
        let temp = path.with_extension("toml.tmp");
        std::fs::write(&temp, text)?;
        std::fs::File::open(&temp)?.sync_all()?;
        std::fs::rename(&temp, &path)
    })();
    if let Err(e) = result {
        tracing::warn!(path = %path.display(), error = %e, "could not keep a copy of the good survey");
    }
}

fn max_db_bytes(config: &Config) -> u64 {
    config.storage.max_db_mb.saturating_mul(1024 * 1024)
}

fn device_ids(config: &Config) -> DeviceIds {
    DeviceIds {
        site_id: config.device.site.clone(),
        device_id: config.device.id.clone(),
        run_id: Some(crate::clock::run_id()),
    }
}

/// The configured receipt rules under the deployment's secret (made if there is none).
fn receipt_rules(
    config: &Config,
    alarms: &Alarms,
) -> Result<crate::core::receipt::ReceiptRules, String> {
    let path = config.receipt_secret_path();
    let loaded = crate::receipt_secret::load_or_create(&path)?;
    if let Some(moved) = &loaded.quarantined {
        alarms.raise(
            AlarmKind::ReceiptSecretReplaced,
            format!(
                "the receipt secret {} could not be used; it was moved to {} and a new one made, so receipts scanned now will not match the till data",
                path.display(),
                moved.display()
            ),
            "provision the device again (`earshot provision`) to get the deployment's secret",
        );
    } else if loaded.created {
        tracing::info!(file = %path.display(), "a receipt secret was made for this kiosk; provisioning replaces it with the deployment's");
    }
    config.receipt_rules(loaded.secret)
}

fn run_kiosk(config: Config, survey: Arc<Survey>, alarms: Alarms) -> Result<ExitCode, String> {
    if config.display.rotation != 0 && std::env::var_os("SLINT_KMS_ROTATION").is_none() {
        // Read by Slint's KMS backend (the device build) when it opens the screen. Set here,
        // before the kiosk starts any thread of its own. Touch is turned by a udev rule
        // (`earshot touch-rotation`).
        std::env::set_var("SLINT_KMS_ROTATION", config.display.rotation.to_string());
    }
    tracing::info!(survey = %survey.id, version = %survey.version, "survey in force");
    let sink = Arc::new(QueueSink::start_for_kiosk(&config, alarms.clone()));
    tracing::info!(responses = %config.storage_path().display(), "responses are kept");
    let scanner = match config.scanner.settings(None) {
        Ok(Some(settings)) => Some(crate::scanner::serial::SerialScanner::new(
            settings,
            alarms.clone(),
        )),
        _ => None,
    };
    let scanner_report: crate::upload::ScannerReport = match &scanner {
        Some(s) => {
            let cell = s.status.clone();
            Arc::new(move || {
                cell.lock()
                    .map(|s| s.state.code().to_string())
                    .unwrap_or_else(|_| "unknown".into())
            })
        }
        None => Arc::new(|| "not_configured".to_string()),
    };
    let hardware = crate::hardware::open(&config.gpio, &alarms);
    tracing::info!(hardware = %hardware.describe(), "hardware");
    crate::upload_cli::start_uploader(
        &config,
        &survey,
        &sink,
        &alarms,
        scanner_report,
        &hardware.describe(),
    );
    // The store was opened and migrated by the sink (or could not be: then the kiosk runs on,
    // telling visitors honestly and alarmed, rather than being restarted every few minutes).
    crate::service::ready(if sink.queue().is_some() {
        "taking responses"
    } else {
        "running, but the response store cannot be opened (see the alarm)"
    });
    crate::service::start_watchdog();
    let receipts = receipt_rules(&config, &alarms)?;
    // Read once at start, before the window exists; from then on the visit keeps count.
    let used_receipts = match sink.queue() {
        Some(queue) => queue
            .used_receipts(config.receipt_memory(), std::time::SystemTime::now())
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot read which receipts were used; each is taken as new");
                Vec::new()
            }),
        None => Vec::new(),
    };
    let tracking_url = config.thanks_tracking_url(&survey).map(str::to_string);
    match &tracking_url {
        Some(url) => tracing::info!(tracking = %url, "the thanks screen links to a tracking page"),
        None => tracing::info!("no tracking page: the thanks screen shows no QR code"),
    }
    let parts = crate::ui::KioskParts {
        survey,
        ids: device_ids(&config),
        sink,
        alarms,
        hardware,
        seed: fastrand::u64(..),
        hide_cursor: config.kiosk.cursor_hidden(),
        clock: None,
        receipts: Some(receipts),
        used_receipts,
        staff_call: std::time::Duration::from_secs(u64::from(config.gpio.staff_call_s)),
        blank: config
            .display
            .blank
            .as_ref()
            .map(|b| b.night())
            .transpose()?,
        tracking_url,
    };
    let ui = crate::ui::KioskUi::new(parts).map_err(|e| {
        format!("cannot open the display: {e}. Fix: run the kiosk on the device's screen (or a desktop session)")
    })?;
    use slint::ComponentHandle;
    let window = ui.window.window();
    if config.kiosk.fullscreen {
        window.set_fullscreen(true);
    } else {
        let [w, h] = config.kiosk.window_size;
        window.set_size(slint::LogicalSize::new(w as f32, h as f32));
    }
    match scanner {
        Some(s) => ui.attach_scanner(Box::new(s)),
        None => ui.attach_scanner(Box::new(NoScanner)),
    }
    ui.window
        .run()
        .map_err(|e| format!("the display stopped: {e}"))?;
    Ok(ExitCode::SUCCESS)
}
