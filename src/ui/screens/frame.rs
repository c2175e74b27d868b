//! The frame around every screen (`KioskAdapter`): the header's buttons and progress, the
//! scan notice, the staff call, the dark screen at night, the survey's languages.

use std::rc::Rc;

use slint::{ComponentHandle, ModelRc, VecModel};

use super::{sends, with_bridge};
use crate::core::language::interface_language;
use crate::core::visit::{Event, Kiosk, Notice};
use crate::ui::{Bridge, KioskAdapter, LanguageOption, MainWindow, ScanNotice};

/// The survey's languages, each by its own name; they do not change while the kiosk runs.
pub(in crate::ui) fn set_languages(window: &MainWindow, kiosk: &Kiosk) {
    let languages: Vec<LanguageOption> = kiosk
        .survey()
        .languages
        .iter()
        .map(|code| LanguageOption {
            code: code.into(),
            name: interface_language(code)
                .map_or(code.as_str(), |l| l.native_name)
                .into(),
        })
        .collect();
    window
        .global::<KioskAdapter>()
        .set_languages(ModelRc::new(VecModel::from(languages)));
}

pub(in crate::ui) fn fill(window: &MainWindow, kiosk: &Kiosk, blanked: bool) {
    let frame = window.global::<KioskAdapter>();
    frame.set_language(kiosk.language().into());
    frame.set_in_visit(kiosk.in_visit());
    frame.set_can_go_back(kiosk.can_go_back());
    frame.set_can_skip(kiosk.can_skip());
    let (number, count) = kiosk.progress();
    frame.set_step_number(number as i32);
    frame.set_step_count(count as i32);
    frame.set_can_call_staff(kiosk.can_call_staff());
    frame.set_help_coming(kiosk.help_coming());
    frame.set_blanked(blanked);
    frame.set_scan_notice(match kiosk.notice() {
        None => ScanNotice::None,
        Some(Notice::NotAReceipt) => ScanNotice::NotAReceipt,
        Some(Notice::ScanAgain) => ScanNotice::ScanAgain,
        Some(Notice::Expired { max_age_days }) => {
            frame.set_receipt_max_age_days(i32::try_from(*max_age_days).unwrap_or(i32::MAX));
            ScanNotice::Expired
        }
        Some(Notice::AlreadyGiven) => ScanNotice::AlreadyGiven,
    });
}

pub(in crate::ui) fn connect(window: &MainWindow, bridge: &Rc<Bridge>) {
    let frame = window.global::<KioskAdapter>();
    frame.on_open_languages(sends(bridge, Event::OpenLanguages));
    frame.on_back(sends(bridge, Event::Back));
    frame.on_skip(sends(bridge, Event::Skip));
    frame.on_cancel(sends(bridge, Event::Cancel));
    frame.on_call_staff(sends(bridge, Event::CallStaff));
    frame.on_wake(with_bridge(bridge, |b| b.wake()));
}
