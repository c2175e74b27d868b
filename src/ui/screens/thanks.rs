//! The end of a visit (`ThanksAdapter`): the survey's thanks, the reference and the tracking
//! page as a QR code and a link, once the response is stored.

use std::rc::Rc;

use slint::{ComponentHandle, SharedString};

use super::sends;
use crate::core::step_view::resolve;
use crate::core::visit::{Event, Kiosk};
use crate::ui::{Bridge, MainWindow, ThanksAdapter};

/// `tracking_url` is the tracking page's template, `{ref}` for the reference.
pub(in crate::ui) fn fill(
    window: &MainWindow,
    kiosk: &Kiosk,
    reference: &str,
    stored: bool,
    tracking_url: Option<&str>,
) {
    let thanks = window.global::<ThanksAdapter>();
    thanks.set_message(resolve(kiosk, &kiosk.survey().thanks.message).into());
    thanks.set_stored(stored);
    thanks.set_reference(if stored {
        reference.into()
    } else {
        SharedString::new()
    });
    // Without a stored response there is nothing to follow up.
    let link = tracking_url
        .filter(|_| stored)
        .map(|template| template.replace("{ref}", reference));
    let qr = link.as_deref().and_then(qr_image);
    thanks.set_has_qr(qr.is_some());
    thanks.set_qr(qr.unwrap_or_default());
    thanks.set_tracking_link(link.unwrap_or_default().into());
}

pub(in crate::ui) fn connect(window: &MainWindow, bridge: &Rc<Bridge>) {
    window
        .global::<ThanksAdapter>()
        .on_done(sends(bridge, Event::DismissThanks));
}

/// A QR code of `url` as an image: dark modules on white with the standard quiet zone.
fn qr_image(url: &str) -> Option<slint::Image> {
    let code = qrcodegen::QrCode::encode_text(url, qrcodegen::QrCodeEcc::Medium).ok()?;
    const MODULE_PX: u32 = 8;
    const QUIET_ZONE: i32 = 4;
    let modules = code.size() + 2 * QUIET_ZONE;
    let side = modules as u32 * MODULE_PX;
    let mut buffer = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(side, side);
    let pixels = buffer.make_mut_slice();
    for y in 0..side {
        for x in 0..side {
            let mx = (x / MODULE_PX) as i32 - QUIET_ZONE;
            let my = (y / MODULE_PX) as i32 - QUIET_ZONE;
            let dark = code.get_module(mx, my);
            let v = if dark { 0 } else { 255 };
            pixels[(y * side + x) as usize] = slint::Rgb8Pixel { r: v, g: v, b: v };
        }
    }
    Some(slint::Image::from_rgb8(buffer))
}
