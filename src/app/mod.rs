//! The running kiosk, assembled in one place. [`Kiosk`] is the composition root: like a web
//! service's startup builder, each step adds one part (the system, storage, the scanner, the
//! hardware, the uploader worker, the UI bridge) to what the steps before it made, and
//! [`Kiosk::run`] reads top to bottom as the order the kiosk starts in.
//!
//! Also here: which survey is shown and the last-good-survey rule (`survey`), the upload
//! worker (`uploader`), the kiosk drawn without a display (`headless`) and driven by
//! simulated visitors (`simulate`).

pub mod headless;
pub mod simulate;
pub mod survey;
pub mod uploader;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use crate::core::problem::Problem;
use crate::core::receipt::ReceiptRules;
use crate::core::survey::Survey;
use crate::core::visit::DeviceIds;
use crate::files::config::{Config, DeviceConfig, ReceiptConfig};
use crate::hardware::Hardware;
use crate::scanner::serial::SerialScanner;
use crate::seams::alarms::{AlarmKind, Alarms};
use crate::seams::scan::NoScanner;
use crate::storage::QueueSink;
use crate::system::service;
use crate::ui::{KioskParts, KioskUi};
use crate::upload::ScannerReport;

/// The ids every record of this run carries.
pub fn device_ids(device: &DeviceConfig) -> DeviceIds {
    DeviceIds {
        site_id: device.site.clone(),
        device_id: device.id.clone(),
        run_id: Some(crate::system::clock::run_id()),
    }
}

/// The configured receipt rules under the deployment's secret (made if there is none).
pub fn receipt_rules(receipt: &ReceiptConfig, alarms: &Alarms) -> Result<ReceiptRules, Problem> {
    let path = &receipt.secret_file;
    let loaded = crate::files::receipt_secret::load_or_create(path)?;
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
    Ok(receipt.rules(loaded.secret))
}

/// The kiosk being built: the configuration, the survey in force and the alarms, then each
/// part as its step adds it.
pub struct Kiosk {
    config: Config,
    survey: Arc<Survey>,
    alarms: Alarms,
}

/// The kiosk with its storage.
pub struct WithStorage {
    kiosk: Kiosk,
    sink: Arc<QueueSink>,
}

/// The kiosk with its storage and its devices.
pub struct WithDevices {
    kiosk: Kiosk,
    sink: Arc<QueueSink>,
    scanner: Option<SerialScanner>,
    hardware: Box<dyn Hardware>,
}

impl Kiosk {
    pub fn new(config: Config, survey: Arc<Survey>, alarms: Alarms) -> Kiosk {
        Kiosk {
            config,
            survey,
            alarms,
        }
    }

    /// Builds the kiosk and runs it on the screen until the window closes.
    pub fn run(self) -> Result<ExitCode, Problem> {
        self.system()
            .storage()
            .devices()
            .uploader()
            .ready()
            .ui()?
            .run()
    }

    /// The system first: the display's rotation is read by Slint's KMS backend (the device
    /// build) when it opens the screen, so it is set here, before the kiosk starts any thread
    /// of its own. Touch is turned by a udev rule (`earshot touch-rotation`).
    fn system(self) -> Kiosk {
        let rotation = self.config.display.rotation.degrees();
        if rotation != 0 && std::env::var_os("SLINT_KMS_ROTATION").is_none() {
            std::env::set_var("SLINT_KMS_ROTATION", rotation.to_string());
        }
        tracing::info!(survey = %self.survey.id, version = %self.survey.version, "survey in force");
        self
    }

    /// The response store behind the kiosk's sink, on its own thread.
    fn storage(self) -> WithStorage {
        let sink = Arc::new(QueueSink::start_for_kiosk(
            &self.config.storage,
            self.alarms.clone(),
        ));
        tracing::info!(responses = %self.config.storage.path.display(), "responses are kept");
        WithStorage { kiosk: self, sink }
    }
}

