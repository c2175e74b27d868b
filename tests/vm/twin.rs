//! The guest's kiosk run alongside in this process on Slint's testing backend, at the
//! guest's screen size, with the same survey and no GPIO (as in the guest): it says where each
//! button is (an element's centre is where to tap on the guest's screen, whose pixels are
//! Slint's logical pixels at scale 1), what the guest should show next, and what the guest's
//! screen should look like.

use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use earshot::core::receipt::ReceiptRules;
use earshot::core::record::ResponseRecord;
use earshot::core::survey::{StepKind, Survey};
use earshot::core::visit::{DeviceIds, Screen};
use earshot::hardware::SimulatedHardware;
use earshot::seams::alarms::Alarms;
use earshot::seams::scan::ChannelScanner;
use earshot::ui::{KioskParts, KioskUi};
use i_slint_backend_testing::ElementHandle;
use slint::platform::PointerEventButton;
use slint::ComponentHandle;

use crate::common;
use crate::screen::Picture;

pub struct Twin {
    pub ui: KioskUi,
    pub survey: Arc<Survey>,
    scans: mpsc::Sender<String>,
    responses: PathBuf,
    _dir: tempfile::TempDir,
}

impl Twin {
    pub fn new(survey: Arc<Survey>, width: u32, height: u32) -> Twin {
        let dir = tempfile::tempdir().expect("a scratch folder");
        let responses = dir.path().join("responses.db");
        let ui = KioskUi::new(KioskParts {
            survey: Arc::clone(&survey),
            ids: DeviceIds {
                site_id: "vm-site".into(),
                device_id: "vm-kiosk".into(),
                run_id: None,
            },
            sink: Arc::new(common::queue_sink(&responses)),
            alarms: Alarms::default(),
            // No staff-call output: the guest has no GPIO and none is configured.
            hardware: Box::new(SimulatedHardware::default()),
            seed: 7,
            hide_cursor: true,
            clock: Some(Box::new(|| {
                Duration::from_millis(i_slint_backend_testing::get_mocked_time())
            })),
            receipts: Some(ReceiptRules::examples(
                b"the twin's own receipt secret".to_vec(),
            )),
            used_receipts: Vec::new(),
            staff_call: Duration::from_secs(60),
            blank: None,
            tracking_url: None,
        })
        .expect("the twin's window");
        let (scans, scanner) = ChannelScanner::new();
        ui.attach_scanner(Box::new(scanner));
        ui.window.show().expect("the twin's window shows");
        ui.window
            .window()
            .set_size(slint::PhysicalSize::new(width, height));
        common::settle();
        Twin {
            ui,
            survey,
            scans,
            responses,
            _dir: dir,
        }
    }

    fn find(&self, label: &str) -> Vec<ElementHandle> {
        ElementHandle::find_by_accessible_label(&self.ui.window, label)
            .filter(|e| e.is_valid() && e.size().width > 0.0 && e.size().height > 0.0)
            .collect()
    }

    pub fn has(&self, label: &str) -> bool {
        !self.find(label).is_empty()
    }

    pub fn screen(&self) -> Screen {
        self.ui.screen()
    }

    /// Where to tap for `label`: the centre of the topmost element with it.
    pub fn centre(&self, label: &str) -> Result<(i32, i32), String> {
        let found = self.find(label);
        let element = found.last().ok_or_else(|| {
            format!(
                "the twin has nothing labelled {label:?} on screen {:?}",
                self.screen()
            )
        })?;
        let p = element.absolute_position();
        let s = element.size();
        Ok((
            (p.x + s.width / 2.0).round() as i32,
            (p.y + s.height / 2.0).round() as i32,
        ))
    }

    pub fn tap(&self, label: &str) -> Result<(), String> {
        let found = self.find(label);
        let element = found.last().ok_or_else(|| {
            format!(
                "the twin has nothing labelled {label:?} on screen {:?}",
                self.screen()
            )
        })?;
        element.mock_single_click(PointerEventButton::Left);
        common::process_events();
        common::settle();
        Ok(())
    }

    /// A scan, as the serial scanner hands one to the kiosk; returns once it is handled.
    pub fn scan(&self, code: &str) {
        let before = self.screen();
        self.scans
            .send(code.to_string())
            .expect("the twin's scanner");
        for _ in 0..200 {
            common::process_events();
            common::settle();
            if self.screen() != before {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits (in real time) for the storage thread's verdict and the like to reach the UI.
    pub fn wait_for(&self, what: &str, cond: impl Fn(&Twin) -> bool) -> Result<(), String> {
        for _ in 0..400 {
            common::process_events();
            common::settle();
            if cond(self) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Err(format!(
            "the twin never reached {what}; it shows {:?}",
            self.screen()
        ))
    }

    pub fn picture(&self) -> Picture {
        let shot = self
            .ui
            .window
            .window()
            .take_snapshot()
            .expect("the software renderer draws");
        Picture::from_rgba(shot.width(), shot.height(), shot.as_bytes())
    }

    pub fn records(&self) -> Vec<ResponseRecord> {
        common::read_records(&self.responses)
    }

    /// The English labels of a service or choice step's options.
    pub fn option_labels(&self, step: &str) -> Vec<String> {
        match self.survey.step(step).map(|s| &s.kind) {
            Some(StepKind::Service { options, .. } | StepKind::Choice { options, .. }) => options
                .iter()
                .map(|o| o.label.get("en", "en").to_string())
                .collect(),
            other => panic!("{step} is not a service or choice step: {other:?}"),
        }
    }

    /// The English labels of the reasons offered after `rating`.
    pub fn reason_labels(&self, step: &str, rating: i32) -> Vec<String> {
        let Some(StepKind::Reasons { sets, .. }) = self.survey.step(step).map(|s| &s.kind) else {
            panic!("{step} is not a reasons step")
        };
        sets.iter()
            .find(|s| s.ratings.contains(&rating))
            .map(|s| {
                s.options
                    .iter()
                    .map(|o| o.label.get("en", "en").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}