impl WithStorage {
    /// The receipt scanner, if one is configured, and the status light and staff call.
    fn devices(self) -> WithDevices {
        let Kiosk { config, alarms, .. } = &self.kiosk;
        let scanner = config
            .scanner
            .settings()
            .map(|settings| SerialScanner::new(settings, alarms.clone()));
        let hardware = crate::hardware::open(&config.gpio, alarms);
        tracing::info!(hardware = %hardware.describe(), "hardware");
        WithDevices {
            kiosk: self.kiosk,
            sink: self.sink,
            scanner,
            hardware,
        }
    }
}

impl WithDevices {
    /// What the uploader reports of the scanner with the device's status.
    fn scanner_report(&self) -> ScannerReport {
        match &self.scanner {
            Some(s) => {
                let cell = s.status.clone();
                Arc::new(move || {
                    cell.lock()
                        .map(|s| s.state.code().to_string())
                        .unwrap_or_else(|_| "unknown".into())
                })
            }
            None => Arc::new(|| "not_configured".to_string()),
        }
    }

    /// The upload worker, when a collector is configured.
    fn uploader(self) -> WithDevices {
        let Kiosk {
            config,
            survey,
            alarms,
        } = &self.kiosk;
        uploader::start(
            &config.upload,
            survey,
            &self.sink,
            alarms,
            self.scanner_report(),
            &self.hardware.describe(),
        );
        self
    }

    /// Tells systemd the kiosk is up and starts feeding its watchdog. The store was opened and
    /// migrated by the sink (or could not be: then the kiosk runs on, telling visitors honestly
    /// and alarmed, rather than being restarted every few minutes).
    fn ready(self) -> WithDevices {
        service::ready(if self.sink.queue().is_some() {
            "taking responses"
        } else {
            "running, but the response store cannot be opened (see the alarm)"
        });
        service::start_watchdog();
        self
    }

    /// The UI bridge over everything built so far, in its window.
    fn ui(self) -> Result<Running, Problem> {
        let WithDevices {
            kiosk:
                Kiosk {
                    config,
                    survey,
                    alarms,
                },
            sink,
            scanner,
            hardware,
        } = self;
        let receipts = receipt_rules(&config.receipt, &alarms)?;
        // Read once at start, before the window exists; from then on the visit keeps count.
        let used_receipts = match sink.queue() {
            Some(queue) => queue
                .used_receipts(config.receipt.memory(), SystemTime::now())
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "cannot read which receipts were used; each is taken as new");
                    Vec::new()
                }),
            None => Vec::new(),
        };
        let tracking_url = config.thanks_tracking_url(&survey).map(str::to_string);
        match &tracking_url {
            Some(url) => {
                tracing::info!(tracking = %url, "the thanks screen links to a tracking page")
            }
            None => tracing::info!("no tracking page: the thanks screen shows no QR code"),
        }
        let parts = KioskParts {
            survey,
            ids: device_ids(&config.device),
            sink,
            alarms,
            hardware,
            seed: fastrand::u64(..),
            hide_cursor: config.kiosk.hide_cursor,
            clock: None,
            receipts: Some(receipts),
            used_receipts,
            staff_call: config.gpio.staff_call,
            blank: config.display.blank,
            tracking_url,
        };
        // The backend first (the display, or what SLINT_BACKEND names), then the fonts on it,
        // each failing with its own problem and fix.
        crate::system::fonts::check_before_start().map_err(|p| p.to_string())?;
        slint::BackendSelector::new().select().map_err(no_display)?;
        crate::system::fonts::install().map_err(|p| p.to_string())?;
        let ui = KioskUi::new(parts).map_err(no_display)?;
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
        Ok(Running { ui })
    }
}

/// The display could not be opened, and what to do.
fn no_display(e: slint::PlatformError) -> Problem {
    Problem::with_fix(
        format!("cannot open the display: {e}"),
        "run the kiosk on the device's screen (or a desktop session)",
    )
}

/// The kiosk built, its window ready to show.
pub struct Running {
    ui: KioskUi,
}

impl Running {
    /// Shows the window and runs the UI's event loop until it closes.
    pub fn run(self) -> Result<ExitCode, Problem> {
        use slint::ComponentHandle;
        self.ui
            .window
            .run()
            .map_err(|e| format!("the display stopped: {e}"))?;
        Ok(ExitCode::SUCCESS)
    }
}
